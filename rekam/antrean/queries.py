"""What the board, the gate, the counters and a resident's status page read: a few indexed
queries each, so the board's polling stays cheap."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, Q
from django.utils import timezone

from rekam.servicepoints.models import Service, ServicePoint

from .models import INSIDE_STATES, Session, State, Ticket, TicketEvent
from .speech import call_clips, call_text

LAST_CALLS = 6


def day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _hm(value: datetime | None) -> str:
    return timezone.localtime(value).strftime("%H.%M") if value else ""


@dataclass(frozen=True)
class Occupancy:
    waiting: int  # checked in, not yet called
    inside: int  # checked in and not finished: in the waiting room or at a counter
    booked: int  # numbers whose holders have not arrived yet
    limit: int
    in_session: bool  # a session of the point is running now

    @property
    def may_enter(self) -> int:
        """Nobody is let in outside the sessions (before opening, at lunch, after closing)."""
        return max(0, self.limit - self.inside) if self.in_session else 0


def occupancy(point: ServicePoint, now: datetime) -> Occupancy:
    day = timezone.localdate(now)
    counts = Ticket.objects.filter(service_point=point, day=day).aggregate(
        waiting=Count("id", filter=Q(state=State.WAITING)),
        inside=Count("id", filter=Q(state__in=INSIDE_STATES)),
        booked=Count("id", filter=Q(state=State.BOOKED)),
    )
    return Occupancy(
        waiting=counts["waiting"],
        inside=counts["inside"],
        booked=counts["booked"],
        limit=point.waiting_room_limit,
        in_session=Session.objects.filter(
            service_point=point, day=day, starts_at__lte=now, ends_at__gt=now
        ).exists(),
    )


def board_data(point: ServicePoint, now: datetime) -> dict[str, Any]:
    """The board's whole state as JSON: numbers at each counter, the last calls (each with the
    clips that announce it), how many wait and how many may enter the waiting room now."""
    today = timezone.localdate(now)
    at_counter = {
        row["counter"]: row
        for row in Ticket.objects.filter(service_point=point, day=today, state=State.CALLED).values(
            "counter", "label", "service"
        )
    }
    calls = list(
        TicketEvent.objects.filter(
            service_point=point,
            at__gte=day_start(today),
            kind__in=(TicketEvent.Kind.CALLED, TicketEvent.Kind.RECALLED),
        )
        .order_by("-id")
        .values("id", "counter", "at", "ticket__label")[:LAST_CALLS]
    )
    room = occupancy(point, now)
    services = dict(Service.choices)
    return {
        "point": point.code,
        "time": timezone.localtime(now).strftime("%H.%M"),
        "counters": [
            {
                "counter": n,
                "label": at_counter[n]["label"] if n in at_counter else "",
                "service": str(services.get(at_counter[n]["service"], ""))
                if n in at_counter
                else "",
            }
            for n in range(1, point.counters + 1)
        ],
        "calls": [
            {
                "id": c["id"],
                "label": c["ticket__label"],
                "counter": c["counter"],
                "time": _hm(c["at"]),
                "say": call_clips(c["ticket__label"], c["counter"] or 0),
                "text": call_text(c["ticket__label"], c["counter"] or 0),
            }
            for c in calls
        ],
        "waiting": room.waiting,
        "inside": room.inside,
        "limit": room.limit,
        "may_enter": room.may_enter,
    }


@dataclass(frozen=True)
class TicketStatus:
    ahead: int
    estimated_at: datetime
    now_serving: list[str]


def ticket_status(ticket: Ticket, now: datetime) -> TicketStatus:
    """How many are before the holder and when they should be called, from the line now."""
    point = ticket.service_point
    serving = list(
        Ticket.objects.filter(service_point=point, day=ticket.day, state=State.CALLED)
        .order_by("counter")
        .values_list("label", flat=True)
    )
    if ticket.state not in (State.BOOKED, State.WAITING):
        return TicketStatus(0, ticket.estimated_at, serving)
    ahead = (
        Ticket.objects.filter(
            service_point=point, day=ticket.day, state__in=(State.BOOKED, State.WAITING)
        )
        .filter(
            Q(window_start__lt=ticket.window_start)
            | Q(window_start=ticket.window_start, pk__lt=ticket.pk)
        )
        .count()
    )
    by_line = now + timedelta(minutes=ahead * point.service_minutes / max(1, point.counters))
    return TicketStatus(ahead, max(ticket.estimated_at, by_line), serving)


@dataclass(frozen=True)
class SessionRow:
    session: Session
    past: bool
    current: bool
    room: int  # what walk-ins and online numbers may still take (``services.public_rooms``)


def sessions_today(
    sessions: list[Session], now: datetime, rooms: dict[int, int]
) -> list[SessionRow]:
    return [
        SessionRow(s, s.ends_at <= now, s.starts_at <= now < s.ends_at, rooms.get(s.pk, 0))
        for s in sessions
    ]
