"""How people start a sync or an import: `POST /mailboxes/{id}/sync`, `crm mailbox sync` and `crm mail import`,
each with its summary, each safe to run again."""

import mailbox as stdlib_mailbox
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.mailbridge.conftest import Mailbox as DovecotAccount
from tests.mailbridge.tracking_fixtures import append, contact, crm_mailbox, emails, mail
from tests.org import OrgBuilder
from workers.cli import app

API = "/api/v1"


def test_sync_now_through_the_api_tracks_new_mail_once(client, org: OrgBuilder, session_factory,
                                                       mailbox: DovecotAccount) -> None:
    admin = org.admin()
    box = crm_mailbox(client, admin, org, session_factory, mailbox, incoming_filter="all")
    jane = contact(client, admin, "Jane", "Doe", "jane@fabrikam.example")
    for n in (1, 2):
        append(mailbox, mail(sender="Jane Doe <jane@fabrikam.example>", to=box.address, subject=f"Order {n}"))

    r = client.post(f"{API}/mailboxes/{box.id}/sync", headers=box.user.headers)  # his own mailbox
    assert r.status_code == 200, r.text
    summary = r.json()
    assert (summary["fetched"], summary["tracked"], summary["quarantined"]) == (2, 2, 0)
    assert summary["folders"][0]["folder"] == "INBOX"
    assert sorted(e["subject"] for e in emails(client, admin)) == ["Order 1", "Order 2"]
    assert all(p["party_id"] == jane["id"] for e in emails(client, admin) for p in e["parties"]
               if p["role"] == "sender")

    again = client.post(f"{API}/mailboxes/{box.id}/sync", headers=admin.headers).json()
    assert (again["fetched"], again["tracked"]) == (0, 0)
    assert len(emails(client, admin)) == 2

    stranger = org.user("stranger@contoso.example", ["Salesperson"])
    assert client.post(f"{API}/mailboxes/{box.id}/sync", headers=stranger.headers).status_code in (403, 404)


def test_a_mailbox_that_may_not_sync_is_refused_with_the_reason(client, org: OrgBuilder, session_factory,
                                                                 mailbox: DovecotAccount) -> None:
    admin = org.admin()
    box = crm_mailbox(client, admin, org, session_factory, mailbox)
    client.patch(f"{API}/mailboxes/{box.id}", json={"incoming_enabled": False}, headers=admin.headers)
    r = client.post(f"{API}/mailboxes/{box.id}/sync", headers=admin.headers)
    assert r.status_code == 409 and "incoming sync is off" in r.json()["detail"]


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh SQLite under a temp dir for the CLI, whichever database the suite runs on."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CRM_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("CRM_DATABASE_URL", raising=False)
    return tmp_path


def test_crm_mail_import_tracks_a_maildir_and_an_mbox_once(cli_env: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    assert runner.invoke(app, ["user", "create", "--email", "rep@contoso.example", "--name", "Rita Rep",
                               "--role", "Salesperson"]).exit_code == 0
    r = runner.invoke(app, ["mailbox", "profile", "add", "--name", "Local", "--incoming-host", "127.0.0.1",
                            "--incoming-security", "plain"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["mailbox", "add", "--address", "rep@contoso.example", "--profile", "Local",
                            "--user", "rep@contoso.example", "--track", "all", "--password-stdin"],
                      input="secret\n")
    assert r.exit_code == 0, r.output

    maildir = stdlib_mailbox.Maildir(cli_env / "Mail", create=True)
    for n in (1, 2, 3):
        maildir.add(mail(sender="jane@fabrikam.example", to="rep@contoso.example", subject=f"Maildir {n}"))
    mbox = stdlib_mailbox.mbox(cli_env / "old.mbox")
    mbox.add(mail(sender="rep@contoso.example", to="jane@fabrikam.example", subject="From the mbox"))
    mbox.flush()

    r = runner.invoke(app, ["mail", "import", str(cli_env / "Mail"), "--mailbox", "rep@contoso.example"])
    assert r.exit_code == 0, r.output
    assert "fetched 3, tracked 3" in r.output
    r = runner.invoke(app, ["mail", "import", str(cli_env / "old.mbox"), "--mailbox", "rep@contoso.example"])
    assert r.exit_code == 0 and "tracked 1" in r.output, r.output
    r = runner.invoke(app, ["mail", "import", str(cli_env / "Mail"), "--mailbox", "rep@contoso.example"])
    assert r.exit_code == 0 and "tracked 0" in r.output, r.output

    r = runner.invoke(app, ["mail", "import", str(cli_env / "nowhere"), "--mailbox", "rep@contoso.example"])
    assert r.exit_code == 1 and "Traceback" not in r.output
    r = runner.invoke(app, ["mail", "import", str(cli_env / "Mail"), "--mailbox", "ghost@contoso.example"])
    assert r.exit_code == 1 and "ghost@contoso.example" in r.output


def test_crm_mailbox_sync_shows_a_summary_and_fails_clearly(cli_env: Path, mailbox: DovecotAccount) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    assert runner.invoke(app, ["user", "create", "--email", "rep@contoso.example", "--name", "Rita Rep",
                               "--role", "Salesperson"]).exit_code == 0
    r = runner.invoke(app, ["mailbox", "profile", "add", "--name", "Dovecot", "--incoming-host",
                            mailbox.server.host, "--incoming-port", str(mailbox.server.port),
                            "--incoming-security", "plain"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["mailbox", "add", "--address", "rep@contoso.example", "--profile", "Dovecot",
                            "--user", "rep@contoso.example", "--username", mailbox.username, "--track", "all",
                            "--folder", "INBOX", "--password-stdin"], input=f"{mailbox.password}\n")
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["mailbox", "sync", "rep@contoso.example"])
    assert r.exit_code == 1 and "pending approval" in r.output  # not approved yet

    assert runner.invoke(app, ["mailbox", "approve", "rep@contoso.example"]).exit_code == 0
    append(mailbox, mail(sender="jane@fabrikam.example", to="rep@contoso.example", subject="Quote please"))
    r = runner.invoke(app, ["mailbox", "sync", "rep@contoso.example"])
    assert r.exit_code == 0, r.output
    assert "fetched 1, tracked 1" in r.output and "INBOX" in r.output
    r = runner.invoke(app, ["mailbox", "sync", "rep@contoso.example"])
    assert r.exit_code == 0 and "fetched 0, tracked 0" in r.output, r.output
