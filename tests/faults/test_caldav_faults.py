"""CalDAV through a faulty network, to the tests' Radicale: the connection is reset in the middle of the
sync-collection REPORT's answer. The pass fails with the reason recorded on the calendar, the rerun brings every
event to the CRM once, and the pass after it has nothing to do. (A pass killed inside our own code is
tests/calendar_sync/test_caldav_sync.py's.)"""

import uuid
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from calendar_sync.runner import sync_calendar
from calendar_sync.stores.caldav import CaldavStore
from calendar_sync.stores.registry import StoreOptions
from crm_core.db.unit_of_work import UnitOfWork
from crm_core.models import Appointment, Contact
from crm_core.models.calendars import Calendar, CalendarQuarantine, CalendarSyncItem
from crm_core.security.principal import Principal
from crm_core.services.calendars import CalendarService
from mailbridge.errors import TemporaryFailure
from tests.calendar_sync.dav_servers import DavServer
from tests.calendar_sync.store_contract import event_item
from tests.faults.proxy import reset
from tests.org import OrgBuilder


def _calendar(factory: sessionmaker[Session], org: OrgBuilder, url: str, server: DavServer) -> uuid.UUID:
    rep = org.user(f"rep-{uuid.uuid4().hex[:6]}@example.org", ["Salesperson"])
    with UnitOfWork(factory) as uow:
        # The events are with this contact: they concern the CRM and come over.
        uow.session.add(
            Contact(
                id=uuid.uuid4(),
                first_name="Alice",
                last_name="Archer",
                full_name="Alice Archer",
                email_address1="alice@example.com",
                owning_user_id=rep.id,
                owning_business_unit_id=rep.business_unit_id,
            )
        )
        uow.session.flush()
        calendar = CalendarService(uow, Principal.system()).create(
            {
                "name": "rep calendar",
                "kind": "caldav",
                "url": url,
                "user_id": rep.id,
                "username": server.username,
                "password": server.password,
            }
        )
        return calendar.id


def _count(factory: sessionmaker[Session], model: Any, *where: Any) -> int:
    with factory() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_a_reset_during_the_sync_report_loses_and_doubles_no_event(
    session_factory: sessionmaker[Session], org: OrgBuilder, radicale: DavServer, proxy_to: Any
) -> None:
    url = radicale.new_calendar()
    upstream = urlsplit(radicale.base_url)
    assert upstream.hostname is not None and upstream.port is not None
    proxy = proxy_to((upstream.hostname, upstream.port))
    dav = CaldavStore(url, radicale.username, radicale.password, verify=radicale.verify)
    meetings = [event_item(summary=f"Meeting {n}", attendees=("alice@example.com",)) for n in range(6)]
    for meeting in meetings:
        dav.upload(meeting)
    dav.close()
    calendar_id = _calendar(session_factory, org, url.replace(f":{upstream.port}/", f":{proxy.port}/"), radicale)
    options = StoreOptions(verify=radicale.verify)
    # Every connection is cut 200 bytes into the answer to its sync-collection REPORT, retries included.
    proxy.schedule(then=reset(200, armed_by=b"sync-collection"))

    with pytest.raises(TemporaryFailure) as cut:
        sync_calendar(session_factory, calendar_id, options=options)
    assert proxy.struck >= 1
    with session_factory() as session:
        calendar = session.get_one(Calendar, calendar_id)
        assert calendar.last_error_reason is not None and calendar.last_error_message
    assert "reset" in str(cut.value) or "closed" in str(cut.value) or "aborted" in str(cut.value), cut.value

    proxy.schedule()  # the network is well again
    summary = sync_calendar(session_factory, calendar_id, options=options)

    assert summary.to_crm == 6 and summary.report.complete
    with session_factory() as session:
        subjects = sorted(session.scalars(select(Appointment.subject).where(Appointment.statecode != 2)))
        calendar = session.get_one(Calendar, calendar_id)
        assert calendar.last_error_reason is None
    assert subjects == [f"Meeting {n}" for n in range(6)]
    assert _count(session_factory, CalendarSyncItem, CalendarSyncItem.calendar_id == calendar_id) == 6
    assert _count(session_factory, CalendarQuarantine, CalendarQuarantine.calendar_id == calendar_id) == 0
    assert sync_calendar(session_factory, calendar_id, options=options).report.done == {}
