"""The states and option sets of the service area: cases (Dynamics' incident), case resolutions, queues and
routing rules (DOMAIN.md §8, §9). Routing conditions check their values against the option sets here."""

from crm_core.states import ACTIVE_INACTIVE, State, StateModel

ACTIVE, RESOLVED, CANCELED = 0, 1, 2
IN_PROGRESS, PROBLEM_SOLVED, INFORMATION_PROVIDED, CANCELED_STATUS, MERGED = 1, 5, 1000, 6, 2000

# Resolving and merging have verbs of their own (a resolution, a master case): set-state and the generic
# transitions only move Active <-> Canceled and back from Resolved; CaseService enforces the rest.
CASE = StateModel(
    states=(
        State(ACTIVE, "Active", IN_PROGRESS,
              {1: "In Progress", 2: "On Hold", 3: "Waiting for Details", 4: "Researching"}),
        State(RESOLVED, "Resolved", PROBLEM_SOLVED, {PROBLEM_SOLVED: "Problem Solved",
                                                     INFORMATION_PROVIDED: "Information Provided"}),
        State(CANCELED, "Canceled", CANCELED_STATUS, {CANCELED_STATUS: "Canceled", MERGED: "Merged"}),
    ),
    transitions={ACTIVE: frozenset({RESOLVED, CANCELED}), RESOLVED: frozenset({ACTIVE}),
                 CANCELED: frozenset({ACTIVE})},
    closed=frozenset({RESOLVED, CANCELED}),
)

# incidentresolution: Open(0)[1], Completed(1)[2], Canceled(2)[3]. Ours are born Completed; reactivating the
# case cancels its resolution, as Dynamics does, so that the history keeps both.
RESOLUTION = StateModel(
    states=(State(0, "Open", 1, {1: "Open"}), State(1, "Completed", 2, {2: "Completed"}),
            State(2, "Canceled", 3, {3: "Canceled"})),
)
RESOLUTION_COMPLETED, RESOLUTION_CANCELED = (1, 2), (2, 3)

QUEUE = ACTIVE_INACTIVE

DRAFT, RULE_ACTIVE = 0, 1
ROUTING_RULE = StateModel(
    states=(State(DRAFT, "Draft", 1, {1: "Draft"}), State(RULE_ACTIVE, "Active", 2, {2: "Active"})),
    closed=frozenset({RULE_ACTIVE}),  # an active rule set is read-only: deactivate it to change it
)

# Option sets of incident (caseorigincode, casetypecode, prioritycode).
ORIGIN = {1: "Phone", 2: "Email", 3: "Web", 2483: "Facebook", 3986: "Twitter"}
CASE_TYPE = {1: "Question", 2: "Problem", 3: "Request"}
PRIORITY = {1: "High", 2: "Normal", 3: "Low"}
DEFAULT_PRIORITY = 2

# queue.queueviewtype
PUBLIC, PRIVATE = 0, 1
QUEUE_VIEW_TYPE = {PUBLIC: "Public", PRIVATE: "Private"}

CUSTOMER_TYPES = ("account", "contact")
QUEUE_OBJECT_TYPES = ("case", "activity")

# sla: Draft(0)[1] / Active(1)[2]; an active SLA is read-only (deactivate it to change it), as routing rules.
SLA = StateModel(
    states=(State(DRAFT, "Draft", 1, {1: "Draft"}), State(RULE_ACTIVE, "Active", 2, {2: "Active"})),
    closed=frozenset({RULE_ACTIVE}),
)

# slakpiinstance.status
KPI_IN_PROGRESS, KPI_NONCOMPLIANT, KPI_NEARING, KPI_PAUSED, KPI_SUCCEEDED, KPI_CANCELED = 0, 1, 2, 3, 4, 5
KPI_STATUS = {KPI_IN_PROGRESS: "In Progress", KPI_NONCOMPLIANT: "Noncompliant", KPI_NEARING: "Nearing Noncompliance",
              KPI_PAUSED: "Paused", KPI_SUCCEEDED: "Succeeded", KPI_CANCELED: "Canceled"}
KPI_OPEN = frozenset({KPI_IN_PROGRESS, KPI_NEARING, KPI_PAUSED})
