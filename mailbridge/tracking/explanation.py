"""Step: why a tracked mail is linked where it is. The signal that decided (a thread signal, else the
parties' addresses, else none), a confidence, the other candidates, and whether a person should review the
link: an ambiguous party (two contacts sharing an address) or an ambiguous smart match is recorded with
its candidates instead of a guess."""

from dataclasses import dataclass
from typing import Any

from mailbridge.tracking.parties import ResolvedParties
from mailbridge.tracking.threads import ThreadLink

ADDRESS, AMBIGUOUS_ADDRESS = 0.8, 0.5


@dataclass(frozen=True)
class Explanation:
    signal: str
    confidence: float
    link_status: str  # linked | unlinked | needs_review
    candidates: tuple[dict[str, Any], ...]


def explain(link: ThreadLink | None, parties: ResolvedParties) -> Explanation:
    candidates: list[dict[str, Any]] = list(link.candidates) if link is not None else []
    for address, records in parties.ambiguous.items():
        candidates.extend({"type": kind, "id": str(record_id), "signal": "address",
                           "why": f"{len(records)} {kind}s have the address {address}"} for kind, record_id in records)
    review = bool(parties.ambiguous) or (link is not None and link.needs_review)
    if link is not None:
        confidence = link.confidence if not parties.ambiguous else min(link.confidence, AMBIGUOUS_ADDRESS)
        return Explanation(link.signal, confidence, "needs_review" if review else "linked", tuple(candidates))
    if any(k.party_id is not None and k.party_type != "user" and k.party_type != "queue" for k in parties.keys):
        return Explanation("address", AMBIGUOUS_ADDRESS if review else ADDRESS,
                           "needs_review" if review else "linked", tuple(candidates))
    if review:
        return Explanation("address", AMBIGUOUS_ADDRESS, "needs_review", tuple(candidates))
    return Explanation("none", 0.0, "unlinked", ())
