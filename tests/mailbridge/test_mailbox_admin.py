"""Testing a mailbox's connection against the real Dovecot (and aiosmtpd), through the API and the `crm mailbox`
commands: ok, wrong password, missing folders, closed port, untrusted TLS; the outcome is stored on the mailbox;
the password appears in no answer and no output."""

import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crm_core.db.unit_of_work import UnitOfWork
from crm_core.security import secrets
from crm_core.security.principal import Principal
from crm_core.security.secrets import Keyring
from mailbridge.admin import run_connection_test
from tests.api import created
from tests.mailbridge.conftest import Mailbox, SmtpServer
from tests.mailbridge.dovecot import free_port
from tests.org import OrgBuilder, TestUser
from workers.cli import app

M = "/api/v1/mailboxes"
TEST_KEY = "test-secret-key"  # the `settings` fixture's CRM_SECRET_KEY


def _setup(client, admin: TestUser, org: OrgBuilder, account: Mailbox, *, port: int | None = None,
           security: str = "plain", password: str | None = None, **mailbox) -> dict:
    rep = org.user(f"rep-{uuid.uuid4().hex[:6]}@contoso.example", ["Salesperson"])
    profile = created(client, admin, "email-server-profiles", {
        "name": f"Dovecot {uuid.uuid4().hex[:6]}", "incoming_host": account.server.host,
        "incoming_port": port or account.server.port, "incoming_security": security,
    })
    body = {"email_address": rep.email, "regarding_type": "user", "regarding_id": str(rep.id),
            "server_profile_id": profile["id"], "username": account.username,
            "password": password or account.password, **mailbox}
    box = created(client, admin, "mailboxes", body)
    box["user"], box["secret"] = rep, body["password"]
    return box


def _test(client, user: TestUser, box: dict) -> dict:
    r = client.post(f"{M}/{box['id']}/test", headers=user.headers)
    assert r.status_code == 200, r.text
    assert box["secret"] not in r.text
    return r.json()["last_test"]  # type: ignore[no-any-return]


def test_ok_is_stored_and_shown(client, admin: TestUser, org: OrgBuilder, mailbox: Mailbox) -> None:
    box = _setup(client, admin, org, mailbox)
    result = _test(client, admin, box)
    assert (result["outcome"], result["reason"]) == ("ok", None)
    assert "INBOX" in result["message"] and "Sent" in result["message"]
    again = client.get(f"{M}/{box['id']}", headers=box["user"].headers).json()
    assert again["last_test"] == result  # stored, and the user sees it on his mailbox
    assert _test(client, box["user"], box)["outcome"] == "ok"  # he may test his own


def test_wrong_password_is_auth(client, admin: TestUser, org: OrgBuilder, mailbox: Mailbox) -> None:
    box = _setup(client, admin, org, mailbox, password="Wrong-pw-5d1")
    r = client.post(f"{M}/{box['id']}/test", headers=admin.headers)
    assert (r.json()["last_test"]["outcome"], r.json()["last_test"]["reason"]) == ("failed", "auth")
    assert "Wrong-pw-5d1" not in r.text


def test_every_missing_folder_is_named(client, admin: TestUser, org: OrgBuilder, mailbox: Mailbox) -> None:
    box = _setup(client, admin, org, mailbox, folders=["INBOX", "Customers", "Sent", "Partners"])
    result = _test(client, admin, box)
    assert (result["outcome"], result["reason"]) == ("failed", "folder_missing")
    assert "'Customers'" in result["message"] and "'Partners'" in result["message"]
    assert "INBOX" not in result["message"]


def test_closed_port_is_connect_and_untrusted_tls_is_tls(client, admin: TestUser, org: OrgBuilder,
                                                        mailbox: Mailbox) -> None:
    assert _test(client, admin, _setup(client, admin, org, mailbox, port=free_port()))["reason"] == "connect"
    tls = _setup(client, admin, org, mailbox, port=mailbox.server.tls_port, security="tls")
    assert _test(client, admin, tls)["reason"] == "tls"  # a self-signed certificate, system CAs only


def test_only_its_user_and_admins_may_test(client, admin: TestUser, org: OrgBuilder, mailbox: Mailbox) -> None:
    box = _setup(client, admin, org, mailbox)
    stranger = org.user("stranger@contoso.example", ["Sales Manager"])
    assert client.post(f"{M}/{box['id']}/test", headers=stranger.headers).status_code == 404
    assert client.post(f"{M}/{box['id']}/test").status_code == 401


def test_smtp_is_checked_when_the_mailbox_sends(client, admin: TestUser, org: OrgBuilder, mailbox: Mailbox,
                                               smtp_server: SmtpServer, session_factory) -> None:
    box = _setup(client, admin, org, mailbox)
    profile_id = box["server_profile_id"]
    r = client.patch(f"/api/v1/email-server-profiles/{profile_id}", json={
        "outgoing_host": smtp_server.host, "outgoing_port": smtp_server.port, "outgoing_security": "starttls",
        "use_same_credentials_for_outgoing": False}, headers=admin.headers)
    assert r.status_code == 200, r.text
    client.patch(f"{M}/{box['id']}", json={"outgoing_enabled": True}, headers=admin.headers)
    assert _test(client, admin, box)["reason"] == "tls"  # IMAP fine; the SMTP certificate is not trusted

    secrets.install(session_factory, Keyring(TEST_KEY))
    with UnitOfWork(session_factory) as uow:  # trusting the test server's certificate, as a deployment would
        row = run_connection_test(uow, Principal.system(), uuid.UUID(box["id"]), timeout=10,
                                  ssl_context=smtp_server.certificate.client_context())
        assert (row.last_test_outcome, row.last_test_reason) == ("ok", None), row.last_test_message
        assert "SMTP" in (row.last_test_message or "")


def test_a_secret_sealed_under_an_unknown_key_is_reported(client, admin: TestUser, org: OrgBuilder,
                                                         mailbox: Mailbox, session_factory) -> None:
    box = _setup(client, admin, org, mailbox)
    secrets.install(session_factory, Keyring("some-other-key"))
    try:
        with UnitOfWork(session_factory) as uow:
            row = run_connection_test(uow, Principal.system(), uuid.UUID(box["id"]), timeout=10)
            assert (row.last_test_outcome, row.last_test_reason) == ("failed", "secret")
            assert "CRM_PREVIOUS_SECRET_KEYS" in (row.last_test_message or "")
    finally:
        secrets.install(session_factory, Keyring(TEST_KEY))


# --- the CLI ---------------------------------------------------------------------------------------------
@pytest.fixture
def cli_env(migrated: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """`crm` on the test database with the test secret key."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CRM_DATABASE_URL", migrated)
    monkeypatch.setenv("CRM_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("CRM_SECRET_KEY", TEST_KEY)
    monkeypatch.delenv("CRM_PREVIOUS_SECRET_KEYS", raising=False)
    return CliRunner()


def test_cli_profile_mailbox_approve_test_list(cli_env: CliRunner, org: OrgBuilder, mailbox: Mailbox) -> None:
    org.user("rep@contoso.example", ["Salesperson"])
    run = cli_env.invoke
    r = run(app, ["mailbox", "profile", "add", "--name", "Local", "--incoming-host", "127.0.0.1",
                  "--incoming-port", str(mailbox.server.port), "--incoming-security", "plain"])
    assert r.exit_code == 0, r.output
    r = run(app, ["mailbox", "add", "--address", "Rep@Contoso.example", "--user", "rep@contoso.example",
                  "--profile", "Local", "--username", mailbox.username, "--name", "Rita"],
            input=mailbox.password + "\n")
    assert r.exit_code == 0, r.output
    assert "pending approval" in r.output and mailbox.password not in r.output
    r = run(app, ["mailbox", "list"])
    assert r.exit_code == 0 and "Rita" in r.output and "pending" in r.output and "never" in r.output
    r = run(app, ["mailbox", "approve", "Rita"])
    assert r.exit_code == 0 and "approved mailbox 'Rita'" in r.output and "may not sync" not in r.output
    r = run(app, ["mailbox", "test", "rep@contoso.example"])
    assert r.exit_code == 0, r.output
    assert r.output.startswith("ok: IMAP: logged in to 127.0.0.1")
    r = run(app, ["mailbox", "list"])
    assert "approved" in r.output and "ok" in r.output and "never" not in r.output

    org.user("bob@contoso.example", ["Salesperson"])
    r = run(app, ["mailbox", "add", "--address", "bob@contoso.example", "--user", "bob@contoso.example",
                  "--profile", "Local", "--username", mailbox.username, "--password-stdin"],
            input="Wrong-pw-7e2\n")
    assert r.exit_code == 0 and "Wrong-pw-7e2" not in r.output
    r = run(app, ["mailbox", "test", "bob@contoso.example", "--timeout", "10"])
    assert r.exit_code == 1 and "failed (auth)" in r.output and "Wrong-pw-7e2" not in r.output
    assert "auth" in run(app, ["mailbox", "list"]).output
    r = run(app, ["mailbox", "rekey"])
    assert r.exit_code == 0 and "re-encrypted 0 secrets" in r.output


def test_cli_errors_are_one_clear_line(cli_env: CliRunner, org: OrgBuilder) -> None:
    org.user("rep@contoso.example", ["Salesperson"])
    run = cli_env.invoke
    for args, message in [
        (["mailbox", "test", "ghost"], "no mailbox named 'ghost'"),
        (["mailbox", "approve", "ghost"], "no mailbox named 'ghost'"),
        (["mailbox", "add", "--address", "a@contoso.example", "--user", "rep@contoso.example", "--profile", "Nope",
          "--no-password"], "no email server profile named 'Nope'"),
        (["mailbox", "add", "--address", "a@contoso.example", "--profile", "Nope", "--no-password"],
         "give --user EMAIL or --queue NAME"),
        (["mailbox", "profile", "add", "--name", "Exchange", "--incoming-host", "imap.contoso.example",
          "--incoming-security", "plain"], "only allowed to a loopback host"),
    ]:
        r = run(app, args)
        assert r.exit_code == 1, (args, r.output)
        assert message in r.output and "Traceback" not in r.output, r.output
    assert "no mailboxes yet" in run(app, ["mailbox", "list"]).output


def test_cli_adds_an_exchange_profile_reading_its_secret_from_stdin(cli_env: CliRunner, org: OrgBuilder) -> None:
    secret = "app-secret-Zq8~1"
    r = cli_env.invoke(app, ["mailbox", "profile", "add-exchange", "--name", "Contoso Online", "--tenant",
                             "contoso.onmicrosoft.com", "--client-id", "5e2b7a10-93c4-4b8e-8d2f-0c6a1f9e3b74",
                             "--secret-stdin"], input=secret + "\n")
    assert r.exit_code == 0, r.output
    assert "graph, application, https://graph.microsoft.com/v1.0" in r.output and secret not in r.output
    r = cli_env.invoke(app, ["mailbox", "profile", "add-exchange", "--name", "On premises", "--protocol", "ews",
                             "--auth-type", "application"])
    assert r.exit_code == 1 and "auth_type" in r.output and "basic, ntlm, oauth" in r.output, r.output
