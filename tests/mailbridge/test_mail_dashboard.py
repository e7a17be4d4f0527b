"""GET /api/v1/dashboards/mail: a real mailbox (Dovecot) syncs its mail; the dashboard counts it per day and
shows the mailbox's sync health, to an administrator and to the mailbox's user only."""

from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from crm_core.db.types import utcnow
from crm_core.models import MailSighting
from mailbridge.runs import run_mailbox_sync
from mailbridge.tracking import TrackingOptions
from tests.mailbridge.conftest import Mailbox as DovecotAccount
from tests.mailbridge.tracking_fixtures import append, crm_mailbox, mail
from tests.org import OrgBuilder, TestUser


def dashboard(client: Any, user: TestUser, **params: Any) -> dict[str, Any]:
    r = client.get("/api/v1/dashboards/mail", params=params, headers=user.headers)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def test_tracked_mail_per_day_and_sync_health(
    client: Any, org: OrgBuilder, admin: TestUser, session_factory: Any, mailbox: DovecotAccount
) -> None:
    box = crm_mailbox(client, admin, org, session_factory, mailbox, incoming_filter="all")
    for n in range(3):
        append(mailbox, mail(sender="jane@fabrikam.example", to=box.address, subject=f"Order {n}"))
    result = run_mailbox_sync(session_factory, box.id, options=TrackingOptions(timeout=10, parse_workers=0))
    assert result.outcome == "succeeded"
    with session_factory() as s:  # one of the three was seen two days ago
        first = s.scalars(select(MailSighting.id).where(MailSighting.mailbox_id == box.id)).first()
        s.execute(update(MailSighting).where(MailSighting.id == first).values(seen_on=utcnow() - timedelta(days=2)))
        s.commit()

    today, two_days_ago = utcnow().date(), (utcnow() - timedelta(days=2)).date()
    body = dashboard(client, admin, days=7)
    assert [(r["mailbox_id"], r["day"], r["tracked"]) for r in body["tracked"]] == [
        (str(box.id), two_days_ago.isoformat(), 1),
        (str(box.id), today.isoformat(), 2),
    ]
    (health,) = body["mailboxes"]
    assert (health["mailbox_id"], health["stage"], health["failure_count"], health["tracked_today"]) == (
        str(box.id),
        "idle",
        0,
        2,
    )
    assert health["lag_seconds"] < 120 and health["may_sync"] is True
    assert [r["day"] for r in dashboard(client, admin, days=1)["tracked"]] == [today.isoformat()]

    # A user reads his own mailbox only.
    assert len(dashboard(client, box.user)["tracked"]) == 2
    stranger = org.user("stranger@example.com", ["Salesperson"])
    seen = dashboard(client, stranger)
    assert (seen["tracked"], seen["mailboxes"]) == ([], [])
