"""States of the product catalogue (DOMAIN.md §4): products, price lists and unit groups."""

from crm_core.states import ACTIVE_INACTIVE, State, StateModel

# Products: Draft → publish → Active → revise → Under Revision → publish → Active; retire → Retired.
# Dynamics lets a retired product be activated again ("publish" here), and a draft one be retired.
PRODUCT_ACTIVE, PRODUCT_RETIRED, PRODUCT_DRAFT, PRODUCT_UNDER_REVISION = 0, 1, 2, 3
PRODUCT = StateModel(
    states=(
        State(PRODUCT_ACTIVE, "Active", 1, {1: "Active"}),
        State(PRODUCT_RETIRED, "Retired", 2, {2: "Retired"}),
        State(PRODUCT_DRAFT, "Draft", 0, {0: "Draft"}),
        State(PRODUCT_UNDER_REVISION, "Under Revision", 3, {3: "Under Revision"}),
    ),
    transitions={
        PRODUCT_DRAFT: frozenset({PRODUCT_ACTIVE, PRODUCT_RETIRED}),
        PRODUCT_ACTIVE: frozenset({PRODUCT_UNDER_REVISION, PRODUCT_RETIRED}),
        PRODUCT_UNDER_REVISION: frozenset({PRODUCT_ACTIVE, PRODUCT_RETIRED}),
        PRODUCT_RETIRED: frozenset({PRODUCT_ACTIVE}),
    },
    # Active is read-only too, but with its own message (revise it first): see ProductService.
    closed=frozenset({PRODUCT_RETIRED}),
)
# Products that quote, order and invoice lines may name: an Under Revision product is still on sale.
SELLABLE_PRODUCT_STATES = frozenset({PRODUCT_ACTIVE, PRODUCT_UNDER_REVISION})

PRICE_LIST = StateModel(
    states=(State(0, "Active", 100001, {100001: "Active"}), State(1, "Inactive", 100002, {100002: "Inactive"})),
    closed=frozenset({1}),
)

UNIT_GROUP = ACTIVE_INACTIVE
