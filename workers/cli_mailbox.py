"""`crm mailbox ...`: an admin's side of mail tracking from the shell: server profiles, mailboxes, approval,
connection tests and re-encrypting secrets after a key change.

Every command acts as the organisation (whoever runs `crm` administers the server). Passwords come from a
hidden prompt or from standard input (--password-stdin), never from an option (shell history, ps) and are
never echoed; errors are one line and exit 1."""

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from crm_core.db.unit_of_work import UnitOfWork
from crm_core.errors import CrmError
from crm_core.settings import Settings

mailbox_app = typer.Typer(help="Mailboxes and email server profiles (mail tracking).", no_args_is_help=True)
profile_app = typer.Typer(help="Email server profiles: the IMAP and SMTP servers mailboxes use.",
                          no_args_is_help=True)
mailbox_app.add_typer(profile_app, name="profile")

console = Console()
err = Console(stderr=True)

Security = Annotated[str, typer.Option(help="tls, starttls or plain (loopback only).")]


def fail(exc: CrmError) -> typer.Exit:
    err.print(f"[red]error:[/red] {escape(exc.detail)}", highlight=False, soft_wrap=True)
    return typer.Exit(1)


@contextmanager
def mail_factory() -> Iterator[tuple[Settings, Any]]:
    """The settings and a session factory whose sessions carry the audit hooks and the secrets keyring;
    CrmError leaves as one line, exit 1."""
    from crm_core.db.engine import make_engine, make_session_factory
    from crm_core.hooks import install
    from crm_core.security import secrets

    settings = Settings()
    engine = make_engine(settings.database_url)
    factory = make_session_factory(engine)
    install(factory)
    try:
        secrets.install(factory, secrets.Keyring.from_settings(settings))
        yield settings, factory
    except CrmError as exc:
        raise fail(exc) from None
    finally:
        engine.dispose()


@contextmanager
def _work() -> Iterator[UnitOfWork]:
    """A system unit of work on such a factory."""
    with mail_factory() as (_settings, factory), UnitOfWork(factory) as uow:
        yield uow


def _system() -> Any:
    from crm_core.security.principal import Principal

    return Principal.system()


def _password(from_stdin: bool, prompt: str) -> str:
    if from_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            err.print("[red]error:[/red] --password-stdin: standard input had no password")
            raise typer.Exit(1)
        return line
    return str(typer.prompt(prompt, hide_input=True))


@profile_app.command("add")
def profile_add(
    name: Annotated[str, typer.Option(help="A name mailboxes refer to.")],
    incoming_host: Annotated[str, typer.Option(help="The IMAP server.")],
    incoming_port: Annotated[int | None, typer.Option(help="Default: 993 (tls), 143 otherwise.")] = None,
    incoming_security: Security = "tls",
    outgoing_host: Annotated[str | None, typer.Option(help="The SMTP submission server (none: cannot send).")]
    = None,
    outgoing_port: Annotated[int | None, typer.Option(help="Default: 465 (tls), 587 (starttls).")] = None,
    outgoing_security: Security = "starttls",
    same_credentials: Annotated[bool, typer.Option(help="Log in to SMTP as to IMAP (else: no SMTP login).")]
    = True,
    max_connections: Annotated[int, typer.Option(help="Concurrent connections to the server.")] = 4,
    username: Annotated[str | None, typer.Option(help="A profile-wide login for mailboxes without their own; "
                                                 "its password is asked for.")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read that password from stdin.")]
    = False,
) -> None:
    """Add an email server profile (IMAP in, SMTP out)."""
    from crm_core.services.email_server_profiles import EmailServerProfileService

    values: dict[str, Any] = {
        "name": name, "incoming_host": incoming_host, "incoming_port": incoming_port,
        "incoming_security": incoming_security, "outgoing_host": outgoing_host, "outgoing_port": outgoing_port,
        "outgoing_security": outgoing_security, "use_same_credentials_for_outgoing": same_credentials,
        "max_concurrent_connections": max_connections, "username": username,
    }
    if username or password_stdin:
        values["password"] = _password(password_stdin, f"Password for {username or 'the profile'}")
    with _work() as uow:
        profile = EmailServerProfileService(uow, _system()).create(values)
        console.print(f"added email server profile {profile.name!r} (IMAP {profile.incoming_host}"
                      f"{', SMTP ' + profile.outgoing_host if profile.outgoing_host else ''})", highlight=False)


@profile_app.command("add-exchange")
def profile_add_exchange(
    name: Annotated[str, typer.Option(help="A name mailboxes refer to.")],
    protocol: Annotated[str, typer.Option(help="graph (Exchange Online) or ews (Exchange Server).")] = "graph",
    auth_type: Annotated[str, typer.Option(help="graph: application or delegated; ews: basic, ntlm or oauth.")]
    = "application",
    tenant: Annotated[str | None, typer.Option(help="The Entra ID tenant (GUID or domain).")] = None,
    client_id: Annotated[str | None, typer.Option(help="The app registration's client id.")] = None,
    secret_stdin: Annotated[bool, typer.Option("--secret-stdin", help="Read the app's client secret from stdin.")]
    = False,
    certificate: Annotated[Path | None, typer.Option(help="A PEM file: the app's RSA private key and certificate "
                                                     "(instead of a secret).")] = None,
    service_url: Annotated[str | None, typer.Option(help="EWS: its URL (none: autodiscover); Graph: its base URL.")]
    = None,
    authority_url: Annotated[str | None, typer.Option(help="Entra ID's login URL (a national cloud's).")] = None,
    category: Annotated[str | None, typer.Option(help="The category tracked items get in Outlook.")]
    = "Tracked to CRM",
) -> None:
    """Add an Exchange email server profile: Exchange Online through Microsoft Graph, or Exchange Server through
    EWS. Secrets are read from stdin or a file, never from the command line."""
    from crm_core.services.email_server_profiles import EmailServerProfileService

    values: dict[str, Any] = {
        "name": name, "incoming_protocol": protocol, "auth_type": auth_type, "tenant_id": tenant,
        "client_id": client_id, "service_url": service_url, "authority_url": authority_url, "mark_category": category,
    }
    if secret_stdin:
        values["client_secret"] = _password(True, "Client secret")
    if certificate is not None:
        values["client_certificate"] = certificate.read_text()
    with _work() as uow:
        profile = EmailServerProfileService(uow, _system()).create(values)
        console.print(f"added email server profile {profile.name!r} ({profile.incoming_protocol}, "
                      f"{profile.auth_type}, {profile.service_url or 'autodiscover'})", highlight=False,
                      soft_wrap=True)


@mailbox_app.command("add")
def mailbox_add(
    address: Annotated[str, typer.Option(help="The mailbox's email address.")],
    profile: Annotated[str, typer.Option(help="The email server profile's name.")],
    user: Annotated[str | None, typer.Option(help="Whose mailbox: a user's sign-in email...")] = None,
    queue: Annotated[str | None, typer.Option(help="...or a queue's name.")] = None,
    name: Annotated[str | None, typer.Option(help="Default: the address.")] = None,
    username: Annotated[str | None, typer.Option(help="Login; default the profile's, else the address.")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin.")]
    = False,
    no_password: Annotated[bool, typer.Option("--no-password", help="Use the profile's credential.")] = False,
    folder: Annotated[list[str] | None, typer.Option(help="A folder to track (repeat); default INBOX and Sent.")]
    = None,
    track: Annotated[str | None, typer.Option(help="all, known_records or crm_replies.")] = None,
    keep: Annotated[str | None, typer.Option(help="metadata, subject or everything.")] = None,
    unknown_senders: Annotated[str | None, typer.Option(help="keep_address, create_contact, create_lead.")]
    = None,
    outgoing: Annotated[bool | None, typer.Option(help="Send CRM mail through it (default: if the profile "
                                                  "can).")] = None,
) -> None:
    """Add a user's or a queue's mailbox. It is pending until approved (`crm mailbox approve`)."""
    from sqlalchemy import select

    from crm_core.errors import ValidationFailed
    from crm_core.models import Queue
    from crm_core.services import directory
    from crm_core.services.email_server_profiles import find_profile
    from crm_core.services.mailboxes import MailboxService

    if (user is None) == (queue is None):
        err.print("[red]error:[/red] give --user EMAIL or --queue NAME: whose mailbox it is")
        raise typer.Exit(1)
    password = None if no_password else _password(password_stdin, f"Password for {username or address}")
    with _work() as uow:
        if user is not None:
            regarding: tuple[str, Any] = ("user", directory.find_user(uow.session, user).id)
        else:
            queue_id = uow.session.scalar(select(Queue.id).where(Queue.name == queue))
            if queue_id is None:
                raise ValidationFailed.field("queue", f"no queue named {queue!r}")
            regarding = ("queue", queue_id)
        values: dict[str, Any] = {
            "email_address": address, "name": name, "regarding_type": regarding[0], "regarding_id": regarding[1],
            "server_profile_id": find_profile(uow.session, profile).id, "username": username,
            "password": password,
        }
        options = {"folders": folder, "incoming_filter": track, "keep_content": keep,
                   "unknown_senders": unknown_senders, "outgoing_enabled": outgoing}
        values.update({k: v for k, v in options.items() if v is not None})
        mailbox = MailboxService(uow, _system()).create(values)
        console.print(f"added mailbox {mailbox.name!r} ({mailbox.email_address}); pending approval: "
                      f"crm mailbox approve {mailbox.name!r}", highlight=False)


@mailbox_app.command("list")
def mailbox_list() -> None:
    """Every mailbox with its owner, status and last connection test."""
    from sqlalchemy import select

    from crm_core.models import Mailbox

    table = Table("name", "address", "owner", "profile", "status", "in", "out", "last test", box=None,
                  pad_edge=False, padding=(0, 2, 0, 0))
    with _work() as uow:
        for m in uow.session.scalars(select(Mailbox).order_by(Mailbox.name)):
            owner = f"user {m.user.email}" if m.user else f"queue {m.queue.name}" if m.queue else "?"
            status = "[green]approved[/green]" if m.approval_status == "approved" else "[yellow]pending[/yellow]"
            test = "never"
            if m.last_test_on is not None:
                outcome = "[green]ok[/green]" if m.last_test_outcome == "ok" \
                    else f"[red]{escape(m.last_test_reason or '')}[/red]"
                test = f"{outcome} {m.last_test_on:%Y-%m-%d %H:%M}"
            table.add_row(escape(m.name), m.email_address, escape(owner), escape(m.server_profile.name), status,
                          "on" if m.incoming_enabled else "off", "on" if m.outgoing_enabled else "off", test)
    if not table.rows:
        console.print("no mailboxes yet: crm mailbox profile add ..., then crm mailbox add ...")
        return
    console.print(table)


@mailbox_app.command("test")
def mailbox_test(
    name: Annotated[str, typer.Argument(help="The mailbox's name or email address.")],
    timeout: Annotated[float, typer.Option(help="Seconds to wait for each server.")] = 20.0,
) -> None:
    """Log in to the mailbox's servers and find its folders; the outcome is stored on the mailbox."""
    from crm_core.services.mailboxes import find_mailbox
    from mailbridge.admin import run_connection_test

    with _work() as uow:
        mailbox_id = find_mailbox(uow.session, name).id
        mailbox = run_connection_test(uow, _system(), mailbox_id, timeout=timeout)
        ok, reason, message = mailbox.last_test_outcome == "ok", mailbox.last_test_reason, mailbox.last_test_message
    if ok:
        console.print(f"[green]ok[/green]: {escape(message or '')}", highlight=False, soft_wrap=True)
        return
    err.print(f"[red]failed ({escape(reason or '')})[/red]: {escape(message or '')}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


@mailbox_app.command("sync")
def mailbox_sync(name: Annotated[str, typer.Argument(help="The mailbox's name or email address.")]) -> None:
    """One pass over the mailbox's folders: new mail tracked, with a progress bar and a summary. Safe to stop
    at any moment and run again: nothing is lost, nothing is tracked twice."""
    from dataclasses import replace

    from calendar_sync.meetings.incoming import apply_meeting_mail
    from crm_core.errors import Conflict
    from crm_core.services.mailboxes import find_mailbox
    from mailbridge.errors import MailError
    from mailbridge.runs import run_mailbox_sync
    from mailbridge.tracking import TrackingOptions
    from workers.mail_progress import print_summary, tracking_progress
    from workers.runtime import run_policy

    with mail_factory() as (settings, factory):
        with UnitOfWork(factory) as uow:
            mailbox_id = find_mailbox(uow.session, name).id
        try:
            with tracking_progress(console) as progress:
                # Meeting mail updates appointments: calendar_sync's hook, plugged in here (mailbridge cannot).
                options = replace(TrackingOptions.from_settings(settings), meeting_mail=apply_meeting_mail)
                # As a worker's job: the mailbox's lease, a run in its history, its sync state moved.
                result = run_mailbox_sync(factory, mailbox_id, trigger="cli", options=options,
                                          policy=run_policy(settings), progress=progress, raise_errors=True)
        except (MailError, Conflict) as exc:
            raise fail(exc) from None
    summary = result.summary
    assert summary is not None
    print_summary(console, summary)
    if any(f.error for f in summary.folders.values()):
        raise typer.Exit(1)


@mailbox_app.command("approve")
def mailbox_approve(name: Annotated[str, typer.Argument(help="The mailbox's name or email address.")]) -> None:
    """Approve a mailbox: an approved, enabled mailbox may sync."""
    from crm_core.services.mailboxes import MailboxService, find_mailbox

    with _work() as uow:
        mailbox = MailboxService(uow, _system()).approve(find_mailbox(uow.session, name).id)
        permission = mailbox.may_sync()
        console.print(f"approved mailbox {mailbox.name!r}"
                      + ("" if permission else f"; it may not sync yet: {permission.reason}"), highlight=False)


@mailbox_app.command("track-folder")
def mailbox_track_folder(
    name: Annotated[str, typer.Argument(help="The mailbox's name or email address.")],
    folder: Annotated[str, typer.Argument(help='The folder as the server names it: "CRM", "CRM/Contoso".')],
    regarding: Annotated[str | None, typer.Option(help="entity:id of the record its mail is linked to.")] = None,
) -> None:
    """Track a folder of the mailbox: mail moved there is tracked whatever the mailbox's filter, and linked to
    the --regarding record (docs/mail-tracking.md, tracked folders)."""
    import uuid

    from crm_core.errors import ValidationFailed
    from crm_core.services.mailbox_tracking_folders import MailboxTrackingFolderService
    from crm_core.services.mailboxes import find_mailbox

    kind, record_id = None, None
    if regarding is not None:
        kind, _, text = regarding.partition(":")
        try:
            record_id = uuid.UUID(text)
        except ValueError:
            raise fail(ValidationFailed("--regarding: entity:id, e.g. account:9f0c...")) from None
    with _work() as uow:
        mailbox = find_mailbox(uow.session, name)
        rule = MailboxTrackingFolderService(uow, _system()).create(mailbox.id, folder, kind, record_id)
        linked = f" regarding {rule.regarding_type} {rule.regarding_id}" if rule.regarding_id else ""
        console.print(f"mailbox {mailbox.name!r} tracks its folder {rule.folder!r}{linked}", highlight=False)


@mailbox_app.command("rekey")
def mailbox_rekey() -> None:
    """Re-encrypt every stored mail secret under the current CRM_SECRET_KEY (after changing it, with the former
    key in CRM_PREVIOUS_SECRET_KEYS); then the former key may be dropped."""
    from crm_core.security.secrets import keyring_of
    from crm_core.services.mailboxes import rekey

    with _work() as uow:
        uow.set_action("rekey")
        changed = rekey(uow.session, keyring_of(uow.session))
        uow.commit()
    console.print(f"re-encrypted {changed} secret{'s' if changed != 1 else ''} under the current key")
