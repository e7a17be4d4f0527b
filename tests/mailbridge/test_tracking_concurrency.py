"""Two workers tracking two mailboxes that received the same mail at the same moment: one email activity with
two sightings, not two activities; and two different mails sharing an attachment stored once, without a
conflict. The first transaction is held open while the second starts, so the race happens every time."""

import threading
import time
import uuid

from sqlalchemy import func, select

from crm_core.db.unit_of_work import UnitOfWork
from crm_core.models import Email, MailBlob, MailSighting
from mailbridge.tracking import TrackingOptions
from mailbridge.tracking.context import load_mailbox, mailbox_context
from mailbridge.tracking.pipeline import track_items
from mailbridge.tracking.results import Outcome, SourceItem
from tests.mailbridge.conftest import Mailbox as DovecotAccount
from tests.mailbridge.tracking_fixtures import crm_mailbox, mail
from tests.org import OrgBuilder

OPTIONS = TrackingOptions(parse_workers=0)


def _track(session_factory, mailbox_id: uuid.UUID, raw: bytes, uid: int) -> tuple[UnitOfWork, list[Outcome]]:
    uow = UnitOfWork(session_factory)
    uow.__enter__()
    ctx = mailbox_context(load_mailbox(uow.session, mailbox_id))
    return uow, track_items(uow, ctx, [SourceItem("INBOX", 1, uid, raw)], OPTIONS)


def _race(session_factory, first: tuple[uuid.UUID, bytes], second: tuple[uuid.UUID, bytes]) -> list[Outcome]:
    """The first mailbox's batch tracks and stays uncommitted while the second's starts; then the first commits."""
    uow, outcomes = _track(session_factory, first[0], first[1], 1)
    done: list[Outcome] = []
    errors: list[BaseException] = []

    def other() -> None:
        try:
            uow2, outcomes2 = _track(session_factory, second[0], second[1], 2)
            uow2.commit()
            uow2.__exit__(None, None, None)
            done.extend(outcomes2)
        except BaseException as exc:  # reported to the test below
            errors.append(exc)

    thread = threading.Thread(target=other)
    thread.start()
    time.sleep(0.5)  # the second batch is now waiting on the first (or would race past it)
    uow.commit()
    uow.__exit__(None, None, None)
    thread.join(60)
    assert not errors, errors
    return outcomes + done


def test_the_same_mail_in_two_mailboxes_at_once_is_one_activity(client, org: OrgBuilder, session_factory,
                                                                mailbox: DovecotAccount) -> None:
    admin = org.admin()
    rep = crm_mailbox(client, admin, org, session_factory, mailbox, incoming_filter="all")
    desk = crm_mailbox(client, admin, org, session_factory, mailbox, incoming_filter="all")
    raw = mail(sender="jane@fabrikam.example", to=f"{rep.address}, {desk.address}", subject="Both of you")

    outcomes = _race(session_factory, (rep.id, raw), (desk.id, raw))

    assert [o.kind for o in outcomes] == ["tracked", "duplicate"]
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Email)) == 1
        assert s.scalar(select(func.count()).select_from(MailSighting)) == 2


def test_two_mails_with_one_attachment_at_once_store_it_once(client, org: OrgBuilder, session_factory,
                                                             mailbox: DovecotAccount, caplog) -> None:
    admin = org.admin()
    rep = crm_mailbox(client, admin, org, session_factory, mailbox, incoming_filter="all")
    desk = crm_mailbox(client, admin, org, session_factory, mailbox, incoming_filter="all")

    def with_logo(subject: str) -> bytes:
        return (f"From: jane@fabrikam.example\r\nTo: {rep.address}\r\nSubject: {subject}\r\n"
                f"Message-ID: <{uuid.uuid4()}@fabrikam.example>\r\nDate: Tue, 24 Nov 2026 09:00:00 +0000\r\n"
                "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
                f"--b\r\nContent-Type: text/plain\r\n\r\n{subject}\r\n"
                "--b\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename=logo.png\r\n"
                "Content-Transfer-Encoding: base64\r\n\r\niVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNg"
                "YPj/HwADBwIAMCbHYQAAAABJRU5ErkJggg==\r\n--b--\r\n").encode()

    outcomes = _race(session_factory, (rep.id, with_logo("First")), (desk.id, with_logo("Second")))

    assert [o.kind for o in outcomes] == ["tracked", "tracked"]
    assert "failed as a whole" not in caplog.text  # no conflict: the batch did not fall back to mail by mail
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Email)) == 2
        sizes = sorted(s.scalars(select(MailBlob.size)))
        assert sizes.count(70) == 1  # the logo, once
