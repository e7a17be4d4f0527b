"""A recurring appointment's instances, expanded on demand through the API: a weekly 09:00 Berlin meeting keeps
09:00 local across the spring change, COUNT ends it, a moved occurrence shows where it went, and only those who
can read the master see them."""

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from calendar_sync.appointments.from_ical import write_item
from crm_core.db.unit_of_work import UnitOfWork
from crm_core.models.calendars import Calendar
from tests.api import created, problem
from tests.calendar_sync.store_contract import START, event_item
from tests.org import OrgBuilder

R = "/api/v1/recurring-appointments"


def test_a_weekly_berlin_meeting_keeps_its_local_time_across_the_spring_change(client, org: OrgBuilder) -> None:
    rep = org.user("rep@example.org", ["Salesperson"])
    series = created(client, rep, "activities", {
        "activity_type": "recurring_appointment", "subject": "Pipeline review", "rrule": "FREQ=WEEKLY;COUNT=4",
        "time_zone": "Europe/Berlin", "scheduled_start": "2030-03-18T08:00:00Z",
        "scheduled_end": "2030-03-18T09:00:00Z"})
    r = client.get(f"{R}/{series['id']}/instances", params={"start": "2030-03-01T00:00:00Z",
                                                          "end": "2030-06-01T00:00:00Z"}, headers=rep.headers)
    assert r.status_code == 200, r.text
    starts = [datetime.fromisoformat(i["start"]).astimezone(UTC) for i in r.json()]
    # 09:00 in Berlin: 08:00 UTC before the change on 31 March, 07:00 UTC after it.
    assert starts == [datetime(2030, 3, 18, 8, tzinfo=UTC), datetime(2030, 3, 25, 8, tzinfo=UTC),
                      datetime(2030, 4, 1, 7, tzinfo=UTC), datetime(2030, 4, 8, 7, tzinfo=UTC)]
    other = org.user("other@example.org", ["Salesperson"], org.unit("Elsewhere"))
    assert client.get(f"{R}/{series['id']}/instances", params={"start": "2030-03-01T00:00:00Z",
                                                             "end": "2030-06-01T00:00:00Z"},
                      headers=other.headers).status_code == 404
    problem(client.get(f"{R}/{series['id']}/instances", params={"start": "2030-03-01T00:00:00Z",
                                                              "end": "2029-06-01T00:00:00Z"}, headers=rep.headers),
            422, "end")


def test_a_moved_occurrence_shows_where_it_went_with_its_own_record(client, org: OrgBuilder,
                                                                   session_factory: sessionmaker[Session]) -> None:
    from datetime import timedelta

    rep = org.user("rep@example.org", ["Salesperson"])
    second = START + timedelta(weeks=1)
    item = event_item(summary="Stand-up", rrule="FREQ=WEEKLY;COUNT=3", overrides={second: "Stand-up (moved)"})
    with UnitOfWork(session_factory) as uow:
        calendar = Calendar(name="feed", kind="ics", url="/tmp/x.ics", user_id=rep.id,
                            business_unit_id=rep.business_unit_id)
        uow.session.add(calendar)
        uow.session.flush()
        master = write_item(uow.session, calendar, item)
        uow.commit()
        master_id = master.id
    r = client.get(f"{R}/{master_id}/instances", params={"start": "2030-01-01T00:00:00Z",
                                                       "end": "2031-01-01T00:00:00Z"}, headers=rep.headers)
    assert r.status_code == 200, r.text
    got = [(datetime.fromisoformat(i["start"]).astimezone(UTC), i["subject"], i["is_exception"])
           for i in r.json()]
    assert got == [(START, "Stand-up", False), (second + timedelta(hours=1), "Stand-up (moved)", True),
                   (START + timedelta(weeks=2), "Stand-up", False)]
    moved = r.json()[1]
    with session_factory() as session:
        from crm_core.models import Appointment

        row = session.scalar(select(Appointment).where(Appointment.series_id == master_id))
        assert moved["activity_id"] == str(row.id)
