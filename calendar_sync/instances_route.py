"""GET /api/v1/recurring-appointments/{id}/instances?start=...&end=...: a series' occurrences in a window,
exceptions included (moved, changed), removed ones left out unless asked for. Read on the master is needed."""

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from calendar_sync.instances import instances
from crm_core.api.deps import CallerDep
from crm_core.errors import NotFound, ValidationFailed
from crm_core.models import RecurringAppointment
from crm_core.services.activities import ActivityService

router = APIRouter(tags=["activities"])
MAX_WINDOW = timedelta(days=3 * 366)


class InstanceOut(BaseModel):
    recurrence_id: date | datetime
    start: date | datetime
    end: date | datetime
    is_exception: bool
    cancelled: bool
    subject: str
    activity_id: uuid.UUID | None


@router.get("/recurring-appointments/{record_id}/instances", response_model=list[InstanceOut],
            summary="The occurrences of a recurring appointment between start and end (at most three years)")
def recurring_instances(caller: CallerDep, record_id: uuid.UUID, start: Annotated[datetime, Query()],
                        end: Annotated[datetime, Query()],
                        include_cancelled: Annotated[bool, Query()] = False) -> Any:
    start, end = _aware(start), _aware(end)
    if end <= start or end - start > MAX_WINDOW:
        raise ValidationFailed.field("end", "after start, and at most three years after it")
    record = ActivityService(caller.uow, caller.principal).get(record_id)
    if not isinstance(record, RecurringAppointment):
        raise NotFound(f"no recurring appointment with id {record_id}")
    return [InstanceOut(**vars(i)) for i in instances(caller.uow.session, record, start, end, include_cancelled)]


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
