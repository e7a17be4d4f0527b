"""Tracking the meeting in view: what the endpoint hands over and gets back. The work itself reads the event from
the user's calendar and writes it as calendar sync would (calendar_sync), which this package may not import: the
composition root (workers.app) sets an `AppointmentTracker` on app.state.addin_appointments."""

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from addin_manifest.auth.principal import AddinCaller


@dataclass(frozen=True)
class MeetingItem:
    rest_id: str  # the event's REST (Graph) id; a series' master for a series
    series: bool


@dataclass(frozen=True)
class TrackedMeeting:
    activity_id: uuid.UUID
    activity_type: str  # appointment or recurring_appointment
    created: bool


class AppointmentTracker(Protocol):
    def __call__(self, caller: "AddinCaller", item: MeetingItem, mailbox: str | None,
                 regarding: tuple[str, uuid.UUID]) -> TrackedMeeting: ...
