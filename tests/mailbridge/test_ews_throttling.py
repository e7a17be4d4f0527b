"""A throttling or failing Exchange server under the tracking driver: a short ErrorServerBusy back-off is waited
out and the sync completes; a long one stops the folder with the server's wait, keeping what was committed,
while the other folders sync and the next pass resumes; a dropped connection is dialled again once, and a
connection that keeps dropping stops the folder the same way."""

from typing import Any

from tests.fakes.ews.fixtures import ews, ews_certificate  # noqa: F401  (fixtures)
from tests.mailbridge import test_ews_sync
from tests.mailbridge.test_ews_sync import Rep, subjects, sync

rep = test_ews_sync.rep  # the fixture: a CRM mailbox and its fake Exchange mailbox


def arm_after_first_batch(arm: Any) -> Any:
    """A progress callback arming a switch of the fake once the first batch of two is tracked: a later request of
    the pass meets it (which one depends on how far the driver reads ahead)."""
    def progress(event: Any) -> None:
        if event.folder == "INBOX" and event.done == 2:
            arm()
    return progress


def test_a_short_back_off_is_waited_out_and_the_sync_completes(client, session_factory, rep: Rep) -> None:
    for i in range(3):
        rep.deliver(f"mail {i}")
    rep.fake.busy(times=2, back_off_ms=200)

    summary = sync(session_factory, rep)

    assert (summary.folders["INBOX"].tracked, summary.folders["INBOX"].error) == (3, None)
    assert rep.fake.requests[:3] == ["ConvertId"] * 3  # answered busy twice, asked again after each back-off
    assert subjects(client, rep) == ["mail 0", "mail 1", "mail 2"]


def test_a_long_back_off_stops_the_folder_keeping_its_commits_and_the_next_pass_resumes(
        client, session_factory, rep: Rep) -> None:
    for i in range(5):
        rep.deliver(f"mail {i}")
    rep.box.add_message("sentitems", b"From: " + rep.user.email.encode() + b"\r\nTo: jo@customer.example\r\n"
                        b"Subject: sent one\r\nMessage-ID: <sent-1@contoso.example>\r\n\r\nHello.\r\n")

    summary = sync(session_factory, rep, rep.source(batch_size=2, mark_category=None), batch_size=2,
                   progress=arm_after_first_batch(lambda: rep.fake.busy(times=1, back_off_ms=120_000)))

    inbox = summary.folders["INBOX"]
    assert 2 <= inbox.tracked < 5 and inbox.retry_after == 120.0
    assert inbox.error is not None and inbox.error.startswith("throttled")
    assert (summary.folders["Sent Items"].tracked, summary.folders["Sent Items"].error) == (1, None)
    rerun = sync(session_factory, rep, rep.source(batch_size=2), batch_size=2)
    rest = 5 - inbox.tracked
    assert (rerun.folders["INBOX"].fetched, rerun.folders["INBOX"].tracked) == (rest, rest)
    assert subjects(client, rep) == [*(f"mail {i}" for i in range(5)), "sent one"]


def test_a_dropped_connection_is_dialled_again_once(client, session_factory, rep: Rep) -> None:
    rep.deliver("mail 0")
    rep.fake.drop_connection(times=1)

    summary = sync(session_factory, rep)

    assert (summary.folders["INBOX"].tracked, summary.folders["INBOX"].error) == (1, None)


def test_a_connection_that_keeps_dropping_stops_the_folder_at_its_last_commit(client, session_factory,
                                                                               rep: Rep) -> None:
    for i in range(6):
        rep.deliver(f"mail {i}")

    summary = sync(session_factory, rep, rep.source(batch_size=2, mark_category=None), batch_size=2,
                   progress=arm_after_first_batch(lambda: rep.fake.drop_connection(times=2)))

    inbox = summary.folders["INBOX"]
    assert 2 <= inbox.tracked < 6
    assert inbox.error is not None and inbox.error.startswith("connect")
    rerun = sync(session_factory, rep, rep.source(batch_size=2), batch_size=2)
    rest = 6 - inbox.tracked
    assert (rerun.folders["INBOX"].fetched, rerun.folders["INBOX"].tracked) == (rest, rest)
    assert subjects(client, rep) == [f"mail {i}" for i in range(6)]
