"""Ids drawn in blocks (crm_core/db/random_ids.py) are version 4 UUIDs, never repeat, and a forked child (a
prefork worker) never hands out the ids its parent will: two processes writing rows must not collide."""

import os
import uuid

from crm_core.db.random_ids import new_id


def test_ids_are_random_version_4_uuids_that_do_not_repeat() -> None:
    ids = [new_id() for _ in range(5000)]
    assert all(i.version == 4 and i.variant == uuid.RFC_4122 for i in ids)
    assert len(set(ids)) == len(ids)


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
