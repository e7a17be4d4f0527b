"""A record's timeline: the activities regarding it and those it takes part in, each once, newest first by
occurred_on, limited to the activities the caller may read."""

import uuid
from dataclasses import dataclass

from sqlalchemy import select, union

from crm_core.db.unit_of_work import UnitOfWork
from crm_core.entities import EntitySpec, by_collection, entity
from crm_core.errors import CrmError, NotFound
from crm_core.models import Activity, ActivityParty
from crm_core.security import access
from crm_core.security.principal import Principal
from crm_core.security.privileges import Privilege
from crm_core.services import listing
from crm_core.services.activity_display import describe


@dataclass(frozen=True)
class TimelineQuery:
    activity_type: str | None = None
    statecode: int | None = None
    cursor: str | None = None
    limit: int = 50


class TimelineService:
    def __init__(self, uow: UnitOfWork, principal: Principal) -> None:
        self.uow = uow
        self.principal = principal

    def timeline(self, collection: str, record_id: uuid.UUID, query: TimelineQuery) -> listing.Page[Activity]:
        spec = self._timeline_entity(collection)
        session = self.uow.session
        record = session.get(spec.model, record_id)
        if record is None or not access.reaches(session, self.principal, spec, Privilege.READ, record):
            raise NotFound(f"no {spec.name} with id {record_id}")
        as_party = select(ActivityParty.activity_id).where(
            ActivityParty.party_type == spec.name, ActivityParty.party_id == record_id
        )
        activities = Activity.__table__.c  # plain columns: selecting Activity.id would join every subtype table
        regarding = select(activities.id).where(
            activities.regarding_type == spec.name, activities.regarding_id == record_id
        )
        # The page's ids first, from two index lookups on activities alone, then its rows. Asked as
        # `regarding OR id IN (parties)` over the subtype joins, PostgreSQL walked every activity newest first
        # (seconds a page on 5M activities, bench/load.py); as one query with `IN (union)` it joined all
        # activities to their subtypes before the few ids (the subtype joins are more than join_collapse_limit).
        ids_stmt = select(activities.id).where(
            activities.id.in_(union(regarding, as_party)),
            access.scope(self.principal, entity("activity"), Privilege.READ),
        )
        filters = []
        if query.activity_type is not None:
            filters.append(listing.Filter("activity_type", listing.Op.EQ, query.activity_type))
        if query.statecode is not None:
            filters.append(listing.Filter("statecode", listing.Op.EQ, query.statecode))
        lq = listing.ListQuery(filters=filters, sort="-occurred_on", cursor=query.cursor, limit=query.limit)
        ids = list(session.scalars(listing.apply(ids_stmt, activities, lq, {"occurred_on"})))
        loaded = {a.id: a for a in session.scalars(select(Activity).where(Activity.id.in_(ids)))} if ids else {}
        rows = [loaded[i] for i in ids]
        page = listing.page(rows, lq)
        describe(session, self.principal, page.items)
        return page

    @staticmethod
    def _timeline_entity(collection: str) -> EntitySpec:
        try:
            spec: EntitySpec | None = by_collection(collection)
        except CrmError:
            spec = None
        if spec is None or not spec.activity_enabled:
            raise NotFound(f"/{collection} has no timeline")
        return spec
