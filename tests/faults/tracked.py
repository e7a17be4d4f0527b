"""What every fault test checks in the end, as a user would: each message is one activity with one sighting,
nothing is in quarantine, and the cursor is at the end (one more run fetches nothing)."""

import uuid
from typing import Any

from sqlalchemy import func, select

from crm_core.models import MailQuarantine, MailSighting
from mailbridge.runs import run_mailbox_sync
from mailbridge.tracking import TrackingOptions
from tests.mailbridge.tracking_fixtures import emails
from tests.org import TestUser

API = "/api/v1"


def assert_tracked_once(
    client: Any,
    session_factory: Any,
    mailbox_id: uuid.UUID,
    user: TestUser,
    subjects: list[str],
    options: TrackingOptions,
) -> None:
    assert sorted(e["subject"] for e in emails(client, user)) == sorted(subjects)
    with session_factory() as s:
        sightings = s.scalar(
            select(func.count())
            .select_from(MailSighting)
            .where(MailSighting.mailbox_id == mailbox_id, MailSighting.vanished_on.is_(None))
        )
        quarantined = s.scalar(
            select(func.count()).select_from(MailQuarantine).where(MailQuarantine.mailbox_id == mailbox_id)
        )
    assert (sightings, quarantined) == (len(subjects), 0)
    again = run_mailbox_sync(session_factory, mailbox_id, options=options)
    assert again.outcome == "succeeded" and again.summary is not None and again.summary.fetched == 0


def runs(client: Any, admin: TestUser, mailbox_id: uuid.UUID) -> list[dict[str, Any]]:
    """The mailbox's sync runs as the admin console lists them, oldest first."""
    r = client.get(f"{API}/mailboxes/{mailbox_id}/sync-runs", headers=admin.headers)
    assert r.status_code == 200, r.text
    return list(reversed(r.json()))
