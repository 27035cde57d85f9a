"""Writes to a service point's calendar: weekly hours, days it opens or closes, mobile visits."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, time
from typing import Any

from django.db import transaction

from rekam.accounts.access import Action, require
from rekam.audit.services import audit_record
from rekam.regions.models import Region

from .models import CalendarDay, MobileVisit, OpeningHours, ServicePoint

EVERY_DAY = range(7)


def _require(acting_user: Any, point: ServicePoint) -> None:
    if acting_user is not None:
        require(acting_user, Action.MANAGE_OFFICE, point.office.region_id)


@transaction.atomic
def opening_hours_set(
    *,
    service_point: ServicePoint,
    hours: Mapping[int, tuple[time, time]],
    acting_user: Any = None,
) -> bool:
    """Make the weekly hours exactly ``hours`` (weekday 0 = Monday -> opens, closes); a weekday
    left out is closed. Returns whether anything changed."""
    _require(acting_user, service_point)
    for weekday, (opens, closes) in hours.items():
        if weekday not in EVERY_DAY or not opens < closes:
            raise ValueError(f"bad opening hours for weekday {weekday}: {opens}-{closes}")
    current = {h.weekday: (h.opens_at, h.closes_at) for h in service_point.hours.all()}
    wanted = dict(hours)
    if current == wanted:
        return False
    OpeningHours.objects.filter(service_point=service_point).exclude(
        weekday__in=list(wanted)
    ).delete()
    for weekday, (opens, closes) in wanted.items():
        OpeningHours.objects.update_or_create(
            service_point=service_point,
            weekday=weekday,
            defaults={"opens_at": opens, "closes_at": closes},
        )

    def plain(table: Mapping[int, tuple[time, time]]) -> dict[str, str]:
        return {str(d): f"{a:%H:%M}-{b:%H:%M}" for d, (a, b) in sorted(table.items())}

    audit_record(
        acting_user=acting_user,
        action="service_point.hours",
        obj=service_point,
        changes={"hours": [plain(current), plain(wanted)]},
    )
    return True


@transaction.atomic
def calendar_day_set(
    *,
    service_point: ServicePoint,
    day: date,
    is_open: bool,
    reason: str,
    opens_at: time | None = None,
    closes_at: time | None = None,
    acting_user: Any = None,
) -> CalendarDay:
    """Open the point on ``day`` (a holiday, election day) or close it on a working day."""
    _require(acting_user, service_point)
    if opens_at and closes_at and not opens_at < closes_at:
        raise ValueError("opens_at must be before closes_at")
    entry, created = CalendarDay.objects.update_or_create(
        service_point=service_point,
        day=day,
        defaults={
            "is_open": is_open,
            "opens_at": opens_at,
            "closes_at": closes_at,
            "reason": reason[:200],
            "created_by": acting_user if getattr(acting_user, "pk", None) else None,
        },
    )
    audit_record(
        acting_user=acting_user,
        action="service_point.calendar_day",
        obj=service_point,
        changes={str(day): [None if created else "changed", "open" if is_open else "closed"]},
        reason=reason,
    )
    return entry


@transaction.atomic
def mobile_visit_add(
    *,
    service_point: ServicePoint,
    day: date,
    opens_at: time,
    closes_at: time,
    place_kind: str,
    place_name: str,
    village: Region | None = None,
    address: str = "",
    acting_user: Any = None,
) -> MobileVisit:
    """Plan a mobile unit's session at a village, school, hospital or home."""
    _require(acting_user, service_point)
    if service_point.kind != ServicePoint.Kind.MOBILE:
        raise ValueError("only a mobile unit has visits")
    if place_kind not in MobileVisit.Place.values:
        raise ValueError(f"unknown place kind {place_kind!r}")
    visit = MobileVisit.objects.create(
        service_point=service_point,
        day=day,
        opens_at=opens_at,
        closes_at=closes_at,
        place_kind=place_kind,
        place_name=place_name,
        village=village,
        address=address,
        lat=village.lat if village else None,
        lon=village.lon if village else None,
    )
    audit_record(
        acting_user=acting_user,
        action="mobile_visit.create",
        obj=visit,
        changes={"visit": [None, str(visit)]},
    )
    return visit
