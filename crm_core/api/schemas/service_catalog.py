"""Bodies of sites, resources, resource groups, services and knowledge articles."""

import uuid
from datetime import time
from decimal import Decimal
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from crm_core.api.schemas.common import OwnerIn, RecordOut, StatefulOut, Strict
from crm_core.api.schemas.service_levels import HoursIn, HoursOut
from crm_core.services.knowledge import keyword_list
from crm_core.services.weekly_hours import clock_text

# --- sites -----------------------------------------------------------------------------------------


class _SiteFields(Strict):
    line1: str | None = Field(default=None, max_length=250)
    line2: str | None = Field(default=None, max_length=250)
    city: str | None = Field(default=None, max_length=80)
    state_or_province: str | None = Field(default=None, max_length=50)
    postal_code: str | None = Field(default=None, max_length=20)
    country: str | None = Field(default=None, max_length=80)
    telephone: str | None = Field(default=None, max_length=50)
    email_address: str | None = Field(default=None, max_length=320)


class SiteCreate(_SiteFields):
    name: str = Field(min_length=1, max_length=160)
    time_zone: str = Field(max_length=64, description="An IANA time zone name, such as Europe/Paris.")


class SiteUpdate(_SiteFields):
    name: str | None = Field(default=None, min_length=1, max_length=160)
    time_zone: str | None = Field(default=None, max_length=64)


class SiteOut(RecordOut):
    name: str
    line1: str | None
    line2: str | None
    city: str | None
    state_or_province: str | None
    postal_code: str | None
    country: str | None
    telephone: str | None
    email_address: str | None
    time_zone: str


# --- resources -------------------------------------------------------------------------------------

_WORKING_HOURS = ("Weekly working intervals in the resource's time zone, replacing the list when given; several "
                  "a day leave breaks between them, and intervals of one day may touch but not overlap. Empty: "
                  "the default week, Monday to Friday 08:00-17:00 (Dynamics' default for a new resource).")


class _ResourceFields(Strict):
    site_id: uuid.UUID | None = None
    business_unit_id: uuid.UUID | None = Field(
        default=None, description="Defaults to yours; a user resource is always in the user's business unit.")
    capacity: int | None = Field(default=None, ge=1, le=100_000,
                                 description="Facilities only: how many bookings the room holds at once.")
    time_zone: str | None = Field(default=None, max_length=64, description="IANA name; empty: the site's.")
    description: str | None = None
    hourly_cost_rate: Decimal | None = Field(
        default=None, ge=0, max_digits=15, decimal_places=4,
        description="What an hour of its time costs, in the organisation's currency: the cost of service in "
        "/analytics/profitability. Empty: not costed.")
    calendar_id: uuid.UUID | None = Field(
        default=None, description="A synced calendar (CalDAV or Exchange) its bookings are published to; empty: a "
        "user resource's bookings go to its user's calendars.")
    working_hours: list[HoursIn] | None = Field(
        default=None, max_length=7 * 48, description=_WORKING_HOURS,
        examples=[[{"weekday": 0, "start": "09:00", "end": "12:00"}, {"weekday": 0, "start": "13:00", "end": "17:00"}]])


class ResourceCreate(_ResourceFields):
    kind: Literal["user", "equipment", "facility"]
    user_id: uuid.UUID | None = Field(default=None, description="Kind user only: the CRM user.")
    name: str | None = Field(default=None, min_length=1, max_length=200,
                             description="Required for equipment and facilities; a user's defaults to his name.")


class ResourceUpdate(_ResourceFields):
    name: str | None = Field(default=None, min_length=1, max_length=200)


class ResourceOut(RecordOut):
    kind: str
    name: str
    user_id: uuid.UUID | None
    site_id: uuid.UUID | None
    business_unit_id: uuid.UUID
    capacity: int | None
    time_zone: str | None
    description: str | None
    hourly_cost_rate: Decimal | None
    calendar_id: uuid.UUID | None
    working_hours: list[HoursOut] = Field(description="By weekday and start; empty: the default week, Monday to "
                                          "Friday 08:00-17:00.")

    @field_validator("working_hours", mode="before")
    @classmethod
    def _as_clock_times(cls, value: Any) -> Any:
        # The rows keep minutes after midnight; the API speaks HH:MM, as it is written.
        if not value or not hasattr(value[0], "start_minute"):
            return value
        rows = sorted(value, key=lambda h: (h.weekday, h.start_minute))
        return [{"weekday": h.weekday, "start": clock_text(h.start_minute), "end": clock_text(h.end_minute)}
                for h in rows]


class CalendarExceptionIn(Strict):
    kind: Literal["time_off", "working"] = Field(
        description="time_off: not available (a day off, a vacation); working: extra hours outside the week.")
    name: str | None = Field(default=None, max_length=160, examples=["Vacation"])
    starts_at: AwareDatetime = Field(examples=["2025-07-14T00:00:00+02:00"])
    ends_at: AwareDatetime = Field(description="After starts_at (excluded), at most 366 days later.",
                                   examples=["2025-07-15T00:00:00+02:00"])


class CalendarExceptionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    resource_id: uuid.UUID
    kind: str
    name: str | None
    starts_at: AwareDatetime = Field(description="UTC")
    ends_at: AwareDatetime = Field(description="UTC")


# --- resource groups -------------------------------------------------------------------------------


class _GroupFields(Strict):
    description: str | None = None
    business_unit_id: uuid.UUID | None = Field(default=None, description="Defaults to yours.")
    resource_ids: list[uuid.UUID] | None = Field(default=None, max_length=1000,
                                                 description="Replaces the member resources.")
    group_ids: list[uuid.UUID] | None = Field(default=None, max_length=1000,
                                              description="Replaces the member groups; no group contains itself.")


class ResourceGroupCreate(_GroupFields):
    name: str = Field(min_length=1, max_length=160)


class ResourceGroupUpdate(_GroupFields):
    name: str | None = Field(default=None, min_length=1, max_length=160)


class ResourceGroupOut(RecordOut):
    name: str
    description: str | None
    business_unit_id: uuid.UUID
    resource_ids: list[uuid.UUID]
    group_ids: list[uuid.UUID]


# --- services --------------------------------------------------------------------------------------

_RULE = ('A tree of nodes: {"group": id, "count": n, "same_site": bool}, {"resources": [ids], "count": n, '
         '"same_site": bool} or {"rules": [nodes], "count": n, "same_site": bool}; count -1 means all.')


class _ServiceFields(Strict):
    description: str | None = None
    granularity_minutes: int | None = Field(default=None, description="Start times every n minutes (divides 1440).")
    start_window_from: time | None = Field(default=None, description="Earliest start, HH:MM; the grid starts here.")
    start_window_to: time | None = Field(default=None, description="Latest start, HH:MM.")
    initial_status_code: int | None = Field(
        default=None, description="Status of new service activities: 1 Requested, 2 Tentative, 3 Pending, "
        "4 Reserved (default), 6 In Progress, 7 Arrived.")
    selection_rule: dict[str, Any] | None = Field(default=None, description=_RULE)
    is_schedulable: bool | None = None


class ServiceCreate(_ServiceFields):
    name: str = Field(min_length=1, max_length=160)
    duration_minutes: int = Field(ge=1, le=10080)


class ServiceUpdate(_ServiceFields):
    name: str | None = Field(default=None, min_length=1, max_length=160)
    duration_minutes: int | None = Field(default=None, ge=1, le=10080)


class ServiceOut(RecordOut):
    name: str
    description: str | None
    duration_minutes: int
    granularity_minutes: int
    start_window_from: str | None
    start_window_to: str | None
    initial_status_code: int
    selection_rule: dict[str, Any] | None
    is_schedulable: bool


# --- knowledge articles ----------------------------------------------------------------------------


class _ArticleFields(Strict):
    content: str | None = Field(default=None, description="Plain text or Markdown, stored as given (no HTML yet).")
    keywords: list[str] | None = Field(default=None, max_length=50)
    subject_id: uuid.UUID | None = None
    language_code: str | None = Field(default=None, max_length=35, description="A language tag: en, de-CH...")
    publish_on: AwareDatetime | None = Field(default=None, description="When publishing should happen.")
    expiration_date: AwareDatetime | None = None


class KnowledgeArticleCreate(_ArticleFields, OwnerIn):
    title: str = Field(min_length=1, max_length=500)


class KnowledgeArticleUpdate(_ArticleFields):
    title: str | None = Field(default=None, min_length=1, max_length=500)


class KnowledgeArticleOut(StatefulOut):
    title: str
    content: str | None
    keywords: list[str]
    subject_id: uuid.UUID | None
    language_code: str
    article_public_number: str
    major_version_number: int
    minor_version_number: int
    version: str
    root_article_id: uuid.UUID | None
    parent_article_content_id: uuid.UUID | None
    is_latest_version: bool
    publish_on: AwareDatetime | None
    expiration_date: AwareDatetime | None

    @field_validator("keywords", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        return keyword_list(value) if value is None or isinstance(value, str) else value


class PublishIn(Strict):
    publish_on: AwareDatetime | None = Field(
        default=None, description="Later than now: scheduled until then. Empty: the article's publish_on, or now.")


class NewVersionIn(Strict):
    major: bool = Field(default=False, description="true: 2.0 after 1.x; false: 1.1 after 1.0.")


class SearchHit(KnowledgeArticleOut):
    rank: float = Field(description="Higher is better; compare within one result list only.")


class SearchResult(BaseModel):
    items: list[SearchHit]


class EmailInsertOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    subject: str
    body: str


class LinkedCaseOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    title: str
    case_number: str
    statecode: int
