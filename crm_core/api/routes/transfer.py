"""/imports and /exports: records from and to CSV and Excel files (crm_core.data_transfer).

An import runs synchronously, within the request, and is refused past MAX_IMPORT_ROWS rows: larger files go
through `crm import` on the server (a stored import job can come later). An export is streamed: CSV a few
hundred rows at a time; a workbook is written to a spooled temporary file first (a zip cannot be streamed
before it is complete), then sent."""

from __future__ import annotations

import functools
import json
import tempfile
import uuid
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field, TypeAdapter
from pydantic import ValidationError as PydanticError
from starlette.concurrency import run_in_threadpool

from crm_core.api.deps import BearerDep, Caller, ContextDep, open_caller, respond
from crm_core.data_transfer.exporter import Exporter
from crm_core.data_transfer.formats import FileFormat, csv_chunks, format_of, read_table, write_xlsx
from crm_core.data_transfer.importer import Importer, ImportOptions, OnDuplicate
from crm_core.data_transfer.profiles import EntityProfile
from crm_core.entities import by_collection, entity
from crm_core.errors import ValidationFailed
from crm_core.services import listing

MAX_IMPORT_ROWS = 10_000
_XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

router = APIRouter(tags=["import and export"])


class ImportOptionsIn(BaseModel):
    model_config = {"extra": "forbid"}

    dry_run: bool = Field(default=False, description="Report what would happen; write nothing.")
    key: str | None = Field(
        default=None,
        description="The field that finds the record a row updates (default: id, when the file has an id column).",
    )
    on_duplicate: OnDuplicate = Field(
        default=OnDuplicate.SKIP,
        description="A row repeating an earlier row or "
        "an existing record by email: skip (reject) it, update that record, "
        "or create it anyway.",
    )
    date_format: str | None = Field(default=None, description="strptime format of dates; default ISO 8601.")
    delimiter: str | None = Field(default=None, description="CSV delimiter; default: sniffed.")
    sheet: str | None = Field(default=None, description="The workbook's sheet; default: the first.")


class ImportRowOut(BaseModel):
    row: int = Field(description="The row number as a spreadsheet shows it (the header is row 1).")
    action: str = Field(description="created, updated, unchanged or rejected")
    id: str | None
    column: str | None = None
    reason: str | None = None
    errors: list[dict[str, str]] = Field(default_factory=list)


class ImportReportOut(BaseModel):
    entity: str
    dry_run: bool
    key: str | None
    total: int
    created: int
    updated: int
    unchanged: int
    rejected: int
    mapping: dict[str, str] = Field(description="File column -> field.")
    unmapped_columns: list[str]
    rows: list[ImportRowOut]


@functools.cache
def _profiles() -> dict[str, EntityProfile]:
    from crm_core.api.router import resources  # the router includes this module: import when first used

    profiles = {}
    for res in resources():
        filters: dict[str, tuple[str, type]] = {}
        for f in res.filters:
            for op in f.ops:
                alias = f.name if op is listing.Op.EQ else f"{f.name}__{op.value}"
                filters[alias] = (f.column or f.name, f.type)
        profiles[res.entity] = EntityProfile(
            res.entity, res.service, res.create, res.update, res.out, res.render, filters
        )
    return profiles


def profile_for(name: str) -> EntityProfile:
    """The profile of an entity, by its logical name (contact) or its collection (contacts)."""
    try:
        spec = entity(name)
    except ValidationFailed:
        try:
            spec = by_collection(name)
        except ValidationFailed:
            raise ValidationFailed.field("entity", f"unknown entity {name!r}") from None
    profile = _profiles().get(spec.name)
    if profile is None:
        raise ValidationFailed.field("entity", f"{spec.name} records cannot be imported or exported")
    return profile


def _json_object(text: str | None, name: str) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ValidationFailed.field(name, f"not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ValidationFailed.field(name, "must be a JSON object")
    return value


@router.post("/imports", response_model=ImportReportOut, summary="Import records from a CSV or Excel file")
async def import_file(
    ctx: ContextDep,
    credentials: BearerDep,
    file: Annotated[UploadFile, File(description="CSV (UTF-8) or .xlsx; the first row names the columns.")],
    entity_name: Annotated[str, Form(alias="entity", description="contact, account, lead...")],
    mapping: Annotated[str | None, Form(description='JSON: {"File column": "field"}; "" ignores a column.')] = None,
    options: Annotated[str | None, Form(description="JSON: ImportOptionsIn.")] = None,
) -> Any:
    try:
        opts = ImportOptionsIn.model_validate(_json_object(options, "options"))
    except PydanticError as exc:
        raise ValidationFailed("options: " + "; ".join(str(e["msg"]) for e in exc.errors())) from None
    columns = {str(k): str(v) if v is not None else "" for k, v in _json_object(mapping, "mapping").items()}
    profile = profile_for(entity_name)

    def work(caller: Caller) -> dict[str, Any]:
        binary = file.file
        head = binary.read(8)
        binary.seek(0)
        table = read_table(binary, format_of(file.filename, head), opts.delimiter, opts.sheet)
        importer = Importer(
            caller.uow,
            caller.principal,
            profile,
            ImportOptions(
                dry_run=opts.dry_run,
                key=opts.key,
                on_duplicate=opts.on_duplicate,
                date_format=opts.date_format,
                max_rows=MAX_IMPORT_ROWS,
            ),
        )
        return importer.run(table, columns).as_json()

    return await respond(ctx, credentials, work, TypeAdapter(ImportReportOut))


@router.get(
    "/exports/{entity_name}",
    summary="Export records to a CSV or Excel file",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}, _XLSX_TYPE: {}}, "description": "The file."}},
)
async def export_file(
    request: Request,
    ctx: ContextDep,
    credentials: BearerDep,
    entity_name: str,
    format: Annotated[FileFormat, Query(description="csv or xlsx")] = FileFormat.CSV,
    columns: Annotated[
        list[str] | None,
        Query(description="Fields, comma separated or repeated; default: the columns an import takes back."),
    ] = None,
) -> StreamingResponse:
    """Every other query parameter is a filter of the collection's list (as GET /{collection} takes them):
    `statecode=0`, `created_on__gte=2026-01-01`..."""
    profile = profile_for(entity_name)
    filters = parse_filters(
        profile, [(k, v) for k, v in request.query_params.multi_items() if k not in ("format", "columns")]
    )
    chosen = [c for value in columns or [] for c in value.split(",")]

    def chunks() -> Iterator[bytes]:
        with open_caller(ctx, credentials) as caller:
            exporter = Exporter(caller.uow, caller.principal, profile, chosen, filters)
            exporter.check()
            yield b""  # the first step ends here: a refusal above is a problem answer, not a cut stream
            if format is FileFormat.CSV:
                yield from csv_chunks(exporter.columns, exporter.rows())
                return
            with tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024) as spool:
                write_xlsx(spool, exporter.columns, exporter.rows(), title=entity(profile.entity).collection)
                spool.seek(0)
                while chunk := spool.read(256 * 1024):
                    yield chunk

    stream = chunks()
    await run_in_threadpool(next, stream)
    name = f"{entity(profile.entity).collection}.{format.value}"
    media = "text/csv; charset=utf-8" if format is FileFormat.CSV else _XLSX_TYPE
    return StreamingResponse(
        stream, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


def parse_filters(profile: EntityProfile, items: list[tuple[str, str]]) -> list[listing.Filter]:
    """(alias, text) pairs into the filters of the collection's list, as GET /{collection} takes them."""
    found: list[listing.Filter] = []
    many: dict[str, list[Any]] = {}  # an `in` filter repeats its parameter
    for alias, value in items:
        if alias not in profile.filters:
            raise ValidationFailed.field(
                alias, f"not a filter of {profile.entity}; the filters are {sorted(profile.filters)}"
            )
        column, kind = profile.filters[alias]
        op = listing.Op(alias.split("__", 1)[1]) if "__" in alias else listing.Op.EQ
        try:
            parsed = TypeAdapter(kind).validate_python(value) if kind is not uuid.UUID else uuid.UUID(value)
        except (PydanticError, ValueError):
            raise ValidationFailed.field(alias, f"{value!r} is not a {kind.__name__}") from None
        if op is listing.Op.IN:
            many.setdefault(alias, []).append(parsed)
        else:
            found.append(listing.Filter(column, op, parsed))
    found += [listing.Filter(profile.filters[alias][0], listing.Op.IN, values) for alias, values in many.items()]
    return found
