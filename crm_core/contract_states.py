"""The states and option sets of service contracts (DOMAIN.md §10): contract templates, contracts and their
lines (contractdetail)."""

from crm_core.states import ACTIVE_INACTIVE, State, StateModel

TEMPLATE = ACTIVE_INACTIVE

DRAFT, INVOICED, ACTIVE, ON_HOLD, CANCELED, EXPIRED = 0, 1, 2, 3, 4, 5
# Draft -> invoice -> Invoiced -> Active (at active_on) -> Expired (after expires_on); Active <-> On Hold;
# cancel from Invoiced, Active or On Hold. Only a draft contract and its lines can be changed.
CONTRACT = StateModel(
    states=(
        State(DRAFT, "Draft", 1, {1: "Draft"}),
        State(INVOICED, "Invoiced", 2, {2: "Invoiced"}),
        State(ACTIVE, "Active", 3, {3: "Active"}),
        State(ON_HOLD, "On Hold", 4, {4: "On Hold"}),
        State(CANCELED, "Canceled", 5, {5: "Canceled"}),
        State(EXPIRED, "Expired", 6, {6: "Expired"}),
    ),
    transitions={
        DRAFT: frozenset({INVOICED}),
        INVOICED: frozenset({ACTIVE, CANCELED, EXPIRED}),
        ACTIVE: frozenset({ON_HOLD, CANCELED, EXPIRED}),
        ON_HOLD: frozenset({ACTIVE, CANCELED, EXPIRED}),
        CANCELED: frozenset(),
        EXPIRED: frozenset(),
    },
    closed=frozenset({INVOICED, ACTIVE, ON_HOLD, CANCELED, EXPIRED}),
)

# contractdetail: Existing(0)[New 1], Renewed(1)[2], Canceled(2)[3], Expired(3)[4]
LINE_EXISTING, LINE_RENEWED, LINE_CANCELED, LINE_EXPIRED = 0, 1, 2, 3
LINE = StateModel(
    states=(State(LINE_EXISTING, "Existing", 1, {1: "New"}), State(LINE_RENEWED, "Renewed", 2, {2: "Renewed"}),
            State(LINE_CANCELED, "Canceled", 3, {3: "Canceled"}), State(LINE_EXPIRED, "Expired", 4, {4: "Expired"})),
)

# Option sets: allotmenttypecode, billingfrequencycode, contractservicelevelcode
CASES, TIME, COVERAGE_DATES = 1, 2, 3
ALLOTMENT_TYPE = {CASES: "Number of Cases", TIME: "Time", COVERAGE_DATES: "Coverage Dates"}
BILLING_FREQUENCY = {1: "Monthly", 2: "Bimonthly", 3: "Quarterly", 4: "Semiannually", 5: "Annually"}
SERVICE_LEVEL = {1: "Gold", 2: "Silver", 3: "Bronze"}
