"""The sync engine between two memory stores: each direction, each kind of change, conflicts under each
policy, unreadable objects, a refused cursor, a pass killed between a write and its status, and a Hypothesis
state machine that edits both sides at random and checks that every sync leaves them equal."""

from datetime import UTC, datetime, timedelta
from typing import Any

import icalendar
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from calendar_sync.items import CalendarItem
from calendar_sync.stores.memory import MemoryStore
from calendar_sync.sync.engine import Report, synchronise
from calendar_sync.sync.plan import Options
from calendar_sync.sync.status import MemoryStatusBook
from tests.calendar_sync.store_contract import event_item


class Journal:
    def __init__(self) -> None:
        self.conflicts: list[tuple[str, str, str]] = []
        self.quarantined: list[tuple[str, str, str]] = []

    def conflict(self, uid: str, policy: str, winner: str, crm: CalendarItem, remote: CalendarItem) -> None:
        self.conflicts.append((uid, policy, winner))

    def quarantine(self, side: str, href: str, etag: str, raw: str, reason: str, message: str) -> None:
        self.quarantined.append((side, href, reason))


class Pair:
    def __init__(self, **options: Any) -> None:
        self.crm, self.remote = MemoryStore(), MemoryStore()
        self.book, self.journal = MemoryStatusBook(), Journal()
        self.options = Options(**options)
        self.cursor: str | None = None

    def sync(self) -> Report:
        report = synchronise(self.crm, self.remote, self.book, self.journal, self.options, cursor=self.cursor)
        self.cursor = report.cursor
        return report

    @staticmethod
    def summaries(store: MemoryStore) -> dict[str, str]:
        return {item.uid: str(item.events[0]["SUMMARY"]) for item, _ in store.items.values()}

    @staticmethod
    def href_of(store: MemoryStore, uid: str) -> tuple[str, str]:
        [(href, etag)] = [(h, e) for h, (item, e) in store.items.items() if item.uid == uid]
        return href, etag


def restamped(item: CalendarItem, **changes: Any) -> CalendarItem:
    """The same object re-exported later: a new DTSTAMP and LAST-MODIFIED, with `changes` to the master."""
    cal = icalendar.Calendar.from_ical(item.raw)
    for event in cal.walk("VEVENT"):
        for name in ("DTSTAMP", "LAST-MODIFIED"):
            event.pop(name, None)
        event.add("DTSTAMP", datetime.now(UTC) + timedelta(minutes=5))
        event.add("LAST-MODIFIED", datetime.now(UTC) + timedelta(minutes=5))
        for name, value in changes.items():
            prop = name.upper().replace("_", "-")
            event.pop(prop, None)
            event.add(prop, value)
    return CalendarItem.from_calendar(cal)


@pytest.fixture
def pair() -> Pair:
    return Pair()


def test_a_crm_appointment_goes_to_the_server_once(pair: Pair) -> None:
    item = event_item(summary="Demo for Contoso")
    pair.crm.upload(item)
    assert pair.sync().done == {"upload remote": 1}
    assert pair.summaries(pair.remote) == {item.uid: "Demo for Contoso"}
    pair.remote.calls.clear()
    assert pair.sync().done == {}
    assert "get_many" not in pair.remote.calls and "upload" not in pair.remote.calls


def test_a_server_event_comes_to_the_crm(pair: Pair) -> None:
    item = event_item(summary="Call with Fabrikam")
    pair.remote.upload(item)
    assert pair.sync().done == {"upload crm": 1}
    assert pair.summaries(pair.crm) == {item.uid: "Call with Fabrikam"}


def test_an_event_that_does_not_concern_the_crm_is_read_once_and_left(pair: Pair) -> None:
    pair.options = Options(concerns=lambda item: "Contoso" in str(item.events[0]["SUMMARY"]))
    dentist, visit = event_item(summary="Dentist"), event_item(summary="Visit Contoso")
    pair.remote.upload(dentist)
    pair.remote.upload(visit)
    assert pair.sync().done == {"upload crm": 1, "ignore": 1}
    assert set(pair.summaries(pair.crm).values()) == {"Visit Contoso"}
    pair.remote.calls.clear()
    pair.sync()
    assert "get_many" not in pair.remote.calls
    # Renamed so that it concerns the CRM: now it comes.
    href, etag = pair.href_of(pair.remote, dentist.uid)
    pair.remote.update(href, restamped(dentist, summary="Dentist, then Contoso"), etag)
    assert pair.sync().done == {"upload crm": 1}
    assert pair.summaries(pair.crm)[dentist.uid] == "Dentist, then Contoso"


@pytest.mark.parametrize("side", ["crm", "remote"])
def test_an_update_on_one_side_reaches_the_other(pair: Pair, side: str) -> None:
    item = event_item(summary="Review")
    pair.crm.upload(item)
    pair.sync()
    source, target = (pair.crm, pair.remote) if side == "crm" else (pair.remote, pair.crm)
    href, etag = pair.href_of(source, item.uid)
    source.update(href, restamped(item, summary="Review (moved)"), etag)
    assert pair.sync().done == {f"update {'remote' if side == 'crm' else 'crm'}": 1}
    assert pair.summaries(target) == {item.uid: "Review (moved)"}


def test_an_event_whose_only_change_is_its_dtstamp_is_not_written_back(pair: Pair) -> None:
    item = event_item(summary="Stand-up")
    pair.crm.upload(item)
    pair.sync()
    href, etag = pair.href_of(pair.remote, item.uid)
    pair.remote.update(href, restamped(item), etag)
    pair.crm.calls.clear()
    assert pair.sync().done == {"record": 1}
    assert "update" not in pair.crm.calls
    pair.remote.calls.clear()
    assert pair.sync().done == {}  # the new etag was recorded: nothing read again
    assert "get_many" not in pair.remote.calls


def test_a_server_deletion_cancels_in_the_crm_and_a_crm_cancel_deletes_on_the_server(pair: Pair) -> None:
    a, b = event_item(summary="A"), event_item(summary="B")
    pair.crm.upload(a)
    pair.crm.upload(b)
    pair.sync()
    pair.remote.delete(*pair.href_of(pair.remote, a.uid))
    pair.crm.delete(*pair.href_of(pair.crm, b.uid))
    assert pair.sync().done == {"delete crm": 1, "delete remote": 1}
    assert pair.crm.items == {} and pair.remote.items == {}
    assert pair.book.rows == {}


def test_a_change_wins_over_a_deletion_on_the_other_side(pair: Pair) -> None:
    item = event_item(summary="Kept")
    pair.crm.upload(item)
    pair.sync()
    pair.remote.delete(*pair.href_of(pair.remote, item.uid))
    href, etag = pair.href_of(pair.crm, item.uid)
    pair.crm.update(href, restamped(item, summary="Kept and changed"), etag)
    assert pair.sync().done == {"upload remote": 1}
    assert pair.summaries(pair.remote) == {item.uid: "Kept and changed"}


@pytest.mark.parametrize(("policy", "crm_later", "winner"), [
    ("crm_wins", False, "crm"), ("server_wins", True, "remote"),
    ("newest_wins", True, "crm"), ("newest_wins", False, "remote"),
])
def test_a_conflict_is_decided_by_the_policy_and_logged(pair: Pair, policy: str, crm_later: bool,
                                                         winner: str) -> None:
    pair.options = Options(policy=policy)
    item = event_item(summary="Budget")
    pair.crm.upload(item)
    pair.sync()
    now = datetime.now(UTC)
    crm_stamp, remote_stamp = (now + timedelta(hours=1), now) if crm_later else (now, now + timedelta(hours=1))
    href, etag = pair.href_of(pair.crm, item.uid)
    pair.crm.update(href, restamped(item, summary="Budget (CRM)", last_modified=crm_stamp), etag)
    href, etag = pair.href_of(pair.remote, item.uid)
    pair.remote.update(href, restamped(item, summary="Budget (server)", last_modified=remote_stamp), etag)
    pair.sync()
    expected = "Budget (CRM)" if winner == "crm" else "Budget (server)"
    assert pair.summaries(pair.crm) == pair.summaries(pair.remote) == {item.uid: expected}
    assert pair.journal.conflicts == [(item.uid, policy, winner)]


def test_the_same_event_new_on_both_sides_is_recorded_not_doubled(pair: Pair) -> None:
    item = event_item(summary="Same")
    pair.crm.upload(item)
    pair.remote.upload(restamped(item))
    assert pair.sync().done == {"record": 1}
    assert len(pair.crm.items) == len(pair.remote.items) == 1


def test_an_unreadable_event_is_quarantined_once_and_the_rest_goes_on(pair: Pair) -> None:
    good = event_item(summary="Good")
    pair.remote.upload(good)
    pair.remote.items["broken.ics"] = (CalendarItem("BEGIN:VCALENDAR\r\nthis is not"), '"b1"')
    report = pair.sync()
    assert report.done == {"upload crm": 1, "quarantine remote": 1}
    assert pair.journal.quarantined == [("remote", "broken.ics", "bad_icalendar")]
    pair.sync()
    assert len(pair.journal.quarantined) == 1
    pair.remote.update("broken.ics", event_item(uid="fixed@example.com", summary="Fixed"), '"b1"')
    pair.sync()
    assert pair.summaries(pair.crm)["fixed@example.com"] == "Fixed"


def test_a_refused_cursor_lists_everything_again_without_doubling(pair: Pair) -> None:
    item = event_item(summary="Once")
    pair.remote.upload(item)
    pair.sync()
    pair.cursor = "999999"
    report = pair.sync()
    assert report.resynced and report.done == {}
    assert len(pair.crm.items) == 1


class Dies(Exception):
    pass


class DyingStore(MemoryStore):
    """Dies right after its n-th write went through, before the engine could record it."""

    def __init__(self, writes_left: int) -> None:
        super().__init__()
        self.writes_left = writes_left

    def _touch(self, href: str) -> str:
        etag = super()._touch(href)
        return etag

    def upload(self, item: CalendarItem) -> tuple[str, str]:
        result = super().upload(item)
        self._tick()
        return result

    def update(self, href: str, item: CalendarItem, etag: str) -> str:
        result = super().update(href, item, etag)
        self._tick()
        return result

    def _tick(self) -> None:
        self.writes_left -= 1
        if self.writes_left == 0:
            raise Dies


@pytest.mark.parametrize("dies_after", [1, 2, 3])
def test_a_pass_killed_after_a_write_resumes_with_nothing_lost_or_doubled(dies_after: int) -> None:
    pair = Pair()
    pair.remote = DyingStore(dies_after)
    items = [event_item(summary=f"Meeting {n}") for n in range(4)]
    for item in items:
        pair.crm.upload(item)
    with pytest.raises(Dies):
        pair.sync()
    pair.remote.writes_left = -1
    pair.sync()
    assert pair.summaries(pair.remote) == pair.summaries(pair.crm)
    assert len(pair.remote.items) == 4
    assert pair.sync().done == {}


# -- the state machine ------------------------------------------------------------------------------------
class TwoCalendars(RuleBasedStateMachine):
    """Random creates, updates and deletes on both sides between syncs: after each sync both sides hold the
    same objects with the same content, and a second sync has nothing to do."""

    def __init__(self) -> None:
        super().__init__()
        self.pair = Pair(policy="server_wins")
        self.serial = 0

    def _store(self, side: str) -> MemoryStore:
        return self.pair.crm if side == "crm" else self.pair.remote

    @rule(side=st.sampled_from(["crm", "remote"]))
    def create(self, side: str) -> None:
        self.serial += 1
        self._store(side).upload(event_item(uid=f"sm-{self.serial}", summary=f"v{self.serial}"))

    @rule(side=st.sampled_from(["crm", "remote"]), pick=st.integers(0, 50), dtstamp_only=st.booleans())
    def update(self, side: str, pick: int, dtstamp_only: bool) -> None:
        store = self._store(side)
        if not store.items:
            return
        href = sorted(store.items)[pick % len(store.items)]
        item, etag = store.items[href]
        self.serial += 1
        store.update(href, restamped(item) if dtstamp_only else restamped(item, summary=f"v{self.serial}"), etag)

    @rule(side=st.sampled_from(["crm", "remote"]), pick=st.integers(0, 50))
    def delete(self, side: str, pick: int) -> None:
        store = self._store(side)
        if store.items:
            href = sorted(store.items)[pick % len(store.items)]
            store.delete(href, store.items[href][1])

    @rule(lose_cursor=st.booleans())
    def sync(self, lose_cursor: bool) -> None:
        if lose_cursor:
            self.pair.cursor = None
        self.pair.sync()
        crm = {item.uid: item.hash for item, _ in self.pair.crm.items.values()}
        remote = {item.uid: item.hash for item, _ in self.pair.remote.items.values()}
        assert crm.keys() == remote.keys()
        for uid in crm:  # the same content, up to the volatile stamps
            assert crm[uid] == remote[uid], uid
        again = self.pair.sync()
        assert again.done == {}, again.done

    @invariant()
    def no_uid_twice(self) -> None:
        for store in (self.pair.crm, self.pair.remote):
            uids = [item.uid for item, _ in store.items.values()]
            assert len(uids) == len(set(uids))


TestTwoCalendars = TwoCalendars.TestCase
TestTwoCalendars.settings = settings(max_examples=60, stateful_step_count=25, deadline=None)


