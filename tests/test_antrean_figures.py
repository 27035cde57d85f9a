"""Figures of a day at a point: issued, served, no-shows, waits, service times, most inside."""

from __future__ import annotations

import pytest

from rekam.antrean.figures import day_figures, p90
from rekam.antrean.services import (
    ticket_book_online,
    ticket_call_next,
    ticket_close,
    ticket_issue_walkin,
    ticket_no_show,
)

from .factories import make_resident
from .test_antrean_support import WORKDAY, at, make_point, session_at

pytestmark = pytest.mark.django_db


def test_p90_is_the_nearest_rank():
    assert p90([float(n) for n in range(1, 11)]) == 9.0
    assert p90([5.0]) == 5.0
    assert p90([]) is None


def test_a_morning_adds_up(personas):
    point = make_point(personas.bdl_office, counters=1)
    gate, desk = personas.bdl_queue, personas.bdl_operator

    def walk_in(mm):
        return ticket_issue_walkin(
            service_point=point, service="recording", acting_user=gate, at=at(WORKDAY, 9, mm)
        )

    walk_in(0)
    walk_in(5)
    walk_in(10)
    # Booked online for 09:00, never came.
    ticket_book_online(
        resident_id=make_resident().pk,
        session_id=session_at(point, at(WORKDAY, 9)).pk,
        service="recording",
        at=at(WORKDAY, 7),
    )
    first = ticket_call_next(
        service_point=point, counter=1, acting_user=desk, at=at(WORKDAY, 9, 10)
    )
    assert first is not None
    ticket_close(ticket=first, outcome="other", acting_user=desk, at=at(WORKDAY, 9, 20))
    second = ticket_call_next(
        service_point=point, counter=1, acting_user=desk, at=at(WORKDAY, 9, 25)
    )
    assert second is not None
    ticket_close(ticket=second, outcome="other", acting_user=desk, at=at(WORKDAY, 9, 55))
    third = ticket_call_next(
        service_point=point, counter=1, acting_user=desk, at=at(WORKDAY, 9, 56)
    )
    assert third is not None
    ticket_no_show(ticket=third, acting_user=desk, at=at(WORKDAY, 9, 58))

    figures = day_figures(point, WORKDAY, now=at(WORKDAY, 12))
    nine = figures.sessions[1]
    assert nine.label == "09.00-10.00"
    assert (nine.issued, nine.served, nine.no_shows, nine.cancelled) == (4, 2, 2, 0)
    # Waits 10, 20 and 46 minutes; services 10 and 30.
    assert nine.wait_avg == pytest.approx(76 / 3)
    assert nine.wait_p90 == 46
    assert nine.service_avg == 20 and nine.service_p90 == 30
    assert nine.most_inside == 3
    assert figures.total.issued == 4 and figures.total.most_inside == 3
    assert figures.sessions[0].issued == 0
