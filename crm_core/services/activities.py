"""Activities of every type under one privilege set, as in Dynamics: each type's own fields, its states
and status reasons, parties, the "regarding" record, and the date the timeline orders them by.

Parties live in activity_parties, custom types in activity_types, names for display in activity_display."""

import uuid
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import delete, select

from crm_core.activity_catalogue import (
    BUILTIN,
    CANCELED,
    COMPLETED,
    CUSTOM,
    TYPE_FIELDS,
    ActivityKind,
    TypeField,
    builtin,
    kind_of,
    types_with,
)
from crm_core.db import column_limits
from crm_core.db.types import utcnow
from crm_core.db.unit_of_work import UnitOfWork
from crm_core.email_addresses import normalize_field
from crm_core.entities import entity
from crm_core.errors import Conflict, ValidationFailed
from crm_core.html_sanitising import sanitise_html
from crm_core.message_ids import normalise_message_id
from crm_core.models import Activity, ActivityType, Email, ResourceBooking, ServiceActivity, Task
from crm_core.security.principal import Principal
from crm_core.security.privileges import Privilege
from crm_core.services import case_slas, listing, queues
from crm_core.services.activity_display import describe
from crm_core.services.activity_parties import parse_parties, replace_parties
from crm_core.services.activity_types import custom_type, validate_custom_fields
from crm_core.services.records import OwnerRef, RecordService

_REGARDING = ("regarding_type", "regarding_id")


def occurred_on(record: Activity, kind: ActivityKind) -> datetime:
    """When the activity happened, for the timeline: the type's own date (an email's sent_on, a
    meeting's or service activity's scheduled start, a campaign response's received_on) if set,
    else the close date of a completed activity, else its creation."""
    own = getattr(record, kind.occurred_column) if kind.occurred_column else None
    if own is not None:
        return own  # type: ignore[no-any-return]
    if record.statecode == COMPLETED and record.actual_end is not None:
        return record.actual_end
    return record.created_on


class ActivityService(RecordService[Activity]):
    entity_name = "activity"
    sortable: ClassVar[set[str]] = {"created_on", "modified_on", "occurred_on", "subject"}

    def __init__(self, uow: UnitOfWork, principal: Principal) -> None:
        super().__init__(uow, principal)
        self._definitions: dict[str, ActivityType] = {}  # custom type definitions met in this request

    # --- reads -------------------------------------------------------------------------------------
    def list(self, query: listing.ListQuery) -> listing.Page[Activity]:
        page = super().list(query)
        describe(self.session, self.principal, page.items)
        return page

    def get(self, record_id: uuid.UUID, privilege: Privilege = Privilege.READ) -> Activity:
        record = super().get(record_id, privilege)
        if privilege is Privilege.READ:
            describe(self.session, self.principal, [record])
        return record

    # --- writes ------------------------------------------------------------------------------------
    def create(self, values: dict[str, Any], owner: OwnerRef | None = None) -> Activity:
        self.principal.require(self.entity_name, Privilege.CREATE)
        values = dict(values)
        code = values.pop("activity_type", None)
        kind, _ = self._kind_for_code(code)
        record = kind.model(id=uuid.uuid4(), activity_type=code, custom_fields={}, created_on=utcnow())
        self._set_owner(record, owner or OwnerRef("user", self.principal.user_id), Privilege.CREATE)
        record.statecode, record.statuscode = kind.states.resolve(kind.initial_state, None)
        self.apply(record, values, creating=True)
        self.session.add(record)
        self.session.flush()
        self.uow.commit()
        describe(self.session, self.principal, [record])
        return record

    def update(self, record_id: uuid.UUID, values: dict[str, Any]) -> Activity:
        record = super().update(record_id, values)
        describe(self.session, self.principal, [record])
        return record

    def assign(self, record_id: uuid.UUID, owner: OwnerRef) -> Activity:
        record = super().assign(record_id, owner)
        describe(self.session, self.principal, [record])
        return record

    def apply(self, record: Activity, values: dict[str, Any], creating: bool) -> None:
        # No autoflush: lookups made while checking must not write a half-checked record.
        with self.session.no_autoflush:
            self._apply(record, values, creating)

    def _apply(self, record: Activity, values: dict[str, Any], creating: bool) -> None:
        kind, definition = self._kind_of(record)
        moved = {"scheduled_start", "scheduled_end", "parties"} & set(values)
        if isinstance(record, ServiceActivity) and record.service_id is not None and not creating and moved:
            raise ValidationFailed.field(sorted(moved)[0], "a booked service activity moves through POST "
                                         f"/api/v1/service-activities/{record.id}/reschedule, which checks that "
                                         "its resources are free")
        values = dict(values)
        column_limits.check_values(type(record), values)
        for name in values:
            if name in TYPE_FIELDS and name not in kind.field_names:
                raise ValidationFailed.field(
                    name, f"not a field of a {self._label(record, definition)} "
                    f"(it belongs to {', '.join(types_with(name))})")
        if "custom_fields" in values and definition is None:
            raise ValidationFailed.field("custom_fields", "only activities of a custom type have custom fields")
        # The list replaces the parties; null clears them like [].
        parties = (values.pop("parties") or []) if "parties" in values else None
        custom_given = "custom_fields" in values
        custom = values.pop("custom_fields", None)
        regarding = {k: values.pop(k) for k in _REGARDING if k in values}
        for f in kind.fields:
            if values.get(f.name) is not None:
                values[f.name] = self._check_field(record, f, values[f.name])
        if "activity_type" in values:
            raise ValidationFailed.field("activity_type", "the type of an activity cannot be changed")
        columns = record.__mapper__.columns
        for key, value in values.items():
            if value is None and key in columns and not columns[key].nullable and key != "subject":
                raise ValidationFailed.field(key, "cannot be null")
            setattr(record, key, value)
        self._set_regarding(record, regarding)
        if parties is not None:
            keys = parse_parties(self.session, self.principal, kind, self._label(record, definition), parties,
                                 record.parties)
            replace_parties(self.session, record, keys)
        if definition is not None:
            record.custom_fields = validate_custom_fields(
                definition, record.custom_fields or {}, custom if custom_given else None, creating)
        self.validate(record, values, creating)

    def validate(self, record: Activity, values: dict[str, Any], creating: bool) -> None:
        kind, definition = self._kind_of(record)
        record.subject = (record.subject or "").strip()
        if kind.subject_required and not record.subject:
            raise ValidationFailed.field("subject", f"a {self._label(record, definition)} needs a subject")
        for start, end in (("scheduled_start", "scheduled_end"), ("actual_start", "actual_end")):
            first, last = getattr(record, start), getattr(record, end)
            if first is not None and last is not None and last < first:
                raise ValidationFailed.field(end, f"cannot be before {start}")
        if record.actual_duration_minutes is not None and record.actual_duration_minutes < 0:
            raise ValidationFailed.field("actual_duration_minutes", "cannot be negative")
        if record.priority_code is None:
            record.priority_code = 1
        if record.priority_code not in (0, 1, 2):
            raise ValidationFailed.field("priority_code", "0 Low, 1 Normal or 2 High")
        if isinstance(record, Email):
            # As a sync stores them, so that a reply's In-Reply-To finds this email and dedupe sees it.
            if "message_id" in values:
                record.message_id = normalise_message_id(record.message_id)
            if "in_reply_to" in values:
                record.in_reply_to = normalise_message_id(record.in_reply_to)
            if values.get("message_id"):
                self._refuse_duplicate_message(record)
        record.occurred_on = occurred_on(record, kind)

    def ensure_editable(self, record: Activity) -> None:
        kind, definition = self._kind_of(record)
        if record.statecode in kind.states.closed:
            state = kind.states.state(record.statecode).name
            raise Conflict(f"this {self._label(record, definition)} is {state} and read-only; reopen it first")

    # --- lifecycle ---------------------------------------------------------------------------------
    def set_state(self, record_id: uuid.UUID, statecode: int, statuscode: int | None,
                  action: str = "set_state") -> Activity:
        record = self.get(record_id, Privilege.WRITE)
        kind, definition = self._kind_of(record)
        states = kind.states
        new_state, new_status = states.resolve(statecode, statuscode)
        if new_state == record.statecode and new_status == record.statuscode:
            label = states.label(new_state, new_status)[1]
            raise Conflict(f"this {self._label(record, definition)} is already {label}")
        if new_state != record.statecode:  # a new status within the same state is always allowed
            states.check_transition(record.statecode, new_state)
        self.uow.set_action(action)
        record.statecode, record.statuscode = new_state, new_status
        if new_state == COMPLETED:
            record.actual_end = record.actual_end or utcnow()
            if isinstance(record, Task):
                record.percent_complete = 100
        record.occurred_on = occurred_on(record, kind)
        if new_state in (COMPLETED, CANCELED):
            queues.remove_item(self.session, record)  # a closed activity waits in no queue
        if new_state == CANCELED and isinstance(record, ServiceActivity):
            # A canceled booking frees its resources; its resource parties stay, as the record of who it was.
            self.session.execute(delete(ResourceBooking).where(ResourceBooking.activity_id == record.id))
        # An email queued for sending (Pending Send 6, Sending 7) has not reached the customer yet: the
        # sender answers the case when it really goes out (mailbridge.outgoing).
        queued = isinstance(record, Email) and new_status in (6, 7)
        if new_state == COMPLETED and record.direction_outgoing and record.regarding_type == "case" and not queued:
            # A sent email or a call made to the customer is the case's first response (its SLA KPI).
            case_slas.on_answered(self.session, record.regarding_id, utcnow())  # type: ignore[arg-type]
        self.session.flush()
        self.uow.commit()
        describe(self.session, self.principal, [record])
        return record

    def complete(self, record_id: uuid.UUID, statuscode: int | None = None) -> Activity:
        """Closes the activity (phone call Made or Received, email Sent...); sets actual_end if empty."""
        return self.set_state(record_id, COMPLETED, statuscode, action="complete")

    def cancel(self, record_id: uuid.UUID, statuscode: int | None = None) -> Activity:
        return self.set_state(record_id, CANCELED, statuscode, action="cancel")

    def reopen(self, record_id: uuid.UUID, statuscode: int | None = None) -> Activity:
        """A completed or canceled activity goes back to where its type starts (Open; Scheduled for meetings)."""
        record = self.get(record_id, Privilege.WRITE)
        kind, definition = self._kind_of(record)
        if record.statecode not in kind.states.closed:
            raise Conflict(f"this {self._label(record, definition)} is not completed or canceled")
        if isinstance(record, ServiceActivity) and record.service_id is not None and record.statecode == CANCELED:
            raise Conflict("a canceled booking is booked again, which checks its resources are still free: "
                           f"POST /api/v1/service-activities/{record.id}/reschedule")
        return self.set_state(record_id, kind.initial_state, statuscode, action="reopen")

    # --- internals ---------------------------------------------------------------------------------
    def _kind_for_code(self, code: Any) -> tuple[ActivityKind, ActivityType | None]:
        if not isinstance(code, str) or not code:
            raise ValidationFailed.field("activity_type", "an activity needs a type")
        kind = builtin(code)
        if kind is not None:
            return kind, None
        definition = custom_type(self.session, code)
        if definition is None:
            custom = self.session.scalars(select(ActivityType.code).where(ActivityType.is_custom.is_(True)))
            known = ", ".join([*BUILTIN, *custom])
            raise ValidationFailed.field("activity_type", f"unknown activity type {code!r}; known: {known}")
        self._definitions[code] = definition
        return CUSTOM, definition

    def _kind_of(self, record: Activity) -> tuple[ActivityKind, ActivityType | None]:
        kind = kind_of(record)
        if not kind.is_custom:
            return kind, None
        if record.activity_type not in self._definitions:
            definition = custom_type(self.session, record.activity_type)
            if definition is None:  # deleting a type in use is refused, so this is a broken row
                raise Conflict(f"activity type {record.activity_type!r} is not defined any more")
            self._definitions[record.activity_type] = definition
        return kind, self._definitions[record.activity_type]

    @staticmethod
    def _label(record: Activity, definition: ActivityType | None) -> str:
        if definition is not None:
            return definition.display_name
        return BUILTIN[record.activity_type].display_name.lower()

    def _check_field(self, record: Activity, f: TypeField, value: Any) -> Any:
        """The rules of a type-specific value that its API type alone does not carry."""
        label = BUILTIN[record.activity_type].display_name.lower()
        if f.choices is not None and value not in f.choices:
            allowed = ", ".join(f"{k} {v}" for k, v in f.choices.items())
            raise ValidationFailed.field(f.name, f"for a {label}: one of {allowed}")
        if f.ge is not None and value < f.ge:
            raise ValidationFailed.field(f.name, f"at least {f.ge}")
        if f.le is not None and value > f.le:
            raise ValidationFailed.field(f.name, f"at most {f.le}")
        if f.max_length is not None and isinstance(value, str) and len(value) > f.max_length:
            raise ValidationFailed.field(f.name, f"at most {f.max_length} characters")
        if f.email:
            return normalize_field(f.name, value)
        if f.html and isinstance(value, str):
            # Whatever a page later does with it: no script, handler or javascript: URL is ever stored.
            return sanitise_html(value, allow_remote_images=True)
        return value

    def _set_regarding(self, record: Activity, given: dict[str, Any]) -> None:
        """Sets or clears the regarding record: an activity-enabled record that the caller can read and
        append to. Giving only regarding_id keeps the current regarding_type; null clears both."""
        if not given:
            return
        if all(v is None for v in given.values()):
            record.regarding_type = record.regarding_id = None
            return
        new_type = given.get("regarding_type", record.regarding_type)
        new_id = given.get("regarding_id", record.regarding_id)
        if new_type is None or new_id is None:
            missing = "regarding_type" if new_type is None else "regarding_id"
            raise ValidationFailed.field(missing, "give both regarding_type and regarding_id, or null to clear")
        if (new_type, new_id) == (record.regarding_type, record.regarding_id):
            return
        try:
            spec = entity(new_type)
        except ValidationFailed:
            raise ValidationFailed.field("regarding_type", f"unknown entity {new_type!r}") from None
        if not spec.activity_enabled:
            raise ValidationFailed.field("regarding_type", f"{new_type} cannot be the regarding record of an activity")
        self.check_link(new_type, new_id, "regarding_id")
        record.regarding_type, record.regarding_id = new_type, new_id

    def _refuse_duplicate_message(self, record: Email) -> None:
        # Dynamics tracks one email per Message-ID: a second copy (another mailbox, a re-sync) is refused.
        other = self.session.scalar(
            select(Email.id).where(Email.message_id == record.message_id, Email.id != record.id).limit(1)
        )
        if other is not None:
            raise Conflict(f"an email with Message-ID {record.message_id} is tracked already",
                           field="message_id")

