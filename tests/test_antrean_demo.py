"""The demo's morning of queue activity."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db.models import Max

from rekam.antrean.demo import antrean_demo_seed, demo_day
from rekam.antrean.models import State, Ticket, TicketEvent
from rekam.antrean.queries import board_data
from rekam.residents.states import KtpState
from rekam.servicepoints.models import MobileVisit, ServicePoint

from .factories import make_resident
from .test_antrean_support import WORKDAY, at, make_point

pytestmark = pytest.mark.django_db


def test_the_demo_morning_leaves_people_served_waiting_and_at_counters(personas):
    point = make_point(personas.bdl_office, counters=3, invitation_percent=30)
    unit = make_point(personas.bdl_office, code="18.71-KELILING-1", kind=ServicePoint.Kind.MOBILE)
    for i in range(12):
        make_resident(name=f"Warga {i}", ktp_state=KtpState.BELUM_REKAM)
    summary = antrean_demo_seed(today=WORKDAY, seed=2020)
    assert summary.points == 1
    assert summary.tickets == Ticket.objects.filter(service_point=point).count() > 40
    assert summary.served > 20
    channels = set(Ticket.objects.values_list("channel", flat=True))
    assert channels == {"online", "gate", "invitation"}
    assert Ticket.objects.filter(state=State.CALLED).exists()
    assert TicketEvent.objects.filter(kind="closed").count() == summary.served
    board = board_data(point, at(WORKDAY, 11))
    assert any(c["label"] for c in board["counters"]) and board["calls"]
    assert MobileVisit.objects.filter(service_point=unit).count() == summary.visits == 7


def test_the_demo_morning_is_made_once(personas):
    make_point(personas.bdl_office, counters=2)
    first = antrean_demo_seed(today=WORKDAY, seed=1)
    again = antrean_demo_seed(today=WORKDAY, seed=1)
    assert again.tickets == first.tickets and again.visits == 0


def test_the_demo_shows_nothing_after_the_moment_it_is_built(personas):
    point = make_point(personas.bdl_office, counters=3, invitation_percent=30)
    child = make_resident(name="Anak", birth_date=date(2014, 5, 1))
    for i in range(12):
        make_resident(name=f"Warga {i}", ktp_state=KtpState.BELUM_REKAM)
    now = at(WORKDAY, 9, 30)
    summary = antrean_demo_seed(today=WORKDAY, seed=2020, now=now)
    assert summary.day == WORKDAY and summary.served > 0
    last = TicketEvent.objects.filter(service_point=point).aggregate(last=Max("at"))["last"]
    assert last <= now
    assert not Ticket.objects.filter(resident=child).exists()


def test_before_the_offices_open_the_demo_shows_the_day_befores_morning():
    assert demo_day(at(WORKDAY, 3, 10)) == (
        WORKDAY - timedelta(days=1),
        at(WORKDAY - timedelta(days=1), 11),
    )
    assert demo_day(at(WORKDAY, 9, 30)) == (WORKDAY, at(WORKDAY, 9, 30))
    assert demo_day(at(WORKDAY, 15)) == (WORKDAY, at(WORKDAY, 15))
