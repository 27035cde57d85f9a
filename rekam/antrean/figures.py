"""Figures per session and per service point for a day: numbers issued, served, no-shows,
waiting time (arrival at the gate, or the walk-in's issue, to the first call) and service time
(the last call to closing) as averages and 90th percentiles, and the most people inside at once;
and, for any day ahead too, each session's seats: its shares, the invitations booked into it,
the online numbers and walk-ins taken, and what each channel may still take.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from django.utils import timezone

from rekam.servicepoints.models import ServicePoint

from . import clock
from .models import Channel, Session, State, Ticket, TicketEvent
from .services import invitees_to_come, sessions_planned, share_unused


def p90(values: list[float]) -> float | None:
    """The 90th percentile, nearest-rank."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


@dataclass(frozen=True)
class Figures:
    label: str
    starts_at: datetime | None
    ends_at: datetime | None
    capacity: int
    issued: int
    served: int
    no_shows: int
    cancelled: int
    waiting_now: int
    wait_avg: float | None  # minutes
    wait_p90: float | None
    service_avg: float | None
    service_p90: float | None
    most_inside: int


@dataclass(frozen=True)
class _Timed:
    ticket: Ticket
    first_call: datetime | None
    last_call: datetime | None

    @property
    def arrived(self) -> datetime | None:
        return self.ticket.checked_in_at

    def inside(self, now: datetime) -> tuple[datetime, datetime] | None:
        if self.arrived is None or self.ticket.state == State.CANCELLED:
            return None
        return self.arrived, self.ticket.closed_at or now


def _most_inside(spans: Iterable[tuple[datetime, datetime]], start: datetime, end: datetime) -> int:
    """The most spans overlapping at one moment within ``[start, end)``."""
    edges: list[tuple[datetime, int]] = []
    for a, b in spans:
        a, b = max(a, start), min(b, end)
        if a < b:
            edges += [(a, 1), (b, -1)]
    edges.sort(key=lambda e: (e[0], e[1]))  # leaving before arriving at the same instant
    most = now = 0
    for _, step in edges:
        now += step
        most = max(most, now)
    return most


def _figures(
    label: str,
    timed: list[_Timed],
    now: datetime,
    *,
    capacity: int,
    start: datetime | None,
    end: datetime | None,
    spans_from: list[_Timed],
) -> Figures:
    waits = [
        (t.first_call - t.arrived).total_seconds() / 60 for t in timed if t.first_call and t.arrived
    ]
    services = [
        (t.ticket.closed_at - t.last_call).total_seconds() / 60
        for t in timed
        if t.ticket.state == State.DONE and t.ticket.closed_at and t.last_call
    ]
    no_show = sum(
        1
        for t in timed
        if t.ticket.state == State.NO_SHOW
        or (t.ticket.state == State.BOOKED and t.ticket.window_end <= now)
    )
    spans = [s for t in spans_from if (s := t.inside(now))]
    window_start = start or min((a for a, _ in spans), default=now)
    window_end = end or max((b for _, b in spans), default=now)
    return Figures(
        label=label,
        starts_at=start,
        ends_at=end,
        capacity=capacity,
        issued=len(timed),
        served=sum(1 for t in timed if t.ticket.state == State.DONE),
        no_shows=no_show,
        cancelled=sum(1 for t in timed if t.ticket.state == State.CANCELLED),
        waiting_now=sum(1 for t in timed if t.ticket.state == State.WAITING),
        wait_avg=mean(waits),
        wait_p90=p90(waits),
        service_avg=mean(services),
        service_p90=p90(services),
        most_inside=_most_inside(spans, window_start, window_end),
    )


@dataclass(frozen=True)
class Seats:
    """A session's seats by channel. Invitations keep their share; online numbers and walk-ins
    share the rest; an invitee who comes takes any seat left. On the session's day, once no
    plan may invite into it any more, the share's seats no invitation will use are left for
    online numbers and walk-ins too, as the gate gives them (``services.public_rooms``). The
    ``left_*`` figures are what each channel may still take (none once the session is closed):
    invitations, online numbers, walk-ins and what is left add up to ``capacity``."""

    label: str
    capacity: int
    invitation_share: int
    public_share: int  # online numbers and walk-ins together, as the session row counts them
    invited: int  # invitation seats held: invitees numbered at the gate and those still to come
    online: int  # online numbers taken (not given back)
    walk_in: int  # numbers handed out at the gate (not given back)
    left_invitations: int
    left_public: int
    closed: bool = False

    @property
    def left(self) -> int:
        return self.left_invitations + self.left_public


def _seats(
    label: str, session: Session, tickets: list[_Timed], to_come: int, now: datetime
) -> Seats:
    live = [t.ticket for t in tickets if t.ticket.state != State.CANCELLED]
    online = sum(1 for t in live if t.channel == Channel.ONLINE)
    walk_in = sum(1 for t in live if t.channel == Channel.GATE)
    numbered = sum(1 for t in live if t.channel == Channel.INVITATION)
    invited = numbered + to_come
    # The gate's own figure: the public room and the share no invitation will use.
    left_public = 0 if session.closed else session.public_room + share_unused(session, to_come, now)
    used = invited + online + walk_in
    return Seats(
        label=label,
        capacity=session.capacity,
        invitation_share=session.invitation_capacity,
        public_share=session.capacity - session.invitation_capacity,
        invited=invited,
        online=online,
        walk_in=walk_in,
        # The rest of the share, kept for the invitations a plan or a reschedule may still bring.
        left_invitations=0 if session.closed else max(0, session.capacity - used - left_public),
        left_public=left_public,
        closed=session.closed,
    )


def _seats_total(rows: list[Seats]) -> Seats:
    return Seats(
        "Sehari",
        *(
            sum(getattr(r, name) for r in rows)
            for name in (
                "capacity",
                "invitation_share",
                "public_share",
                "invited",
                "online",
                "walk_in",
                "left_invitations",
                "left_public",
            )
        ),
    )


@dataclass(frozen=True)
class DayFigures:
    point: ServicePoint
    day: date
    sessions: list[Figures]
    total: Figures
    seats: list[Seats]
    seats_total: Seats
    # False: nobody has booked the day yet, its sessions are what the calendar would make.
    made: bool = True


def _label(session: Session) -> str:
    starts, ends = timezone.localtime(session.starts_at), timezone.localtime(session.ends_at)
    return f"{starts:%H.%M}-{ends:%H.%M}"


def day_figures(point: ServicePoint, day: date, now: datetime | None = None) -> DayFigures:
    """A few queries whatever the number of sessions: the day's sessions, its numbers with
    their calls, and the invitations per session."""
    now = now or clock.now()
    sessions = list(Session.objects.filter(service_point=point, day=day).order_by("starts_at"))
    made = bool(sessions) or day < timezone.localdate(now)
    if not made:
        # A day ahead nobody has booked yet: its sessions as the calendar would make them.
        sessions = sessions_planned(service_point=point, day=day)
    tickets = list(Ticket.objects.filter(service_point=point, day=day).order_by("id"))
    calls: dict[int, list[datetime]] = defaultdict(list)
    for ticket_id, at in (
        TicketEvent.objects.filter(ticket__in=[t.pk for t in tickets], kind=TicketEvent.Kind.CALLED)
        .order_by("at")
        .values_list("ticket_id", "at")
    ):
        calls[ticket_id].append(at)
    timed = [
        _Timed(t, calls[t.pk][0] if calls[t.pk] else None, calls[t.pk][-1] if calls[t.pk] else None)
        for t in tickets
    ]
    by_session: dict[int, list[_Timed]] = defaultdict(list)
    for t in timed:
        by_session[t.ticket.session_id].append(t)
    to_come = invitees_to_come([s.pk for s in sessions if s.pk])
    rows = [
        _figures(
            _label(s),
            by_session[s.pk],
            now,
            capacity=s.capacity,
            start=s.starts_at,
            end=s.ends_at,
            spans_from=timed,
        )
        for s in sessions
    ]
    total = _figures(
        "Sehari",
        timed,
        now,
        capacity=sum(s.capacity for s in sessions),
        start=None,
        end=None,
        spans_from=timed,
    )
    seats = [_seats(_label(s), s, by_session[s.pk], to_come.get(s.pk, 0), now) for s in sessions]
    return DayFigures(point, day, rows, total, seats, _seats_total(seats), made)
