"""The CalDAV half of the calendar benchmark: the generated calendar, the Radicale collection it goes into,
our side (a CRM database with a CalDAV calendar, synced by `calendar_sync.runner.sync_calendar`) and the peer
(vdirsyncer, a CalDAV collection paired with a local folder of .ics files).

The calendar: one user of the CRM (the organizer of every event) and a few hundred customer contacts (one
of them an attendee of each event, so that the calendar's "known_attendees" filter lets every event in);
single events and weekly series with two moved occurrences each, spread over a year in Europe/Berlin (so
the series cross both DST changes). Filling the server is setup, not measured."""

import gc
import random
import subprocess
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

import httpx
import icalendar
from lxml import etree
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from calendar_sync.appointments.lookup import find_meeting
from calendar_sync.runner import CalendarSyncSummary, sync_calendar
from calendar_sync.stores.registry import StoreOptions
from crm_core import hooks
from crm_core.db import migrate
from crm_core.db.engine import make_engine, make_session_factory
from crm_core.db.unit_of_work import UnitOfWork
from crm_core.models import Appointment, Contact, RecurringAppointment, User
from crm_core.models.calendars import Calendar
from crm_core.security import secrets
from crm_core.services.calendars import secret_context
from crm_core.services.organisation import ensure_organisation

BERLIN = ZoneInfo("Europe/Berlin")
YEAR = 2026
OWNER = "rita.rep@crm-bench.example"  # the CRM user whose calendar it is: the organizer of every event
CONTACTS = 300  # customer contacts; each event has one of them as its attendee
SECRET_KEY = "calendar-bench"  # seals the CalDAV password in the bench's throw-away databases
CANCELED = 2  # Activity.statecode of a canceled appointment
_ICAL = {"Content-Type": "text/calendar; charset=utf-8"}


# --- the calendar ------------------------------------------------------------------------------------------
@dataclass
class Corpus:
    """The events as the server holds them: UID -> iCalendar text, and which UIDs are series."""

    items: dict[str, bytes]
    series: set[str]
    edits: int = 0  # change sets applied so far (each edit's SUMMARY carries its number)

    @property
    def singles(self) -> int:
        return len(self.items.keys() - self.series)  # a deleted series is gone from items, not from series


def generate(events: int, recurring: int, seed: int) -> Corpus:
    rng = random.Random(seed)
    items, series = {}, set()
    for n in range(events):
        uid = f"bench-{n:05d}@crm-bench.example"
        is_series = n % (events // recurring) == 0 and len(series) < recurring if recurring else False
        items[uid] = _object(uid, n, is_series, rng)
        if is_series:
            series.add(uid)
    return Corpus(items, series)


def contact_address(n: int) -> str:
    return f"buyer{n:03d}@customer-bench.example"


def _object(uid: str, n: int, is_series: bool, rng: random.Random, summary: str | None = None,
            sequence: int = 0) -> bytes:
    day = datetime(YEAR, 1, 5, tzinfo=BERLIN) + timedelta(days=rng.randrange(355 if not is_series else 60))
    start = day.replace(hour=rng.randrange(8, 18), minute=rng.choice((0, 15, 30, 45)))
    length = timedelta(minutes=rng.choice((30, 45, 60, 90)))
    attendee = contact_address(rng.randrange(CONTACTS))
    cal = icalendar.Calendar()
    cal.add("PRODID", "-//mailcrm calendar bench//EN")
    cal.add("VERSION", "2.0")
    master = _event(uid, summary or f"{'Weekly review' if is_series else 'Meeting'} {n}", start, length,
                    attendee, sequence)
    cal.add_component(master)
    if is_series:
        master.add("RRULE", {"FREQ": "WEEKLY", "UNTIL": datetime(YEAR, 12, 31, 23, 0, tzinfo=UTC)})
        for week in sorted(rng.sample(range(2, 40), 2)):  # two occurrences moved by an hour or two
            original = start + timedelta(weeks=week)
            moved = _event(uid, f"{master['SUMMARY']} (moved)", original + timedelta(hours=rng.choice((1, 2))),
                           length, attendee, sequence)
            moved.add("RECURRENCE-ID", original)
            cal.add_component(moved)
    cal.add_missing_timezones()  # a VTIMEZONE for Europe/Berlin, as a real client writes it
    return cal.to_ical()


def _event(uid: str, summary: str, start: datetime, length: timedelta, attendee: str,
           sequence: int) -> icalendar.Event:
    event = icalendar.Event()
    event.add("UID", uid)
    event.add("DTSTAMP", datetime(YEAR - 1, 12, 1, tzinfo=UTC) + timedelta(minutes=sequence))
    event.add("DTSTART", start)
    event.add("DTEND", start + length)
    event.add("SUMMARY", summary)
    event.add("LOCATION", "Room 4.12")
    event.add("SEQUENCE", sequence)
    event.add("ORGANIZER", f"mailto:{OWNER}", parameters={"CN": "Rita Rep"})
    event.add("ATTENDEE", f"mailto:{attendee}", parameters={"PARTSTAT": "NEEDS-ACTION", "ROLE": "REQ-PARTICIPANT"})
    return event


@dataclass
class ChangeSet:
    """One round of edits on the server: the changed UIDs with their new SUMMARY, and the deleted UIDs."""

    changed: dict[str, str] = field(default_factory=dict)
    deleted: list[str] = field(default_factory=list)


def make_changes(corpus: Corpus, changes: int, deletions: int, rng: random.Random) -> ChangeSet:
    """Picks `changes` objects to change (a fifth of them series) and `deletions` others to delete, updates
    the corpus, and returns what to do on the server."""
    corpus.edits += 1
    series = sorted(corpus.series & corpus.items.keys())
    singles = sorted(corpus.items.keys() - corpus.series)
    picked = rng.sample(series, changes // 5) + rng.sample(singles, changes - changes // 5)
    left = sorted(corpus.items.keys() - set(picked))
    out = ChangeSet(deleted=rng.sample(left, deletions))
    for uid in picked:
        n = int(uid.split("-")[1].split("@")[0])
        summary = f"Moved meeting {n} (edit {corpus.edits})"
        # A new draw of its time and attendee (another contact), a new SUMMARY and a higher SEQUENCE.
        corpus.items[uid] = _object(uid, n, uid in corpus.series, random.Random(f"{n}/{corpus.edits}"), summary,
                                    sequence=corpus.edits)
        out.changed[uid] = summary
    for uid in out.deleted:
        del corpus.items[uid]
    return out


# --- the server --------------------------------------------------------------------------------------------
class Collection:
    """One calendar collection on the Radicale, reached over plain HTTP (setup, edits and warm-ups)."""

    def __init__(self, url: str, username: str, password: str) -> None:
        self.url, self.username, self.password = url, username, password
        self.http = httpx.Client(auth=(username, password), timeout=60)

    def href(self, uid: str) -> str:
        return f"{self.url}{quote(uid)}.ics"  # where Radicale's whole-calendar PUT files an object

    def fill(self, corpus: Corpus) -> None:
        """Every object of the corpus, in one PUT of a whole calendar onto the collection: Radicale files it
        object by object (one per UID, at `href`). One PUT per object would be quadratic: Radicale checks
        each PUT's UID against every object of the collection (5,000 took over 20 minutes)."""
        whole = icalendar.Calendar()
        whole.add("PRODID", "-//mailcrm calendar bench//EN")
        whole.add("VERSION", "2.0")
        zones: set[str] = set()
        for raw in corpus.items.values():
            for component in icalendar.Calendar.from_ical(raw).subcomponents:
                if component.name == "VTIMEZONE":
                    if str(component["TZID"]) in zones:
                        continue
                    zones.add(str(component["TZID"]))
                whole.add_component(component)
        response = self.http.put(self.url, content=whole.to_ical(), headers=_ICAL)
        if response.status_code not in (201, 204):
            raise RuntimeError(f"PUT of the whole calendar: {response.status_code} {response.text[:200]}")

    def put(self, uid: str, raw: bytes) -> None:
        response = self.http.put(self.href(uid), content=raw, headers=_ICAL)
        if response.status_code not in (201, 204):
            raise RuntimeError(f"PUT {uid}: {response.status_code} {response.text[:200]}")

    def apply(self, corpus: Corpus, change: ChangeSet) -> None:
        for uid in change.changed:
            self.put(uid, corpus.items[uid])
        for uid in change.deleted:
            response = self.http.delete(self.href(uid))
            if response.status_code not in (200, 204):
                raise RuntimeError(f"DELETE {uid}: {response.status_code}")

    def count(self) -> int:
        """Objects in the collection (a depth-1 PROPFIND of getetag); also the warm-up before a timed run,
        so that Radicale has read the collection for whichever tool comes first."""
        body = ('<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:getetag/></d:prop></d:propfind>')
        response = self.http.request("PROPFIND", self.url, content=body, headers={"Depth": "1"})
        response.raise_for_status()
        hrefs = etree.fromstring(response.content).iterfind("{DAV:}response/{DAV:}href")
        return sum(1 for href in hrefs if (href.text or "").endswith(".ics"))

    def close(self) -> None:
        self.http.close()


# --- our side ----------------------------------------------------------------------------------------------
class OurCalendar:
    """A fresh CRM database: one user, the customer contacts, and a CalDAV calendar on the collection
    (password sealed as the API seals it); `sync()` is what the worker runs for a calendar."""

    def __init__(self, url: str, collection: Collection) -> None:
        migrate.upgrade(url)
        self.engine = make_engine(url)
        self.factory: sessionmaker[Session] = make_session_factory(self.engine)
        hooks.install(self.factory)
        secrets.install(self.factory, secrets.Keyring(SECRET_KEY))
        self.calendar_id = self._setup(collection)

    def _setup(self, collection: Collection) -> uuid.UUID:
        with UnitOfWork(self.factory) as uow:
            session = uow.session
            root = ensure_organisation(session)
            user = User(id=uuid.uuid4(), email=OWNER, full_name="Rita Rep", business_unit_id=root.id)
            session.add(user)
            session.flush()
            for n in range(CONTACTS):
                session.add(Contact(id=uuid.uuid4(), first_name="Buyer", last_name=str(n), full_name=f"Buyer {n}",
                                    email_address1=contact_address(n), owning_user_id=user.id,
                                    owning_business_unit_id=root.id))
            calendar = Calendar(id=uuid.uuid4(), name="Rita's CalDAV calendar", kind="caldav", url=collection.url,
                                username=collection.username, user_id=user.id, business_unit_id=root.id,
                                incoming_filter="known_attendees")
            calendar.password_secret = secrets.keyring_of(session).seal(collection.password,
                                                                         secret_context(calendar.id))
            session.add(calendar)
            session.flush()
            uow.commit()
            return calendar.id

    def sync(self) -> tuple[float, CalendarSyncSummary]:
        gc.collect()
        started = time.perf_counter()
        summary = sync_calendar(self.factory, self.calendar_id, options=StoreOptions(timeout=120))
        return time.perf_counter() - started, summary

    def settle(self) -> None:
        """After the first sync, on PostgreSQL: ANALYZE, as autovacuum does once a tenth of a table changed
        (within a minute, before a periodic sync's next pass). Without it the planner still believes the
        activities table empty and the CRM's listing takes nested loops: 2.9 s instead of 0.27 s for 5,000
        appointments. SQLite has no such statistics unless asked, and is left as it is."""
        if self.engine.dialect.name == "postgresql":
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("ANALYZE"))

    def check_all(self, corpus: Corpus) -> None:
        """Every object of the server is an open appointment or series in the CRM."""
        with self.factory() as session:
            singles = _open(session, Appointment, Appointment.instance_type_code == 0)
            masters = _open(session, RecurringAppointment)
        if (singles, masters) != (corpus.singles, len(corpus.series & corpus.items.keys())):
            raise RuntimeError(f"the CRM holds {singles} appointments and {masters} series, the server "
                               f"{corpus.singles} and {len(corpus.series & corpus.items.keys())}")

    def check_change(self, change: ChangeSet) -> None:
        """The changed objects carry their new subject in the CRM; the deleted ones are canceled."""
        with self.factory() as session:
            for uid, summary in change.changed.items():
                record = find_meeting(session, uid)
                if record is None or record.subject != summary:
                    raise RuntimeError(f"{uid}: the CRM has {record and record.subject!r}, not {summary!r}")
            for uid in change.deleted:
                record = find_meeting(session, uid)
                if record is None or record.statecode != CANCELED:
                    raise RuntimeError(f"{uid} was deleted on the server but is not canceled in the CRM")

    def close(self) -> None:
        self.engine.dispose()


def _open(session: Session, model: type[Appointment] | type[RecurringAppointment], *where: object) -> int:
    return session.scalar(select(func.count()).select_from(model).where(
        model.global_object_id.like("bench-%"), model.statecode != CANCELED, *where)) or 0


# --- the peer ----------------------------------------------------------------------------------------------
class Vdirsyncer:
    """vdirsyncer pairing the collection (a wins) with a local folder of .ics files, in `root`."""

    def __init__(self, binary: str, root: Path, collection: Collection) -> None:
        self.binary, self.root = binary, root
        self.local = root / "local"
        self.local.mkdir(parents=True)
        self.config = root / "config"
        self.config.write_text(f"""\
[general]
status_path = "{root / 'status'}/"

[pair bench]
a = "bench_server"
b = "bench_local"
collections = null
conflict_resolution = "a wins"

[storage bench_server]
type = "caldav"
url = "{collection.url}"
username = "{collection.username}"
password = "{collection.password}"

[storage bench_local]
type = "filesystem"
path = "{self.local}/"
fileext = ".ics"
""")
        self._run("discover")  # not measured: a one-time step of setting vdirsyncer up

    def sync(self) -> float:
        gc.collect()
        started = time.perf_counter()
        self._run("sync")
        return time.perf_counter() - started

    def _run(self, *argv: str) -> None:
        done = subprocess.run([self.binary, "-c", str(self.config), *argv], capture_output=True, text=True,
                              check=False, stdin=subprocess.DEVNULL)
        if done.returncode != 0:
            raise RuntimeError(f"vdirsyncer {' '.join(argv)} failed ({done.returncode}): {done.stderr[-2000:]}")

    def check(self, corpus: Corpus, change: ChangeSet | None = None) -> None:
        files = list(self.local.glob("*.ics"))
        if len(files) != len(corpus.items):
            raise RuntimeError(f"vdirsyncer holds {len(files)} objects, the server {len(corpus.items)}")
        if change is not None:
            texts = {uid: f.read_text() for f in files for uid in _uids_in(f.read_text(), change.changed)}
            if len(texts) != len(change.changed) or any(s not in texts[u] for u, s in change.changed.items()):
                raise RuntimeError("vdirsyncer's folder lacks a change made on the server")


def _uids_in(text: str, uids: Iterable[str]) -> list[str]:
    return [uid for uid in uids if f"UID:{uid}" in text]


def startup_seconds(binary: str) -> float:
    """How long vdirsyncer takes to start and do nothing (`--version`): part of each of its runs."""
    started = time.perf_counter()
    subprocess.run([binary, "--version"], capture_output=True, check=True)
    return time.perf_counter() - started
