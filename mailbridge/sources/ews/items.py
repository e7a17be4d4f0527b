"""Reading and marking items by id: their MIME content and their flags (GetItem, in batches), and a category
added to each (GetItem for the categories they have, then UpdateItem setting the list with ours appended, so a
user's own categories stay). An item deleted meanwhile is left out, not an error."""

import logging
from collections.abc import Sequence

from exchangelib import Account

from mailbridge.sources.base import Flags
from mailbridge.sources.ews.operations import GetItems, SetCategories, local_name
from mailbridge.sources.ews.properties import (
    CATEGORIES,
    MIME,
    STATE_PROPS,
    categories_of,
    flags_of,
    item_id_of,
    mime_of,
)

log = logging.getLogger(__name__)


def _found(elements: list[object]) -> list[object]:
    gone = [e for e in elements if isinstance(e, Exception)]
    if gone:
        log.info("%d item(s) were gone when read: %s", len(gone), gone[0])
    return [e for e in elements if not isinstance(e, Exception)]


def fetch_mime(account: Account, ids: Sequence[str], batch: int) -> dict[str, bytes]:
    """Each item's MIME content, by id."""
    if not ids:
        return {}
    out: dict[str, bytes] = {}
    for element in _found(GetItems(account=account, chunk_size=batch).fetch(ids, (MIME,))):
        content = mime_of(element)
        if content is not None:
            out[item_id_of(element)[0]] = content
    return out


def fetch_flags(account: Account, ids: Sequence[str], batch: int) -> dict[str, Flags]:
    """Each item's flags, by id (for a ReadFlagChange, which carries the read state only)."""
    if not ids:
        return {}
    return {item_id_of(e)[0]: flags_of(e)
            for e in _found(GetItems(account=account, chunk_size=batch).fetch(ids, STATE_PROPS))}


def add_category(account: Account, ids: Sequence[str], category: str, batch: int) -> int:
    """Adds `category` to each item that lacks it; returns how many were changed."""
    if not ids:
        return 0
    changes: list[tuple[str, str, str | None, list[str]]] = []
    for element in _found(GetItems(account=account, chunk_size=batch).fetch(ids, (CATEGORIES,))):
        current = categories_of(element)
        if category not in current:
            item_id, change_key = item_id_of(element)
            changes.append((local_name(element), item_id, change_key, [*current, category]))
    if not changes:
        return 0
    return len(_found(SetCategories(account=account, chunk_size=batch).update(changes)))
