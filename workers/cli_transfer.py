"""`crm import` and `crm export`: records from and to CSV and Excel files on the server, without the API's row
limit. An import shows a progress bar (on standard error), then a summary table, and writes the rejected
rows, with the reason of each, to PATH.rejected.csv to be fixed and imported again."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import select

from crm_core.db.unit_of_work import UnitOfWork
from crm_core.errors import CrmError, ValidationFailed
from workers.cli_mailbox import fail, mail_factory

console = Console()
_SHOWN_REJECTIONS = 20


@contextmanager
def _acting_as(email: str | None) -> Iterator[tuple[UnitOfWork, Any]]:
    """A unit of work acting for the user (his privileges, his name in the audit), by default the first
    System Administrator: the records an import creates need an owner."""
    from crm_core.models import SecurityRole, User
    from crm_core.models.security import user_roles
    from crm_core.security.principal import load_principal
    from crm_core.services import directory

    with mail_factory() as (_settings, factory), UnitOfWork(factory) as uow:
        if email:
            user = directory.find_user(uow.session, email)
        else:
            user = uow.session.scalars(
                select(User)
                .join(user_roles, user_roles.c.user_id == User.id)
                .join(SecurityRole, SecurityRole.id == user_roles.c.role_id)
                .where(SecurityRole.name == "System Administrator", User.is_disabled.is_(False))
                .order_by(User.created_on)
                .limit(1)
            ).first()
            if user is None:
                raise fail(ValidationFailed("no System Administrator to act as: give --as USER"))
        principal = load_principal(uow.session, user.id)
        uow.actor_id = user.id
        uow.session.info["actor_id"] = user.id
        yield uow, principal


def _mapping(pairs: list[str] | None) -> dict[str, str]:
    mapping = {}
    for pair in pairs or []:
        column, sep, field = pair.partition("=")
        if not sep or not column.strip():
            raise ValidationFailed.field("map", f'{pair!r}: write it as "File column=field"')
        mapping[column.strip()] = field.strip()
    return mapping


def import_records(
    path: Annotated[
        Path,
        typer.Argument(
            help="A .csv (UTF-8) or .xlsx file; its first row names the columns.",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ],
    entity: Annotated[str, typer.Option(help="contact, account, lead... (or the collection: contacts).")],
    map_: Annotated[
        list[str] | None,
        typer.Option(
            "--map", help='"File column=field" (repeat); "Column=" ignores a column. Others map by name or label.'
        ),
    ] = None,
    key: Annotated[
        str | None,
        typer.Option(
            help="The field that finds the record a row updates (default: id, "
            "when the file has it), such as email_address1."
        ),
    ] = None,
    on_duplicate: Annotated[
        str,
        typer.Option(help="skip (reject), update or create a row that repeats an existing record or an earlier row."),
    ] = "skip",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would happen; write nothing.")] = False,
    as_user: Annotated[
        str | None,
        typer.Option(
            "--as",
            help="The user (email) who imports and owns the new records; default: the first System Administrator.",
        ),
    ] = None,
    sheet: Annotated[str | None, typer.Option(help="The workbook's sheet (default: the first).")] = None,
    delimiter: Annotated[str | None, typer.Option(help="The CSV delimiter (default: sniffed).")] = None,
    date_format: Annotated[
        str | None, typer.Option(help="strptime format of dates, such as %d/%m/%Y (default: ISO 8601, YYYY-MM-DD).")
    ] = None,
) -> None:
    """Import records from a CSV or Excel file: each row creates a record, or updates the one its key matches.
    Bad rows are reported and skipped (written to PATH.rejected.csv); the others are imported."""
    from crm_core.api.routes.transfer import profile_for
    from crm_core.data_transfer.formats import format_of, read_table
    from crm_core.data_transfer.importer import Importer, ImportOptions, OnDuplicate

    try:
        options = ImportOptions(
            dry_run=dry_run, key=key, on_duplicate=OnDuplicate(on_duplicate), date_format=date_format
        )
    except ValueError:
        raise fail(ValidationFailed.field("on-duplicate", "must be skip, update or create")) from None
    try:
        mapping = _mapping(map_)
        profile = profile_for(entity)
    except CrmError as exc:
        raise fail(exc) from None
    with _acting_as(as_user) as (uow, principal), path.open("rb") as binary:
        try:
            head = binary.read(8)
            binary.seek(0)
            table = read_table(binary, format_of(path.name, head), delimiter, sheet, count_rows=True)
            with _progress(f"{'checking' if dry_run else 'importing'} {path.name}", table.total) as advance:
                report = Importer(uow, principal, profile, options).run(table, mapping, advance)
        except CrmError as exc:
            raise fail(exc) from None
    _print_report(report)
    _write_rejected(path, report)


@contextmanager
def _progress(description: str, total: int | None) -> Iterator[Any]:
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=not console.is_terminal,
    ) as progress:
        task = progress.add_task(description, total=total)

        def advance(done: int, total: int | None) -> None:
            progress.update(task, completed=done, total=total)

        yield advance


def _print_report(report: Any) -> None:
    mapped = ", ".join(f"{escape(c)} → {f}" for c, f in report.mapping.items())
    console.print(f"columns: {mapped}", highlight=False, soft_wrap=True)
    if report.unmapped:
        console.print(f"ignored columns: {escape(', '.join(report.unmapped))}", highlight=False, soft_wrap=True)
    table = Table("", "created", "updated", "unchanged", "rejected", box=None, pad_edge=False, padding=(0, 2, 0, 0))
    table.add_row(
        f"{report.entity}{' (dry run: nothing written)' if report.dry_run else ''}",
        *(str(report.count(a)) for a in ("created", "updated", "unchanged", "rejected")),
    )
    console.print(table)
    rejected = report.rejected
    if rejected:
        shown = Table(
            "row",
            "column",
            "reason",
            box=None,
            pad_edge=False,
            padding=(0, 2, 0, 0),
            title="rejected rows",
            title_justify="left",
        )
        for outcome in rejected[:_SHOWN_REJECTIONS]:
            for column, reason in outcome.errors:
                shown.add_row(str(outcome.row), escape(column), escape(reason))
        console.print(shown)
        if len(rejected) > _SHOWN_REJECTIONS:
            console.print(f"... and {len(rejected) - _SHOWN_REJECTIONS} more", highlight=False)


def _write_rejected(path: Path, report: Any) -> None:
    from crm_core.data_transfer.formats import csv_chunks

    target = path.with_name(path.name + ".rejected.csv")
    if not report.rejected:
        target.unlink(missing_ok=True)  # an old one would describe an earlier run
        return
    headers = [*report.headers, "row", "reason"]
    width = len(report.headers)
    rows = (
        [*(o.cells or [])[:width], *[None] * (width - len(o.cells or [])), o.row, o.reason] for o in report.rejected
    )
    with target.open("wb") as out:
        for chunk in csv_chunks(headers, rows):
            out.write(chunk)
    console.print(f"rejected rows, with their reasons: {escape(str(target))}", highlight=False, soft_wrap=True)


def export_records(
    entity: Annotated[str, typer.Argument(help="contact, account, lead... (or the collection: contacts).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The file to write.", dir_okay=False)],
    format_: Annotated[
        str | None, typer.Option("--format", help="csv or xlsx (default: from the file's name).")
    ] = None,
    columns: Annotated[
        str | None, typer.Option(help="Fields, comma separated (default: the columns an import takes back).")
    ] = None,
    filter_: Annotated[
        list[str] | None,
        typer.Option(
            "--filter", help='"field=value" as the list takes it (statecode=0, created_on__gte=2026-01-01); repeat.'
        ),
    ] = None,
    as_user: Annotated[
        str | None,
        typer.Option(
            "--as", help="The user (email) whose read scope applies; default: the first System Administrator."
        ),
    ] = None,
) -> None:
    """Export the records of an entity the user can read to a CSV or Excel file. Text that a spreadsheet would
    run as a formula is written with a leading apostrophe."""
    from crm_core.api.routes.transfer import parse_filters, profile_for
    from crm_core.data_transfer.exporter import Exporter
    from crm_core.data_transfer.formats import FileFormat, csv_chunks, format_of, write_xlsx
    from crm_core.entities import entity as entity_spec

    try:
        profile = profile_for(entity)
        fmt = format_of(output.name, given=format_)
        pairs = [f.partition("=")[::2] for f in filter_ or []]
        filters = parse_filters(profile, [(k.strip(), v.strip()) for k, v in pairs])
    except CrmError as exc:
        raise fail(exc) from None
    written = 0
    with _acting_as(as_user) as (uow, principal):
        try:
            exporter = Exporter(uow, principal, profile, columns.split(",") if columns else None, filters)
            exporter.check()
            with _progress(f"exporting {entity}", None) as advance:

                def counted() -> Iterator[list[Any]]:
                    nonlocal written
                    for row in exporter.rows():
                        written += 1
                        advance(written, None)
                        yield row

                # Written aside, then renamed: a failed export leaves no half file under the name asked for.
                partial = output.with_name(f".{output.name}.{uuid.uuid4().hex[:8]}.part")
                try:
                    with partial.open("wb") as out:
                        if fmt is FileFormat.CSV:
                            for chunk in csv_chunks(exporter.columns, counted()):
                                out.write(chunk)
                        else:
                            write_xlsx(out, exporter.columns, counted(), title=entity_spec(profile.entity).collection)
                    partial.replace(output)
                finally:
                    partial.unlink(missing_ok=True)
        except CrmError as exc:
            raise fail(exc) from None
    console.print(
        f"exported {written} {profile.entity} records to {escape(str(output))}", highlight=False, soft_wrap=True
    )
