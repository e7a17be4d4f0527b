"""FETCH answers as `Fetched` items: the answers our sync asks for read by a few regular expressions, anything
else by imapclient's general parser.

A first sync reads every message through UID FETCH (UID FLAGS INTERNALDATE BODY.PEEK[]), and imapclient's
parser, token by token in Python, cost about a tenth of the main process's time there. The answer to that
request has one shape (RFC 3501 7.4.2: `n (UID u FLAGS (...) INTERNALDATE "..." BODY[] {size}` then the
literal, then `)`; MODSEQ too with CONDSTORE enabled), which `_fast` reads; the unsolicited flag changes of a
NOOP have the same shape without the literal. Whatever does not match exactly (another order of items is
matched too; a quoted flag, an unexpected item, a size that disagrees with the literal) goes to imapclient
whole, so the result never depends on which parser read it."""

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from imapclient.response_parser import parse_fetch_response

from mailbridge.errors import ProtocolError
from mailbridge.sources.imap.state import Flags

SESSION_FLAGS = {"\\recent"}  # per-session, changes without a MODSEQ: never part of what we compare


@dataclass(frozen=True)
class Fetched:
    uid: int
    flags: Flags
    internal_date: dt.datetime | None
    raw: bytes | None
    modseq: int | None = None  # with CONDSTORE enabled, every FETCH answer carries it


def normalise_flags(flags: Any) -> Flags:
    items = flags if isinstance(flags, tuple | list) else ()
    out = {(f.decode("utf-8", "replace") if isinstance(f, bytes) else str(f)) for f in items}
    return frozenset(f for f in out if f.lower() not in SESSION_FLAGS)


def parse_fetch(data: list[Any]) -> list[Fetched]:
    """The FETCH answers in imaplib's form (a line, or a (line up to a literal, literal) pair and the line's
    rest), in order; an answer without UID is left out (nothing to key it on)."""
    if not data or data == [None]:
        return []
    fast = _fast(data)
    return fast if fast is not None else _general(data)


_LINE = re.compile(rb"\d+ \((.*)\)", re.DOTALL)
_BEFORE_BODY = re.compile(rb"\d+ \((.*?) ?BODY\[\] \{(\d+)\}", re.DOTALL)
_ITEM = re.compile(rb'(UID|MODSEQ|FLAGS|INTERNALDATE) (\d+|\((\d+)\)|\(([^()"{}\\]*(?:\\[^()"{}\\ ]*[^()"{}\\]*)*)\)'
                   rb'|"([^"\\]*)")(?: |\Z)')
_DATE = re.compile(r"( ?\d{1,2})-([A-Z][a-z]{2})-(\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})")
_MONTHS = {name: i for i, name in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
                                              "Nov", "Dec"), start=1)}


def _fast(data: list[Any]) -> list[Fetched] | None:
    out: list[Fetched] = []
    i = 0
    while i < len(data):
        item = data[i]
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
            head = _BEFORE_BODY.fullmatch(item[0])
            if head is None or int(head[2]) != len(item[1]) or i + 1 >= len(data) or data[i + 1] != b")":
                return None
            fields, raw, i = _fields(head[1]), item[1], i + 2
        elif isinstance(item, bytes):
            line = _LINE.fullmatch(item)
            if line is None:
                return None
            fields, raw, i = _fields(line[1]), None, i + 1
        else:
            return None
        if fields is None:
            return None
        uid = fields.get("UID")
        if not isinstance(uid, int):
            continue
        date = fields.get("INTERNALDATE")
        flags = fields.get("FLAGS")
        modseq = fields.get("MODSEQ")
        out.append(Fetched(uid, flags if isinstance(flags, frozenset) else frozenset(),
                           date if isinstance(date, dt.datetime) else None, raw,
                           modseq if isinstance(modseq, int) else None))
    return out


def _fields(text: bytes) -> dict[str, object] | None:
    """UID, MODSEQ, FLAGS and INTERNALDATE from the items of one answer; None if anything else is there."""
    fields: dict[str, object] = {}
    at = 0
    for match in _ITEM.finditer(text):
        if match.start() != at:
            return None
        at = match.end()
        name = match[1].decode()
        if name == "UID" and match[2].isdigit():
            fields[name] = int(match[2])
        elif name == "MODSEQ" and match[3] is not None:
            fields[name] = int(match[3])
        elif name == "FLAGS" and match[4] is not None:
            fields[name] = normalise_flags(match[4].split())
        elif name == "INTERNALDATE" and match[5] is not None:
            date = _internal_date(match[5].decode("ascii", "replace"))
            if date is None:
                return None
            fields[name] = date
        else:
            return None
    return fields if at == len(text) else None


def _internal_date(text: str) -> dt.datetime | None:
    m = _DATE.fullmatch(text)
    if m is None or m[2] not in _MONTHS:
        return None
    offset = dt.timedelta(hours=int(m[8]), minutes=int(m[9])) * (-1 if m[7] == "-" else 1)
    try:
        local = dt.datetime(int(m[3]), _MONTHS[m[2]], int(m[1]), int(m[4]), int(m[5]), int(m[6]),
                            tzinfo=dt.timezone(offset))
    except ValueError:
        return None
    return local.astimezone(dt.UTC)


def _modseq(value: Any) -> int | None:
    value = value[0] if isinstance(value, tuple | list) and value else value
    return value if isinstance(value, int) else None


def _general(data: list[Any]) -> list[Fetched]:
    try:
        parsed = parse_fetch_response(data, normalise_times=False, uid_is_key=False)
    except Exception as exc:
        raise ProtocolError(f"unreadable FETCH response: {exc}") from exc
    out: list[Fetched] = []
    for item in parsed.values():
        uid = item.get(b"UID")
        if not isinstance(uid, int):
            continue  # an unsolicited FETCH without UID: nothing we can key on
        date = item.get(b"INTERNALDATE")
        body = item.get(b"BODY[]")
        out.append(Fetched(
            uid=uid,
            flags=normalise_flags(item.get(b"FLAGS")),
            internal_date=date.astimezone(dt.UTC) if isinstance(date, dt.datetime) and date.tzinfo else None,
            raw=body if isinstance(body, bytes) else None,
            modseq=_modseq(item.get(b"MODSEQ")),
        ))
    return out
