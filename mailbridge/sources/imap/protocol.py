"""The few IMAP commands the sync needs, issued through imaplib (imapclient's `_imap`) because imapclient
cannot send them as RFC 7162 wants: EXAMINE with a (QRESYNC (uidvalidity modseq)) parameter, whose answer
carries VANISHED (EARLIER) and FETCH responses, and UID FETCH over a range with CHANGEDSINCE.

Every command is appended to `log` (its name only), so a caller can see what a sync cost."""

import imaplib
from dataclasses import dataclass, field
from typing import Any

from imapclient import imap_utf7

from mailbridge.errors import FolderMissing, ProtocolError
from mailbridge.sources.imap.fetch_parsing import Fetched, parse_fetch
from mailbridge.sources.imap.state import Flags, from_sequence_set

# Untagged responses by which a server tells of a change in the selected folder (new mail, expunges, flags).
CHANGE_RESPONSES = ("EXISTS", "RECENT", "EXPUNGE", "FETCH", "VANISHED")


@dataclass
class Selected:
    """What EXAMINE told us. `changed` and `vanished` are only filled by a QRESYNC EXAMINE."""

    uidvalidity: int
    uidnext: int
    exists: int
    highestmodseq: int | None
    changed: dict[int, Flags] = field(default_factory=dict)
    vanished: set[int] = field(default_factory=set)


@dataclass(frozen=True)
class News:
    """What the server told, unasked, of the selected folder since it last answered (RFC 3501 7.4, RFC 7162
    3.2.5.1 and 3.2.10): flags changed (FETCH), messages expunged (VANISHED, with QRESYNC enabled), the count
    (EXISTS), and the HIGHESTMODSEQ of a tagged answer. `by_uid`: every change was told by UID, none by sequence
    number alone (EXPUNGE, a FETCH without UID), which a session that keeps no sequence map cannot place."""

    changed: dict[int, Flags]
    vanished: frozenset[int]
    exists: int | None
    highestmodseq: int | None  # the tagged answer's; a server need send it only after expunges (RFC 7162 3.2.10)
    modseqs: tuple[int, ...]  # the MODSEQ of each FETCH
    by_uid: bool

    @property
    def quiet(self) -> bool:
        return self.by_uid and not (self.changed or self.vanished or self.exists is not None)


def quote_folder(folder: str) -> bytes:
    encoded = imap_utf7.encode(folder)
    return b'"' + encoded.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def _int(values: list[Any], name: str) -> int | None:
    for value in reversed(values or []):
        if value is None:
            continue
        text = value.decode() if isinstance(value, bytes) else str(value)
        try:
            return int(text.split()[0])
        except (ValueError, IndexError):
            raise ProtocolError(f"unreadable {name} in the server's answer: {text[:50]!r}") from None
    return None


class Protocol:
    """Commands on one logged-in imaplib connection."""

    def __init__(self, imap: imaplib.IMAP4) -> None:
        self.imap = imap
        self.log: list[str] = []
        # Set when the server told of a change in the selected folder beside what a command asked for.
        self.disturbed = False

    def quiet(self) -> bool:
        """Whether the server told of no change in the selected folder since it was examined: no unsolicited
        EXISTS, EXPUNGE, VANISHED or FETCH (flags) seen, nor any waiting to be read."""
        untagged = self.imap.untagged_responses
        return not self.disturbed and not any(untagged.get(name) for name in CHANGE_RESPONSES)

    def noop(self) -> bool:
        """NOOP, which has the server report what changed in the selected folder since its last answer; True
        when nothing did (see `quiet`)."""
        self._run("NOOP")
        return self.quiet()

    def news(self) -> News:
        """NOOP, and what the server told of the selected folder since it last answered, this NOOP's answer
        included; taken (read once: from now on only further news counts, see `quiet`)."""
        self._run("NOOP")
        untagged = self.imap.untagged_responses
        lines = untagged.pop("FETCH", [])
        fetched = parse_fetch(lines)
        expunged = untagged.pop("EXPUNGE", None)
        untagged.pop("RECENT", None)
        by_uid = not (expunged or self.disturbed) and all(
            isinstance(line, bytes) and b"UID " in line.upper() for line in lines)
        self.disturbed = False
        return News(
            changed={f.uid: f.flags for f in fetched},
            vanished=frozenset(self._parse_vanished(untagged.pop("VANISHED", []))),
            exists=_int(untagged.pop("EXISTS", []), "EXISTS"),
            highestmodseq=_int(untagged.pop("HIGHESTMODSEQ", []), "HIGHESTMODSEQ"),
            modseqs=tuple(f.modseq for f in fetched if f.modseq is not None),
            by_uid=by_uid,
        )

    def _run(self, name: str, *args: str | bytes) -> list[Any]:
        self.log.append(name if name != "UID" else f"UID {args[0]!s}")
        typ, data = self.imap._simple_command(name, *args)
        if typ != "OK":
            text = b" ".join(d for d in data if isinstance(d, bytes)).decode("utf-8", "replace")
            raise ProtocolError(f"{name} failed: {text[:200]}")
        return data

    def examine(self, folder: str, parameters: str | None = None) -> Selected:
        """Read-only SELECT (we never change a mailbox), optionally with CONDSTORE or QRESYNC parameters."""
        imap = self.imap
        imap.untagged_responses = {}
        imap.is_readonly = True
        self.log.append("EXAMINE")
        args: list[str | bytes] = [quote_folder(folder)] + ([parameters] if parameters else [])
        typ, data = imap._simple_command("EXAMINE", *args)
        if typ != "OK":
            imap.state = "AUTH"
            text = b" ".join(d for d in data if isinstance(d, bytes)).decode("utf-8", "replace")
            if "NONEXISTENT" in text.upper() or "exist" in text.lower():
                raise FolderMissing(f"folder {folder!r} does not exist: {text[:200]}")
            raise ProtocolError(f"EXAMINE {folder!r} failed: {text[:200]}")
        imap.state = "SELECTED"
        untagged = imap.untagged_responses
        uidvalidity = _int(untagged.get("UIDVALIDITY", []), "UIDVALIDITY")
        if uidvalidity is None:
            raise ProtocolError(f"{folder!r}: the server sent no UIDVALIDITY")
        modseq = None if "NOMODSEQ" in untagged else _int(untagged.get("HIGHESTMODSEQ", []), "HIGHESTMODSEQ")
        selected = Selected(
            uidvalidity=uidvalidity,
            uidnext=_int(untagged.get("UIDNEXT", []), "UIDNEXT") or 0,
            exists=_int(untagged.get("EXISTS", []), "EXISTS") or 0,
            highestmodseq=modseq,
        )
        selected.changed = {f.uid: f.flags for f in parse_fetch(untagged.pop("FETCH", []))}
        selected.vanished = self._parse_vanished(untagged.pop("VANISHED", []))
        for name in (*CHANGE_RESPONSES, "HIGHESTMODSEQ"):  # read: from now on, any of these is news
            untagged.pop(name, None)
        self.disturbed = False
        return selected

    def uid_fetch(self, uids: str, items: str, modifiers: str | None = None) -> tuple[list[Fetched], set[int]]:
        """UID FETCH; returns the messages and any VANISHED uids the server sent with them."""
        earlier = self.imap.untagged_responses.pop("FETCH", None), self.imap.untagged_responses.pop("VANISHED", None)
        if any(earlier):  # changes the server told of unasked, before this command
            self.disturbed = True
        self.imap.untagged_responses.pop("HIGHESTMODSEQ", None)  # only a NOOP's answer is read (news)
        self._run("UID", "FETCH", uids, items, *([modifiers] if modifiers else []))
        fetched = parse_fetch(self.imap.untagged_responses.pop("FETCH", []))
        return fetched, self._parse_vanished(self.imap.untagged_responses.pop("VANISHED", []))

    def uid_search_all(self) -> set[int]:
        self.imap.untagged_responses.pop("SEARCH", None)
        self._run("UID", "SEARCH", "ALL")
        found: set[int] = set()
        for line in self.imap.untagged_responses.pop("SEARCH", []):
            if isinstance(line, bytes):
                found.update(int(x) for x in line.split() if x.isdigit())
        return found

    @staticmethod
    def _parse_vanished(data: list[Any]) -> set[int]:
        uids: set[int] = set()
        for line in data:
            if not isinstance(line, bytes):
                continue
            text = line.decode("ascii", "replace").replace("(EARLIER)", "").strip()
            try:
                uids.update(from_sequence_set(text))
            except ValueError as exc:
                raise ProtocolError(f"unreadable VANISHED response: {text[:80]!r}") from exc
        return uids
