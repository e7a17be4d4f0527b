"""States and status reasons of the sales records (DOMAIN.md §3): the opportunity and its close record.

Leads keep theirs in crm_core.states (LEAD), where the foundation put them."""

from crm_core.states import State, StateModel

OPEN, WON, LOST = 0, 1, 2
IN_PROGRESS, ON_HOLD, WON_STATUS, CANCELED, OUT_SOLD = 1, 2, 3, 4, 5

OPPORTUNITY = StateModel(
    states=(
        State(OPEN, "Open", IN_PROGRESS, {IN_PROGRESS: "In Progress", ON_HOLD: "On Hold"}),
        State(WON, "Won", WON_STATUS, {WON_STATUS: "Won"}),
        State(LOST, "Lost", CANCELED, {CANCELED: "Canceled", OUT_SOLD: "Out-Sold"}),
    ),
    # A closed opportunity goes back to Open only (Dynamics' reopen); won and lost never swap directly.
    transitions={OPEN: frozenset({WON, LOST}), WON: frozenset({OPEN}), LOST: frozenset({OPEN})},
    closed=frozenset({WON, LOST}),
)

# opportunityclose: Open(0) [Open 1], Completed(1) [Completed 2], Canceled(2) [Canceled 3]. Ours are born
# Completed with the win or the loss, and are canceled when the opportunity is reopened.
CLOSE_COMPLETED = (1, 2)
CLOSE_CANCELED = (2, 3)
OPPORTUNITY_CLOSE = StateModel(
    states=(
        State(0, "Open", 1, {1: "Open"}),
        State(1, "Completed", 2, {2: "Completed"}),
        State(2, "Canceled", 3, {3: "Canceled"}),
    ),
)
