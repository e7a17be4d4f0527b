"""The demo's service calendar: a service centre, its technician (the demo's service user) and two workshop
bays, a service that needs the technician and a bay, and one booking for a customer at the first free time of
the coming week, found and booked through the engine as a scheduler would."""

from datetime import datetime, timedelta

from calendar_sync.scheduling.availability import Request, find
from calendar_sync.scheduling.booking import BookingService, Slot
from calendar_sync.scheduling.intervals import instant
from crm_core.db.unit_of_work import UnitOfWork
from crm_core.models import Contact, Service, User
from crm_core.security.principal import Principal
from crm_core.services.scheduling_records import ResourceGroupService, ResourceService, ServiceService, SiteService

ZONE = "America/Los_Angeles"
SPLIT_DAY = [{"weekday": d, "start": s, "end": e}  # a lunch break
             for d in range(5) for s, e in (("08:00", "12:00"), ("13:00", "17:00"))]


def make_schedule(uow: UnitOfWork, admin: Principal, scheduler: Principal, technician: User, customer: Contact,
                  now: datetime) -> int:
    """Builds the service calendar and books one service activity; the number of bookings made."""
    site = SiteService(uow, admin).create({"name": "Redmond service centre", "time_zone": ZONE, "city": "Redmond"})
    tech = ResourceService(uow, admin).create({"kind": "user", "user_id": technician.id, "site_id": site.id,
                                               "working_hours": SPLIT_DAY})
    bays = [ResourceService(uow, admin).create({"kind": "facility", "name": f"Workshop bay {i}", "site_id": site.id,
                                                "capacity": 1}) for i in (1, 2)]
    group = ResourceGroupService(uow, admin).create({
        "name": "Workshop bays", "business_unit_id": bays[0].business_unit_id, "resource_ids": [b.id for b in bays]})
    service = ServiceService(uow, admin).create({
        "name": "Device diagnostic", "duration_minutes": 90, "granularity_minutes": 30,
        "start_window_from": "08:00", "start_window_to": "15:30",
        "selection_rule": {"rules": [{"resources": [str(tech.id)], "count": 1},
                                     {"group": str(group.id), "count": 1}], "count": -1, "same_site": True}})
    start = now + timedelta(days=7 - now.weekday())  # next Monday
    stored = uow.session.get(Service, service.id)
    assert stored is not None
    found = find(uow.session, stored, Request(start, start + timedelta(days=5), time_zone=ZONE, limit=1))
    if not found.proposals:
        return 0
    proposal = found.proposals[0]
    BookingService(uow, scheduler).book(service.id, Slot(instant(proposal.start), instant(proposal.end),
                                                         proposal.resource_ids), {
        "subject": f"Device diagnostic for {customer.first_name} {customer.last_name}",
        "parties": [{"role": "customer", "party_type": "contact", "party_id": customer.id}]})
    return 1


