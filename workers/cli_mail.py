"""`crm mail ...`: mail that does not come from a mailbox sync: importing a Maildir or an mbox (migrations, the
demo), and sending the emails waiting in Pending Send."""

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from crm_core.db.unit_of_work import UnitOfWork
from workers.cli_mailbox import fail, mail_factory

mail_app = typer.Typer(help="Import mail from files, send pending mail.", no_args_is_help=True)
console = Console()


@mail_app.command("import")
def mail_import(
    path: Annotated[Path, typer.Argument(help="A Maildir folder (with its subfolders) or an mbox file.")],
    mailbox: Annotated[str, typer.Option(help="The CRM mailbox (name or address) the mail is tracked for.")],
) -> None:
    """Track every message of a Maildir or mbox as if the mailbox had synced it, with a progress bar and a
    summary. Running it again imports nothing twice."""
    from dataclasses import replace

    from calendar_sync.meetings.incoming import apply_meeting_mail
    from crm_core.services.mailboxes import find_mailbox
    from mailbridge.errors import MailError
    from mailbridge.tracking import TrackingOptions, import_local
    from workers.mail_progress import print_summary, tracking_progress

    with mail_factory() as (settings, factory):
        with UnitOfWork(factory) as uow:
            mailbox_id = find_mailbox(uow.session, mailbox).id
        try:
            with tracking_progress(console) as progress:
                # Meeting mail updates appointments: calendar_sync's hook, plugged in here (mailbridge cannot).
                options = replace(TrackingOptions.from_settings(settings), meeting_mail=apply_meeting_mail)
                summary = import_local(factory, mailbox_id, path, options, progress=progress)
        except MailError as exc:
            raise fail(exc) from None
    print_summary(console, summary)


@mail_app.command("send")
def mail_send() -> None:
    """Send the emails waiting in Pending Send through their mailboxes (a few per mailbox each run; the workers
    run this every minute). Failures are recorded on each email with the reason."""
    from mailbridge.outgoing import OutgoingOptions, send_pending

    with mail_factory() as (settings, factory):
        summary = send_pending(factory, OutgoingOptions.from_settings(settings))
    console.print(f"sent {summary.sent}, to retry {summary.retry}, failed {summary.failed}", highlight=False)
    for email_id, reason in summary.errors.items():
        console.print(f"  {email_id}: {reason}", highlight=False, soft_wrap=True)
