"""Ids made in bulk (crm_core/db/row_ids.py) are version 7 UUIDs: they never repeat, they sort by the time they
were made (so new rows land together in every index), and a forked child (a prefork worker) never hands out the
ids its parent will: two processes writing rows must not collide."""

import datetime as dt
import os
import time
import uuid

from crm_core.db.row_ids import new_id


def test_ids_are_version_7_uuids_that_do_not_repeat() -> None:
    ids = [new_id() for _ in range(5000)]
    assert all(i.version == 7 and i.variant == uuid.RFC_4122 for i in ids)
    assert len(set(ids)) == len(ids)
    assert len({i.int & ((1 << 62) - 1) for i in ids}) == len(ids)  # the random part differs, not only the time


def test_ids_begin_with_the_time_they_were_made() -> None:
    before = time.time()
    made = new_id()
    after = time.time()
    millis = made.int >> 80
    assert int(before * 1000) <= millis <= int(after * 1000) + 1
    assert dt.datetime.fromtimestamp(millis / 1000, dt.UTC).year >= 2024


def test_later_ids_sort_after_earlier_ones_as_text_and_as_numbers() -> None:
    first = [new_id() for _ in range(50)]
    time.sleep(0.003)
    later = [new_id() for _ in range(50)]
    assert max(first) < min(later)
    assert max(i.hex for i in first) < min(i.hex for i in later)  # SQLite stores them as hex text


def test_a_forked_child_does_not_repeat_its_parents_next_ids() -> None:
    new_id()  # the parent holds a block with ids left in it
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next ids, to the parent
        os.close(read)
        os.write(write, b"".join(new_id().bytes for _ in range(10)))
        os._exit(0)
    os.close(write)
    data = b""
    while chunk := os.read(read, 4096):
        data += chunk
    os.close(read)
    os.waitpid(pid, 0)
    child = {uuid.UUID(bytes=data[i:i + 16]) for i in range(0, len(data), 16)}
    parent = {new_id() for _ in range(10)}
    assert len(child) == 10 and not child & parent
    assert not {c.int & ((1 << 62) - 1) for c in child} & {p.int & ((1 << 62) - 1) for p in parent}
