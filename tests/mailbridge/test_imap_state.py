"""The stored IMAP folder state: compact, exact, and refused when it cannot be read."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailbridge.errors import CursorInvalid
from mailbridge.sources.imap import FolderState
from mailbridge.sources.imap.state import StoredFlags, from_sequence_set, to_sequence_set


def test_sequence_sets() -> None:
    assert to_sequence_set([5, 1, 2, 3, 9, 10]) == "1:3,5,9:10"
    assert from_sequence_set("1:3,5,9:10") == [1, 2, 3, 5, 9, 10]
    assert from_sequence_set("7:*", star=9) == [7, 8, 9]
    assert to_sequence_set([]) == ""


@given(st.dictionaries(st.integers(1, 5000), st.frozensets(st.sampled_from(["\\Seen", "\\Flagged", "$Label1"]))))
def test_state_round_trips_through_its_stored_form(flags: dict[int, frozenset[str]]) -> None:
    state = FolderState("INBOX", 42, 5001, 77, flags)
    assert FolderState.from_dict(state.to_dict()) == state


def test_a_large_folder_is_stored_compactly() -> None:
    flags = {uid: frozenset({"\\Seen"}) if uid % 1000 else frozenset() for uid in range(1, 50_001)}
    stored = FolderState("INBOX", 1, 50_001, 9, flags).to_dict()
    assert len(str(stored)) < 2000


@pytest.mark.parametrize("broken", [{}, {"v": 99}, {"v": 1, "folder": "INBOX", "uidvalidity": "x", "uidnext": 1,
                                                        "uids": "", "flags": {}}])
def test_an_unreadable_state_is_cursor_invalid(broken: dict[str, object]) -> None:
    with pytest.raises(CursorInvalid):
        FolderState.from_dict(broken)


def test_a_stored_state_goes_back_as_it_came_and_still_reads_in_full() -> None:
    flags = {uid: frozenset({"\\Seen"}) if uid % 7 else frozenset({"\\Seen", "\\Flagged"}) for uid in range(1, 2001)}
    stored = FolderState("INBOX", 3, 2001, 12, flags).to_dict()
    older = {k: v for k, v in stored.items() if k != "count"}  # a cursor written before counts were kept

    for cursor in (stored, older):
        state = FolderState.from_dict(cursor)
        assert len(state.flags) == 2000
        assert state.to_dict() == stored  # unchanged, it is written back as it was read
        assert dict(state.flags) == flags and state.flags[14] == {"\\Seen", "\\Flagged"}


@pytest.mark.parametrize("uids", ["1:x", "a", "1:99999999", "1:", ":1", "1::3", "1:2:3", "1,:3", "4:5,6:", "1;2",
                                  "1 ,2", "1:3,5\n"])
def test_a_garbled_sequence_set_is_refused_when_read(uids: str) -> None:
    cursor = FolderState("INBOX", 1, 2, 1, {1: frozenset()}).to_dict() | {"uids": uids}
    with pytest.raises(CursorInvalid):
        FolderState.from_dict(cursor)


_FLAG_SETS = st.frozensets(st.sampled_from(["\\Seen", "\\Flagged", "$Label1"]))


@given(st.dictionaries(st.integers(1, 400), _FLAG_SETS), st.lists(st.dictionaries(st.integers(1, 400), _FLAG_SETS),
                                                                    max_size=6))
def test_a_map_patched_batch_by_batch_stores_as_the_whole_map_would(
        start: dict[int, frozenset[str]], batches: list[dict[int, frozenset[str]]]) -> None:
    """A pass checkpoints after each batch by patching the map before: new UIDs above the known ones (a first
    sync) grow the sets at their end, others are patched in place; either way the cursor is the one the whole
    map would give, and it reads back as that map."""
    whole = dict(start)
    stored = StoredFlags.encoded(start)
    for batch in batches:
        whole.update(batch)
        stored = stored.patched(batch)
        expected = FolderState("INBOX", 1, 500, None, whole).to_dict()
        assert FolderState("INBOX", 1, 500, None, stored).to_dict() == expected
        assert dict(FolderState.from_dict(expected).flags) == whole


def test_new_messages_above_the_known_ones_extend_the_stored_sets() -> None:
    stored = StoredFlags.encoded({1: frozenset({"\\Seen"}), 2: frozenset(), 4: frozenset({"\\Seen"})})
    grown = stored.patched({5: frozenset({"\\Seen"}), 6: frozenset({"\\Flagged"}), 9: frozenset({"\\Seen"})})
    assert (grown.uids, grown.flag_sets) == ("1:2,4:6,9", {"\\Seen": "1,4:5,9", "\\Flagged": "6"})
    assert len(grown) == 6 and grown.last_uid() == 9 and not grown.decoded


@given(st.text(alphabet="0129:,", max_size=7))
def test_a_stored_set_is_read_when_and_only_when_it_is_well_formed(uids: str) -> None:
    """The check on a stored set is fast string work; it accepts exactly the grammar the decoders read (empty
    items are skipped), so a set it lets through never fails later, half-way through a pass."""
    well_formed = re.fullmatch(r"(?:[0-9]+(?::[0-9]+)?)?(?:,(?:[0-9]+(?::[0-9]+)?)?)*", uids) is not None
    cursor = FolderState("INBOX", 1, 2, 1, {1: frozenset()}).to_dict() | {"uids": uids}
    if well_formed:
        assert set(FolderState.from_dict(cursor).flags) == set(from_sequence_set(uids))
    else:
        with pytest.raises(CursorInvalid):
            FolderState.from_dict(cursor)
