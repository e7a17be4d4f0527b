"""The add-in context benchmark's data: bench/dataset.py's organisation, contacts and accounts, then leads, open
and closed cases and opportunities, N activities of four kinds with their parties, and tracked emails.

The bulk rows go in with PostgreSQL's COPY (psycopg's copy protocol), hundreds of thousands of rows a second:
one million activities with their parties would take many minutes through executemany, and much longer
through ORM objects. Like dataset.py it skips the audit hook: a bulk import is not what is measured.

Who takes part is skewed as in a real mailbox: a fifth of all parties fall on one contact in a hundred (the
busy customers), the rest spread evenly, so that the "recent activities" of some senders span thousands of
rows while most have a few dozen."""

import random
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import Engine, select, text

from bench import dataset, people
from crm_core.activity_catalogue import PARTY_ROLES
from crm_core.db.engine import make_engine
from crm_core.models import Account, Contact, Team, User

HOT_SHARE, HOT_FRACTION = 0.2, 0.01  # a fifth of the parties land on one contact in a hundred
KINDS = (("email", 0.45), ("phone_call", 0.2), ("task", 0.15), ("appointment", 0.2))
TRACKED_SHARE = 0.1  # of the emails, tracked from a mailbox (a tracked_messages row, a Message-ID)
BATCH = 20_000
ACTIVITY_COLUMNS = ("id", "created_on", "modified_on", "created_by_id", "modified_by_id", "owning_user_id",
                    "owning_team_id", "owning_business_unit_id", "statecode", "statuscode", "activity_type",
                    "subject", "regarding_type", "regarding_id", "priority_code", "direction_outgoing",
                    "instance_type_code", "occurred_on", "custom_fields")
SUBJECTS = ("Follow-up on our call", "Quote for the renewal", "Meeting notes", "Re: delivery schedule",
            "Invoice question", "Support ticket update", "Introduction", "Next steps", "Contract draft",
            "Product demo", "Pricing", "Re: your order", "Quarterly review", "Onboarding", "Training session")


@dataclass
class AddinData:
    """What the benchmark needs to know about the loaded database, besides bench/dataset.py's BenchData."""

    base: dataset.BenchData
    leads: int = 0
    cases: int = 0
    opportunities: int = 0
    activities: int = 0
    parties: int = 0
    tracked: int = 0
    seconds: float = 0.0
    readable_emails: list[str] = field(default_factory=list)  # addresses of contacts the caller may read
    other_emails: list[str] = field(default_factory=list)  # addresses of contacts he may not, or not all
    tracked_ids: list[str] = field(default_factory=list)  # Message-IDs of a sample of tracked emails


def build(url: str, contacts: int, activities: int, seed: int = 42, sample: int = 2000) -> AddinData:
    started = time.perf_counter()
    print(f"loading the organisation and {contacts:,} contacts ...", flush=True)
    base = dataset.build(url, contacts, seed=seed, sample=sample)
    rng = random.Random(seed + 1)
    engine = make_engine(url)
    try:
        owners = _owners(engine)
        with engine.connect() as conn:
            people_rows = conn.execute(select(Contact.id, Contact.email_address1, Contact.parent_account_id)).all()
            account_rows = conn.execute(select(Account.id, Account.email_address1)).all()
            readable = set(base.readable_ids)
            data = AddinData(base)
            data.readable_emails = sorted({e for i, e, _ in people_rows if i in readable and e})
            data.other_emails = sorted({e for i, e, _ in people_rows if i not in readable and e})[:sample]
        raw = engine.raw_connection()
        try:
            loader = _Loader(raw.driver_connection, rng, owners, people_rows, account_rows)
            with Progress(TextColumn("{task.description:<14}"), BarColumn(), MofNCompleteColumn(),
                          TimeElapsedColumn()) as progress:
                data.leads, data.cases, data.opportunities = loader.records(max(10, contacts // 10), progress)
                data.activities, data.parties, data.tracked = loader.activities(activities, progress)
            raw.commit()
            data.tracked_ids = rng.sample(loader.message_ids, min(sample, len(loader.message_ids)))
        finally:
            raw.close()
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))  # as autovacuum would have done on a live database
    finally:
        engine.dispose()
    data.seconds = time.perf_counter() - started
    return data


def _owners(engine: Engine) -> list[dataset.Owner]:
    with engine.connect() as conn:
        users = conn.execute(select(User.id, User.business_unit_id).where(User.business_unit_id.is_not(None))).all()
        teams = conn.execute(select(Team.id, Team.business_unit_id)).all()
    owners = [dataset.Owner(u, None, unit, u) for u, unit in users]
    actor = owners[0].actor_id
    return owners * 9 + [dataset.Owner(None, t, unit, actor) for t, unit in teams] * len(owners)  # 1 in 10: teams


class _Loader:
    def __init__(self, conn: Any, rng: random.Random, owners: list[dataset.Owner], contacts: Sequence[Any],
                 accounts: Sequence[Any]) -> None:
        self.conn, self.rng, self.owners = conn, rng, owners
        self.contacts, self.accounts = list(contacts), list(accounts)
        self.hot = self.contacts[:max(1, int(len(self.contacts) * HOT_FRACTION))]
        self.message_ids: list[str] = []
        self.open_items: list[tuple[str, uuid.UUID]] = []

    def _contact(self) -> Any:
        return self.rng.choice(self.hot if self.rng.random() < HOT_SHARE else self.contacts)

    def _stamps(self) -> list[Any]:
        s = dataset._stamps(self.rng, self.rng.choice(self.owners))  # the same spread as the contacts'
        return [s["id"], s["created_on"], s["modified_on"], s["created_by_id"], s["modified_by_id"],
                s["owning_user_id"], s["owning_team_id"], s["owning_business_unit_id"]]

    def _copy(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        n = 0
        with self.conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                n += 1
        return n

    def records(self, n: int, progress: Progress) -> tuple[int, int, int]:
        """Leads (some with a contact's address), cases and opportunities on contacts and accounts, 60% open."""
        rng, stamp = self.rng, self._stamps
        task = progress.add_task("leads, cases", total=5 * n)
        leads = []
        for _ in range(n):
            first, last = rng.choice(people.FIRST_NAMES), rng.choice(people.LAST_NAMES)
            email = self._contact()[1] if rng.random() < 0.3 else people.person_email(
                rng, first, last, people.company(rng)[1])
            leads.append([*stamp(), 0, 1, f"Interest in {rng.choice(people.COMPANY_WORDS)}", first, last,
                          f"{first} {last}", email])
        self._copy("leads", (*ACTIVITY_COLUMNS[:10], "subject", "first_name", "last_name", "full_name",
                             "email_address1"), leads)
        progress.advance(task, n)
        counts = [n]
        for table, count in (("cases", 2 * n), ("opportunities", 2 * n)):
            rows = []
            for number in range(count):
                account, contact = (None, self._contact()[0]) if rng.random() < 0.5 else \
                    (rng.choice(self.accounts)[0], None)
                state = 0 if rng.random() < 0.6 else 1
                title = f"{rng.choice(SUBJECTS)} {number}"
                row = [*stamp(), state, 1 if state == 0 else 5, title, account, contact]
                rows.append(row + ([f"CAS-{number:07d}-B", 2, False] if table == "cases" else ["EUR"]))
                if state == 0:
                    self.open_items.append((table, row[0]))
            extra = ("case_number", "priority_code", "first_response_sent") if table == "cases" else ("currency_code",)
            name = "title" if table == "cases" else "name"
            counts.append(self._copy(table, (*ACTIVITY_COLUMNS[:10], name, "customer_account_id",
                                             "customer_contact_id", *extra), rows))
            progress.advance(task, count)
        return counts[0], counts[1], counts[2]

    def activities(self, n: int, progress: Progress) -> tuple[int, int, int]:
        task = progress.add_task("activities", total=n)
        totals = [0, 0, 0]
        for start in range(0, n, BATCH):
            made = self._batch(min(BATCH, n - start))
            for i, count in enumerate(made):
                totals[i] += count
            progress.advance(task, min(BATCH, n - start))
        return totals[0], totals[1], totals[2]

    def _batch(self, n: int) -> tuple[int, int, int]:
        rng = self.rng
        kinds, weights = zip(*KINDS, strict=True)
        rows: list[list[Any]] = []
        parties: list[list[Any]] = []
        subtypes: dict[str, list[list[Any]]] = {k: [] for k in kinds}
        tracked: list[list[Any]] = []
        party: Callable[[uuid.UUID, int, Any], list[Any]] = \
            lambda a, role, c: [uuid.uuid4(), a, role, "contact", c[0], c[1], False]  # noqa: E731
        for kind in rng.choices(kinds, weights, k=n):
            stamps = self._stamps()
            activity_id, created = stamps[0], stamps[1]
            who = self._contact()
            roll = rng.random()
            regarding: tuple[str | None, uuid.UUID | None] = (None, None)
            if roll < 0.45:
                regarding = ("contact", who[0])
            elif roll < 0.7 and who[2]:
                regarding = ("account", who[2])
            elif roll < 0.8 and self.open_items:
                table, item_id = rng.choice(self.open_items)
                regarding = ("case" if table == "cases" else "opportunity", item_id)
            done = created < dataset.NOW - timedelta(days=7)
            outgoing = rng.random() < 0.5 if kind in ("email", "phone_call") else None
            rows.append([*stamps, 1 if done else 0, 2 if done else 1, kind, rng.choice(SUBJECTS), *regarding, 1,
                         outgoing, 0, created, "{}"])
            if kind == "email":
                others = [self._contact() for _ in range(rng.choice((1, 1, 2, 3)))]
                if not outgoing:
                    parties.append(party(activity_id, PARTY_ROLES["sender"], who))
                    parties += [party(activity_id, PARTY_ROLES["to" if i == 0 else "cc"], c)
                                for i, c in enumerate(others[:1])]
                else:
                    parties.append(party(activity_id, PARTY_ROLES["to"], who))
                    parties += [party(activity_id, PARTY_ROLES["cc"], c) for c in others[1:]]
                message_id = None
                if rng.random() < TRACKED_SHARE:
                    message_id = f"{activity_id.hex}@mail.bench.example"
                    self.message_ids.append(f"<{message_id}>")
                    tracked.append([uuid.uuid4(), activity_id, message_id, uuid.uuid4().hex * 2, "address", 1.0,
                                    "linked", "[]", "[]", created, 0, False, False])
                subtypes["email"].append([activity_id, message_id, created if outgoing else None])
            elif kind == "phone_call":
                parties.append(party(activity_id, PARTY_ROLES["to" if outgoing else "sender"], who))
                subtypes["phone_call"].append([activity_id, people.phone(rng)])
            elif kind == "appointment":
                parties += [party(activity_id, PARTY_ROLES["required_attendee"], c)
                            for c in {who, *(self._contact() for _ in range(rng.randint(0, 2)))}]
                subtypes["appointment"].append([activity_id, False, False, 0])
            else:
                subtypes["task"].append([activity_id, None])
        self._copy("activities", ACTIVITY_COLUMNS, rows)
        self._copy("emails", ("id", "message_id", "sent_on"), subtypes["email"])
        self._copy("phone_calls", ("id", "phone_number"), subtypes["phone_call"])
        self._copy("tasks", ("id", "percent_complete"), subtypes["task"])
        self._copy("appointments", ("id", "is_all_day", "is_floating", "ical_sequence"), subtypes["appointment"])
        self._copy("activity_parties", ("id", "activity_id", "participation", "party_type", "party_id",
                                        "address_used", "is_party_deleted"), parties)
        self._copy("tracked_messages", ("id", "email_id", "message_id", "fingerprint", "signal", "confidence",
                                        "link_status", "candidates", "defects", "created_on", "raw_size",
                                        "is_auto_reply", "is_bulk"), tracked)
        return len(rows), len(parties), len(tracked)
