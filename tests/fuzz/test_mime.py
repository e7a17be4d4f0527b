"""MIME: whatever bytes a mail server hands us, normalisation gives a typed message or refuses it as
`Unreadable` with a quarantine reason, and a sync of a folder holding such a message next to a good one tracks
the good one and tracks or quarantines the other: one broken mail never stops a mailbox's sync."""

import email.utils
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from crm_core.models import MailQuarantine
from mailbridge.message import QUARANTINE_REASONS, NormalisedMessage, Unreadable, normalise
from mailbridge.tracking import TrackingOptions, import_local
from tests.fuzz.mime_strategies import SEEDS, mutated_mail
from tests.fuzz.profiles import FUZZ, fewer
from tests.mailbridge.tracking_fixtures import emails, local_mailbox
from tests.org import OrgBuilder, TestUser


def _texts(message: NormalisedMessage) -> list[str]:
    return [
        message.subject,
        message.thread_subject,
        message.text_body or "",
        message.html_body or "",
        message.message_id or "",
        *message.references,
        *(a.display_name + a.address for a in message.participants()),
        *(u.raw for u in message.unparseable_addresses),
        *(a.filename or "" for a in message.attachments),
    ]


def _storable(text: str) -> bool:
    """Encodable as UTF-8, as a database needs (no lone surrogate). NUL is the writer's to strip (persist.clean)."""
    return not any("\ud800" <= ch <= "\udfff" for ch in text)


def check_normalise(raw: bytes) -> None:
    try:
        message = normalise(raw)
    except Unreadable as exc:
        assert exc.reason in QUARANTINE_REASONS  # noqa: PT017 - either outcome is the property
        return
    assert message.raw == raw
    assert all(_storable(t) for t in _texts(message)), [t for t in _texts(message) if not _storable(t)]


def test_the_seeds_are_there() -> None:
    assert len(SEEDS) >= 55


@FUZZ
@given(mutated_mail())
def test_a_mutated_real_mail_is_normalised_or_refused_with_a_reason(raw: bytes) -> None:
    check_normalise(raw)


@FUZZ
@given(st.binary(max_size=4000))
def test_arbitrary_bytes_are_normalised_or_refused_with_a_reason(raw: bytes) -> None:
    check_normalise(raw)


def _good(n: int) -> bytes:
    return (
        f"From: Jane <jane@customer.example>\r\nTo: rep@contoso.example\r\nSubject: Good {n}\r\n"
        f"Message-ID: <good-{n}@customer.example>\r\nDate: {email.utils.formatdate()}\r\n\r\n"
        f"The good mail number {n}.\r\n"
    ).encode()


@fewer(6)
@given(raw=mutated_mail())
def test_a_broken_mail_never_stops_the_sync_of_its_folder(
    client, admin: TestUser, org: OrgBuilder, session_factory, tmp_path_factory, raw: bytes
) -> None:
    box_id, _ = local_mailbox(client, admin, org, session_factory, incoming_filter="all")
    maildir = tmp_path_factory.mktemp("fuzz-maildir")
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir()
    good = _good(box_id.int % 10**9)
    (maildir / "new" / "1.bad").write_bytes(raw)
    (maildir / "new" / "2.good").write_bytes(good)

    summary = import_local(session_factory, box_id, Path(maildir), TrackingOptions(parse_workers=0))

    assert summary.fetched == 2
    assert summary.tracked + summary.duplicates + summary.quarantined + summary.skipped == 2
    subjects = {e["subject"] for e in emails(client, admin)}
    assert f"Good {box_id.int % 10**9}" in subjects
    with session_factory() as session:
        reasons = {q.reason for q in session.scalars(select(MailQuarantine).where(MailQuarantine.mailbox_id == box_id))}
    # tracking_failed is the pipeline's safety net for a bug: quarantined, but a finding all the same.
    assert reasons <= set(QUARANTINE_REASONS), reasons
