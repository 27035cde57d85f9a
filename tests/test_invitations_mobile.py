"""Mobile units in a plan: the MIP's visits on a small case whose best placement is known by
hand, written as visits of the regency office's mobile points, checked in like an office."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest

from rekam.antrean.models import Session
from rekam.antrean.services import checkin_invitation, invitation_resolver_set
from rekam.invitations.invites import checkin_token, invitation_ics, resolve_checkin
from rekam.invitations.letters import letters_for_village, render_letters
from rekam.invitations.models import Invitation, PlanRun
from rekam.invitations.planner import haversine_km
from rekam.invitations.services import plan_run_approve, plan_run_send
from rekam.regions.models import Region
from rekam.servicepoints.models import MobileVisit, ServicePoint
from rekam.servicepoints.services import mobile_visit_add, opening_hours_set
from rekam.voters.models import VoterClass

from .test_invitations_support import (
    KEDATON,
    SRENGSEM,
    add_point,
    add_voters,
    plan_now,
    planning_clock,
)
from .test_voters_support import make_election

DEC_7, DEC_8 = date(2020, 12, 7), date(2020, 12, 8)
ROAD = 1.3  # the settings' road factor


def _km(village: str, point: ServicePoint) -> float:
    v = Region.objects.get(code=village)
    assert v.lat is not None and v.lon is not None
    assert point.lat is not None and point.lon is not None
    return ROAD * haversine_km(v.lat, v.lon, point.lat, point.lon)


@pytest.fixture(autouse=True)
def _planning_morning(monkeypatch):
    """Plans are made on a morning before the scenario's sessions (of 2020)."""
    planning_clock(monkeypatch)


@pytest.fixture
def scene(personas):
    """Seats to spare at the office; ten voters in Kedaton (0.5 km away) and twelve in Srengsem
    (15.9 km away). One unit of ten people a day for the two days before polling day: a first
    day in Srengsem saves 10 x 20.7 km, a second one there 2 x 20.7 km, a day in Kedaton only
    10 x 0.7 km. So the best placement is both days in Srengsem."""
    election = make_election()
    point = add_point(personas.bdl_office)
    add_voters(election, KEDATON, VoterClass.NOT_RECORDED, 10)
    add_voters(election, SRENGSEM, VoterClass.NOT_RECORDED, 12, start=100)
    return election, point


def _visits(run: PlanRun) -> list[tuple[str, int, str]]:
    return [
        (v["day"], v["unit"], v["village"]) for v in run.summary["recording"]["mobile"]["visits"]
    ]


def test_the_preview_places_the_unit_where_it_saves_most(scene, personas) -> None:
    election, point = scene
    run = plan_now(
        election, personas.bdl_admin, DEC_7, dry_run=True, mobile_units=1, mobile_per_day=10
    )
    part = run.summary["recording"]
    mobile = part["mobile"]
    assert _visits(run) == [("2020-12-07", 1, SRENGSEM), ("2020-12-08", 1, SRENGSEM)]
    assert (mobile["unit_days"], mobile["unit_days_free"]) == (2, 2)
    assert mobile["solver"].startswith("SCIP") and mobile["status"] == "optimal"
    assert mobile["gap"] < 0.01
    assert part["plan"]["total_km"] == pytest.approx(
        10 * _km(KEDATON, point) + 12 * _km(SRENGSEM, point), abs=0.1
    )
    assert mobile["plan"]["served"] == part["plan"]["served"] == 22
    assert mobile["plan"]["total_km"] == pytest.approx(10 * _km(KEDATON, point), abs=0.1)
    assert MobileVisit.objects.count() == 0  # a preview writes nothing
    assert not ServicePoint.objects.filter(kind=ServicePoint.Kind.MOBILE).exists()


def test_sending_writes_the_visits_and_invites_to_them(scene, personas) -> None:
    election, point = scene
    run = plan_now(
        election, personas.bdl_admin, DEC_7, dry_run=True, mobile_units=1, mobile_per_day=10
    )
    plan_run_approve(run=run, acting_user=personas.bdl_supervisor)
    sent = plan_run_send(run=run)
    unit = ServicePoint.objects.get(kind=ServicePoint.Kind.MOBILE)
    assert (unit.code, unit.office) == ("18.71-KELILING-1", personas.bdl_office)
    visits = list(MobileVisit.objects.order_by("day"))
    assert [(v.service_point, v.day, v.village_id) for v in visits] == [
        (unit, DEC_7, SRENGSEM),
        (unit, DEC_8, SRENGSEM),
    ]
    for visit in visits:
        sessions = Session.objects.filter(visit=visit)
        assert sum(s.invitation_capacity for s in sessions) == 10
        assert all(s.capacity == s.invitation_capacity for s in sessions)
        assert Invitation.objects.filter(session__in=sessions).count() <= 10
    at_unit = Invitation.objects.filter(service_point=unit)
    assert at_unit.count() == 12 and set(at_unit.values_list("village_id", flat=True)) == {SRENGSEM}
    assert Invitation.objects.filter(service_point=point).count() == 10
    assert sent.summary["recording"]["mobile"]["plan"]["total_km"] == pytest.approx(
        10 * _km(KEDATON, point), abs=0.1
    )
    assert [v["unit_name"] for v in sent.summary["recording"]["mobile"]["visits"]] == [
        unit.name
    ] * 2


def test_a_unit_invitation_names_the_village_hall_and_checks_in_at_the_unit(
    scene, personas, monkeypatch
) -> None:
    election, _ = scene
    run = plan_now(election, personas.bdl_admin, DEC_7, mobile_units=1, mobile_per_day=10)
    assert run.status == PlanRun.Status.SENT
    invitation = (
        Invitation.objects.filter(service_point__kind=ServicePoint.Kind.MOBILE)
        .select_related("service_point", "session__visit")
        .order_by("starts_at")
        .first()
    )
    assert invitation is not None
    assert "LOCATION:Balai Desa Srengsem\\, Srengsem\\, Kecamatan Panjang" in invitation_ics(
        invitation
    )
    pdf = render_letters(letters_for_village(election.pk, SRENGSEM), office="Disdukcapil")
    assert pdf.startswith(b"%PDF")
    invitation_resolver_set(resolve_checkin)
    start = invitation.starts_at
    monkeypatch.setattr("rekam.antrean.clock.now", lambda: start)
    ticket = checkin_invitation(
        checkin_token(invitation),
        service_point=invitation.service_point,
        acting_user=personas.bdl_queue,
        at=start,
    )
    assert ticket.invitation_ref == invitation.reference
    assert ticket.session_id == invitation.session_id


def test_a_units_busy_day_is_left_to_its_other_work(scene, personas) -> None:
    election, _ = scene
    unit = ServicePoint.objects.create(
        office=personas.bdl_office,
        kind=ServicePoint.Kind.MOBILE,
        code="18.71-KELILING-7",
        name="Layanan Keliling 7",
    )
    mobile_visit_add(
        service_point=unit,
        day=DEC_7,
        opens_at=time(9, 0),
        closes_at=time(13, 0),
        place_kind=MobileVisit.Place.SCHOOL,
        place_name="SMA Negeri 1",
    )
    run = plan_now(election, personas.bdl_admin, DEC_7, mobile_units=1, mobile_per_day=10)
    assert _visits(run) == [("2020-12-08", 1, SRENGSEM)]
    assert run.summary["recording"]["mobile"]["unit_days_free"] == 1
    ours = MobileVisit.objects.get(day=DEC_8)
    assert ours.service_point == unit  # the office's own unit, no new one
    assert ServicePoint.objects.filter(kind=ServicePoint.Kind.MOBILE).count() == 1


def test_a_unit_works_only_on_its_own_weekdays(scene, personas) -> None:
    election, _ = scene
    unit = ServicePoint.objects.create(
        office=personas.bdl_office,
        kind=ServicePoint.Kind.MOBILE,
        code="18.71-KELILING-7",
        name="Layanan Keliling 7",
    )
    # Its crew works Tuesday to Saturday: 7 December 2020 is a Monday.
    opening_hours_set(service_point=unit, hours={d: (time(8, 0), time(16, 0)) for d in range(1, 6)})
    run = plan_now(election, personas.bdl_admin, DEC_7, mobile_units=1, mobile_per_day=10)
    assert _visits(run) == [("2020-12-08", 1, SRENGSEM)]
    assert run.summary["recording"]["mobile"]["unit_days_free"] == 1


def test_a_unit_serves_those_the_offices_cannot_before_polling_day(personas) -> None:
    """24 seats on 8 Dec and 15 on polling day for 50 voters: 39 served; one unit-day of 10
    in Srengsem (the far village) serves 10 more."""
    election = make_election()
    add_point(personas.bdl_office)
    add_voters(election, KEDATON, VoterClass.NOT_RECORDED, 30)
    add_voters(election, SRENGSEM, VoterClass.NOT_RECORDED, 20, start=100)
    run = plan_now(election, personas.bdl_admin, DEC_8, mobile_units=1, mobile_per_day=10)
    part = run.summary["recording"]
    assert part["plan"]["served"] == 39
    assert part["mobile"]["plan"]["served"] == 49
    assert _visits(run) == [("2020-12-08", 1, SRENGSEM)]
    assert part["written"] == 49
    assert Invitation.objects.filter(service_point__kind="mobile").count() == 10


def test_no_unit_days_when_the_first_day_is_polling_day(scene, personas) -> None:
    election, _ = scene
    run = plan_now(
        election, personas.bdl_admin, DEC_8 + timedelta(days=1), dry_run=True, mobile_units=2
    )
    mobile = run.summary["recording"]["mobile"]
    assert (mobile["unit_days"], mobile["visits"]) == (0, [])
    plan = run.summary["recording"]["plan"]
    assert (mobile["plan"]["served"], mobile["plan"]["total_km"]) == (
        plan["served"],
        plan["total_km"],
    )
