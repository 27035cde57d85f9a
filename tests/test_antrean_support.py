"""Builders shared by the queue tests (this module holds no tests itself)."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from rekam.accounts.models import Office
from rekam.antrean.models import Session
from rekam.antrean.services import sessions_ensure
from rekam.regions.models import Region
from rekam.servicepoints.models import HolidayOpening, ServicePoint
from rekam.servicepoints.services import opening_hours_set

JAKARTA = ZoneInfo("Asia/Jakarta")
# A Wednesday that is no holiday.
WORKDAY = date(2020, 12, 2)
ALL_DAY = (time(0, 0), time(23, 59))


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=JAKARTA)


def make_point(
    office: Office,
    *,
    code: str = "18.71-DINAS",
    counters: int = 2,
    hours: tuple[time, time] = (time(8, 0), time(16, 0)),
    **fields: Any,
) -> ServicePoint:
    """A service point open every day during ``hours`` (hourly sessions, 10 minutes a person)."""
    values: dict[str, Any] = {
        "kind": ServicePoint.Kind.OFFICE,
        "name": f"Kantor Disdukcapil {code}",
        "village": Region.objects.get(code="18.71.01.1003"),
        "address": "Jl. Dr. Susilo No. 2",
        "session_minutes": 60,
        "service_minutes": 10,
        "protocol_percent": 100,
        "waiting_room_limit": 20,
        "invitation_percent": 0,
        "holiday_opening": HolidayOpening.CLOSED,
    }
    values.update(fields)
    point = ServicePoint.objects.create(office=office, code=code, counters=counters, **values)
    opening_hours_set(service_point=point, hours={d: hours for d in range(7)})
    return point


def session_at(point: ServicePoint, when: datetime) -> Session:
    """The session of ``point`` that starts at ``when`` (made if needed)."""
    for session in sessions_ensure(service_point=point, day=when.date()):
        if session.starts_at == when:
            return session
    raise AssertionError(f"no session at {when}")
