"""Planning invitations: read the worklists and the queue's sessions, solve, write invitations.

Two lists are planned one after the other into the same sessions' invitation seats: voters who
have not recorded (to a point that records), then voters whose card is print ready (to a point
that prints). A session's seats for a plan are its invitations' share less the invitations
already written to it (an invitee numbered at the gate counted once), and a voter who already
holds an invitation for the list is not planned again, so planning again never books a seat
twice nor invites anyone twice.

A plan is made in three steps: a preview (nothing written, the comparison shown), approval by a
supervisor or another admin (never the preview's maker: four eyes), and sending (plan again with
the approved mobile-unit visits against the seats of that moment, write the visits and
invitations, put the messages in the outbox). The command without ``--dry-run`` does the three
at once, acting as the system or as ``--user``: the one exception to four eyes (whoever runs
commands at the server acts outside the pages' rules anyway), and its approval's audit entry
says so. The first day may not be before today nor after polling day, and both the preview and
the sending use only sessions starting ``INVITATIONS_LEAD_HOURS`` after their own moment (the
queue's clock): an approval days late never invites anyone to a session that is over.

Mobile units (jemput bola) serve the first list: a MIP chooses how many days each regency's
units spend in which villages (:func:`planner.place_mobile_units`), the days are given to the
units (:func:`planner.schedule_visits`), and the exact plan is made again with those visits as
extra points. Sent, each unit-day is a :class:`MobileVisit` of one of the regency office's
mobile service points, with queue sessions sharing the unit's people a day, so an invitee checks
in at the unit's gate like at an office.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, NamedTuple

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from rekam.accounts import access
from rekam.accounts.access import Action
from rekam.accounts.models import Office
from rekam.antrean import clock
from rekam.antrean.calendar import holiday_name
from rekam.antrean.models import Session, Ticket
from rekam.antrean.services import local_datetime, sessions_ensure_many
from rekam.audit.services import audit_record
from rekam.elections.models import Election
from rekam.regions.models import Region
from rekam.residents.states import RECORDED_STATES, KtpState
from rekam.servicepoints.models import (
    CalendarDay,
    HolidayOpening,
    MobileVisit,
    OpeningHours,
    ServicePoint,
)
from rekam.servicepoints.services import mobile_visit_add
from rekam.voters.models import Voter, VoterClass

from . import planner
from .models import Invitation, PlanRun

# Rank of an invitee: first-time voters, then Suket holders (earliest expiry first), then others.
RANK_FIRST_TIME, RANK_SUKET, RANK_OTHER = 0, 1, 2
RANKS = 3
LISTS = (
    (VoterClass.NOT_RECORDED, Invitation.Service.RECORDING, "offers_recording"),
    (VoterClass.PRR_NOT_PRINTED, Invitation.Service.PRINTING, "offers_printing"),
)
# What the progress line says while each list is planned (stored text: Indonesian).
_LIST_STEPS = {
    Invitation.Service.RECORDING: "belum rekam, undangan perekaman",
    Invitation.Service.PRINTING: "siap cetak, undangan pengambilan KTP-el",
}
_BATCH = 5_000
# Rows per INSERT (16 columns x 500 stays under SQLite's 32,766 parameters) or per COPY.
_INSERT_ROWS = 500
# Mobile units per regency and people a unit serves a day on the command and the planning page:
# the reference scenario (two units per regency, as the demo's offices have) and the
# benchmark's unit-day.
MOBILE_UNITS = 2
MOBILE_PER_DAY = 60
# A unit's working day at a village: hourly sessions sharing its people a day.
MOBILE_OPENS, MOBILE_CLOSES = time(8, 0), time(16, 0)
MOBILE_SESSIONS = 8
# Seconds the mobile-unit MIP may search before its best placement so far is used (with the
# model's building, the province's placement stays under a minute).
MOBILE_TIME_LIMIT_S = 50.0
# Slot ids of previewed unit-days: negative, never a session's primary key.
_PREVIEW_SLOTS = -(10**12)
# Messages put in the outbox per transaction (and per batch insert) while sending.
_MESSAGE_CHUNK = 2_000


# KTP-el states in which what an invitation is for is done: biometrics taken (a failed
# enrolment must be recorded again), or the card printed. Nobody in them is invited (again).
DONE_STATES: dict[str, frozenset[str]] = {
    Invitation.Service.RECORDING: RECORDED_STATES
    - {KtpState.ENROLL_FAILURE, KtpState.SEARCH_FAILURE},
    Invitation.Service.PRINTING: frozenset({KtpState.CARD_PRINTED}),
}


# An invitation still standing: its invitee may come, or came.
LIVE = (Invitation.State.PLANNED, Invitation.State.ATTENDED)


class PlanRefused(ValueError):
    """Why a plan cannot be approved or sent now, in Indonesian."""


# Four eyes: admins hold every supervisor right, approval among them, so the rule is the
# preview's maker, not a role.
SELF_APPROVAL_REFUSED = (
    "Rencana ini Anda buat sendiri; persetujuan harus oleh orang lain (supervisor atau admin lain)."
)
# The audit reason of a plan approved as it is made (the command without ``--dry-run``).
APPROVED_IN_ONE_GO = (
    "Direncanakan, disetujui dan dikirim sekaligus tanpa pratinjau (perintah "
    "rekam plan_invitations tanpa --dry-run): tanpa persetujuan orang kedua."
)


def made_by(run: PlanRun, user: Any) -> bool:
    """Whether ``user`` made ``run``: the maker of a preview may not approve it."""
    return run.created_by_id is not None and run.created_by_id == getattr(user, "pk", None)


def earliest_session_start(now: datetime | None = None) -> datetime:
    """The earliest start of a session a plan may invite to: ``INVITATIONS_LEAD_HOURS`` after
    now, so that letters reach the villages and messages their readers before it (a preview
    approved days later plans from the moment it is sent, not from its first day)."""
    return (now or clock.now()) + timedelta(hours=settings.INVITATIONS_LEAD_HOURS)


def check_region(region_code: str, election: Election | None = None) -> None:
    """Refuse (in Indonesian) a region that is not a regency/city ("" is every region of the
    election), or one that does not hold ``election``."""
    if not region_code:
        return
    region = Region.objects.filter(code=region_code, level="regency").first()
    if region is None:
        raise PlanRefused(f"Kode kabupaten/kota {region_code} tidak dikenal.")
    if election is not None and not election.regions.filter(code=region_code).exists():
        raise PlanRefused(f"{region.display_name} tidak menyelenggarakan {election.name}.")


def check_start(election: Election, start: date) -> None:
    """Refuse (in Indonesian) a first day of sessions before today or after polling day."""
    if start < clock.today():
        raise PlanRefused("Hari pertama sesi tidak boleh sebelum hari ini.")
    if start > election.polling_day:
        raise PlanRefused(
            "Hari pertama sesi tidak boleh sesudah hari pemungutan suara "
            f"({election.polling_day:%d-%m-%Y})."
        )


@dataclass
class _Person:
    voter_id: int
    village: str
    rt: str
    rw: str
    rank: int
    order: tuple[Any, ...]


@dataclass
class ListResult:
    service: str
    villages: list[planner.Village]
    plan: planner.Plan  # without mobile units
    baseline: planner.Plan
    points: list[planner.Point] = field(default_factory=list)
    people: dict[tuple[str, int], list[_Person]] = field(default_factory=dict)
    sessions: dict[int, Any] = field(default_factory=dict)
    # The plan to write: with the mobile units' visits when there are any.
    final: planner.Plan | None = None
    mobile: dict[str, Any] | None = None
    # The mobile units' visits as points (negative ids), and the offices' points' names.
    extra_points: list[planner.Point] = field(default_factory=list)
    point_names: dict[int, str] = field(default_factory=dict)

    @property
    def written_plan(self) -> planner.Plan:
        return self.final or self.plan


def _centroids(codes: set[str]) -> dict[str, tuple[float, float]]:
    """Each village's centroid, else its kecamatan's, else its regency's."""
    wanted = set(codes)
    for code in codes:
        parts = code.split(".")
        wanted.update({".".join(parts[:3]), ".".join(parts[:2])})
    known: dict[str, tuple[float, float]] = {}
    rows = Region.objects.filter(code__in=wanted, lat__isnull=False, lon__isnull=False)
    for c, lat, lon in rows.values_list("code", "lat", "lon"):
        if lat is not None and lon is not None:
            known[c] = (lat, lon)
    out = {}
    for code in codes:
        parts = code.split(".")
        for key in (code, ".".join(parts[:3]), ".".join(parts[:2])):
            if key in known:
                out[code] = known[key]
                break
    return out


def _people(election: Election, region_code: str) -> dict[str, list[_Person]]:
    """Both lists' voters, by class, who hold no invitation for their list's service yet (a
    cancelled one aside) and have not done meanwhile what it would be for: one pass over the
    election's voters for both lists."""
    q = Q(election=election, removed_in__isnull=True, verdict__klass__in=[k for k, _, _ in LISTS])
    if region_code:
        q &= Q(regency_id=region_code)
    # By voter only (a voter is of one election): the voter index serves the lookup, where the
    # election's index would make SQLite scan every invitation once per voter.
    live = Invitation.objects.filter(voter_id=OuterRef("pk")).exclude(
        state=Invitation.State.CANCELLED
    )
    # Nor anyone whose record has meanwhile moved on (recorded at a counter, card printed):
    # the verdict is of the last reconciliation, the resident's state is of now.
    not_invited = Q(pk__in=[])
    for klass, service, _ in LISTS:
        not_invited |= Q(
            Q(verdict__klass=klass),
            ~Exists(live.filter(service=service)),
            ~Q(verdict__resident__ktp_state__in=DONE_STATES[service]),
        )
    # No ordering: each village's people are sorted here (the model's order joins regions).
    rows = (
        Voter.objects.filter(q)
        .filter(not_invited)
        .order_by()
        .values_list(
            "id",
            "village_id",
            "rt",
            "rw",
            "name_key",
            "verdict__first_time",
            "verdict__suket_until",
            "verdict__klass",
        )
    )
    out: dict[str, list[_Person]] = {str(klass): [] for klass, _, _ in LISTS}
    far = date.max
    for vid, village, rt, rw, name_key, first_time, suket_until, of in rows.iterator(
        chunk_size=_BATCH
    ):
        rank = RANK_FIRST_TIME if first_time else RANK_SUKET if suket_until else RANK_OTHER
        out[of].append(
            _Person(vid, village, rt, rw, rank, (suket_until or far, rw, rt, name_key, vid))
        )
    return out


def _points(region_code: str, offers: str) -> list[ServicePoint]:
    points = ServicePoint.objects.filter(is_active=True, **{offers: True}).exclude(
        kind=ServicePoint.Kind.MOBILE
    )
    found = list(points.select_related("office", "village"))
    if region_code:
        found = [p for p in found if p.regency_code == region_code]
    return found


def _point_place(
    point: ServicePoint, centroids: dict[str, tuple[float, float]]
) -> tuple[float, float] | None:
    if point.lat is not None and point.lon is not None:
        return point.lat, point.lon
    if point.village_id and str(point.village_id) in centroids:
        return centroids[str(point.village_id)]
    return None


class _SessionRow(NamedTuple):
    pk: int
    service_point_id: int
    starts_at: datetime
    ends_at: datetime
    invitation_capacity: int
    invitation_taken: int


def _sessions(
    points: list[ServicePoint],
    start: date,
    polling_day: date,
    ensured: set[int],
    earliest: datetime,
) -> dict[int, list[_SessionRow]]:
    """Each point's sessions from ``start`` to polling day starting at ``earliest`` or later,
    made from its calendar if needed (once per plan: ``ensured`` holds the points already seen
    to)."""
    missing = [p for p in points if p.pk not in ensured]
    if missing:
        sessions_ensure_many(
            service_points=missing, start=start, days=(polling_day - start).days + 1
        )
        ensured.update(p.pk for p in missing)
    out: dict[int, list[_SessionRow]] = defaultdict(list)
    rows = (
        Session.objects.filter(
            service_point__in=points,
            day__gte=start,
            day__lte=polling_day,
            starts_at__gte=earliest,
            closed=False,
        )
        .order_by("starts_at")
        .values_list(
            "pk",
            "service_point_id",
            "starts_at",
            "ends_at",
            "invitation_capacity",
            "invitation_taken",
        )
    )
    for row in rows.iterator(chunk_size=_BATCH):
        out[row[1]].append(_SessionRow(*row))
    return out


def invitations_to_come(session_ids: list[int]) -> dict[int, int]:
    """Live invitations in each of the sessions whose invitee has no number yet, by session id:
    the seats they hold besides the session's ``invitation_taken``. Checking in at the gate
    takes the invitee's number from the invitations' share (``invitation_taken`` + 1) while the
    invitation stays planned until the follow-up settles it, so counting it here too would hold
    two seats for one person. A number given back freed its seat for good: the gate refuses
    its invitation from then on."""
    numbered = Ticket.objects.filter(invitation_ref=OuterRef("reference")).exclude(
        invitation_ref=""  # lets the lookup use the partial unique index of invitation numbers
    )
    return _live_per_session(Invitation.objects.filter(~Exists(numbered)), session_ids)


def _live_per_session(invitations: QuerySet[Invitation], session_ids: list[int]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for lo in range(0, len(session_ids), _BATCH):
        rows = (
            invitations.filter(session_id__in=session_ids[lo : lo + _BATCH], state__in=LIVE)
            .values("session_id")
            .annotate(n=Count("id"))
        )
        counts.update({r["session_id"]: r["n"] for r in rows})
    return counts


def deadline_of(election: Election) -> datetime:
    """When the last useful session must end: the polls' close on polling day."""
    return local_datetime(election.polling_day, election.polls_close)


def plan_settings(election: Election, **options: Any) -> planner.Settings:
    """The planner's settings for ``election``: the options given (an explicit 0 no-show rate
    included), else the site's."""
    road = options.get("road_factor")
    no_show = options.get("no_show_rate")
    return planner.Settings(
        deadline=deadline_of(election),
        road_factor=float(road if road else settings.INVITATIONS_ROAD_FACTOR),
        no_show_rate=float(no_show if no_show is not None else settings.INVITATIONS_NO_SHOW_RATE),
    )


def _plan_list(
    election: Election,
    region_code: str,
    klass: str,
    service: str,
    offers: str,
    start: date,
    earliest: datetime,
    options: planner.Settings,
    taken: dict[int, int],
    ensured: set[int],
    everyone: dict[str, list[_Person]],
) -> ListResult:
    people = everyone[klass]
    groups: dict[tuple[str, int], list[_Person]] = defaultdict(list)
    for p in people:
        groups[(p.village, p.rank)].append(p)
    for members in groups.values():
        members.sort(key=lambda p: p.order)
    service_points = _points(region_code, offers)
    codes = {p.village for p in people} | {
        str(s.village_id) for s in service_points if s.village_id
    }
    centroids = _centroids(codes)
    counts: dict[str, list[int]] = defaultdict(lambda: [0] * RANKS)
    for (village, rank), members in groups.items():
        counts[village][rank] = len(members)
    villages = [
        planner.Village(code, code[:5], *centroids[code], tuple(n))
        for code, n in sorted(counts.items())
        if code in centroids
    ]
    by_point = _sessions(service_points, start, election.polling_day, ensured, earliest)
    # Invitees already numbered at the gate are in ``invitation_taken``: counted once.
    coming = invitations_to_come([s.pk for ss in by_point.values() for s in ss])
    points = []
    for sp in service_points:
        place = _point_place(sp, centroids)
        if place is None:
            continue
        slots = tuple(
            planner.Slot(
                s.pk,
                s.starts_at,
                s.ends_at,
                max(
                    0,
                    s.invitation_capacity
                    - s.invitation_taken
                    - coming.get(s.pk, 0)
                    - taken.get(s.pk, 0),
                ),
            )
            for s in by_point.get(sp.pk, [])
        )
        points.append(planner.Point(sp.pk, place[0], place[1], sp.kind, slots, sp.regency_code))
    best = planner.plan(villages, points, options)
    by_hand = planner.baseline(villages, points, options)
    return ListResult(
        service=service,
        villages=villages,
        plan=best,
        baseline=by_hand,
        points=points,
        people=dict(groups),
        sessions={s.pk: s for ss in by_point.values() for s in ss},
        point_names={sp.pk: sp.name for sp in service_points},
    )


# Mobile units


@dataclass
class _Units:
    """The mobile units of a plan: per regency its units (a service point, or ``None`` for one
    to be registered when the plan is sent) and the days each can work."""

    first_day: date
    days: int  # unit-days fall on first_day .. first_day + days - 1
    points: dict[str, list[ServicePoint | None]]
    free: dict[str, list[list[int]]]

    def unit_days(self) -> dict[str, int]:
        return {r: sum(len(d) for d in days) for r, days in self.free.items()}


def _units(regencies: set[str], n: int, first_day: date, last_day: date) -> _Units:
    """The first ``n`` active mobile points of each regency office (by code), and their days
    from ``first_day`` to ``last_day`` on which the crew works (the unit's weekly hours when it
    has any; holidays only when it opens on them) without a visit or a closure already."""
    days = max(0, (last_day - first_day).days + 1)
    offices = set(
        Office.objects.filter(kind=Office.Kind.REGENCY, region_id__in=regencies).values_list(
            "region_id", flat=True
        )
    )
    points: dict[str, list[ServicePoint | None]] = {}
    for r in sorted(offices):
        found: list[ServicePoint | None] = list(
            ServicePoint.objects.filter(
                office__region_id=r, kind=ServicePoint.Kind.MOBILE, is_active=True
            ).order_by("code")[:n]
        )
        points[r] = found + [None] * (n - len(found))
    known = [p.pk for ps in points.values() for p in ps if p is not None]
    busy: dict[int, set[date]] = defaultdict(set)
    window = {"day__gte": first_day, "day__lte": last_day}
    for pk, day in MobileVisit.objects.filter(service_point_id__in=known, **window).values_list(
        "service_point_id", "day"
    ):
        busy[pk].add(day)
    for pk, day in CalendarDay.objects.filter(
        service_point_id__in=known, is_open=False, **window
    ).values_list("service_point_id", "day"):
        busy[pk].add(day)
    weekdays: dict[int, set[int]] = defaultdict(set)
    for pk, weekday in OpeningHours.objects.filter(service_point_id__in=known).values_list(
        "service_point_id", "weekday"
    ):
        weekdays[pk].add(weekday)
    opened = set(
        CalendarDay.objects.filter(service_point_id__in=known, is_open=True, **window).values_list(
            "service_point_id", "day"
        )
    )
    for unit in (p for ps in points.values() for p in ps if p is not None):
        for d in range(days):
            day = first_day + timedelta(days=d)
            if (unit.pk, day) in opened:
                continue  # opened on purpose that day
            off_weekday = bool(weekdays[unit.pk]) and day.weekday() not in weekdays[unit.pk]
            off_holiday = holiday_name(day) and unit.holiday_opening == HolidayOpening.CLOSED
            if off_weekday or off_holiday:
                busy[unit.pk].add(day)
    free = {
        r: [
            [d for d in range(days) if p is None or first_day + timedelta(days=d) not in busy[p.pk]]
            for p in ps
        ]
        for r, ps in points.items()
    }
    return _Units(first_day=first_day, days=days, points=points, free=free)


def _unit_register(office: Office, n: int, acting_user: Any) -> ServicePoint:
    """A mobile unit for the office, based at its main point, kept for invitations."""
    base = (
        ServicePoint.objects.filter(office=office)
        .exclude(kind=ServicePoint.Kind.MOBILE)
        .order_by("kind", "code")
        .first()
    )
    code = f"{office.region_id}-KELILING-{n}"
    while ServicePoint.objects.filter(code=code).exists():
        n += 1
        code = f"{office.region_id}-KELILING-{n}"
    point = ServicePoint.objects.create(
        office=office,
        kind=ServicePoint.Kind.MOBILE,
        code=code,
        name=f"Layanan Keliling (Jemput Bola) {n} {office.region.display_name}",
        village=base.village if base else None,
        address=base.address if base else office.address,
        lat=base.lat if base else None,
        lon=base.lon if base else None,
        counters=1,
        offers_recording=True,
        offers_printing=False,
        offers_suket=False,
        offers_other=False,
        invitation_percent=100,
    )
    audit_record(
        acting_user=acting_user,
        action="service_point.create",
        obj=point,
        changes={"code": [None, code], "kind": [None, point.kind]},
        reason="Unit layanan keliling untuk rencana undangan",
    )
    return point


def _visits_write(
    schedule: list[planner.UnitDay], units: _Units, per_day: int, acting_user: Any
) -> tuple[dict[tuple[str, int, str], list[_SessionRow]], dict[tuple[str, int], str]]:
    """Each unit-day as a visit of the unit's point with its sessions sharing ``per_day``
    seats, all kept for invitations. Returns the sessions per (regency, unit, village) and
    each unit's point name."""
    offices = {
        o.region_id: o
        for o in Office.objects.filter(region_id__in=set(units.points)).select_related("region")
    }
    regions = Region.objects.select_related("parent").in_bulk(
        {u.village for u in schedule}, field_name="code"
    )
    made: dict[tuple[str, int], ServicePoint] = {}
    visits: list[tuple[planner.UnitDay, MobileVisit]] = []
    for u in schedule:
        point = made.get((u.regency, u.unit)) or units.points[u.regency][u.unit]
        if point is None:
            point = _unit_register(offices[u.regency], u.unit + 1, acting_user)
        made[(u.regency, u.unit)] = point
        village = regions[u.village]
        district = f", Kecamatan {village.parent.name}" if village.parent else ""
        visits.append(
            (
                u,
                mobile_visit_add(
                    service_point=point,
                    day=units.first_day + timedelta(days=u.day),
                    opens_at=MOBILE_OPENS,
                    closes_at=MOBILE_CLOSES,
                    place_kind=MobileVisit.Place.VILLAGE,
                    place_name=f"Balai Desa {village.name}",
                    village=village,
                    address=f"{village.name}{district}",
                ),
            )
        )
    if visits:
        first = min(v.day for _, v in visits)
        last = max(v.day for _, v in visits)
        sessions_ensure_many(
            service_points=list(made.values()), start=first, days=(last - first).days + 1
        )
    by_visit: dict[int, list[Session]] = defaultdict(list)
    for s in Session.objects.filter(visit__in=[v for _, v in visits]).order_by("starts_at"):
        by_visit[s.visit_id or 0].append(s)
    out: dict[tuple[str, int, str], list[_SessionRow]] = defaultdict(list)
    changed: list[Session] = []
    for u, visit in visits:
        sessions = by_visit.get(visit.pk, [])
        for s, seats in zip(sessions, planner.split_seats(per_day, len(sessions)), strict=True):
            # A unit-day serves its people a day, all of them invited.
            s.capacity = s.invitation_capacity = seats
            changed.append(s)
            out[(u.regency, u.unit, u.village)].append(
                _SessionRow(s.pk, s.service_point_id, s.starts_at, s.ends_at, seats, 0)
            )
    Session.objects.bulk_update(changed, ["capacity", "invitation_capacity"], batch_size=500)
    return dict(out), {key: p.name for key, p in made.items()}


def _mobile_visits_fixed(part: dict[str, Any], units: _Units) -> list[planner.UnitDay]:
    """The approved preview's unit-days that are still free."""
    out = []
    for v in part.get("visits", []):
        day = (date.fromisoformat(v["day"]) - units.first_day).days
        unit = int(v["unit"]) - 1
        free = units.free.get(v["regency"], [])
        if unit < len(free) and day in free[unit]:
            out.append(planner.UnitDay(v["regency"], unit, day, v["village"]))
    return out


def _with_mobile_units(
    result: ListResult,
    *,
    options: planner.Settings,
    region_code: str,
    units_n: int,
    per_day: int,
    start: date,
    polling_day: date,
    write: bool,
    approved: dict[str, Any] | None,
    acting_user: Any,
) -> None:
    """Place the mobile units for ``result``'s list and plan again with their visits. Preview:
    visits as points of their own; written: as visits and sessions in the database. With
    ``approved`` (the preview's mobile part), its visits are used instead of a new placement."""
    regencies = {region_code} if region_code else {v.regency for v in result.villages}
    # Unit-days from the first day to the day before polling day (a full working day each).
    units = _units(regencies, units_n, start, polling_day - timedelta(days=1))
    placement: planner.MobilePlacement | None = None
    if approved is not None:
        # Villages whose voters were all invited meanwhile (by another plan) get no visit.
        listed = {v.code for v in result.villages}
        schedule = [u for u in _mobile_visits_fixed(approved, units) if u.village in listed]
    elif units.days > 0 and result.villages:
        placement = planner.place_mobile_units(
            result.villages,
            result.points,
            options,
            units=dict.fromkeys(units.points, units_n),
            per_day=per_day,
            days=units.days,
            unit_days=units.unit_days(),
            time_limit_s=MOBILE_TIME_LIMIT_S,
        )
        schedule = planner.schedule_visits(placement, result.villages, units.free)
    else:
        schedule = []
    labels: dict[tuple[str, int], str] = {}
    if write:
        rows, labels = _visits_write(schedule, units, per_day, acting_user)
        where = {v.code: v for v in result.villages}
        extra: list[planner.Point] = []
        for (regency, _unit, code), sessions in sorted(rows.items()):
            result.sessions.update({s.pk: s for s in sessions})
            slots = tuple(
                planner.Slot(s.pk, s.starts_at, s.ends_at, s.invitation_capacity) for s in sessions
            )
            v = where[code]
            extra.append(planner.Point(-(len(extra) + 1), v.lat, v.lon, "mobile", slots, regency))
    else:
        extra = planner.mobile_points(
            result.villages,
            schedule,
            per_day=per_day,
            first_day=local_datetime(units.first_day, MOBILE_OPENS),
            first_id=_PREVIEW_SLOTS,
            sessions_per_day=MOBILE_SESSIONS,
        )
    result.extra_points = extra
    result.final = planner.plan(result.villages, result.points + extra, options)
    names = dict(
        Region.objects.filter(code__in={u.village for u in schedule}).values_list("code", "name")
    )
    for r, ps in units.points.items():
        for n, p in enumerate(ps):
            labels.setdefault((r, n), p.name if p else f"Unit baru {n + 1} ({r})")
    mobile: dict[str, Any] = {
        "units": units_n,
        "per_day": per_day,
        "unit_days": len(schedule),
        "unit_days_free": sum(units.unit_days().values()),
        "visits": [
            {
                "day": (units.first_day + timedelta(days=u.day)).isoformat(),
                "regency": u.regency,
                "unit": u.unit + 1,
                "unit_name": labels.get((u.regency, u.unit), ""),
                "village": u.village,
                "village_name": names.get(u.village, ""),
            }
            for u in sorted(schedule, key=lambda u: (u.day, u.regency, u.unit))
        ],
        "plan": _figures(result.final),
        "shortfall": result.final.shortfall_by_regency(result.villages),
    }
    if approved is not None:
        for key in ("solver", "status", "gap", "bound_gap", "seconds"):
            if key in approved:
                mobile[key] = approved[key]
    elif placement is not None:
        mobile |= {
            "solver": placement.solver,
            "status": placement.status,
            "gap": placement.gap,
            "bound_gap": placement.objective - placement.bound,
            "seconds": round(placement.seconds, 3),
        }
    result.mobile = mobile


def _figures(p: planner.Plan) -> dict[str, Any]:
    return {
        "invitees": p.invitees,
        "served": p.served,
        "total_km": round(p.total_km, 1),
        "mean_km": round(p.mean_km, 3),
        "sessions_full": p.slots_full,
        "sessions": len(p.slot_seats),
        "seconds": round(p.solve_seconds, 3),
    }


_COLUMNS = (
    "run_id",
    "election_id",
    "voter_id",
    "village_id",
    "rt",
    "rw",
    "service",
    "rank",
    "service_point_id",
    "session_id",
    "starts_at",
    "ends_at",
    "km",
    "state",
    "reference",
    "created_at",
)


# SQLite's page cache while writing invitations: their random references and nine other indexes
# make each row touch pages all over the indexes, which the default 2 MB cache keeps rereading
# (500,000 rows into an empty table on this machine: 34 s with it, 22 s with this one).
_SQLITE_WRITE_CACHE_KB = 256 * 1024


@contextmanager
def _sqlite_cache() -> Iterator[None]:
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cur:
        cur.execute("PRAGMA cache_size")
        before = cur.fetchone()[0]
        cur.execute(f"PRAGMA cache_size = -{_SQLITE_WRITE_CACHE_KB}")
    try:
        yield
    finally:
        with connection.cursor() as cur:
            cur.execute(f"PRAGMA cache_size = {int(before)}")


def _write(run: PlanRun, result: ListResult, first: int) -> int:
    """Every invitation of the plan, in batches of one multi-row statement each (no model
    instances: at a province's scale those cost more than the database's own work). ``first``
    counts the run's invitations written before these."""
    with _sqlite_cache():
        return _write_rows(run, result, first)


def _write_rows(run: PlanRun, result: ListResult, first: int) -> int:
    ops = connection.ops
    table = connection.ops.quote_name(Invitation._meta.db_table)
    names = ", ".join(connection.ops.quote_name(c) for c in _COLUMNS)
    now = ops.adapt_datetimefield_value(timezone.now())
    cursor_at: dict[tuple[str, int], int] = defaultdict(int)
    rows: list[tuple[Any, ...]] = []
    written = 0

    def flush() -> None:
        if not rows:
            return
        if connection.vendor == "postgresql":
            # COPY: one stream, no statement to parse per batch (ten times faster than INSERT).
            with connection.cursor() as cur:
                raw = cur.cursor
                with raw.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            return
        marks = ", ".join(["(" + ", ".join(["%s"] * len(_COLUMNS)) + ")"] * len(rows))
        with connection.cursor() as cur:
            cur.execute(
                f"INSERT INTO {table} ({names}) VALUES {marks}", [v for r in rows for v in r]
            )

    for a in result.written_plan.assignments:
        members = result.people[(a.village, a.rank)]
        start = cursor_at[(a.village, a.rank)]
        cursor_at[(a.village, a.rank)] = start + a.count
        s = result.sessions[a.slot]
        starts = ops.adapt_datetimefield_value(s.starts_at)
        ends = ops.adapt_datetimefield_value(s.ends_at)
        for person in members[start : start + a.count]:
            rows.append(
                (
                    run.pk,
                    run.election_id,
                    person.voter_id,
                    person.village,
                    person.rt,
                    person.rw,
                    result.service,
                    person.rank,
                    s.service_point_id,
                    s.pk,
                    starts,
                    ends,
                    a.km,
                    Invitation.State.PLANNED.value,
                    # The run and a count first, so each run's references append to the
                    # unique index instead of landing all over it; a random tail (a token is
                    # signed anyway: a guessed reference checks nobody in).
                    f"{run.pk:08x}{first + written + len(rows):08x}{secrets.token_hex(4)}",
                    now,
                )
            )
            if len(rows) >= _INSERT_ROWS:
                flush()
                written += len(rows)
                rows = []
    flush()
    return written + len(rows)


def plan_jurisdiction(election: Election, region_code: str) -> str:
    """The region a plan covers, for access checks: its regency/city, else the province of
    the election's regions (a regency's staff may not plan or approve the whole province)."""
    if region_code:
        return region_code
    first = election.regions.values_list("code", flat=True).order_by("code").first()
    return str(first).split(".")[0] if first else ""


def plan_run_create(
    *,
    election: Election,
    region_code: str,
    acting_user: Any,
    dry_run: bool = False,
    start: date | None = None,
    road_factor: float | None = None,
    no_show_rate: float | None = None,
    mobile_units: int = 0,
    mobile_per_day: int = MOBILE_PER_DAY,
) -> PlanRun:
    """A queued planning of ``election`` for ``region_code`` ("" for the province), with
    ``mobile_units`` units per regency serving ``mobile_per_day`` people a day (0: none).
    Admins plan: a dry run is a preview waiting for the approval of someone else (a supervisor
    or another admin); otherwise the run plans, approves and sends in one go, so its maker must
    be allowed to approve too (the command's exception to four eyes, audited as such)."""
    if mobile_units < 0 or (mobile_units and mobile_per_day < 1):
        raise ValueError("mobile units and their people a day must be positive")
    check_region(region_code, election)
    if acting_user is not None:
        where = plan_jurisdiction(election, region_code) or None
        access.require(acting_user, Action.PLAN_INVITATIONS, where)
        if not dry_run:
            access.require(acting_user, Action.APPROVE, where)
    start = start or clock.today() + timedelta(days=1)
    check_start(election, start)
    run = PlanRun.objects.create(
        election=election,
        region_code=region_code,
        dry_run=dry_run,
        created_by=acting_user if getattr(acting_user, "pk", None) else None,
        options={
            "start": start.isoformat(),
            "road_factor": road_factor,
            "no_show_rate": no_show_rate,
            "mobile_units": mobile_units,
            "mobile_per_day": mobile_per_day,
        },
    )
    audit_record(acting_user=acting_user, action="invitation_plan_create", obj=run)
    return run


Progress = Callable[[int, str], None]


def _stepper(run: PlanRun, progress: Progress | None) -> Progress:
    def step(percent: int, text: str) -> None:
        PlanRun.objects.filter(pk=run.pk).update(progress=percent, step=text)
        if progress:
            progress(percent, text)

    return step


def _plan_lists(
    run: PlanRun, *, write: bool, acting_user: Any, step: Progress, lo: int, hi: int
) -> dict[str, Any]:
    """Plan both lists and, when ``write``, the mobile units' visits and every invitation, in
    one transaction holding the election's row, so two plans of one election sent at once
    take turns instead of booking the same seats or voters. Returns the summary."""
    election = run.election
    options = plan_settings(election, **run.options)
    # Never a session that has begun (or begins too soon to be told of): at the preview and
    # again when sending, which may be days after the stored first day.
    earliest = earliest_session_start()
    start = max(date.fromisoformat(run.options["start"]), timezone.localdate(earliest))
    # A unit-day is a whole working day: the first one starts at opening time after earliest.
    units_start = start + timedelta(days=int(local_datetime(start, MOBILE_OPENS) < earliest))
    units_n = int(run.options.get("mobile_units") or 0)
    per_day = int(run.options.get("mobile_per_day") or MOBILE_PER_DAY)
    # An approved preview's mobile visits, when this run is that preview being sent.
    approved = run.summary if write and run.approved_at and run.summary else None
    summary: dict[str, Any] = {}
    span = (hi - lo) // len(LISTS)
    with transaction.atomic() if write else nullcontext():
        if write:
            Election.objects.select_for_update().filter(pk=election.pk).first()
        taken: dict[int, int] = {}
        ensured: set[int] = set()
        written = 0
        step(lo, "Membaca daftar pemilih")
        everyone = _people(election, run.region_code)
        for k, (klass, service, offers) in enumerate(LISTS):
            step(lo + span * k, f"Merencanakan: {_LIST_STEPS[service]}")
            result = _plan_list(
                election,
                run.region_code,
                klass,
                service,
                offers,
                start,
                earliest,
                options,
                taken,
                ensured,
                everyone,
            )
            if service == Invitation.Service.RECORDING and units_n > 0:
                step(lo + span * k + span // 3, "Menempatkan layanan keliling")
                _with_mobile_units(
                    result,
                    options=options,
                    region_code=run.region_code,
                    units_n=units_n,
                    per_day=per_day,
                    start=units_start,
                    polling_day=election.polling_day,
                    write=write,
                    approved=(approved or {}).get(service, {}).get("mobile") if approved else None,
                    acting_user=acting_user,
                )
            summary[service] = _list_summary(result)
            if write:
                step(lo + span * k + 2 * span // 3, f"Menulis undangan {klass}")
                summary[service]["written"] = _write(run, result, written)
                written += summary[service]["written"]
            else:
                # Nothing written: the next list must still see these seats as taken.
                for sid, n in result.written_plan.slot_load.items():
                    taken[sid] = taken.get(sid, 0) + n
        if write:
            # In the same transaction as the invitations: a run holding invitations is sent.
            run.preview = run.summary if approved else {}
            run.summary, run.dry_run, run.sent_at = summary, False, timezone.now()
            run.save(update_fields=["preview", "summary", "dry_run", "sent_at"])
    return summary


def _list_summary(result: ListResult) -> dict[str, Any]:
    plan = result.plan
    shortfall = plan.shortfall_by_regency(result.villages)
    seats = [n for n in plan.slot_seats.values() if n]
    per_session = round(sum(seats) / len(seats)) if seats else 0
    final = result.written_plan
    part: dict[str, Any] = {
        "plan": _figures(plan) | {"gap": plan.gap},
        "baseline": _figures(result.baseline),
        "shortfall": shortfall,
        "sessions_to_close_gap": plan.sessions_to_close_gap(per_session),
        # For the map: village -> [invitees, left out by the plan written].
        "villages": {v.code: [v.total, final.unserved.get(v.code, 0)] for v in result.villages},
        # Offices' points used (mobile units are drawn at the villages they visit).
        "points": sorted({a.point for a in final.assignments if a.point > 0}),
    }
    if result.mobile is not None:
        part["mobile"] = result.mobile
    part["load"] = _load_by_day(result)
    return part


def _load_by_day(result: ListResult) -> dict[str, Any]:
    """The written plan's invitations per service point and day, for the preview: ``days``
    (ISO dates with any invitation) and per point its name and a count per day; the mobile
    units' visits together as point 0 with no name."""
    day_of = {
        slot.id: timezone.localdate(slot.starts_at)
        for point in (*result.points, *result.extra_points)
        for slot in point.slots
    }
    load: dict[int, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for a in result.written_plan.assignments:
        load[max(a.point, 0)][day_of[a.slot]] += a.count
    days = sorted({d for per_day in load.values() for d in per_day})
    rows = [
        {
            "point": point,
            "name": result.point_names.get(point, ""),
            "counts": [per_day.get(d, 0) for d in days],
        }
        for point, per_day in load.items()
    ]
    # Offices by name, the mobile units last.
    rows.sort(key=lambda r: (r["point"] == 0, r["name"]))
    return {"days": [d.isoformat() for d in days], "rows": rows}


def _failed(run: PlanRun, exc: Exception) -> None:
    run.status, run.error = PlanRun.Status.FAILED, str(exc)[:2000]
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "error", "finished_at"])


def plan_run_execute(
    *, run: PlanRun, acting_user: Any, progress: Progress | None = None
) -> PlanRun:
    """Plan both lists and compare with the by-hand baseline. A dry run stops there (a preview
    waiting for approval); otherwise the run is approved by ``acting_user`` (the system when
    ``None``) and sent at once, its approval recorded as made without a second person."""
    step = _stepper(run, progress)
    run.status = PlanRun.Status.RUNNING
    run.save(update_fields=["status"])
    if not run.dry_run:
        _approved(run, acting_user, reason=APPROVED_IN_ONE_GO)
        run.status = PlanRun.Status.SENDING
        run.save(update_fields=["status"])
        return _send(run, acting_user, step)
    try:
        summary = _plan_lists(run, write=False, acting_user=acting_user, step=step, lo=10, hi=90)
    except Exception as exc:
        _failed(run, exc)
        raise
    return _finished(
        run,
        summary,
        PlanRun.Status.DONE,
        acting_user=acting_user,
        action="invitation_plan_done",
        changes={s: [None, v["plan"]["served"]] for s, v in summary.items()},
    )


def _finished(
    run: PlanRun,
    summary: dict[str, Any],
    status: str,
    *,
    acting_user: Any,
    action: str,
    changes: dict[str, list[Any]],
) -> PlanRun:
    """Store a run's outcome and record it."""
    run.summary = summary
    run.status, run.progress, run.step = status, 100, ""
    run.finished_at = timezone.now()
    run.save(update_fields=["summary", "status", "progress", "step", "finished_at"])
    audit_record(acting_user=acting_user, action=action, obj=run, changes=changes)
    return run


def _approved(run: PlanRun, acting_user: Any, *, reason: str = "") -> None:
    run.approved_by = acting_user if getattr(acting_user, "pk", None) else None
    run.approved_at = timezone.now()
    run.save(update_fields=["approved_by", "approved_at"])
    audit_record(
        acting_user=acting_user,
        action="invitation_plan_approve",
        obj=run,
        changes={"approved_at": [None, run.approved_at.isoformat()]},
        reason=reason,
    )


def plan_invitees(summary: dict[str, Any]) -> int:
    """People a previewed plan invites, over both lists (with the mobile units when placed)."""
    return sum((part.get("mobile") or part)["plan"]["served"] for part in summary.values())


def regions_overlap(a: str, b: str) -> bool:
    """Whether two plans' regions share villages ("" is the whole election)."""
    return not a or not b or a == b or a.startswith(b + ".") or b.startswith(a + ".")


def _sent_since(run: PlanRun) -> PlanRun | None:
    """A plan of the same election and region sent after ``run``'s preview was made."""
    since = run.finished_at or run.created_at
    for other in PlanRun.objects.filter(election=run.election, sent_at__gt=since).exclude(
        pk=run.pk
    ):
        if regions_overlap(other.region_code, run.region_code):
            return other
    return None


def plan_run_approve(*, run: PlanRun, acting_user: Any, public_url: str | None = None) -> PlanRun:
    """A supervisor or admin of the plan's region other than the preview's maker (four eyes)
    approves a finished preview: it is queued to be sent (:func:`plan_run_send`, a background
    task on the planning page), its messages linking to ``public_url`` (default
    ``INVITATIONS_PUBLIC_URL``). A preview made before another plan for the same voters was
    sent is out of date and refused."""
    access.require(acting_user, Action.APPROVE, plan_jurisdiction(run.election, run.region_code))
    with transaction.atomic():
        locked = PlanRun.objects.select_for_update().get(pk=run.pk)
        if locked.approved_at is not None:
            raise PlanRefused("Rencana undangan ini sudah disetujui.")
        if not locked.dry_run or locked.status != PlanRun.Status.DONE:
            raise PlanRefused("Hanya pratinjau yang sudah selesai dapat disetujui.")
        if made_by(locked, acting_user):
            raise PlanRefused(SELF_APPROVAL_REFUSED)
        if not plan_invitees(locked.summary):
            raise PlanRefused("Pratinjau ini tidak mengundang siapa pun: tidak ada yang disetujui.")
        if (newer := _sent_since(locked)) is not None:
            raise PlanRefused(
                f"Sejak pratinjau ini dibuat, rencana #{newer.pk} untuk wilayah yang sama sudah "
                "dikirim. Buat pratinjau baru."
            )
        _approved(locked, acting_user)
        locked.status, locked.progress, locked.step = PlanRun.Status.APPROVED, 0, ""
        if public_url is not None:
            locked.options = {**locked.options, "public_url": public_url}
        locked.save(update_fields=["status", "progress", "step", "options"])
    return locked


def plan_run_send(*, run: PlanRun, progress: Progress | None = None) -> PlanRun:
    """Send an approved preview: plan again with its mobile-unit visits against the seats and
    invitations of now, write the visits and invitations, put the messages in the outbox. Acts
    for the approver. A second delivery of the same task finds the run no longer approved and
    does nothing."""
    claimed = PlanRun.objects.filter(pk=run.pk, status=PlanRun.Status.APPROVED).update(
        status=PlanRun.Status.SENDING
    )
    run.refresh_from_db()
    if not claimed:
        return run
    return _send(run, run.approved_by, _stepper(run, progress))


def _send(run: PlanRun, acting_user: Any, step: Progress) -> PlanRun:
    try:
        summary = _plan_lists(run, write=True, acting_user=acting_user, step=step, lo=5, hi=60)
        for service, n in _messages(run, acting_user, step, lo=60, hi=99).items():
            summary[service]["messages"] = n
    except Exception as exc:
        _failed(run, exc)
        raise
    return _finished(
        run,
        summary,
        PlanRun.Status.SENT,
        acting_user=acting_user,
        action="invitation_plan_send",
        changes={
            "written": [None, sum(summary[service].get("written", 0) for _, service, _ in LISTS)],
            "messages": [None, sum(summary[service]["messages"] for _, service, _ in LISTS)],
        },
    )


def _messages(
    run: PlanRun, acting_user: Any, step: Progress, *, lo: int, hi: int
) -> dict[str, int]:
    """Every written invitation's message in the outbox (recording and card pick-up), a chunk
    per transaction and batch (sending again puts nothing twice: each message's key is its
    invitation's reference). Returns the messages per list."""
    from .invites import invitations_send  # invites imports this module

    # Only invitees matched to a registry entry can be messaged: the others are not loaded.
    ids = list(
        Invitation.objects.filter(
            run=run, state=Invitation.State.PLANNED, voter__verdict__resident__isnull=False
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    sent: dict[str, int] = {str(service): 0 for _, service, _ in LISTS}
    for k in range(0, len(ids), _MESSAGE_CHUNK):
        step(lo + (hi - lo) * k // max(1, len(ids)), "Mengirim pesan undangan")
        chunk = list(
            Invitation.objects.filter(pk__in=ids[k : k + _MESSAGE_CHUNK]).select_related(
                "service_point", "session__visit"
            )
        )
        with transaction.atomic():
            for service in sent:
                invitations = [i for i in chunk if i.service == service]
                if invitations:
                    sent[service] += invitations_send(
                        invitations=invitations,
                        acting_user=acting_user,
                        public_url=run.options.get("public_url"),
                    )
    return sent
