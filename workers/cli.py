"""The `crm` command: serve, migrate, manage users and tokens, load demo data."""

from typing import Annotated

import typer
from rich.console import Console

from crm_core.errors import CrmError
from crm_core.settings import Settings
from workers.cli_addin import addin_app
from workers.cli_calendar import calendar_app
from workers.cli_mail import mail_app
from workers.cli_mailbox import mailbox_app
from workers.cli_scoring import leads_app
from workers.cli_transfer import export_records, import_records
from workers.cli_workers import beat, worker

app = typer.Typer(help="Mailbox CRM: sales, marketing and service around email and calendar.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
db_app = typer.Typer(help="The database schema.", no_args_is_help=True)
user_app = typer.Typer(help="CRM users.", no_args_is_help=True)
token_app = typer.Typer(help="Personal API tokens for scripts.", no_args_is_help=True)
demo_app = typer.Typer(help="The demo organisation.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(demo_app, name="demo")
app.add_typer(mailbox_app, name="mailbox")
app.add_typer(mail_app, name="mail")
app.add_typer(calendar_app, name="calendar")
app.add_typer(addin_app, name="addin")
app.add_typer(leads_app, name="leads")
app.command()(worker)
app.command()(beat)
app.command("import")(import_records)
app.command("export")(export_records)

console = Console()
err = Console(stderr=True)


def _settings() -> Settings:
    return Settings()


def _fail(exc: CrmError) -> typer.Exit:
    err.print(f"[red]error:[/red] {exc.detail}")
    return typer.Exit(1)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on (CRM_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (CRM_PORT).")] = None,
    migrate: Annotated[bool, typer.Option(help="Upgrade the database first.")] = True,
    workers: Annotated[bool | None, typer.Option(
        help="Also run a worker with the scheduler, as a child process. Default: yes with the embedded broker "
        "(no CRM_BROKER_URL), no with a real one (run `crm worker` and `crm beat` yourself).")] = None,
) -> None:
    """Run the API (http://HOST:PORT, docs at /docs, admin console at /admin/) and, embedded, the workers."""
    import uvicorn

    from workers import bootstrap, logs
    from workers.app import create_app
    from workers.child import WorkerChild

    settings = _settings()
    logs.configure(settings)
    if migrate and settings.migrate_on_start:
        bootstrap.upgrade(settings)
    app_ = create_app(settings)
    child = WorkerChild() if (workers if workers is not None else not settings.broker_url) else None
    try:
        if child is not None:
            child.start()
        uvicorn.run(app_, host=host or settings.host, port=port or settings.port, log_level="info",
                    log_config=None)
    finally:
        if child is not None:
            child.stop()


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Option(help="Target revision.")] = "head") -> None:
    """Migrate the database to the latest schema (and create the organisation's defaults)."""
    from workers import bootstrap

    bootstrap.upgrade(_settings(), revision)
    console.print("database is up to date")


@db_app.command("revision")
def db_revision(message: Annotated[str, typer.Option("--message", "-m", help="What changed.")]) -> None:
    """(Developers) Write the next migration from the models; review it before committing."""
    from crm_core.db import migrate

    migrate.revision(message)


@user_app.command("create")
def user_create(
    email: Annotated[str, typer.Option(help="Sign-in email, unique.")],
    name: Annotated[str, typer.Option(help="Full name.")],
    role: Annotated[list[str] | None, typer.Option(help="Security role (repeat for several).")] = None,
    business_unit: Annotated[str | None, typer.Option(help="Business unit name; default the root.")] = None,
    entra_tenant_id: Annotated[str | None, typer.Option(help="His Entra ID tenant id, for the Outlook add-in.")] = None,
    entra_object_id: Annotated[str | None, typer.Option(help="His Entra ID object id in that tenant.")] = None,
) -> None:
    """Create a user with security roles."""
    from crm_core.services import directory
    from crm_core.services.users import set_entra_identity
    from workers import bootstrap

    try:
        with bootstrap.system_uow(_settings()) as uow:
            unit = directory.find_unit(uow.session, business_unit)
            roles = directory.find_roles(uow.session, role or ["Salesperson"])
            user = directory.create_user(uow.session, email, name, unit.id, roles)
            set_entra_identity(uow.session, user, entra_tenant_id, entra_object_id)
            uow.commit()
            console.print(f"created user {user.email} ({user.id}) in {unit.name} with "
                          f"{', '.join(r.name for r in roles)}")
    except CrmError as exc:
        raise _fail(exc) from None


@token_app.command("create")
def token_create(
    email: Annotated[str, typer.Option(help="The user the token acts as.")],
    name: Annotated[str, typer.Option(help="What the token is for.")] = "cli",
    days: Annotated[int | None, typer.Option(help="Lifetime in days (CRM_API_TOKEN_DAYS).")] = None,
) -> None:
    """Create a personal API token. It is printed once, on standard output, and never stored in clear."""
    from crm_core.services import directory
    from workers import bootstrap

    settings = _settings()
    try:
        with bootstrap.system_uow(settings) as uow:
            user = directory.find_user(uow.session, email)
            row, token = directory.create_token(uow.session, user, name, days or settings.api_token_days)
            uow.commit()
    except CrmError as exc:
        raise _fail(exc) from None
    err.print(f"token {name!r} for {user.email}, valid until {row.expires_on:%Y-%m-%d}:")
    print(token)


@app.command()
def tick(
    now: Annotated[str | None, typer.Option(help="The instant to run for, ISO 8601 (UTC if no offset); "
                                                 "default: now. For catching up or trying out.")] = None,
) -> None:
    """Run the time-driven chores once: knowledge articles published or expired at their dates, SLA clocks that
    reached their warning or failure time, contracts that start or expire. The workers run this every minute."""
    from datetime import UTC, datetime

    from crm_core.db.engine import make_engine, make_session_factory
    from crm_core.hooks import install
    from workers import due_work

    try:
        at = datetime.fromisoformat(now) if now else None
    except ValueError:
        err.print(f"[red]error:[/red] --now {now!r} is not an ISO 8601 time (such as 2026-11-24T09:00:00+01:00)")
        raise typer.Exit(1) from None
    if at is not None and at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    settings = _settings()
    engine = make_engine(settings.database_url)
    factory = make_session_factory(engine)
    install(factory)
    try:
        results = due_work.run_due(factory, at)
    finally:
        engine.dispose()
    for r in results:
        status = f"[red]failed: {r.error}[/red]" if r.error else f"{r.changed} changed"
        console.print(f"{r.chore.name:<12} {status}  [dim]({r.chore.description})[/dim]", highlight=False)
    if any(r.error for r in results):
        raise typer.Exit(1)


@demo_app.command("load")
def demo_load(
    if_empty: Annotated[bool, typer.Option("--if-empty", help="Do nothing if data exists.")] = False,
) -> None:
    """Load the demo organisation: business units, users with tokens, accounts, contacts, leads, activities."""
    from rich.table import Table

    from workers import bootstrap, demo

    settings = _settings()
    bootstrap.upgrade(settings)
    try:
        with bootstrap.system_uow(settings) as uow:
            result = demo.load(uow, if_empty=if_empty, token_days=settings.api_token_days)
    except CrmError as exc:
        raise _fail(exc) from None
    if result is None:
        console.print("The database has data already, so the demo was not loaded.\nTo get an API token: "
                      f"crm token create --email {demo.ADMIN_EMAIL} (the demo's administrator)",
                      soft_wrap=True, highlight=False)
        return
    console.print(result.summary())
    table = Table("user", "email", "unit", "security role", box=None, pad_edge=False,
                  padding=(0, 1, 0, 0), title_justify="left", title="\n[bold]Users[/bold]")
    for u in result.users:
        table.add_row(u.full_name, u.email, u.business_unit, ", ".join(u.roles))
    console.print(table)
    # Tokens and commands on lines of their own, never wrapped, so that they copy and paste whole.
    console.print(f"\n[bold]API tokens[/bold] (valid {settings.api_token_days} days; shown once, only their digest "
                  "is stored)")
    for u in result.users:
        console.print(f"  {u.email:<26}{u.token}", soft_wrap=True, highlight=False)
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host  # noqa: S104
    url = f"http://{host}:{settings.port}"
    console.print(f"\n[bold]Try it[/bold]: [cyan]crm serve[/cyan] runs the API at {url} (docs: /docs).\n"
                  "Then, as the administrator:", soft_wrap=True)
    console.print(f"  export CRM_TOKEN={result.admin.token}\n"
                  f'  curl -H "Authorization: Bearer $CRM_TOKEN" {url}/api/v1/accounts',
                  soft_wrap=True, highlight=False, markup=False)
    console.print("The other tokens see only what their roles give (a salesperson: his own unit).")


if __name__ == "__main__":
    app()
