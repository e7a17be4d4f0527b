"""An RFM segment made into a static marketing list: its customers of one type, as the caller sees them now."""

import uuid
from datetime import datetime

from crm_core.analytics.rfm import SEGMENT_LABELS, rfm
from crm_core.db.unit_of_work import SharedWork, UnitOfWork
from crm_core.errors import NotFound, ValidationFailed
from crm_core.models import MarketingList
from crm_core.security.principal import Principal
from crm_core.services.marketing_lists import MAX_IDS_PER_CALL, MarketingListService


def segment_to_list(
    uow: UnitOfWork,
    principal: Principal,
    segment: str,
    member_type: str,
    window_days: int,
    now: datetime,
    name: str | None = None,
) -> tuple[MarketingList, int]:
    """Creates a static list of the segment's customers of `member_type` (account or contact), owned by the
    caller, in one transaction. Returns the list and its member count; 422 if the segment has none."""
    if segment not in SEGMENT_LABELS:
        raise NotFound(f"no RFM segment {segment!r}; the segments are {', '.join(SEGMENT_LABELS)}")
    rows = rfm(uow.session, principal, window_days, now)
    ids: list[uuid.UUID] = [r.customer_id for r in rows if r.segment == segment and r.customer_type == member_type]
    if not ids:
        raise ValidationFailed.field(
            "member_type", f"the segment {segment!r} has no {member_type} in the last {window_days} days"
        )
    shared = SharedWork(uow)  # the list and its members commit together, or not at all
    lists = MarketingListService(shared, principal)
    label = f"RFM {SEGMENT_LABELS[segment]} ({member_type}s, {now.date().isoformat()}, {window_days} days)"
    created = lists.create(
        {
            "name": (name or label)[:128],
            "member_type": member_type,
            "is_dynamic": False,
            "source": "RFM segment",
            "purpose": f"Customers in the RFM segment {SEGMENT_LABELS[segment]}",
        }
    )
    for start in range(0, len(ids), MAX_IDS_PER_CALL):
        lists.add_members(created.id, ids[start : start + MAX_IDS_PER_CALL])
    uow.commit()
    return created, len(ids)
