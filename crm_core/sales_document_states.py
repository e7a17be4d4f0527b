"""States and status reasons of quotes, orders and invoices (DOMAIN.md §5).

State changes go through the verbs of each document (activate, revise, win, close; submit, fulfill, cancel,
invoice; paid, cancel), which the services check against `transitions`; the generic set-state route only
changes the status reason within the current state."""

from crm_core.states import State, StateModel

QUOTE_DRAFT, QUOTE_ACTIVE, QUOTE_WON, QUOTE_CLOSED = 0, 1, 2, 3
QUOTE_LOST, QUOTE_CANCELED, QUOTE_REVISED = 5, 6, 7
QUOTE = StateModel(
    states=(
        State(QUOTE_DRAFT, "Draft", 1, {1: "In Progress"}),
        State(QUOTE_ACTIVE, "Active", 2, {2: "In Progress", 3: "Open"}),
        State(QUOTE_WON, "Won", 4, {4: "Won"}),
        State(QUOTE_CLOSED, "Closed", 7, {QUOTE_LOST: "Lost", QUOTE_CANCELED: "Canceled", QUOTE_REVISED: "Revised"}),
    ),
    transitions={
        QUOTE_DRAFT: frozenset({QUOTE_ACTIVE}),
        QUOTE_ACTIVE: frozenset({QUOTE_WON, QUOTE_CLOSED}),
        QUOTE_WON: frozenset(),
        QUOTE_CLOSED: frozenset(),
    },
    # Only a draft is editable; Active is refused with its own message (see QuoteService.ensure_editable).
    closed=frozenset({QUOTE_WON, QUOTE_CLOSED}),
)

ORDER_ACTIVE, ORDER_SUBMITTED, ORDER_CANCELED, ORDER_FULFILLED, ORDER_INVOICED = 0, 1, 2, 3, 4
ORDER_COMPLETE, ORDER_PARTIAL = 100001, 100002
ORDER = StateModel(
    states=(
        State(ORDER_ACTIVE, "Active", 1, {1: "New", 2: "Pending"}),
        State(ORDER_SUBMITTED, "Submitted", 3, {3: "In Progress"}),
        State(ORDER_CANCELED, "Canceled", 4, {4: "No Money"}),
        State(ORDER_FULFILLED, "Fulfilled", ORDER_COMPLETE, {ORDER_COMPLETE: "Complete", ORDER_PARTIAL: "Partial"}),
        State(ORDER_INVOICED, "Invoiced", 100003, {100003: "Invoiced"}),
    ),
    # Which source states each order transition allows is unconfirmed in Dynamics (DOMAIN.md): we let an
    # open order (Active, Submitted) be fulfilled or canceled, and any order not canceled or invoiced yet
    # be invoiced, a fulfilled one included (ship first, bill after).
    transitions={
        ORDER_ACTIVE: frozenset({ORDER_SUBMITTED, ORDER_FULFILLED, ORDER_CANCELED, ORDER_INVOICED}),
        ORDER_SUBMITTED: frozenset({ORDER_FULFILLED, ORDER_CANCELED, ORDER_INVOICED}),
        ORDER_FULFILLED: frozenset({ORDER_INVOICED}),
        ORDER_CANCELED: frozenset(),
        ORDER_INVOICED: frozenset(),
    },
    closed=frozenset({ORDER_CANCELED, ORDER_FULFILLED, ORDER_INVOICED}),
)

INVOICE_ACTIVE, INVOICE_CLOSED_DEPRECATED, INVOICE_PAID, INVOICE_CANCELED = 0, 1, 2, 3
INVOICE_COMPLETE, INVOICE_PARTIAL = 100001, 100002
INVOICE = StateModel(
    states=(
        State(INVOICE_ACTIVE, "Active", 1, {1: "New", 2: "Partially Shipped", 4: "Billed",
                                            5: "Booked (applies to services)", 6: "Installed (applies to services)"}),
        # Kept so that a status read from an older Dynamics export has its label; nothing moves here.
        State(INVOICE_CLOSED_DEPRECATED, "Closed (deprecated)", 3, {3: "Canceled (deprecated)",
                                                                  7: "Paid in Full (deprecated)"}),
        State(INVOICE_PAID, "Paid", INVOICE_COMPLETE, {INVOICE_COMPLETE: "Complete", INVOICE_PARTIAL: "Partial"}),
        State(INVOICE_CANCELED, "Canceled", 100003, {100003: "Canceled"}),
    ),
    transitions={
        INVOICE_ACTIVE: frozenset({INVOICE_PAID, INVOICE_CANCELED}),
        INVOICE_CLOSED_DEPRECATED: frozenset(),
        INVOICE_PAID: frozenset(),
        INVOICE_CANCELED: frozenset(),
    },
    closed=frozenset({INVOICE_CLOSED_DEPRECATED, INVOICE_PAID, INVOICE_CANCELED}),
)
