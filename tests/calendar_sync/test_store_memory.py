"""The memory store against the store contract: the reference the real servers are held to."""

import pytest

from calendar_sync.items import CalendarItem
from calendar_sync.stores.base import CalendarStore
from calendar_sync.stores.memory import MemoryStore
from tests.calendar_sync.store_contract import StoreContract


class TestMemoryStore(StoreContract):
    @pytest.fixture
    def store(self) -> MemoryStore:
        return MemoryStore()


class TestReadOnlyMemoryStore(StoreContract):
    read_only = True
    incremental = False
    locals().update(dict.fromkeys(StoreContract.WRITES + StoreContract.DELTAS))

    @pytest.fixture
    def store(self) -> MemoryStore:
        return MemoryStore(read_only=True, incremental=False)

    def seed(self, store: CalendarStore, items: list[CalendarItem]) -> None:
        assert isinstance(store, MemoryStore)
        store.read_only = False
        for item in items:
            store.upload(item)
        store.read_only = True
