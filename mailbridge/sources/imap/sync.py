"""Incremental folder sync: from a stored `FolderState` to the changes since, and the next state.

Strategies, chosen by what the server offers (results are the same whichever runs):
- "qresync" (RFC 7162): one EXAMINE (QRESYNC (uidvalidity modseq)) answers with the flags changed and the
  UIDs expunged since our modseq; an unchanged folder (same HIGHESTMODSEQ, UIDNEXT and count) stops there.
- "condstore": EXAMINE, the same unchanged check, then UID FETCH 1:* (FLAGS) (CHANGEDSINCE modseq) and a
  UID SEARCH ALL to find expunges.
- "full" (no CONDSTORE, or NOMODSEQ, or the first pass): EXAMINE, UID FETCH 1:* (FLAGS), compared with
  the known uid -> flags map.
A session kept between passes (ImapSource's, pool.py) leaves the last folder it synced selected: when that is
the INBOX, the stored state is the one the session ended with, and the INBOX is not examined again. A NOOP
brings the server's news of it (RFC 7162 with QRESYNC enabled: FETCH with UID and MODSEQ for flags, VANISHED
for expunges, EXISTS for the count, HIGHESTMODSEQ in the tagged answer): none, and nothing changed; some, and
they are the changes, the new UIDs asked with UID FETCH uidnext:* (UID FLAGS) (`_plan_from_kept`). EXAMINE of
a large folder costs the server a reopening of it (tens of milliseconds); a NOOP, a fraction. Only the INBOX,
which cannot be deleted: a server need not tell a session that its selected folder was deleted and made again
(Dovecot does not), which only EXAMINE's UIDVALIDITY shows. And a kept session is used for minutes only
(pool.KEEP_SECONDS), so whatever a server failed to tell is seen by the next session.
New messages are fetched with BODY.PEEK[] (\\Seen stays untouched) in batches; each batch comes with a
checkpoint state the caller commits with what it made of the batch, so a killed sync resumes without loss
or duplicates. A changed UIDVALIDITY means the old UIDs are meaningless: the folder is read again from
scratch and the result says so (`full_resync`); dedupe downstream keeps that from doubling anything."""

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace

from mailbridge.errors import CursorInvalid
from mailbridge.sources.imap.errors import imap_errors
from mailbridge.sources.imap.protocol import Selected
from mailbridge.sources.imap.session import ImapSession, KeptFolder
from mailbridge.sources.imap.state import Flags, FolderState, StoredFlags, to_sequence_set


@dataclass(frozen=True)
class FetchedMessage:
    uid: int
    flags: Flags
    internal_date: dt.datetime | None
    raw: bytes = field(repr=False)


@dataclass(frozen=True)
class FolderChanges:
    """One step of a folder's sync. `state` is the checkpoint to store once this step is processed."""

    folder: str
    new: tuple[FetchedMessage, ...]
    flag_changes: Mapping[int, Flags]
    vanished: tuple[int, ...]
    state: FolderState
    full_resync: bool
    strategy: str

    @property
    def unchanged(self) -> bool:
        return not (self.new or self.flag_changes or self.vanished or self.full_resync)


@dataclass
class _Plan:
    selected: Selected
    known: Mapping[int, Flags]
    flag_changes: dict[int, Flags]
    vanished: list[int]
    new: dict[int, Flags]
    strategy: str
    full_resync: bool
    unchanged: bool = False


def _examine_parameters(session: ImapSession, state: FolderState | None) -> str | None:
    if session.qresync and state is not None and state.highestmodseq:
        return f"(QRESYNC ({state.uidvalidity} {state.highestmodseq}))"
    return "(CONDSTORE)" if session.condstore else None


def _plan(session: ImapSession, folder: str, state: FolderState | None) -> _Plan:
    protocol = session.protocol
    params = _examine_parameters(session, state)
    selected = protocol.examine(folder, params)
    full_resync = state is not None and state.uidvalidity != selected.uidvalidity
    usable_modseq = (state is not None and not full_resync and state.highestmodseq is not None
                     and selected.highestmodseq is not None)
    if usable_modseq and state is not None and (
            selected.highestmodseq == state.highestmodseq and selected.uidnext == state.uidnext
            and selected.exists == len(state.flags)):
        # Unchanged: the known map is not even decoded (a stored one is decoded lazily).
        return _Plan(selected, state.flags, {}, [], {}, "qresync" if session.qresync else "condstore", False, True)
    # Not copied: a stored map answers lookups UID by UID without being decoded whole (state.py).
    known: Mapping[int, Flags] = {} if state is None or full_resync else state.flags
    if usable_modseq and state is not None:
        if params and params.startswith("(QRESYNC"):
            changed, vanished, strategy = selected.changed, selected.vanished, "qresync"
        else:
            fetched, vanished = protocol.uid_fetch("1:*", "(UID FLAGS)", f"(CHANGEDSINCE {state.highestmodseq})")
            changed = {f.uid: f.flags for f in fetched}
            if not vanished:
                vanished = set(known) - protocol.uid_search_all() if known else set()
            strategy = "condstore"
    else:
        changed = {}
        if selected.exists:
            fetched, _ = protocol.uid_fetch("1:*", "(UID FLAGS)")
            changed = {f.uid: f.flags for f in fetched}
        vanished, strategy = set(known) - set(changed), "full"
    return _Plan(
        selected=selected,
        known=known,
        flag_changes={uid: f for uid, f in changed.items() if uid in known and known[uid] != f},
        vanished=sorted(uid for uid in vanished if uid in known),
        new={uid: f for uid, f in sorted(changed.items()) if uid not in known and uid not in vanished},
        strategy=strategy,
        full_resync=full_resync,
    )


def _applied(known: Mapping[int, Flags], patch: Mapping[int, Flags | None]) -> StoredFlags:
    """The known map with a batch's changes (None: the UID is gone), as sequence sets: a pass applies each
    batch's changes to the previous checkpoint's map, so a map of any size is encoded at most once a pass."""
    stored = known if isinstance(known, StoredFlags) else StoredFlags.encoded(known)
    return stored.patched(patch)


def _kept(state: FolderState) -> KeptFolder:
    return KeptFolder(state.folder, state.uidvalidity, state.uidnext, state.highestmodseq, len(state.flags))


def _plan_from_kept(session: ImapSession, state: FolderState | None) -> _Plan | None:
    """The plan from what the server told the session (NOOP), when it still has the INBOX selected as `state`
    says; None when it has not, or its news cannot be placed (then the folder is examined).

    The news of a session with QRESYNC enabled name every change by UID: flags (FETCH with UID and MODSEQ),
    expunges (VANISHED), the new count (EXISTS), and the tagged answer the new HIGHESTMODSEQ. The UIDs of new
    messages are asked (UID FETCH uidnext:* (UID FLAGS MODSEQ)). What EXAMINE would add costs the server a
    reopening of the folder (Dovecot, 50,000 messages in Maildir: 75 to 105 ms, against 1 to 17 for the NOOP).
    Any doubt, such as a count that does not add up or a change told by sequence number, falls back to EXAMINE,
    which states the folder afresh from the stored cursor."""
    if (not session.keep_selected or state is None or state.folder != "INBOX" or state.highestmodseq is None
            or session.kept != _kept(state)):
        return None
    protocol = session.protocol
    news = protocol.news()
    strategy = "qresync" if session.qresync else "condstore"
    known = state.flags
    if news.quiet:
        selected = Selected(state.uidvalidity, state.uidnext, len(known), state.highestmodseq)
        return _Plan(selected, known, {}, [], {}, strategy, False, unchanged=True)
    # Expunges change the modseq with no FETCH to carry it: the tagged answer's HIGHESTMODSEQ must say it.
    if not (session.qresync and news.by_uid and (news.highestmodseq is not None or not news.vanished)):
        return None
    new: dict[int, Flags] = {}
    modseqs = [state.highestmodseq, *news.modseqs]
    if news.highestmodseq is not None:
        modseqs.append(news.highestmodseq)
    if news.exists is not None:
        fetched, vanished = protocol.uid_fetch(f"{state.uidnext}:*", "(UID FLAGS MODSEQ)")
        if vanished or not protocol.quiet():
            return None  # more happened meanwhile: examine
        # "n:*" names the last message when no UID is n or above (RFC 3501 6.4.8): an old one, left out.
        new = {f.uid: f.flags for f in sorted(fetched, key=lambda f: f.uid) if f.uid >= state.uidnext}
        modseqs += [f.modseq for f in fetched if f.modseq is not None and f.uid >= state.uidnext]
    gone = sorted(uid for uid in news.vanished if uid in known)
    if (news.exists is not None and news.exists != len(known) - len(gone) + len(new)) or max(modseqs) <= (
            state.highestmodseq):
        return None  # a count that does not add up, or changes that moved no modseq
    selected = Selected(state.uidvalidity, max([state.uidnext, *(uid + 1 for uid in new)]),
                        len(known) - len(gone) + len(new), max(modseqs))
    return _Plan(
        selected=selected,
        known=known,
        flag_changes={uid: f for uid, f in news.changed.items() if uid in known and known[uid] != f},
        vanished=gone,
        new=new,
        strategy=strategy,
        full_resync=False,
    )


def iter_folder_changes(session: ImapSession, folder: str, state: FolderState | None,
                        batch_size: int | None = None) -> Iterator[FolderChanges]:
    """The changes of `folder` since `state` (None: never synced), in steps of at most `batch_size` new
    messages. The first step carries the flag changes, the expunged UIDs and `full_resync`; the last step's
    state is the folder's new cursor. An unchanged folder yields one empty step."""
    if state is not None and state.folder != folder:
        raise CursorInvalid(f"the stored state is for folder {state.folder!r}, not {folder!r}")
    batch = max(1, batch_size or session.settings.fetch_batch_size)
    with imap_errors(session.settings.host, f"syncing {folder!r}"):
        plan = _plan_from_kept(session, state)
        session.kept = None
        if plan is None:
            plan = _plan(session, folder, state)
        if state is not None and plan.unchanged:  # the state goes back as it came
            session.kept = _kept(state) if session.protocol.quiet() else None
            yield FolderChanges(folder, (), {}, (), state, False, plan.strategy)
            return
        # What changed in the known map, applied batch by batch to the map of the checkpoint before: a stored map
        # is patched, not decoded. The first batch carries the flag changes and the expunges.
        known: Mapping[int, Flags] = plan.known
        patch: dict[int, Flags | None] = {**plan.flag_changes, **dict.fromkeys(plan.vanished)}
        selected = plan.selected
        old_modseq = state.highestmodseq if state is not None and not plan.full_resync else None
        old_uidnext = state.uidnext if state is not None and not plan.full_resync else 1
        final = FolderState(folder, selected.uidvalidity, selected.uidnext, selected.highestmodseq)
        pending = list(plan.new)
        first = True
        while first or pending:
            chunk, pending = pending[:batch], pending[batch:]
            new: list[FetchedMessage] = []
            if chunk:
                fetched, vanished = session.protocol.uid_fetch(to_sequence_set(chunk),
                                                               "(UID FLAGS INTERNALDATE BODY.PEEK[])")
                wanted = set(chunk)
                if vanished or any(item.uid not in wanted or item.raw is None for item in fetched):
                    session.protocol.disturbed = True  # the server told of other changes too: examine next time
                for item in sorted(fetched, key=lambda f: f.uid):
                    if item.uid in plan.new and item.raw is not None:
                        new.append(FetchedMessage(item.uid, item.flags, item.internal_date, item.raw))
                        patch[item.uid] = item.flags
            known, patch = _applied(known, patch), {}
            if pending:
                # A checkpoint mid-way keeps the old modseq: a resumed pass then still sees every change since,
                # and what this pass already delivered compares equal to the known map, so nothing repeats.
                checkpoint = FolderState(folder, selected.uidvalidity, max([old_uidnext, *[u + 1 for u in chunk]]),
                                         old_modseq, known)
            else:
                checkpoint = replace(final, flags=known)
            if not pending:  # the last step: the state the session ends with, unless the server told of more
                session.kept = _kept(checkpoint) if session.protocol.quiet() else None
            yield FolderChanges(
                folder=folder,
                new=tuple(new),
                flag_changes=plan.flag_changes if first else {},
                vanished=tuple(plan.vanished) if first else (),
                state=checkpoint,
                full_resync=plan.full_resync if first else False,
                strategy=plan.strategy,
            )
            first = False


def sync_folder(session: ImapSession, folder: str, state: FolderState | None,
                batch_size: int | None = None) -> FolderChanges:
    """All the changes of `folder` since `state` at once (tests, small folders); see iter_folder_changes."""
    steps = list(iter_folder_changes(session, folder, state, batch_size))
    return FolderChanges(
        folder=folder,
        new=tuple(m for s in steps for m in s.new),
        flag_changes=steps[0].flag_changes,
        vanished=steps[0].vanished,
        state=steps[-1].state,
        full_resync=steps[0].full_resync,
        strategy=steps[0].strategy,
    )
