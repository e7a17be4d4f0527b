"""The tracking driver over the EWS source against the fake Exchange server, as the IMAP tests hold it: each mail
tracked once; new, read and deleted mail seen by the next pass; a moved mail is one activity; a sync state the
server refuses restarts the folder without doubling anything; a pass killed between or inside batches reruns
without loss or duplicates; tracked mail gets the mailbox's category, keeping the user's own."""

import uuid
from typing import Any

import pytest
from sqlalchemy import select

from crm_core.models import MailSighting
from mailbridge.sources.ews import ews_source
from mailbridge.sources.registry import SourceOptions
from mailbridge.tracking import TrackingOptions
from mailbridge.tracking.results import SyncSummary
from mailbridge.tracking.source_sync import sync_source
from tests.fakes.ews import EwsFake, FakeMailbox
from tests.fakes.ews.fixtures import ews, ews_certificate, ews_connection  # noqa: F401  (fixtures)
from tests.mailbridge.test_source_driver import Killed, dying
from tests.mailbridge.tls import TestCertificate
from tests.mailbridge.tracking_fixtures import emails, local_mailbox, mail
from tests.org import OrgBuilder, TestUser

CATEGORY = "Tracked to CRM"


class Rep:
    """A salesperson's CRM mailbox and the same mailbox on the fake Exchange server."""

    def __init__(self, fake: EwsFake, certificate: TestCertificate, box_id: uuid.UUID, user: TestUser) -> None:
        self.fake, self.certificate, self.id, self.user = fake, certificate, box_id, user
        self.box: FakeMailbox = fake.add_mailbox(user.email, username=f"CONTOSO\\{user.email.split('@')[0]}",
                                                 password="Passw0rd!")

    def source(self, *, folders: tuple[str, ...] = ("INBOX", "Sent"), batch_size: int = 100, **more: Any) -> Any:
        connection = ews_connection(self.fake, self.box, mailbox_id=self.id, folders=folders, **more)
        return ews_source(connection, SourceOptions(timeout=10, ssl_context=self.certificate.client_context(),
                                                    batch_size=batch_size))

    def deliver(self, subject: str, folder: str = "inbox", **state: Any) -> str:
        return self.box.add_message(folder, mail(sender=f"{subject.replace(' ', '')}@customer.example",
                                                 to=self.user.email, subject=subject), **state)


@pytest.fixture
def rep(client: Any, admin: TestUser, org: OrgBuilder, session_factory: Any, ews: EwsFake,  # noqa: F811
        ews_certificate: TestCertificate) -> Rep:  # noqa: F811
    box_id, user = local_mailbox(client, admin, org, session_factory, incoming_filter="all")
    return Rep(ews, ews_certificate, box_id, user)


def sync(session_factory: Any, rep: Rep, source: Any = None, batch_size: int = 100, **options: Any) -> SyncSummary:
    progress = options.pop("progress", None)
    return sync_source(session_factory, rep.id, source or rep.source(batch_size=batch_size),
                       TrackingOptions(batch_size=batch_size, **options), progress)


def subjects(client: Any, rep: Rep) -> list[str]:
    return sorted(e["subject"] for e in emails(client, rep.user))


def test_first_and_incremental_syncs_track_each_mail_once_and_see_deletions(client, session_factory, rep) -> None:
    ids = [rep.deliver(f"mail {i}") for i in range(3)]
    rep.box.add_message("sentitems", mail(sender=rep.user.email, to="jane@customer.example", subject="sent one"),
                        is_read=True)

    first = sync(session_factory, rep, batch_size=2)

    assert (first.folders["INBOX"].tracked, first.folders["Sent Items"].tracked) == (3, 1)
    assert subjects(client, rep) == ["mail 0", "mail 1", "mail 2", "sent one"]
    assert sync(session_factory, rep).fetched == 0
    rep.deliver("mail 3")
    rep.box.delete(ids[0])
    rep.box.update(ids[1], is_read=True)

    second = sync(session_factory, rep)

    inbox = second.folders["INBOX"]
    assert (inbox.fetched, inbox.tracked, inbox.vanished) == (1, 1, 1)
    assert subjects(client, rep) == ["mail 0", "mail 1", "mail 2", "mail 3", "sent one"]  # activities stay
    with session_factory() as session:
        dated = [s.folder for s in session.scalars(select(MailSighting)) if s.vanished_on is not None]
    assert dated == [f"ews:INBOX:{ids[0]}"]


def test_a_moved_mail_vanishes_from_one_folder_and_is_recognised_in_the_other(client, session_factory, rep) -> None:
    rep.box.create_folder("Archive")
    item = rep.deliver("to be filed")
    folders = ("INBOX", "Archive")
    sync(session_factory, rep, rep.source(folders=folders))
    rep.box.move(item, "Archive")

    summary = sync(session_factory, rep, rep.source(folders=folders))

    assert summary.folders["INBOX"].vanished == 1
    assert (summary.folders["Archive"].fetched, summary.folders["Archive"].tracked) == (1, 0)
    assert subjects(client, rep) == ["to be filed"]  # one activity, seen now in Archive
    with session_factory() as session:
        places = {s.folder.split(":")[1]: s.vanished_on is None for s in session.scalars(select(MailSighting))}
    assert places == {"INBOX": False, "Archive": True}


def test_a_refused_sync_state_restarts_the_folder_without_duplicates(client, session_factory, rep) -> None:
    for i in range(3):
        rep.deliver(f"mail {i}")
    sync(session_factory, rep, rep.source(folders=("INBOX",)))
    rep.box.invalidate_sync_states("inbox")  # as after a mailbox move: ErrorInvalidSyncStateData
    rep.deliver("mail 3")

    summary = sync(session_factory, rep, rep.source(folders=("INBOX",)))

    # Read again from scratch; what was tracked is recognised by its place and not downloaded again.
    assert (summary.folders["INBOX"].fetched, summary.folders["INBOX"].tracked) == (1, 1)
    assert subjects(client, rep) == ["mail 0", "mail 1", "mail 2", "mail 3"]
    assert sync(session_factory, rep, rep.source(folders=("INBOX",))).fetched == 0


def test_a_pass_killed_between_batches_resumes_from_its_last_commit(client, session_factory, rep) -> None:
    for i in range(5):
        rep.deliver(f"mail {i}")

    with pytest.raises(Killed):
        sync(session_factory, rep, dying(rep.source(folders=("INBOX",), batch_size=2), after=2), batch_size=2)
    assert len(subjects(client, rep)) == 4
    rep.deliver("mail 5")  # mail keeps coming while the process is down

    rerun = sync(session_factory, rep, rep.source(folders=("INBOX",), batch_size=2), batch_size=2)

    assert (rerun.fetched, rerun.tracked, rerun.duplicates) == (2, 2, 0)
    assert subjects(client, rep) == [f"mail {i}" for i in range(6)]


def test_a_pass_killed_inside_a_batch_reruns_without_loss_or_duplicates(client, session_factory, rep) -> None:
    for i in range(5):
        rep.deliver(f"mail {i}")

    def die_after_three(event: Any) -> None:
        if event.done == 3:
            raise Killed  # in the middle of the second batch, before its commit

    with pytest.raises(Killed):
        sync(session_factory, rep, rep.source(folders=("INBOX",), batch_size=2), batch_size=2,
             progress=die_after_three)
    assert subjects(client, rep) == ["mail 0", "mail 1"]

    rerun = sync(session_factory, rep, rep.source(folders=("INBOX",), batch_size=2), batch_size=2)

    assert (rerun.fetched, rerun.tracked, rerun.duplicates) == (3, 3, 0)
    assert subjects(client, rep) == [f"mail {i}" for i in range(5)]


def test_tracked_mail_gets_the_category_and_keeps_its_own(client, session_factory, rep) -> None:
    rep.deliver("customer mail", categories=["Customer"])
    rep.deliver("plain mail")
    rep.box.add_message("inbox", b"\xff\xfe not a mail at all")

    summary = sync(session_factory, rep, rep.source(folders=("INBOX",)))

    assert (summary.tracked, summary.folders["INBOX"].quarantined) == (2, 1)
    marks = {m.subject: m.categories for m in rep.box.messages("inbox")}
    assert marks == {"customer mail": ["Customer", CATEGORY], "plain mail": [CATEGORY], "": []}
    rerun = sync(session_factory, rep, rep.source(folders=("INBOX",)))
    assert rerun.fetched == 0  # the marks changed the items; no mail is read again for that


def test_no_category_is_set_when_the_mailbox_has_none(client, session_factory, rep) -> None:
    rep.deliver("plain mail")

    sync(session_factory, rep, rep.source(folders=("INBOX",), mark_category=None))

    assert [m.categories for m in rep.box.messages("inbox")] == [[]]
    assert "UpdateItem" not in rep.fake.requests
