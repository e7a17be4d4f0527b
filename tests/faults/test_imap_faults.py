"""IMAP through a faulty network, to the tests' Dovecot: a first sync of 50 messages whose connections are reset
in the middle of a FETCH, a server that stalls past the client's timeout, and bytes that trickle in. What a user
notices: every message tracked exactly once after the rerun, a clear error on the failed run, nothing
quarantined, and a cursor that leaves nothing for the next pass."""

from typing import Any

from mailbridge.runs import run_mailbox_sync
from mailbridge.tracking import TrackingOptions
from tests.faults.proxy import FaultProxy, reset, slow, stall
from tests.faults.tracked import API, assert_tracked_once, runs
from tests.mailbridge.conftest import Mailbox as DovecotAccount
from tests.mailbridge.tracking_fixtures import CrmMailbox, append, crm_mailbox, mail
from tests.org import OrgBuilder, TestUser

BODY = "Line of a longer mail, so that a FETCH of the batch spans many reads.\r\n" * 30  # about 2 KB


def proxied(
    client: Any, admin: TestUser, org: OrgBuilder, session_factory: Any, account: DovecotAccount, proxy_to: Any
) -> tuple[CrmMailbox, FaultProxy]:
    """A CRM mailbox whose email server profile points at a proxy in front of the account's Dovecot."""
    box = crm_mailbox(client, admin, org, session_factory, account, incoming_filter="all", folders=["INBOX"])
    proxy: FaultProxy = proxy_to((account.server.host, account.server.port))
    profile_id = client.get(f"{API}/mailboxes/{box.id}", headers=admin.headers).json()["server_profile_id"]
    r = client.patch(
        f"{API}/email-server-profiles/{profile_id}", json={"incoming_port": proxy.port}, headers=admin.headers
    )
    assert r.status_code == 200, r.text
    return box, proxy


def deliver(box: CrmMailbox, n: int) -> list[str]:
    subjects = [f"Order {i:02d}" for i in range(n)]
    for subject in subjects:
        append(
            box.account,
            mail(sender="jane@fabrikam.example", to=box.address, subject=subject, body=f"About {subject}.\r\n{BODY}"),
        )  # bodies of their own: no dedupe
    return subjects


def options(timeout: float = 10) -> TrackingOptions:
    return TrackingOptions(timeout=timeout, parse_workers=0, batch_size=20)


def test_connections_reset_mid_fetch_of_a_first_sync_lose_and_double_nothing(
    client, admin: TestUser, org: OrgBuilder, session_factory, mailbox: DovecotAccount, proxy_to
) -> None:
    box, proxy = proxied(client, admin, org, session_factory, mailbox, proxy_to)
    subjects = deliver(box, 50)
    # The first connection dies 60 KB into its FETCH answers (a batch of 20 is about 40 KB), the second 30 KB
    # into them; the third passes.
    proxy.schedule(reset(60_000, armed_by=b"FETCH"), reset(30_000, armed_by=b"FETCH"))

    cut = [run_mailbox_sync(session_factory, box.id, options=options()) for _ in range(2)]
    done = run_mailbox_sync(session_factory, box.id, options=options())

    assert proxy.struck == 2
    # Each cut pass keeps the batches it committed and says which folder stopped and why.
    assert [r.outcome for r in cut] == ["partial", "partial"]
    assert all("INBOX" in (r.message or "") and "reset" in (r.message or "") for r in cut)
    assert 0 < cut[0].summary.tracked + cut[1].summary.tracked < 50
    assert done.outcome == "succeeded"
    assert [r["outcome"] for r in runs(client, admin, box.id)] == ["partial", "partial", "succeeded"]
    assert_tracked_once(client, session_factory, box.id, box.user, subjects, options())


def test_a_stall_past_the_timeout_is_a_clear_error_on_the_run_and_the_rerun_completes(
    client, admin: TestUser, org: OrgBuilder, session_factory, mailbox: DovecotAccount, proxy_to
) -> None:
    box, proxy = proxied(client, admin, org, session_factory, mailbox, proxy_to)
    subjects = deliver(box, 5)
    proxy.schedule(stall(2_000, 4.0, armed_by=b"FETCH"), stall(2_000, 4.0, armed_by=b"FETCH"))

    failed = run_mailbox_sync(session_factory, box.id, options=options(timeout=1.0))

    # The folder stopped at its last commit; the run says which folder and that the server went quiet.
    assert failed.outcome == "partial" and "INBOX" in failed.message and "timed out" in failed.message
    [run] = runs(client, admin, box.id)
    assert run["outcome"] == "partial" and "timed out" in run["error_message"]
    health = client.get(f"{API}/mailboxes/{box.id}/sync-health", headers=admin.headers).json()
    assert [(a["level"], a["code"]) for a in health["alerts"]] == [("warning", "folder")]
    rerun = run_mailbox_sync(session_factory, box.id, options=options())
    assert rerun.outcome == "succeeded"
    assert_tracked_once(client, session_factory, box.id, box.user, subjects, options())


def test_bytes_that_trickle_in_still_sync_everything(
    client, admin: TestUser, org: OrgBuilder, session_factory, mailbox: DovecotAccount, proxy_to
) -> None:
    box, proxy = proxied(client, admin, org, session_factory, mailbox, proxy_to)
    subjects = deliver(box, 5)
    proxy.schedule(slow(0, piece=1024, seconds=0.005, armed_by=b"FETCH"))

    result = run_mailbox_sync(session_factory, box.id, options=options(timeout=2.0))

    assert result.outcome == "succeeded" and proxy.struck == 1
    assert_tracked_once(client, session_factory, box.id, box.user, subjects, options())
