"""The benchmark's data: a fresh database, migrated, with an organisation of several business units, users
and teams, and N contacts (with accounts, addresses and a few shares) loaded in bulk.

The organisation and the benchmark user go through crm_core's own services (so roles and tokens are the
real ones); the bulk rows go in with SQLAlchemy Core in batches, which skips the ORM's audit hook: a bulk
import is not what is measured, and audit rows are not read by the endpoints we measure."""

import random
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.engine import make_url

from bench import people, report
from crm_core import audit
from crm_core.db import migrate
from crm_core.db.engine import make_engine, make_session_factory
from crm_core.db.unit_of_work import UnitOfWork
from crm_core.entities import entity
from crm_core.models import Account, Address, BusinessUnit, Contact, RecordShare, Team
from crm_core.security import access
from crm_core.security.principal import load_principal
from crm_core.security.privileges import SHARE_BITS, Privilege
from crm_core.services import directory
from crm_core.services.organisation import ensure_organisation

REGIONS = {"EMEA": ("EMEA North", "EMEA South", "EMEA Central"),
           "Americas": ("North America", "Latin America", "Canada"),
           "APAC": ("Japan", "India", "Australia")}
SELLERS_PER_UNIT = 5
BENCH_REGION = "EMEA"  # the benchmark user manages it: his reach is this region and its three units
BATCH = 5000
NOW = datetime(2025, 1, 1, tzinfo=UTC)  # fixed, so that two runs with one seed load identical rows


@dataclass
class Owner:
    user_id: uuid.UUID | None
    team_id: uuid.UUID | None
    unit_id: uuid.UUID
    actor_id: uuid.UUID  # who created and last changed the record


@dataclass
class BenchData:
    """What the benchmark needs to know about the loaded database."""

    url: str
    token: str
    user_email: str
    role: str
    contacts: int
    accounts: int
    addresses: int
    shares: int
    units: int
    users: int
    visible: int  # contacts the benchmark user may read
    readable_ids: list[uuid.UUID] = field(default_factory=list)  # a random sample of those
    load_seconds: float = 0.0


@contextmanager
def fresh_database(server_url: str, keep: bool = False) -> Iterator[str]:
    """A new, empty PostgreSQL database on the server of `server_url`, dropped on the way out unless `keep`."""
    url = make_url(server_url)
    admin = create_engine(url.set(database=url.database or "postgres"), isolation_level="AUTOCOMMIT")
    name = f"crm_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        if not keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def build(url: str, contacts: int, seed: int = 42, sample: int = 2000) -> BenchData:
    """Migrates the database at `url`, makes the organisation and the benchmark user, loads the contacts."""
    started = time.perf_counter()
    rng = random.Random(seed)
    migrate.upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    audit.install(factory)
    try:
        with UnitOfWork(factory) as uow:
            org = _organisation(uow, rng)
            uow.commit()
        counts = _bulk_load(engine, rng, org, contacts)
        if engine.dialect.name == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))  # as autovacuum would have done on a live database
        with UnitOfWork(factory) as uow:
            principal = load_principal(uow.session, org["bench_user_id"])
            readable = select(Contact.id).where(access.scope(principal, entity("contact"), Privilege.READ))
            visible = uow.session.scalar(select(func.count()).select_from(readable.subquery())) or 0
            ids = list(uow.session.scalars(readable.order_by(func.random()).limit(sample)))
    finally:
        engine.dispose()
    return BenchData(
        url=url, token=org["token"], user_email=org["bench_email"], role="Sales Manager",
        contacts=contacts, accounts=counts["accounts"], addresses=counts["addresses"], shares=counts["shares"],
        units=len(org["units"]), users=len(org["owners"]), visible=visible, readable_ids=ids,
        load_seconds=time.perf_counter() - started,
    )


def _organisation(uow: UnitOfWork, rng: random.Random) -> dict[str, Any]:
    """Root, three regions of three units each, sellers in every unit, a manager and a team per region."""
    session = uow.session
    root = ensure_organisation(session, "Contoso Bench")
    sellers, managers = directory.find_roles(session, ["Salesperson"]), directory.find_roles(session, ["Sales Manager"])
    units: dict[str, uuid.UUID] = {"root": root.id}
    owners: list[Owner] = []
    teams: list[Owner] = []
    bench_user = None
    serial = 0

    def user(unit_id: uuid.UUID, roles: list[Any]) -> Any:
        nonlocal serial
        serial += 1
        first, last = rng.choice(people.FIRST_NAMES), rng.choice(people.LAST_NAMES)
        email = f"{people.ascii_slug(first)}.{people.ascii_slug(last)}.{serial}@contoso-bench.com"
        made = directory.create_user(session, email, f"{first} {last}", unit_id, roles)
        owners.append(Owner(made.id, None, unit_id, made.id))
        return made

    for region, leaves in REGIONS.items():
        region_unit = BusinessUnit(id=uuid.uuid4(), name=region, parent_id=root.id)
        session.add(region_unit)
        units[region] = region_unit.id
        for leaf in leaves:
            leaf_unit = BusinessUnit(id=uuid.uuid4(), name=leaf, parent_id=region_unit.id)
            session.add(leaf_unit)
            units[leaf] = leaf_unit.id
        session.flush()
        members = [user(units[leaf], sellers) for leaf in leaves for _ in range(SELLERS_PER_UNIT)]
        manager = user(region_unit.id, managers)
        team = Team(id=uuid.uuid4(), name=f"{region} Key Accounts", business_unit_id=region_unit.id)
        team.members = [manager, *rng.sample(members, 4)]
        session.add(team)
        teams.append(Owner(None, team.id, region_unit.id, manager.id))
        if region == BENCH_REGION:
            bench_user = manager
    session.flush()
    assert bench_user is not None
    _, token = directory.create_token(session, bench_user, "benchmark", 1)
    return {"units": units, "owners": owners, "teams": teams, "token": token,
            "bench_user_id": bench_user.id, "bench_email": bench_user.email}


def _bulk_load(engine: Engine, rng: random.Random, org: dict[str, Any], contacts: int) -> dict[str, int]:
    owners: list[Owner] = org["owners"]
    teams: list[Owner] = org["teams"]
    bench_id: uuid.UUID = org["bench_user_id"]
    bench_units = {org["units"][BENCH_REGION], *(org["units"][u] for u in REGIONS[BENCH_REGION])}

    def owner() -> Owner:
        # One record in ten belongs to a team, the rest to a seller or a manager.
        return rng.choice(teams) if rng.random() < 0.1 else rng.choice(owners)

    n_accounts = max(20, contacts // 20)
    accounts = [_account(rng, owner()) for _ in range(n_accounts)]
    domains = {a["id"]: a.pop("_domain") for a in accounts}
    account_ids = list(domains)
    totals = {"accounts": n_accounts, "addresses": 0, "shares": 0}
    with engine.begin() as conn:
        for chunk in _chunks(accounts):
            conn.execute(Account.__table__.insert(), chunk)
        for start in range(0, contacts, BATCH):
            rows, addresses, shares = [], [], []
            for _ in range(min(BATCH, contacts - start)):
                who = owner()
                account_id = rng.choice(account_ids) if rng.random() < 0.75 else None
                domain = domains[account_id] if account_id else rng.choice(("gmail.com", "outlook.com", "gmx.de"))
                row = _contact(rng, who, account_id, domain)
                rows.append(row)
                for number in range(1, _address_count(rng) + 1):
                    addresses.append({"id": uuid.uuid4(), "contact_id": row["id"], "address_number": number,
                                      "account_id": None, **people.street_address(rng)})
                # A few records of other regions are shared with the benchmark user, as colleagues do.
                if who.unit_id not in bench_units and rng.random() < 0.005:
                    shares.append({"id": uuid.uuid4(), "entity": "contact", "record_id": row["id"],
                                   "principal_type": "user", "principal_id": bench_id,
                                   "access_mask": SHARE_BITS[Privilege.READ]})
            conn.execute(Contact.__table__.insert(), rows)
            if addresses:
                conn.execute(Address.__table__.insert(), addresses)
            if shares:
                conn.execute(RecordShare.__table__.insert(), shares)
            totals["addresses"] += len(addresses)
            totals["shares"] += len(shares)
    return totals


def _chunks(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), BATCH):
        yield rows[start:start + BATCH]


def _address_count(rng: random.Random) -> int:
    roll = rng.random()
    return 0 if roll < 0.25 else 1 if roll < 0.85 else 2


def _stamps(rng: random.Random, who: Owner) -> dict[str, Any]:
    created = NOW - timedelta(seconds=rng.randint(0, 3 * 365 * 86400))
    modified = created + timedelta(seconds=rng.randint(0, 180 * 86400)) if rng.random() < 0.4 else created
    inactive = rng.random() < 0.08
    return {
        "id": uuid.uuid4(), "created_on": created, "modified_on": min(modified, NOW),
        "created_by_id": who.actor_id, "modified_by_id": who.actor_id,
        "owning_user_id": who.user_id, "owning_team_id": who.team_id, "owning_business_unit_id": who.unit_id,
        "statecode": 1 if inactive else 0, "statuscode": 2 if inactive else 1,
    }


def _account(rng: random.Random, who: Owner) -> dict[str, Any]:
    name, domain = people.company(rng)
    return {
        **_stamps(rng, who), "name": name, "account_number": f"AC-{rng.randint(100000, 999999)}",
        "email_address1": f"info@{domain}", "email_address2": None, "email_address3": None,
        "telephone1": people.phone(rng), "website_url": f"https://www.{domain}", "industry_code": rng.randint(1, 30),
        "customer_type_code": rng.choice((None, 1, 2, 3)), "revenue": None, "number_of_employees": None,
        "description": None, "do_not_email": False, "parent_account_id": None, "primary_contact_id": None,
        "_domain": domain,
    }


def _contact(rng: random.Random, who: Owner, account_id: uuid.UUID | None, domain: str) -> dict[str, Any]:
    first, last = rng.choice(people.FIRST_NAMES), rng.choice(people.LAST_NAMES)
    return {
        **_stamps(rng, who), "first_name": first, "last_name": last, "full_name": f"{first} {last}",
        "job_title": rng.choice(people.JOB_TITLES) if account_id else None, "parent_account_id": account_id,
        "email_address1": people.person_email(rng, first, last, domain),
        "email_address2": people.person_email(rng, first, last, "gmail.com") if rng.random() < 0.2 else None,
        "email_address3": None, "telephone1": people.phone(rng),
        "mobile_phone": people.phone(rng) if rng.random() < 0.5 else None,
        "birth_date": people.birth_date(rng) if rng.random() < 0.4 else None,
        "preferred_contact_method_code": rng.choice((1, 1, 1, 2, 3)),
        "description": rng.choice(people.NOTES) if rng.random() < 0.15 else None,
        "do_not_email": rng.random() < 0.05,
    }


DatabaseFactory = Callable[[], AbstractContextManager[str]]  # a fresh database's URL while in use
T = TypeVar("T")


@contextmanager
def fresh_sqlite(prefix: str = "crm-bench-db-") -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix=prefix) as db_dir:
        yield f"sqlite:///{db_dir}/crm.db"


def on_each_database(measure: Callable[[str, DatabaseFactory], T], server_url: str, postgresql: bool = True,
                     prefix: str = "crm-bench-db-") -> tuple[list[T], str]:
    """`measure(name, fresh_database)` on SQLite, then on PostgreSQL when a server answers at `server_url` (else
    it says why on stderr and keeps the SQLite figures). Returns the results and the URL whose server the
    report's machine facts describe."""
    results = [measure("SQLite", lambda: fresh_sqlite(prefix))]
    if not postgresql:
        return results, "sqlite://"
    try:
        report.machine_facts(server_url)  # does a server answer?
    except Exception as exc:  # no server: say so, keep the SQLite figures
        print(f"PostgreSQL skipped: {type(exc).__name__}: {exc}", file=sys.stderr)
        return results, "sqlite://"
    results.append(measure("PostgreSQL", lambda: fresh_database(server_url)))
    return results, server_url
