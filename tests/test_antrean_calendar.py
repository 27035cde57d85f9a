"""When a service point is open, and how many seats each session has."""

from __future__ import annotations

from datetime import date, time

import pytest

from rekam.antrean.calendar import day_plan, holiday_name, open_days
from rekam.antrean.models import Session, State, Ticket
from rekam.antrean.services import (
    QueueRefused,
    session_capacity,
    sessions_ensure,
    sessions_ensure_many,
    sessions_refresh,
    ticket_book_online,
)
from rekam.elections.models import Election
from rekam.notifications.models import Message
from rekam.regions.models import Region
from rekam.servicepoints.models import HolidayOpening, MobileVisit, ServicePoint
from rekam.servicepoints.services import calendar_day_set, mobile_visit_add

from .factories import make_resident
from .test_antrean_support import WORKDAY, at, make_point

pytestmark = pytest.mark.django_db

POLLING_DAY = date(2020, 12, 9)


def _pilkada(regency: str = "18.71") -> Election:
    election = Election.objects.create(
        name="Pilkada 2020",
        slug="pilkada-2020",
        polling_day=POLLING_DAY,
        suket_issue_until=POLLING_DAY,
        suket_valid_until=date(2020, 12, 31),
    )
    election.regions.add(Region.objects.get(code=regency))
    return election


def test_it_knows_polling_day_and_collective_leave_as_holidays():
    assert holiday_name(POLLING_DAY) == "Hari Pemilihan Kepala Daerah"
    assert holiday_name(date(2020, 12, 24)).startswith("Cuti Bersama")
    assert holiday_name(WORKDAY) == ""


def test_it_closes_on_a_holiday_by_default(personas):
    point = make_point(personas.bdl_office)
    plan = day_plan(point, date(2020, 12, 25))
    assert not plan.is_open
    assert "Natal" in plan.reason


def test_it_opens_on_polling_day_in_the_run_up_of_an_election_in_its_region(personas):
    _pilkada("18.71")
    point = make_point(personas.bdl_office, holiday_opening=HolidayOpening.RUN_UP)
    plan = day_plan(point, POLLING_DAY)
    assert plan.is_open and plan.opens == time(8, 0) and plan.closes == time(16, 0)
    # After polling day the run-up is over: Christmas is closed again.
    assert not day_plan(point, date(2020, 12, 25)).is_open


def test_it_keeps_holidays_closed_where_no_election_is_held(personas):
    _pilkada("18.01")
    point = make_point(personas.bdl_office, holiday_opening=HolidayOpening.RUN_UP)
    assert not day_plan(point, POLLING_DAY).is_open


def test_a_calendar_day_opens_a_holiday_and_closes_a_workday(personas):
    point = make_point(personas.bdl_office)
    calendar_day_set(
        service_point=point,
        day=POLLING_DAY,
        is_open=True,
        opens_at=time(7, 0),
        closes_at=time(13, 0),
        reason="Perekaman pada hari pemungutan suara",
    )
    calendar_day_set(service_point=point, day=WORKDAY, is_open=False, reason="Listrik padam")
    opened = day_plan(point, POLLING_DAY)
    assert (opened.opens, opened.closes) == (time(7, 0), time(13, 0))
    closed = day_plan(point, WORKDAY)
    assert not closed.is_open and closed.reason == "Listrik padam"


def test_a_weekday_without_hours_is_closed(personas):
    point = make_point(personas.bdl_office)
    point.hours.filter(weekday=6).delete()
    assert not day_plan(point, date(2020, 12, 6)).is_open  # a Sunday
    assert len(open_days(point, date(2020, 11, 30), 7)) == 6


def test_a_mobile_unit_opens_only_on_its_visits(personas):
    unit = make_point(personas.bdl_office, code="18.71-KELILING-1", kind=ServicePoint.Kind.MOBILE)
    assert not day_plan(unit, WORKDAY).is_open
    mobile_visit_add(
        service_point=unit,
        day=WORKDAY,
        opens_at=time(9, 0),
        closes_at=time(12, 0),
        place_kind=MobileVisit.Place.SCHOOL,
        place_name="SMA Negeri 2 Bandar Lampung",
    )
    plan = day_plan(unit, WORKDAY)
    assert plan.is_open and (plan.opens, plan.closes) == (time(9, 0), time(12, 0))
    sessions = sessions_ensure(service_point=unit, day=WORKDAY)
    assert [s.visit.place_name if s.visit else "" for s in sessions] == [
        "SMA Negeri 2 Bandar Lampung"
    ] * 3


def test_capacity_is_counters_times_service_rate_under_the_protocol_and_the_room(personas):
    office = make_point(personas.bdl_office, counters=5)
    assert session_capacity(office, 60) == (20, 0)  # 5 x 6 = 30, the room holds 20
    small = make_point(personas.bdl_office, code="K", counters=2, protocol_percent=50)
    assert session_capacity(small, 60) == (6, 0)  # 2 x 6 at half intake
    shared = make_point(personas.bdl_office, code="U", counters=3, invitation_percent=50)
    assert session_capacity(shared, 60) == (18, 9)


def test_the_day_is_cut_into_hourly_sessions(personas):
    point = make_point(personas.bdl_office, counters=5, invitation_percent=50)
    sessions = sessions_ensure(service_point=point, day=WORKDAY)
    assert len(sessions) == 8
    assert [s.capacity for s in sessions] == [20] * 8
    assert [s.invitation_capacity for s in sessions] == [10] * 8
    # Asked again, the same rows come back.
    assert [s.pk for s in sessions_ensure(service_point=point, day=WORKDAY)] == [
        s.pk for s in sessions
    ]


def test_new_settings_remake_only_days_without_numbers(personas):
    point = make_point(personas.bdl_office, counters=5)
    sessions_ensure(service_point=point, day=WORKDAY)
    point.waiting_room_limit = 12
    point.save()
    assert sessions_refresh(service_point=point, from_day=WORKDAY) == 1
    assert {s.capacity for s in sessions_ensure(service_point=point, day=WORKDAY)} == {12}


def test_a_day_closed_after_numbers_were_taken_keeps_them_but_takes_nobody_new(personas):
    point = make_point(personas.bdl_office, counters=5)
    first, second = sessions_ensure(service_point=point, day=WORKDAY)[:2]
    ticket_book_online(
        session_id=first.pk,
        service="recording",
        resident_id=make_resident(phone="+6281234567890", whatsapp_consent=True).pk,
        at=at(WORKDAY, 7),
    )
    calendar_day_set(
        service_point=point,
        day=WORKDAY,
        is_open=False,
        reason="Banjir",
        acting_user=personas.bdl_admin,
    )
    assert sessions_refresh(service_point=point, from_day=WORKDAY) == 0
    assert set(Session.objects.filter(service_point=point).values_list("closed", flat=True)) == {
        True
    }
    # The number booked for it is given back and its holder told.
    booked = Ticket.objects.get()
    assert booked.state == State.CANCELLED
    assert Session.objects.get(pk=first.pk).public_taken == 0
    told = Message.objects.get(template="queue_day_closed")
    assert told.resident_id == booked.resident_id and told.data["ticket"] == booked.label
    assert "Banjir" in told.data["reason"]
    with pytest.raises(QueueRefused, match="tutup pada 02-12-2020"):
        ticket_book_online(
            session_id=second.pk,
            service="recording",
            resident_id=make_resident().pk,
            at=at(WORKDAY, 7),
        )
    # Opened again: the same sessions take people again.
    calendar_day_set(
        service_point=point, day=WORKDAY, is_open=True, reason="", acting_user=personas.bdl_admin
    )
    sessions_refresh(service_point=point, from_day=WORKDAY)
    assert not Session.objects.filter(service_point=point, closed=True).exists()
    ticket_book_online(
        session_id=second.pk, service="recording", resident_id=make_resident().pk, at=at(WORKDAY, 7)
    )


def test_sessions_of_many_points_and_days_are_made_at_once(personas):
    office = make_point(personas.bdl_office, counters=5)
    kecamatan = make_point(personas.bdl_office, code="18.71.01-KEC", counters=2)
    kecamatan.hours.filter(weekday=6).delete()  # closed on Sundays
    one_by_one = sessions_ensure(service_point=office, day=WORKDAY)
    made = sessions_ensure_many(service_points=[office, kecamatan], start=WORKDAY, days=7)
    assert [s.pk for s in made[(office.pk, WORKDAY)]] == [s.pk for s in one_by_one]
    assert len(made) == 13  # 7 days at the office, 6 at the kecamatan (Sunday closed)
    assert (kecamatan.pk, date(2020, 12, 6)) not in made
    assert {s.capacity for s in made[(kecamatan.pk, WORKDAY)]} == {12}
    again = sessions_ensure_many(service_points=[office, kecamatan], start=WORKDAY, days=7)
    assert {k: [s.pk for s in v] for k, v in again.items()} == {
        k: [s.pk for s in v] for k, v in made.items()
    }
