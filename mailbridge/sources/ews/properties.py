"""The item and folder properties we ask EWS for, and how an answer's XML becomes our values.

Flags, as the IMAP source reports them: message:IsRead is \\Seen; item:Flag with FlagStatus "Flagged" is
\\Flagged (Exchange 2013 and later); PidTagLastVerbExecuted (MAPI 0x1081) 102 or 103, "replied" or "replied to
all", is \\Answered, which is how Exchange's own IMAP service derives it."""

import base64
import binascii
import datetime as dt
from dataclasses import dataclass
from typing import Any

from exchangelib.util import TNS, create_element

from mailbridge.sources.base import Flags

ANSWERED_VERBS = frozenset({102, 103})


@dataclass(frozen=True)
class Prop:
    """A property path: a FieldURI, or a MAPI property by tag (ExtendedFieldURI)."""

    field_uri: str | None = None
    tag: int | None = None
    kind: str = "Integer"

    def path(self) -> Any:
        if self.field_uri is not None:
            return create_element("t:FieldURI", attrs={"FieldURI": self.field_uri})
        return create_element("t:ExtendedFieldURI", attrs={"PropertyTag": f"0x{self.tag:04x}",
                                                             "PropertyType": self.kind})


RECEIVED = Prop("item:DateTimeReceived")
IS_READ = Prop("message:IsRead")
FLAG = Prop("item:Flag")
LAST_VERB = Prop(tag=0x1081)
MIME = Prop("item:MimeContent")
CATEGORIES = Prop("item:Categories")
STATE_PROPS = (RECEIVED, IS_READ, FLAG, LAST_VERB)  # what a sync asks of every changed item
DISPLAY_NAME = Prop("folder:DisplayName")
TOTAL_COUNT = Prop("folder:TotalCount")


def _t(name: str) -> str:
    return f"{{{TNS}}}{name}"


def _text(element: Any, path: str) -> str | None:
    found = element.find(path)
    return found.text.strip() if found is not None and found.text else None


@dataclass(frozen=True)
class ItemState:
    item_id: str
    change_key: str | None
    flags: Flags
    received: dt.datetime | None


def item_id_of(element: Any) -> tuple[str, str | None]:
    found = element.find(_t("ItemId"))
    if found is None:
        raise ValueError("an item without an ItemId")
    return str(found.get("Id")), found.get("ChangeKey")


def flags_of(element: Any) -> Flags:
    flags: set[str] = set()
    if _text(element, _t("IsRead")) == "true":
        flags.add("\\Seen")
    if _text(element, f"{_t('Flag')}/{_t('FlagStatus')}") == "Flagged":
        flags.add("\\Flagged")
    for prop in element.findall(_t("ExtendedProperty")):
        uri = prop.find(_t("ExtendedFieldURI"))
        value = _text(prop, _t("Value"))
        if uri is not None and int(uri.get("PropertyTag", "0"), 0) == LAST_VERB.tag and value is not None \
                and value.lstrip("-").isdigit() and int(value) in ANSWERED_VERBS:
            flags.add("\\Answered")
    return frozenset(flags)


def item_state(element: Any) -> ItemState:
    item_id, change_key = item_id_of(element)
    received = _text(element, _t("DateTimeReceived"))
    return ItemState(item_id, change_key, flags_of(element),
                     dt.datetime.fromisoformat(received) if received else None)


def mime_of(element: Any) -> bytes | None:
    text = _text(element, _t("MimeContent"))
    if text is None:
        return None
    try:
        return base64.b64decode(text)
    except (binascii.Error, ValueError):
        return None


def categories_of(element: Any) -> list[str]:
    return [s.text or "" for s in element.findall(f"{_t('Categories')}/{_t('String')}")]


def folder_of(element: Any) -> tuple[str, str | None, str | None, int | None]:
    """(id, change key, display name, total count) of a t:Folder (or any folder type) element."""
    found = element.find(_t("FolderId"))
    if found is None:
        raise ValueError("a folder without a FolderId")
    total = _text(element, _t("TotalCount"))
    return str(found.get("Id")), found.get("ChangeKey"), _text(element, _t("DisplayName")), \
        int(total) if total and total.isdigit() else None
