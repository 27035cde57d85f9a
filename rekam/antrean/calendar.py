"""When a service point is open: weekly hours, Indonesian holidays, its own calendar days,
election run-ups and a mobile unit's visits.

The order of the rules, first match wins:

1. a :class:`CalendarDay` of the point opens or closes that date (election day, a closure);
2. a mobile unit is open only during its visits that day;
3. on a public holiday or collective leave day (``holidays.ID``, public and government
   categories) the point follows its holiday rule: closed, open, or open in the run-up to a
   polling day in its region (``ANTREAN_HOLIDAY_RUN_UP_DAYS`` days up to and including it);
4. otherwise the weekday's opening hours; a weekday without hours is closed.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, time, timedelta

import holidays
from django.conf import settings

from rekam.elections.models import Election
from rekam.servicepoints.models import (
    CalendarDay,
    HolidayOpening,
    MobileVisit,
    OpeningHours,
    ServicePoint,
)

# Hours of a calendar day that opens a point without saying when (and no weekday hours).
DEFAULT_OPENS = time(8, 0)
DEFAULT_CLOSES = time(16, 0)


@dataclass(frozen=True)
class Interval:
    opens: time
    closes: time
    visit: MobileVisit | None = None


@dataclass(frozen=True)
class DayPlan:
    day: date
    intervals: tuple[Interval, ...]
    holiday: str  # the holiday's name, or ""
    reason: str  # why open or closed, in Indonesian

    @property
    def is_open(self) -> bool:
        return bool(self.intervals)

    @property
    def opens(self) -> time | None:
        return min(i.opens for i in self.intervals) if self.intervals else None

    @property
    def closes(self) -> time | None:
        return max(i.closes for i in self.intervals) if self.intervals else None


@functools.cache
def _holidays(year: int) -> dict[date, str]:
    calendar = holidays.country_holidays(
        "ID", years=year, categories=(holidays.PUBLIC, holidays.GOVERNMENT), language="id"
    )
    return dict(calendar.items())


def holiday_name(day: date) -> str:
    """The Indonesian public holiday or collective leave on ``day``, or ``""``."""
    return _holidays(day.year).get(day, "")


def polling_days(point: ServicePoint, start: date, end: date) -> list[date]:
    """Polling days of elections in the point's region whose run-up touches ``start``-``end``."""
    run_up = timedelta(days=settings.ANTREAN_HOLIDAY_RUN_UP_DAYS)
    return list(
        Election.objects.filter(
            regions__code=point.regency_code, polling_day__gte=start, polling_day__lte=end + run_up
        ).values_list("polling_day", flat=True)
    )


@dataclass(frozen=True)
class _Facts:
    """Everything the rules read for a range of days, loaded in a few queries."""

    hours: dict[int, OpeningHours]
    overrides: dict[date, CalendarDay]
    visits: dict[date, list[MobileVisit]]
    polling: list[date]


def _facts(point: ServicePoint, start: date, end: date) -> _Facts:
    visits: dict[date, list[MobileVisit]] = {}
    if point.kind == ServicePoint.Kind.MOBILE:
        for v in MobileVisit.objects.filter(
            service_point=point, day__gte=start, day__lte=end
        ).order_by("day", "opens_at"):
            visits.setdefault(v.day, []).append(v)
    return _Facts(
        hours={h.weekday: h for h in OpeningHours.objects.filter(service_point=point)},
        overrides={
            c.day: c
            for c in CalendarDay.objects.filter(service_point=point, day__gte=start, day__lte=end)
        },
        visits=visits,
        polling=polling_days(point, start, end) if holiday_days(start, end) else [],
    )


def holiday_days(start: date, end: date) -> bool:
    """Is there any holiday from ``start`` to ``end``?"""
    day = start
    while day <= end:
        if holiday_name(day):
            return True
        day += timedelta(days=1)
    return False


def _run_up(facts: _Facts, day: date) -> bool:
    run_up = timedelta(days=settings.ANTREAN_HOLIDAY_RUN_UP_DAYS)
    return any(day <= polling <= day + run_up for polling in facts.polling)


def _visit_intervals(facts: _Facts, day: date) -> tuple[Interval, ...]:
    return tuple(Interval(v.opens_at, v.closes_at, v) for v in facts.visits.get(day, []))


def _plan(point: ServicePoint, day: date, facts: _Facts) -> DayPlan:
    holiday = holiday_name(day)
    if not point.is_active:
        return DayPlan(day, (), holiday, "Tempat layanan tidak aktif.")
    override = facts.overrides.get(day)
    hours = facts.hours.get(day.weekday())
    is_mobile = point.kind == ServicePoint.Kind.MOBILE
    if override is not None:
        if not override.is_open:
            return DayPlan(day, (), holiday, override.reason or "Tutup menurut kalender kantor.")
        visits = _visit_intervals(facts, day) if is_mobile else ()
        if visits:
            return DayPlan(day, visits, holiday, override.reason or "Kunjungan terjadwal.")
        opens = override.opens_at or (hours.opens_at if hours else DEFAULT_OPENS)
        closes = override.closes_at or (hours.closes_at if hours else DEFAULT_CLOSES)
        reason = override.reason or "Buka menurut kalender kantor."
        if opens >= closes:
            return DayPlan(day, (), holiday, reason)
        return DayPlan(day, (Interval(opens, closes),), holiday, reason)
    if is_mobile:
        visits = _visit_intervals(facts, day)
        if not visits:
            return DayPlan(day, (), holiday, "Tidak ada kunjungan layanan keliling hari ini.")
        return DayPlan(day, visits, holiday, "Kunjungan terjadwal.")
    if holiday:
        rule = point.holiday_opening
        open_today = rule == HolidayOpening.OPEN or (
            rule == HolidayOpening.RUN_UP and _run_up(facts, day)
        )
        if not open_today:
            return DayPlan(day, (), holiday, f"Libur: {holiday}.")
        reason = f"Tetap buka pada hari libur ({holiday})."
    else:
        reason = "Jam buka biasa."
    if hours is None:
        return DayPlan(day, (), holiday, "Tutup pada hari ini menurut jam buka mingguan.")
    return DayPlan(day, (Interval(hours.opens_at, hours.closes_at),), holiday, reason)


def _facts_many(points: list[ServicePoint], start: date, end: date) -> dict[int, _Facts]:
    """The facts of many points over a range, in four queries whatever their number."""
    ids = [p.pk for p in points]
    hours: dict[int, dict[int, OpeningHours]] = {pk: {} for pk in ids}
    for h in OpeningHours.objects.filter(service_point_id__in=ids):
        hours[h.service_point_id][h.weekday] = h
    overrides: dict[int, dict[date, CalendarDay]] = {pk: {} for pk in ids}
    for c in CalendarDay.objects.filter(service_point_id__in=ids, day__gte=start, day__lte=end):
        overrides[c.service_point_id][c.day] = c
    visits: dict[int, dict[date, list[MobileVisit]]] = {pk: {} for pk in ids}
    mobile = [p.pk for p in points if p.kind == ServicePoint.Kind.MOBILE]
    for v in MobileVisit.objects.filter(
        service_point_id__in=mobile, day__gte=start, day__lte=end
    ).order_by("day", "opens_at"):
        visits[v.service_point_id].setdefault(v.day, []).append(v)
    polling: dict[str, list[date]] = {}
    if holiday_days(start, end):
        run_up = timedelta(days=settings.ANTREAN_HOLIDAY_RUN_UP_DAYS)
        for code, day in Election.objects.filter(
            regions__code__in={p.regency_code for p in points},
            polling_day__gte=start,
            polling_day__lte=end + run_up,
        ).values_list("regions__code", "polling_day"):
            polling.setdefault(code, []).append(day)
    return {
        p.pk: _Facts(
            hours=hours[p.pk],
            overrides=overrides[p.pk],
            visits=visits[p.pk],
            polling=polling.get(p.regency_code, []),
        )
        for p in points
    }


def plans_many(
    points: list[ServicePoint], start: date, days: int
) -> dict[tuple[int, date], DayPlan]:
    """The plan of every point on every one of ``days`` days from ``start``."""
    end = start + timedelta(days=days - 1)
    facts = _facts_many(points, start, end)
    return {
        (p.pk, start + timedelta(days=n)): _plan(p, start + timedelta(days=n), facts[p.pk])
        for p in points
        for n in range(days)
    }


def day_plan(point: ServicePoint, day: date) -> DayPlan:
    """When ``point`` is open on ``day``."""
    return _plan(point, day, _facts(point, day, day))


def day_plans(point: ServicePoint, start: date, days: int) -> list[DayPlan]:
    """The plans of ``days`` days from ``start``."""
    end = start + timedelta(days=days - 1)
    facts = _facts(point, start, end)
    return [_plan(point, start + timedelta(days=n), facts) for n in range(days)]


def open_days(point: ServicePoint, start: date, days: int) -> list[DayPlan]:
    """The open days among ``days`` days from ``start``."""
    return [p for p in day_plans(point, start, days) if p.is_open]
