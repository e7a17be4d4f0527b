"""The built-in activity types as Dynamics defines them: each type's own fields, its states and status
reasons (DOMAIN.md §12, §7 for campaign responses and activities, §11 for service activities), which
party roles it takes, and where its timeline date comes from. Custom types (admin-defined, stored as
ActivityType rows) share the states of Dynamics' activitypointer: POINTER_STATES."""

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from crm_core.models.activities import (
    BUILTIN_TYPES,
    Activity,
    Appointment,
    CampaignActivity,
    CampaignResponse,
    CustomActivity,
    Email,
    Fax,
    Letter,
    PhoneCall,
    RecurringAppointment,
    ServiceActivity,
    Task,
)
from crm_core.states import State, StateModel

OPEN, COMPLETED, CANCELED, SCHEDULED = 0, 1, 2, 3

# Dynamics' participationtypemask; 8 Regarding and 9 Owner are stored on the activity itself.
PARTY_ROLES: dict[str, int] = {
    "sender": 1, "to": 2, "cc": 3, "bcc": 4, "required_attendee": 5, "optional_attendee": 6,
    "organizer": 7, "resource": 10, "customer": 11,
}
ROLE_OF_MASK = {mask: role for role, mask in PARTY_ROLES.items()}
# Roles of which an activity has at most one party (an email has one From, a meeting one organizer).
SINGLE_ROLES = frozenset({"sender", "organizer"})
# Entities a party may point at, in the order an address is resolved (see activity_parties).
PARTY_ENTITIES = ("contact", "lead", "account", "user")


def _states(open_: State, completed: State, canceled: State, scheduled: State | None = None) -> StateModel:
    """Open, Completed and Canceled (and Scheduled for some); closed ones are read-only until reopened,
    and a closed activity only goes back to an open state."""
    states = [open_, completed, canceled, *([scheduled] if scheduled else [])]
    opened = frozenset({OPEN, SCHEDULED} if scheduled else {OPEN})
    moves = {OPEN: frozenset({COMPLETED, CANCELED} | opened) - {OPEN},
             COMPLETED: opened, CANCELED: opened}
    if scheduled:
        moves[SCHEDULED] = frozenset({OPEN, COMPLETED, CANCELED})
    return StateModel(states=tuple(states), transitions=moves, closed=frozenset({COMPLETED, CANCELED}))


# activitypointer's own states: what custom activity types get.
POINTER_STATES = _states(
    State(OPEN, "Open", 1, {1: "Open"}), State(COMPLETED, "Completed", 2, {2: "Completed"}),
    State(CANCELED, "Canceled", 3, {3: "Canceled"}), State(SCHEDULED, "Scheduled", 4, {4: "Scheduled"}),
)
_APPOINTMENT_STATES = _states(
    State(OPEN, "Open", 1, {1: "Free", 2: "Tentative"}), State(COMPLETED, "Completed", 3, {3: "Completed"}),
    State(CANCELED, "Canceled", 4, {4: "Canceled"}), State(SCHEDULED, "Scheduled", 5, {5: "Busy", 6: "Out of Office"}),
)


@dataclass(frozen=True)
class TypeField:
    """A column of one activity type's own table (or of the base table used by some types only)."""

    name: str
    type: type
    description: str
    max_length: int | None = None
    ge: int | None = None
    le: int | None = None
    choices: dict[int, str] | None = None  # an option set: the values this type accepts
    email: bool = False  # an address, normalised like every address we store
    html: bool = False  # HTML a page may show: sanitised when written (crm_core.html_sanitising)


@dataclass(frozen=True)
class ActivityKind:
    code: str
    display_name: str
    model: type[Activity]
    states: StateModel
    fields: tuple[TypeField, ...] = ()
    roles: frozenset[str] = frozenset()
    initial_state: int = OPEN  # where a new activity starts, and where reopen leads
    occurred_column: str | None = None  # the timeline date before the close date and the creation
    subject_required: bool = True
    field_names: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "field_names", frozenset(f.name for f in self.fields))

    @property
    def is_custom(self) -> bool:
        return self.model is CustomActivity


_DIRECTION = TypeField("direction_outgoing", bool, "true outgoing, false incoming")
_LOCATION = TypeField("location", str, "Where it takes place", max_length=200)
_ALL_DAY = TypeField("is_all_day", bool, "An all-day event")
_GLOBAL_ID = TypeField("global_object_id", str, "The calendar's UID of the meeting", max_length=300)
_SENDER_TO = frozenset({"sender", "to"})
_MEETING = frozenset({"organizer", "required_attendee", "optional_attendee"})

BUILTIN: dict[str, ActivityKind] = {k.code: k for k in (
    ActivityKind(
        "phone_call", "Phone Call", PhoneCall,
        _states(State(OPEN, "Open", 1, {1: "Open"}), State(COMPLETED, "Completed", 2, {2: "Made", 4: "Received"}),
                State(CANCELED, "Canceled", 3, {3: "Canceled"})),
        (TypeField("phone_number", str, "The number called or calling", max_length=200), _DIRECTION),
        _SENDER_TO,
    ),
    ActivityKind(
        "email", "Email", Email,
        _states(State(OPEN, "Open", 1, {1: "Draft", 8: "Failed"}),
                State(COMPLETED, "Completed", 2, {2: "Completed", 3: "Sent", 4: "Received", 6: "Pending Send",
                                                  7: "Sending"}),
                State(CANCELED, "Canceled", 5, {5: "Canceled"})),
        (TypeField("message_id", str, "RFC 5322 Message-ID; one email per Message-ID", max_length=998),
         TypeField("in_reply_to", str, "Message-ID this email answers", max_length=998),
         TypeField("conversation_index", str, "Outlook's Thread-Index", max_length=400),
         TypeField("tracking_token", str, "The CRM token in the subject", max_length=50),
         TypeField("body_text", str, "Plain-text body"),
         TypeField("body_html", str, "HTML body (sanitised when written)", html=True),
         TypeField("sent_on", datetime, "When it was sent or received"), _DIRECTION),
        frozenset({"sender", "to", "cc", "bcc"}), occurred_column="sent_on", subject_required=False,
    ),
    ActivityKind(
        "task", "Task", Task,
        _states(State(OPEN, "Open", 2, {2: "Not Started", 3: "In Progress", 4: "Waiting on someone else",
                                        7: "Deferred"}),
                State(COMPLETED, "Completed", 5, {5: "Completed"}), State(CANCELED, "Canceled", 6, {6: "Canceled"})),
        (TypeField("percent_complete", int, "0 to 100", ge=0, le=100),
         TypeField("category", str, "Free category", max_length=250)),
    ),
    # A saved appointment is Scheduled (Busy) in Dynamics; Open (Free, Tentative) is chosen explicitly.
    ActivityKind(
        "appointment", "Appointment", Appointment, _APPOINTMENT_STATES, (_LOCATION, _ALL_DAY, _GLOBAL_ID),
        _MEETING, initial_state=SCHEDULED, occurred_column="scheduled_start",
    ),
    ActivityKind(
        "recurring_appointment", "Recurring Appointment", RecurringAppointment, _APPOINTMENT_STATES,
        (_LOCATION, _ALL_DAY, _GLOBAL_ID,
         TypeField("rrule", str, "RFC 5545 recurrence rule, e.g. FREQ=WEEKLY;BYDAY=MO", max_length=1000),
         TypeField("time_zone", str, "IANA time zone of the pattern", max_length=64),
         TypeField("pattern_start", date, "First day of the series"),
         TypeField("pattern_end", date, "Last day of the series")),
        _MEETING, initial_state=SCHEDULED, occurred_column="scheduled_start",
    ),
    ActivityKind(
        "letter", "Letter", Letter,
        _states(State(OPEN, "Open", 1, {1: "Open", 2: "Draft"}),
                State(COMPLETED, "Completed", 4, {3: "Received", 4: "Sent"}),
                State(CANCELED, "Canceled", 5, {5: "Canceled"})),
        (TypeField("address", str, "Postal address", max_length=1000), _DIRECTION),
        frozenset({"sender", "to", "bcc"}),
    ),
    ActivityKind(
        "fax", "Fax", Fax,
        _states(State(OPEN, "Open", 1, {1: "Open"}),
                State(COMPLETED, "Completed", 2, {2: "Completed", 3: "Sent", 4: "Received"}),
                State(CANCELED, "Canceled", 5, {5: "Canceled"})),
        (TypeField("fax_number", str, "Fax number", max_length=200),
         TypeField("number_of_pages", int, "Pages", ge=0), _DIRECTION),
        _SENDER_TO,
    ),
    ActivityKind(
        "campaign_response", "Campaign Response", CampaignResponse,
        _states(State(OPEN, "Open", 1, {1: "Open"}), State(COMPLETED, "Closed", 2, {2: "Closed"}),
                State(CANCELED, "Canceled", 3, {3: "Canceled"})),
        (TypeField("response_code", int, "1 Interested, 2 Not Interested, 3 Do Not Send Marketing Materials, "
                   "4 Error", choices={1: "Interested", 2: "Not Interested",
                                       3: "Do Not Send Marketing Materials", 4: "Error"}),
         TypeField("channel_type_code", int, "campaign response: 1 Email, 2 Phone, 3 Fax, 4 Letter, "
                   "5 Appointment, 6 Others; campaign activity: 1 Phone ... 7 Email, 9 Other",
                   choices={1: "Email", 2: "Phone", 3: "Fax", 4: "Letter", 5: "Appointment", 6: "Others"}),
         TypeField("company_name", str, "Company of the respondent", max_length=100),
         TypeField("email_address", str, "Address of the respondent", max_length=320, email=True),
         TypeField("received_on", datetime, "When the response came in")),
        frozenset({"customer", "sender"}), occurred_column="received_on",
    ),
    # Which state each campaign activity status belongs to is unconfirmed (DOMAIN.md §7): Closed and
    # Canceled get theirs, every other status is an Open one.
    ActivityKind(
        "campaign_activity", "Campaign Activity", CampaignActivity,
        _states(State(OPEN, "Open", 1, {1: "Proposed", 0: "In Progress", 4: "Pending", 5: "System Aborted",
                                        6: "Completed"}),
                State(COMPLETED, "Closed", 2, {2: "Closed"}), State(CANCELED, "Canceled", 3, {3: "Canceled"})),
        (TypeField("channel_type_code", int, "see campaign_response",
                   choices={1: "Phone", 2: "Appointment", 3: "Letter", 4: "Letter via Mail Merge", 5: "Fax",
                            6: "Fax via Mail Merge", 7: "Email", 8: "Email via Mail Merge", 9: "Other"}),
         TypeField("type_code", int, "Campaign activity type, 1 to 8", ge=1, le=8),
         TypeField("budgeted_cost", Decimal, "Budget", ge=0), TypeField("actual_cost", Decimal, "Cost", ge=0)),
        frozenset({"sender"}),
    ),
    ActivityKind(
        "service_activity", "Service Activity", ServiceActivity,
        _states(State(OPEN, "Open", 1, {1: "Requested", 2: "Tentative"}),
                State(COMPLETED, "Closed", 8, {8: "Completed"}),
                State(CANCELED, "Canceled", 9, {9: "Canceled", 10: "No Show"}),
                State(SCHEDULED, "Scheduled", 3, {3: "Pending", 4: "Reserved", 6: "In Progress", 7: "Arrived"})),
        (_LOCATION,), frozenset({"customer", "resource"}), occurred_column="scheduled_start",
    ),
)}
assert tuple(BUILTIN) == BUILTIN_TYPES, "the catalogue and the models must list the same built-in types"

CUSTOM = ActivityKind("custom", "Custom activity", CustomActivity, POINTER_STATES, (), frozenset(PARTY_ROLES))

# Every type-specific field, once: the API body is flat, and one name has one type across types.
TYPE_FIELDS: dict[str, TypeField] = {}
for _kind in BUILTIN.values():
    for _f in _kind.fields:
        if _f.name in TYPE_FIELDS:
            assert TYPE_FIELDS[_f.name].type is _f.type, f"{_f.name} has two types"
        else:
            TYPE_FIELDS[_f.name] = _f

CUSTOM_FIELD_TYPES = ("string", "integer", "decimal", "boolean", "date")


def builtin(code: str) -> ActivityKind | None:
    return BUILTIN.get(code)


def kind_of(activity: Any) -> ActivityKind:
    """The kind of a stored activity: its built-in type, or CUSTOM for an admin-defined one."""
    return BUILTIN.get(activity.activity_type, CUSTOM)


def types_with(name: str) -> list[str]:
    return [k.code for k in BUILTIN.values() if name in k.field_names]
