"""Activities: one base row per activity (Dynamics' activitypointer), a table per built-in type for its own
fields, parties resolved to records or kept as bare addresses, and a polymorphic "regarding" link."""

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, SmallInteger, String, Text, case
from sqlalchemy.orm import Mapped, column_property, declared_attr, mapped_column, relationship

from crm_core.db.base import Base, OwnedMixin, RecordMixin, StateMixin, owner_check
from crm_core.db.types import JsonDoc

BUILTIN_TYPES = (
    "phone_call", "email", "task", "appointment", "recurring_appointment", "letter", "fax",
    "campaign_response", "campaign_activity", "service_activity",
)


class ActivityType(RecordMixin, Base):
    """The catalogue of activity types: the built-in ones and those an admin adds (is_custom)."""

    __tablename__ = "activity_types"
    __audited__ = True

    code: Mapped[str] = mapped_column(String(50), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    is_custom: Mapped[bool] = mapped_column(Boolean, default=True)
    # For custom types: [{"name": "visit_outcome", "type": "string"|"integer"|"decimal"|"boolean"|"date",
    #                     "required": bool}], validated on every write of such an activity.
    fields: Mapped[list[dict[str, Any]]] = mapped_column(JsonDoc, default=list)


class Activity(RecordMixin, OwnedMixin, StateMixin, Base):
    __tablename__ = "activities"
    __audited__ = True

    activity_type: Mapped[str] = mapped_column(String(50), index=True)
    subject: Mapped[str] = mapped_column(String(400))
    description: Mapped[str | None] = mapped_column(Text)
    regarding_type: Mapped[str | None] = mapped_column(String(64))
    regarding_id: Mapped[uuid.UUID | None]
    scheduled_start: Mapped[datetime | None]
    scheduled_end: Mapped[datetime | None]
    actual_start: Mapped[datetime | None]
    actual_end: Mapped[datetime | None]
    actual_duration_minutes: Mapped[int | None]
    priority_code: Mapped[int] = mapped_column(SmallInteger, default=1)  # 0 Low, 1 Normal, 2 High
    direction_outgoing: Mapped[bool | None]  # phone calls, emails, letters, faxes
    # 0 Not Recurring, 1 Master, 2 Instance, 3 Exception, 4 Future Exception
    instance_type_code: Mapped[int] = mapped_column(SmallInteger, default=0)
    series_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"), index=True)
    # When it happened, for the timeline: sent/received, the scheduled start, the close, or the creation.
    occurred_on: Mapped[datetime]
    custom_fields: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)

    parties: Mapped[list["ActivityParty"]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", back_populates="activity",
        order_by="ActivityParty.participation",
    )

    # Custom types have no table of their own; every code that is not built in loads as "custom". A named
    # property rather than a bare expression, so that it is an attribute like any other (the audit reads them).
    polymorphic_kind: Mapped[str] = column_property(
        case(dict(zip(BUILTIN_TYPES, BUILTIN_TYPES, strict=True)), value=activity_type, else_="custom")
    )

    __mapper_args__ = {"polymorphic_on": polymorphic_kind, "with_polymorphic": "*"}

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        # Only the base table gets these; subtype tables inherit the attribute but not the columns.
        if cls.__dict__.get("__tablename__") != "activities":
            return ()
        return (
            Index("ix_activities_regarding", "regarding_type", "regarding_id", "occurred_on"),
            Index("ix_activities_occurred", "occurred_on", "id"),
            owner_check(),
        )


class ActivityParty(Base):
    """A participant: sender, to, cc, bcc, attendee, organizer, customer... resolved or a bare address."""

    __tablename__ = "activity_parties"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    activity_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"), index=True)
    participation: Mapped[int] = mapped_column(SmallInteger)  # Dynamics' participationtypemask
    party_type: Mapped[str | None] = mapped_column(String(64))
    party_id: Mapped[uuid.UUID | None]
    address_used: Mapped[str | None] = mapped_column(String(320), index=True)
    # Dynamics' ispartydeleted: the record this party named was deleted; the row stays, as history.
    is_party_deleted: Mapped[bool] = mapped_column(Boolean, default=False)

    activity: Mapped[Activity] = relationship(back_populates="parties")

    __table_args__ = (Index("ix_activity_parties_party", "party_type", "party_id"),)

    def audit_target(self) -> tuple[str, uuid.UUID, str] | None:
        activity_id = self.activity_id or (self.activity.id if self.activity is not None else None)
        # Keyed by the party row, so that several parties changed in one flush stay apart in the audit.
        return ("activity", activity_id, f"party.{self.id}") if activity_id else None


class PhoneCall(Activity):
    __tablename__ = "phone_calls"
    __mapper_args__ = {"polymorphic_identity": "phone_call"}
    id: Mapped[uuid.UUID] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"), primary_key=True)
    phone_number: Mapped[str | None] = mapped_column(String(200))


class Email(Activity):
    __tablename__ = "emails"
    __mapper_args__ = {"polymorphic_identity": "email"}
    id: Mapped[uuid.UUID] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"), primary_key=True)
    message_id: Mapped[str | None] = mapped_column(String(998), index=True)
    in_reply_to: Mapped[str | None] = mapped_column(String(998))
    conversation_index: Mapped[str | None] = mapped_column(String(400))
    tracking_token: Mapped[str | None] = mapped_column(String(50), index=True)
    body_text: Mapped[str | None] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    sent_on: Mapped[datetime | None]
    # Sending (crm_core.services.email_sending, mailbridge.outgoing): the mailbox it goes out through, how
    # many tries it took, and why the last one failed.
    sending_mailbox_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mailboxes.id", ondelete="SET NULL", use_alter=True))
    send_attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    send_error: Mapped[str | None] = mapped_column(Text)


class Task(Activity):
    __tablename__ = "tasks"
    __mapper_args__ = {"polymorphic_identity": "task"}
    id: Mapped[uuid.UUID] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"), primary_key=True)
    percent_complete: Mapped[int | None] = mapped_column(SmallInteger)
    category: Mapped[str | None] = mapped_column(String(250))


class Appointment(Activity):
    __tablename__ = "appointments"
    __mapper_args__ = {"polymorphic_identity": "appointment"}
    id: Mapped[uuid.UUID] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"), primary_key=True)
    location: Mapped[str | None] = mapped_column(String(200))
    is_all_day: Mapped[bool] = mapped_column(Boolean, default=False)
    global_object_id: Mapped[str | None] = mapped_column(String(300), index=True)  # the iCalendar UID
    # An exception of a series (instance_type_code 3, series_id the master): the original start of the
    # occurrence it replaces (iCalendar's RECURRENCE-ID), in UTC, or the wall time when the series floats.
    recurrence_id: Mapped[datetime | None]
    time_zone: Mapped[str | None] = mapped_column(String(64))  # IANA zone the times were given in
    is_floating: Mapped[bool] = mapped_column(Boolean, default=False)  # wall times: UTC columns hold them as is
    ical_sequence: Mapped[int] = mapped_column(Integer, default=0)  # iTIP: newer by SEQUENCE, then DTSTAMP
    ical_dtstamp: Mapped[datetime | None]
    # The last iCalendar object seen for it (from a calendar or meeting mail), so that writing it back keeps
    # what the CRM does not model (alarms, X- properties, conference links).
    ical_source: Mapped[str | None] = mapped_column(Text)


class RecurringAppointment(Activity):
    """The master of a series (instance_type_code 1); its pattern is an RFC 5545 RRULE."""

    __tablename__ = "recurring_appointments"
    __mapper_args__ = {"polymorphic_identity": "recurring_appointment"}
    id: Mapped[uuid.UUID] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"), primary_key=True)
    location: Mapped[str | None] = mapped_column(String(200))
    is_all_day: Mapped[bool] = mapped_column(Boolean, default=False)
    global_object_id: Mapped[str | None] = mapped_column(String(300), index=True)
    rrule: Mapped[str | None] = mapped_column(String(1000))
    time_zone: Mapped[str | None] = mapped_column(String(64))
    pattern_start: Mapped[date | None]
    pattern_end: Mapped[date | None]
    # Extra and removed occurrences (RDATE, EXDATE; Dynamics' deletedexceptionslist) as ISO 8601 starts.
    rdates: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    exdates: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    is_floating: Mapped[bool] = mapped_column(Boolean, default=False)
    ical_sequence: Mapped[int] = mapped_column(Integer, default=0)
    ical_dtstamp: Mapped[datetime | None]
    ical_source: Mapped[str | None] = mapped_column(Text)


class Letter(Activity):
    __tablename__ = "letters"
    __mapper_args__ = {"polymorphic_identity": "letter"}
    id: Mapped[uuid.UUID] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"), primary_key=True)
    address: Mapped[str | None] = mapped_column(String(1000))


class Fax(Activity):
    __tablename__ = "faxes"
    __mapper_args__ = {"polymorphic_identity": "fax"}
    id: Mapped[uuid.UUID] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"), primary_key=True)
    fax_number: Mapped[str | None] = mapped_column(String(200))
    number_of_pages: Mapped[int | None]


class CampaignResponse(Activity):
    __tablename__ = "campaign_responses"
    __mapper_args__ = {"polymorphic_identity": "campaign_response"}
    id: Mapped[uuid.UUID] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"), primary_key=True)
    response_code: Mapped[int | None] = mapped_column(SmallInteger)
    channel_type_code: Mapped[int | None] = mapped_column(SmallInteger)
    company_name: Mapped[str | None] = mapped_column(String(100))
    email_address: Mapped[str | None] = mapped_column(String(320))
    received_on: Mapped[datetime | None]


class CampaignActivity(Activity):
    __tablename__ = "campaign_activities"
    __mapper_args__ = {"polymorphic_identity": "campaign_activity"}
    id: Mapped[uuid.UUID] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"), primary_key=True)
    channel_type_code: Mapped[int | None] = mapped_column(SmallInteger)
    type_code: Mapped[int | None] = mapped_column(SmallInteger)
    budgeted_cost: Mapped[Decimal | None]
    actual_cost: Mapped[Decimal | None]


class ServiceActivity(Activity):
    __tablename__ = "service_activities"
    __mapper_args__ = {"polymorphic_identity": "service_activity"}
    id: Mapped[uuid.UUID] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"), primary_key=True)
    location: Mapped[str | None] = mapped_column(String(200))
    # What was booked and where (Dynamics' serviceid, siteid); the resources are its "resource" parties and
    # its time is held in resource_bookings while it is open or scheduled.
    service_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("services.id"), index=True)
    site_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("sites.id"))


class CustomActivity(Activity):
    """An activity of an admin-defined type: no table of its own, its fields in custom_fields."""

    __mapper_args__ = {"polymorphic_identity": "custom", "polymorphic_load": "inline"}
