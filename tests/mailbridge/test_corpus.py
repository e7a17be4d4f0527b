"""Every message of the corpus (CPython's email test data, which we did not write, and our hostile ones)
goes through normalisation: each is normalised or refused as Unreadable with a known reason; nothing
crashes, and no sanitised HTML can run script."""

import re
from pathlib import Path

import pytest

from mailbridge.message import QUARANTINE_REASONS, NormalisedMessage, Unreadable, normalise

CORPUS = Path(__file__).parent / "corpus"
FILES = sorted(p for p in CORPUS.rglob("*") if p.suffix in {".txt", ".eml"})
_DANGER = re.compile(r"<\s*script|\son[a-z]+\s*=|javascript:|<\s*iframe|<\s*style", re.IGNORECASE)


def test_the_corpus_is_there() -> None:
    assert len([p for p in FILES if p.parent.name == "cpython"]) >= 45
    assert len([p for p in FILES if p.parent.name == "hostile"]) >= 10


def _no_surrogates(message: NormalisedMessage) -> bool:
    texts = [message.subject, message.text_body or "", message.html_body or "",
             *(a.display_name + a.address for a in message.participants()),
             *(u.raw for u in message.unparseable_addresses), *(a.filename or "" for a in message.attachments)]
    return not any("\ud800" <= ch <= "\udfff" for text in texts for ch in text)


def _outcome(raw: bytes) -> NormalisedMessage | str:
    """The normalised message, or the quarantine reason."""
    try:
        return normalise(raw)
    except Unreadable as exc:
        return exc.reason


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_each_message_is_normalised_or_quarantined_with_a_reason(path: Path) -> None:
    raw = path.read_bytes()
    outcome = _outcome(raw)
    if isinstance(outcome, str):
        assert outcome in QUARANTINE_REASONS
        return
    message = outcome
    assert message.raw == raw and message.raw_size == len(raw)
    assert len(message.fingerprint) == 64
    assert message.html_body is None or not _DANGER.search(message.html_body)
    assert _no_surrogates(message)  # storable in PostgreSQL text columns
    assert message.sent_at is None or message.sent_at.utcoffset().total_seconds() == 0


def test_the_corpus_outcome_accounts_for_every_message() -> None:
    outcomes = {path.name: _outcome(path.read_bytes()) for path in FILES}
    normalised = [name for name, o in outcomes.items() if isinstance(o, NormalisedMessage)]
    quarantined = {name: o for name, o in outcomes.items() if isinstance(o, str)}
    assert len(normalised) + len(quarantined) == len(FILES)
    # What we know cannot be mail: a digest fragment without headers, random bytes, an empty file.
    assert quarantined == {"msg_19.txt": "no_headers", "not-a-message.eml": "no_headers", "empty.eml": "empty"}
