"""Random (version 4) UUIDs for rows written in bulk, drawn from the kernel in blocks.

`uuid.uuid4()` asks the kernel for 16 bytes each time (a getrandom system call). A mail batch of 100 messages
makes about 650 ids (emails, parties, attachments, tracking rows, sightings, audit entries), and those calls
were 2% of a first sync's main process on a quiet machine and 6% under load. `new_id()` takes the same kernel
randomness 4 KB at a time. Each thread has its own block, and a forked child drops the block it inherited:
it must never hand out the ids its parent will."""

import os
import threading
import uuid

_BLOCK_IDS = 256


class _Block(threading.local):
    def __init__(self) -> None:
        self.data = b""
        self.at = 0


_block = _Block()


def _forget_inherited_block() -> None:
    global _block
    _block = _Block()


os.register_at_fork(after_in_child=_forget_inherited_block)


def new_id() -> uuid.UUID:
    """A random UUID, as uuid.uuid4() makes it."""
    block = _block
    if block.at >= len(block.data):
        block.data, block.at = os.urandom(16 * _BLOCK_IDS), 0
    start = block.at
    block.at = start + 16
    return uuid.UUID(bytes=block.data[start:start + 16], version=4)
