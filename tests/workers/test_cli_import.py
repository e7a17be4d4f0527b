"""`crm import` and `crm export` as an administrator uses them on the server: a dry run that says what would
happen, a real import that skips the bad rows and writes them out with their reasons, updates by a key, the
importing user's privileges, and exports that open safely in a spreadsheet."""

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from crm_core.models import Account, Contact
from tests.api import created
from tests.org import OrgBuilder, TestUser
from workers.cli import app


@pytest.fixture
def env(migrated: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The CLI on the suite's database (SQLite or PostgreSQL), run from a temporary directory."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CRM_DATABASE_URL", migrated)
    monkeypatch.setenv("CRM_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("CRM_SECRET_KEY", "test-secret-key")
    return tmp_path


def count(factory: sessionmaker[Session], model: Any) -> int:
    with factory() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    return path


def test_dry_run_then_import_with_bad_rows_reported_and_skipped(
    env: Path, client: Any, admin: TestUser, session_factory: sessionmaker[Session]
) -> None:
    created(client, admin, "accounts", {"name": "Contoso"})
    created(client, admin, "contacts", {"last_name": "Existing", "email_address1": "existing@example.com"})
    source = write_csv(
        env / "people.csv",
        [
            ["Given", "Last Name", "E-mail", "Parent Account", "Birth Date"],
            ["Ann", "Good", "ann@example.com", "Contoso", "1980-05-17"],
            ["Bad", "Mail", "not-an-email", "", ""],
            ["Lost", "Account", "lost@example.com", "Nowhere Ltd", ""],
            ["Odd", "Date", "odd@example.com", "", "31/02/1990"],
            ["No", "", "noname@example.com", "", ""],
            ["Old", "Friend", "existing@example.com", "", ""],
            ["Ann", "Again", "ann@example.com", "", ""],
            ["Bob", "Fine", "bob@example.com", "", ""],
        ],
    )
    args = [
        "import",
        str(source),
        "--entity",
        "contact",
        "--map",
        "Given=first_name",
        "--map",
        "E-mail=email_address1",
        "--as",
        admin.email,
    ]
    runner = CliRunner()
    before = count(session_factory, Contact)

    r = runner.invoke(app, [*args, "--dry-run"])
    assert r.exit_code == 0, r.output
    assert "dry run: nothing written" in r.output
    summary = next(line for line in r.output.splitlines() if line.startswith("contact"))
    assert summary.split()[-4:] == ["2", "0", "0", "6"]  # created, updated, unchanged, rejected
    assert "no account named 'Nowhere Ltd'" in r.output and "duplicate of row 2 of this file" in r.output
    assert count(session_factory, Contact) == before
    rejected_file = env / "people.csv.rejected.csv"
    with rejected_file.open(encoding="utf-8-sig", newline="") as f:
        rejected = list(csv.DictReader(f))
    assert [row["row"] for row in rejected] == ["3", "4", "5", "6", "7", "8"]
    assert rejected[0]["E-mail"] == "not-an-email" and "not a valid email address" in rejected[0]["reason"]
    assert rejected[2]["reason"].startswith("Birth Date: '31/02/1990' is not a date")
    assert rejected[3]["reason"] == "Last Name: is required"
    assert "duplicate of the existing contact" in rejected[4]["reason"]

    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    assert "dry run" not in r.output
    assert count(session_factory, Contact) == before + 2
    assert rejected_file.exists()

    # The rejected rows, fixed, go in; the file of rejections then goes away.
    fixed = write_csv(env / "people.csv", [["Given", "Last Name", "E-mail"], ["No", "Name", "noname@example.com"]])
    r = runner.invoke(
        app,
        ["import", str(fixed), "--entity", "contacts", "--map", "Given=first_name", "--map", "E-mail=email_address1"],
    )  # as the first System Administrator
    assert r.exit_code == 0, r.output
    assert count(session_factory, Contact) == before + 3 and not rejected_file.exists()


def test_update_by_key_and_the_users_privileges(
    env: Path, client: Any, org: OrgBuilder, admin: TestUser, session_factory: sessionmaker[Session]
) -> None:
    created(client, admin, "accounts", {"name": "Fabrikam", "account_number": "F-1"})
    source = write_csv(env / "accounts.csv", [["account_number", "name"], ["F-1", "Fabrikam Inc"], ["N-1", "New"]])
    runner = CliRunner()
    r = runner.invoke(app, ["import", str(source), "--entity", "account", "--key", "account_number"])
    assert r.exit_code == 0, r.output
    summary = next(line for line in r.output.splitlines() if line.startswith("account"))
    assert summary.split()[-4:] == ["1", "1", "0", "0"]
    assert count(session_factory, Account) == 2

    created(
        client,
        admin,
        "security-roles",
        {"name": "Account Reader", "privileges": [{"entity": "account", "privilege": "read", "depth": "organization"}]},
    )
    reader = org.user("reader@example.com", ["Account Reader"])
    r = runner.invoke(app, ["import", str(source), "--entity", "account", "--as", reader.email])
    assert r.exit_code == 1 and "no create privilege on account" in r.output and "Traceback" not in r.output
    assert count(session_factory, Account) == 2
    r = runner.invoke(app, ["import", str(source), "--entity", "account", "--on-duplicate", "maybe"])
    assert r.exit_code == 1 and "skip, update or create" in r.output


def test_export_csv_and_xlsx_with_columns_filters_and_inert_formulas(env: Path, client: Any, admin: TestUser) -> None:
    created(client, admin, "contacts", {"last_name": "Plain", "first_name": "Jo"})
    gone = created(client, admin, "contacts", {"last_name": "Gone"})
    client.post(f"/api/v1/contacts/{gone['id']}/deactivate", headers=admin.headers)
    created(client, admin, "contacts", {"last_name": '=HYPERLINK("http://evil.example","x")'})
    runner = CliRunner()
    r = runner.invoke(
        app, ["export", "contacts", "-o", "out.csv", "--columns", "first_name,last_name", "--filter", "statecode=0"]
    )
    assert r.exit_code == 0, r.output
    assert "exported 2 contact records" in r.output
    with (env / "out.csv").open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["first_name", "last_name"]
    assert sorted(rows[1:]) == [["", '\'=HYPERLINK("http://evil.example","x")'], ["Jo", "Plain"]]

    r = runner.invoke(app, ["export", "contact", "-o", str(env / "all.xlsx")])
    assert r.exit_code == 0, r.output
    book = load_workbook(env / "all.xlsx")
    sheet = book.worksheets[0]
    header = [c.value for c in sheet[1]]
    assert header[0] == "id" and "last_name" in header and "parent_account" in header
    names = {
        row[header.index("last_name")].value: row[header.index("last_name")].data_type
        for row in sheet.iter_rows(min_row=2)
    }
    book.close()
    assert names == {"Plain": "s", "Gone": "s", '\'=HYPERLINK("http://evil.example","x")': "s"}

    r = runner.invoke(app, ["export", "contact", "-o", "x.csv", "--columns", "password"])
    assert r.exit_code == 1 and "unknown columns ['password']" in r.output
    assert not (env / "x.csv").exists()
    r = runner.invoke(app, ["export", "contact", "-o", "x.csv", "--filter", "statecode=open"])
    assert r.exit_code == 1 and "statecode" in r.output


def test_help_names_the_commands() -> None:
    out = CliRunner().invoke(app, ["--help"]).output
    assert "import" in out and "export" in out
    out = CliRunner().invoke(app, ["import", "--help"]).output
    assert "--dry-run" in out and "--map" in out and "--key" in out


def test_the_rejected_file_of_a_workbook_is_csv(env: Path, admin: TestUser) -> None:
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["last_name", "birth_date", "do_not_email"])
    book.active.append(["Fine", "1990-01-01", "yes"])
    book.active.append(["Bad", "soon", "perhaps"])
    book.save(env / "c.xlsx")
    r = CliRunner().invoke(app, ["import", str(env / "c.xlsx"), "--entity", "contact"])
    assert r.exit_code == 0, r.output
    text = (env / "c.xlsx.rejected.csv").read_text(encoding="utf-8-sig")
    [row] = list(csv.DictReader(io.StringIO(text)))
    assert row["last_name"] == "Bad" and row["row"] == "3"
    assert "birth_date: 'soon' is not a date" in row["reason"] and "do_not_email: 'perhaps'" in row["reason"]
