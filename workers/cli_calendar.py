"""`crm calendar ...`: connecting calendars to users' appointments and syncing them from the shell.

As `crm mailbox`, every command acts as the organisation; a CalDAV password comes from a hidden prompt or from
standard input (--password-stdin), never from an option, and is never echoed."""

from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from crm_core.db.unit_of_work import UnitOfWork
from crm_core.errors import CrmError
from workers.cli_mailbox import _password, _system, _work, console, err, fail, mail_factory

calendar_app = typer.Typer(help="Calendars synced with users' appointments (CalDAV, Exchange, iCalendar feeds).",
                           no_args_is_help=True)


@calendar_app.command("add")
def calendar_add(
    name: Annotated[str, typer.Option(help="A name to refer to it by.")],
    user: Annotated[str, typer.Option(help="Whose appointments: the user's sign-in email.")],
    kind: Annotated[str, typer.Option(help="caldav, ews, graph or ics.")] = "caldav",
    url: Annotated[str | None, typer.Option(help="caldav: the calendar, principal or server URL; ics: a feed "
                                            "URL or file path.")] = None,
    username: Annotated[str | None, typer.Option(help="caldav: the login; its password is asked for.")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin.")]
    = False,
    mailbox: Annotated[str | None, typer.Option(help="ews or graph: the mailbox's name or address.")] = None,
    policy: Annotated[str, typer.Option(help="On conflict: crm_wins, server_wins or newest_wins.")]
    = "newest_wins",
    track: Annotated[str, typer.Option(help="Which server events come in: tracked or known_attendees.")]
    = "known_attendees",
) -> None:
    """Connect a calendar to a user's appointments."""
    from crm_core.services import directory
    from crm_core.services.calendars import CalendarService
    from crm_core.services.mailboxes import find_mailbox

    values: dict[str, Any] = {"name": name, "kind": kind, "url": url, "username": username,
                              "conflict_policy": policy, "incoming_filter": track}
    if username or password_stdin:
        values["password"] = _password(password_stdin, f"Password for {username or name}")
    with _work() as uow:
        values["user_id"] = directory.find_user(uow.session, user).id
        if mailbox is not None:
            values["mailbox_id"] = find_mailbox(uow.session, mailbox).id
        calendar = CalendarService(uow, _system()).create(values)
        console.print(f"added calendar {calendar.name!r} ({calendar.kind}) for {user}; sync it with "
                      f"crm calendar sync {calendar.name!r}", highlight=False)


@calendar_app.command("list")
def calendar_list() -> None:
    """Every calendar with its user, kind and last sync."""
    from sqlalchemy import select

    from crm_core.models.calendars import Calendar

    table = Table("name", "kind", "user", "where", "policy", "last sync", box=None, pad_edge=False,
                  padding=(0, 2, 0, 0))
    with _work() as uow:
        for c in uow.session.scalars(select(Calendar).order_by(Calendar.name)):
            where = c.resolved_url or c.url or (c.mailbox.email_address if c.mailbox else "")
            last = f"{c.last_synced_on:%Y-%m-%d %H:%M}" if c.last_synced_on else "never"
            if c.last_error_reason:
                last += f" [red]{escape(c.last_error_reason)}[/red]"
            table.add_row(escape(c.name), c.kind, c.user.email, escape(where), c.conflict_policy, last)
    if not table.rows:
        console.print("no calendars yet: crm calendar add --name ... --user ... --url ...")
        return
    console.print(table)


@calendar_app.command("sync")
def calendar_sync(name: Annotated[str, typer.Argument(help="The calendar's name.")]) -> None:
    """One two-way pass: what changed on either side goes to the other, with a progress bar and a summary.
    Safe to stop at any moment and run again: nothing is lost, nothing is written twice."""
    from calendar_sync.runner import sync_calendar
    from crm_core.services.calendars import find_calendar

    with mail_factory() as (_settings, factory):
        with UnitOfWork(factory) as uow:
            calendar_id = find_calendar(uow.session, name).id
        try:
            with Progress(TextColumn(name), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                          console=err, transient=not console.is_terminal) as progress:
                task = progress.add_task(name, total=None)
                summary = sync_calendar(factory, calendar_id,
                                        progress=lambda done, total: progress.update(task, completed=done,
                                                                                     total=total))
        except CrmError as exc:
            raise fail(exc) from None
    report = summary.report
    console.print(f"to the CRM {summary.to_crm}, to the server {summary.to_server}, conflicts {summary.conflicts}, "
                  f"quarantined {summary.quarantined}" + (", full resync" if report.resynced else ""),
                  highlight=False)
    for uid, reason in report.deferred:
        console.print(f"  left for the next pass: {escape(uid)} ({reason})", highlight=False)
    if not report.complete:
        raise typer.Exit(1)
