"""The seats of a day's sessions on the figures page: shares, invitations booked, online numbers,
walk-ins and what is left, for a day ahead too."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from rekam.antrean.figures import day_figures
from rekam.antrean.models import Session, Ticket
from rekam.antrean.services import QueueRefused, ticket_book_online, ticket_issue_walkin
from rekam.invitations.models import Invitation
from rekam.voters.models import VoterClass

from .conftest import PASSWORD
from .factories import make_resident
from .test_antrean_support import at
from .test_invitations_support import (
    KEDATON,
    PLANNING_MORNING,
    add_point,
    add_voters,
    new_election,
    plan_now,
    planning_clock,
)

pytestmark = pytest.mark.django_db

# Two days after the planning morning: invitations are planned into it, nobody has come yet.
AHEAD = date(2020, 12, 8)


@pytest.fixture(autouse=True)
def _planning_morning(monkeypatch):
    planning_clock(monkeypatch)


@pytest.fixture
def point(personas):
    """Hourly sessions of 6 seats, 3 kept for invitations."""
    return add_point(personas.bdl_office)


@pytest.fixture
def invited(personas, point) -> Counter[str]:
    """Five invitations into the sessions of ``AHEAD``; their count per session label."""
    election = new_election()
    add_voters(election, KEDATON, VoterClass.NOT_RECORDED, 5)
    plan_now(election, personas.bdl_admin, AHEAD)
    return Counter(_label(i.session) for i in Invitation.objects.select_related("session"))


def _label(session: Session) -> str:
    starts, ends = timezone.localtime(session.starts_at), timezone.localtime(session.ends_at)
    return f"{starts:%H.%M}-{ends:%H.%M}"


def _book_online(session: Session, n: int) -> None:
    for _ in range(n):
        ticket_book_online(
            session_id=session.pk,
            service="recording",
            resident_id=make_resident().pk,
            at=PLANNING_MORNING,
        )


def _cells(html: str, label: str) -> list[str]:
    row = re.search(rf'<tr data-session="{re.escape(label)}">(.*?)</tr>', html, re.S)
    assert row, f"no row for {label}"
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row[1])]


def test_a_day_ahead_shows_the_invitations_booked_into_each_session(
    client, personas, point, invited
) -> None:
    assert sum(invited.values()) == 5 and invited
    first = Session.objects.filter(service_point=point, day=AHEAD).order_by("starts_at")[0]
    _book_online(first, 1)
    client.login(username="bdl_supervisor", password=PASSWORD)
    response = client.get(reverse("antrean_figures", args=[point.code]) + f"?tanggal={AHEAD}")
    html = response.content.decode()
    assert response.status_code == 200 and 'data-testid="seats"' in html
    for label, n in invited.items():
        assert _cells(html, label)[:4] == ["6", "3", "3", str(n)]
        assert _cells(html, label)[5] == "0"  # no walk-in on a day ahead
    assert _cells(html, _label(first))[4] == "1"
    total = re.search(r"<tfoot>(.*?)</tfoot>", html, re.S)
    assert total and re.findall(r'<td class="num">(\d+)</td>', total[1])[3:5] == ["5", "1"]
    # Nothing has been served on a day still ahead: only the seats are shown.
    assert 'data-testid="figures"' not in html


def test_capacity_is_never_shown_exceeded(personas, point, invited) -> None:
    sessions = list(Session.objects.filter(service_point=point, day=AHEAD).order_by("starts_at"))
    full = next(s for s in sessions if invited[_label(s)] == 3)
    _book_online(full, 3)
    with pytest.raises(QueueRefused):
        _book_online(full, 1)  # the page's 0 left is what the queue says too
    empty = next(s for s in sessions if not invited[_label(s)])
    _book_online(empty, 3)
    figures = day_figures(point, AHEAD)
    rows = {r.label: r for r in figures.seats}
    assert (rows[_label(full)].left_invitations, rows[_label(full)].left_public) == (0, 0)
    assert (rows[_label(empty)].left_invitations, rows[_label(empty)].left_public) == (3, 0)
    for row in [*figures.seats, figures.seats_total]:
        used = row.invited + row.online + row.walk_in
        assert min(row.left_invitations, row.left_public) >= 0
        assert used + row.left == row.capacity
        assert row.invitation_share + row.public_share == row.capacity


def test_a_closed_session_has_nothing_left(personas, point, invited) -> None:
    Session.objects.filter(service_point=point, day=AHEAD).update(closed=True)
    figures = day_figures(point, AHEAD)
    assert figures.seats and all(r.left == 0 and r.closed for r in figures.seats)
    assert figures.seats_total.invited == 5


def test_a_day_nobody_has_booked_is_shown_from_the_calendar_without_making_it(
    personas, point
) -> None:
    later = date(2020, 12, 10)
    figures = day_figures(point, later)
    assert not figures.made and not Session.objects.filter(day=later).exists()
    # 08:00-16:00, hourly: eight sessions of 6 seats, 3 for invitations.
    assert [r.label for r in figures.seats][:2] == ["08.00-09.00", "09.00-10.00"]
    assert len(figures.seats) == 8
    assert figures.seats_total.capacity == 48 and figures.seats_total.left_invitations == 24


def test_the_seats_take_a_few_queries_whatever_the_number_of_sessions(
    personas, point, invited, django_assert_max_num_queries
) -> None:
    assert Session.objects.filter(service_point=point, day=AHEAD).count() == 8
    # Sessions, numbers, their calls, invitations per session.
    with django_assert_max_num_queries(4):
        day_figures(point, AHEAD, now=at(AHEAD, 7))


def test_another_regency_cannot_see_the_seats(client, personas, point) -> None:
    client.login(username="lamsel_operator", password=PASSWORD)
    url = reverse("antrean_figures", args=[point.code]) + f"?tanggal={AHEAD}"
    assert client.get(url).status_code == 404


def test_points_without_hours_show_no_session(personas) -> None:
    closed = add_point(personas.bdl_office, hours=(time(8, 0), time(8, 5)))
    assert day_figures(closed, AHEAD).seats == []


def test_walk_ins_take_only_the_invitation_seats_no_invitee_is_coming_for(
    personas, point, invited
) -> None:
    sessions = list(Session.objects.filter(service_point=point, day=AHEAD).order_by("starts_at"))
    awaited = next(s for s in sessions if invited[_label(s)] == 3)
    free = next(s for s in sessions if not invited[_label(s)])

    def walk_ins(session: Session, n: int) -> list[Ticket]:
        moment = session.starts_at + timedelta(minutes=5)
        return [
            ticket_issue_walkin(
                service_point=point, service="recording", acting_user=personas.bdl_queue, at=moment
            )
            for _ in range(n)
        ]

    # Three invitees are still to come: only the three public seats are the walk-ins'.
    taken = walk_ins(awaited, 4)
    assert [t.session_id == awaited.pk for t in taken] == [True, True, True, False]
    awaited.refresh_from_db()
    assert (awaited.public_taken, awaited.invitation_capacity) == (3, 3)
    # Nobody is invited to this one: the whole session is the walk-ins'.
    assert all(t.session_id == free.pk for t in walk_ins(free, 6))
    free.refresh_from_db()
    assert (free.public_taken, free.invitation_capacity) == (6, 0)
    now = free.starts_at + timedelta(minutes=6)
    rows = {r.label: r for r in day_figures(point, AHEAD, now=now).seats}
    assert rows[_label(awaited)].invited == 3 and rows[_label(free)].left == 0
