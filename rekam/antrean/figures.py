"""Figures per session and per service point for a day: numbers issued, served, no-shows,
waiting time (arrival at the gate, or the walk-in's issue, to the first call) and service time
(the last call to closing) as averages and 90th percentiles, and the most people inside at once.
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
from .models import Session, State, Ticket, TicketEvent


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
class DayFigures:
    point: ServicePoint
    day: date
    sessions: list[Figures]
    total: Figures


def day_figures(point: ServicePoint, day: date, now: datetime | None = None) -> DayFigures:
    now = now or clock.now()
    sessions = list(Session.objects.filter(service_point=point, day=day).order_by("starts_at"))
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
    rows = [
        _figures(
            f"{timezone.localtime(s.starts_at):%H.%M}-{timezone.localtime(s.ends_at):%H.%M}",
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
    return DayFigures(point, day, rows, total)
