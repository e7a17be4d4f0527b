"""States and option sets of marketing: lists, campaigns and quick campaigns (DOMAIN.md §7).

Where Dynamics leaves a choice open, the choice is named here:
- list: Active(0)[Active 0], Inactive(1)[Inactive 1] (labels matched from the early-bound classes); an
  inactive list is read-only until it is activated again.
- campaign: Active(0)[Proposed 0, Ready To Launch 1, Launched 2, Completed 3, Canceled 4, Suspended 5],
  Inactive(1)[Inactive 6]. Dynamics puts no order on the status reasons within Active, so neither do we;
  only Inactive is read-only.
- quick campaign (Dynamics' bulkoperation, an activity): Open(0)[Pending 1, In Progress 2],
  Closed(1)[Aborted 3, Completed 4], Canceled(2)[Canceled 5]. Its status follows its run, never a user's
  set-state; a finished one is read-only.
"""

from crm_core.states import State, StateModel

# Dynamics' createdfromcode of a list (and targetedrecordtypecode of a bulk operation).
MEMBER_TYPES: dict[str, int] = {"account": 1, "contact": 2, "lead": 4}

LIST_STATES = StateModel(
    states=(State(0, "Active", 0, {0: "Active"}), State(1, "Inactive", 1, {1: "Inactive"})),
    closed=frozenset({1}),
)

CAMPAIGN_PROPOSED, CAMPAIGN_READY, CAMPAIGN_LAUNCHED, CAMPAIGN_COMPLETED = 0, 1, 2, 3
CAMPAIGN_CANCELED, CAMPAIGN_SUSPENDED, CAMPAIGN_INACTIVE = 4, 5, 6
CAMPAIGN_STATES = StateModel(
    states=(
        State(0, "Active", CAMPAIGN_PROPOSED, {
            CAMPAIGN_PROPOSED: "Proposed", CAMPAIGN_READY: "Ready To Launch", CAMPAIGN_LAUNCHED: "Launched",
            CAMPAIGN_COMPLETED: "Completed", CAMPAIGN_CANCELED: "Canceled", CAMPAIGN_SUSPENDED: "Suspended",
        }),
        State(1, "Inactive", CAMPAIGN_INACTIVE, {CAMPAIGN_INACTIVE: "Inactive"}),
    ),
    closed=frozenset({1}),
)

# Campaign typecode.
CAMPAIGN_TYPES: dict[int, str] = {1: "Advertisement", 2: "Direct Marketing", 3: "Event", 4: "Co-branding",
                                  5: "Other"}

# The channels a campaign may name (the channel types of its campaign activities, without the mail-merge twins).
CAMPAIGN_CHANNELS = ("phone", "appointment", "letter", "fax", "email", "other")

QC_PENDING, QC_IN_PROGRESS, QC_ABORTED, QC_COMPLETED, QC_CANCELED = 1, 2, 3, 4, 5
QUICK_CAMPAIGN_STATES = StateModel(
    states=(
        State(0, "Open", QC_PENDING, {QC_PENDING: "Pending", QC_IN_PROGRESS: "In Progress"}),
        State(1, "Closed", QC_COMPLETED, {QC_ABORTED: "Aborted", QC_COMPLETED: "Completed"}),
        State(2, "Canceled", QC_CANCELED, {QC_CANCELED: "Canceled"}),
    ),
    closed=frozenset({1, 2}),
)

# Campaign activity channeltypecode -> the activity type its distribution creates. 9 Other has none.
CHANNEL_ACTIVITY_TYPES: dict[int, str] = {
    1: "phone_call", 2: "appointment", 3: "letter", 4: "letter", 5: "fax", 6: "fax", 7: "email", 8: "email",
}

# The activity types a quick campaign can create (bulkoperation createdrecordtypecode 1 Phone Call, 2 Fax,
# 3 Letter, 4 Email, 5 Appointment).
QUICK_CAMPAIGN_TYPES = ("phone_call", "fax", "letter", "email", "appointment")

# The party role a member takes on each created activity.
MEMBER_ROLE: dict[str, str] = {
    "phone_call": "to", "fax": "to", "letter": "to", "email": "to", "appointment": "required_attendee",
}

# An outgoing email queued for the mail issue to send: Completed(1) / Pending Send(6) (DOMAIN.md §12).
EMAIL_PENDING_SEND = (1, 6)

# The campaign activity's status once distributed: "Completed" (6), which our catalogue keeps in Open.
CAMPAIGN_ACTIVITY_DISTRIBUTED = 6

# A converted campaign response is Closed(1) / Closed(2).
RESPONSE_CLOSED = (1, 2)
