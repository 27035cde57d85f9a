"""Planning invitations: read the worklists and the queue's sessions, solve, write invitations.

Two lists are planned one after the other into the same sessions' invitation seats: voters who
have not recorded (to a point that records), then voters whose card is print ready (to a point
that prints). A session's seats for a plan are its invitations' share less the invitations
already written to it, so planning again never books a seat twice.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from rekam.accounts import access
from rekam.accounts.access import Action
from rekam.antrean.models import Session
from rekam.antrean.services import local_datetime, sessions_ensure_many
from rekam.audit.services import audit_record
from rekam.elections.models import Election
from rekam.regions.models import Region
from rekam.servicepoints.models import ServicePoint
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
_BATCH = 5_000
# Rows per INSERT (16 columns x 500 stays under SQLite's 32,766 parameters) or per COPY.
_INSERT_ROWS = 500


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
    plan: planner.Plan
    baseline: planner.Plan
    people: dict[tuple[str, int], list[_Person]] = field(default_factory=dict)
    sessions: dict[int, Any] = field(default_factory=dict)


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


def _people(election: Election, region_code: str, klass: str) -> list[_Person]:
    q = Q(election=election, removed_in__isnull=True, verdict__klass=klass)
    if region_code:
        q &= Q(regency_id=region_code)
    rows = Voter.objects.filter(q).values_list(
        "id", "village_id", "rt", "rw", "name_key", "verdict__first_time", "verdict__suket_until"
    )
    out = []
    far = date.max
    for vid, village, rt, rw, name_key, first_time, suket_until in rows.iterator(chunk_size=_BATCH):
        rank = RANK_FIRST_TIME if first_time else RANK_SUKET if suket_until else RANK_OTHER
        out.append(_Person(vid, village, rt, rw, rank, (suket_until or far, rw, rt, name_key, vid)))
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
    points: list[ServicePoint], start: date, polling_day: date
) -> dict[int, list[_SessionRow]]:
    """Each point's sessions from ``start`` to polling day, made from its calendar if needed."""
    sessions_ensure_many(service_points=points, start=start, days=(polling_day - start).days + 1)
    out: dict[int, list[_SessionRow]] = defaultdict(list)
    rows = (
        Session.objects.filter(service_point__in=points, day__gte=start, day__lte=polling_day)
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


def _booked(session_ids: list[int]) -> dict[int, int]:
    live = (Invitation.State.PLANNED, Invitation.State.ATTENDED)
    booked: dict[int, int] = {}
    for lo in range(0, len(session_ids), _BATCH):
        rows = (
            Invitation.objects.filter(session_id__in=session_ids[lo : lo + _BATCH], state__in=live)
            .values("session_id")
            .annotate(n=Count("id"))
        )
        booked.update({r["session_id"]: r["n"] for r in rows})
    return booked


def plan_settings(election: Election, **options: Any) -> planner.Settings:
    deadline = local_datetime(election.polling_day, election.polls_close)
    return planner.Settings(
        deadline=deadline,
        road_factor=float(options.get("road_factor") or settings.INVITATIONS_ROAD_FACTOR),
        no_show_rate=float(options.get("no_show_rate") or settings.INVITATIONS_NO_SHOW_RATE),
    )


def _plan_list(
    election: Election,
    region_code: str,
    klass: str,
    offers: str,
    start: date,
    options: planner.Settings,
    taken: dict[int, int],
) -> ListResult:
    people = _people(election, region_code, klass)
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
    by_point = _sessions(service_points, start, election.polling_day)
    booked = _booked([s.pk for ss in by_point.values() for s in ss])
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
                    - booked.get(s.pk, 0)
                    - taken.get(s.pk, 0),
                ),
            )
            for s in by_point.get(sp.pk, [])
        )
        points.append(planner.Point(sp.pk, place[0], place[1], sp.kind, slots, sp.regency_code))
    best = planner.plan(villages, points, options)
    by_hand = planner.baseline(villages, points, options)
    return ListResult(
        service="",
        villages=villages,
        plan=best,
        baseline=by_hand,
        people=dict(groups),
        sessions={s.pk: s for ss in by_point.values() for s in ss},
    )


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


def _write(run: PlanRun, result: ListResult) -> int:
    """Every invitation of the plan, in batches of one multi-row statement each (no model
    instances: at a province's scale those cost more than the database's own work)."""
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

    for a in result.plan.assignments:
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
                    secrets.token_hex(12),
                    now,
                )
            )
            if len(rows) >= _INSERT_ROWS:
                flush()
                written += len(rows)
                rows = []
    flush()
    return written + len(rows)


def plan_run_create(
    *,
    election: Election,
    region_code: str,
    acting_user: Any,
    dry_run: bool = False,
    start: date | None = None,
    road_factor: float | None = None,
    no_show_rate: float | None = None,
) -> PlanRun:
    """A queued planning of ``election`` for ``region_code`` ("" for the province)."""
    if acting_user is not None:
        access.require(
            acting_user,
            Action.VIEW_REPORTS if dry_run else Action.PLAN_INVITATIONS,
            region_code or None,
        )
    run = PlanRun.objects.create(
        election=election,
        region_code=region_code,
        dry_run=dry_run,
        created_by=acting_user if getattr(acting_user, "pk", None) else None,
        options={
            "start": (start or timezone.localdate() + timedelta(days=1)).isoformat(),
            "road_factor": road_factor,
            "no_show_rate": no_show_rate,
        },
    )
    audit_record(acting_user=acting_user, action="invitation_plan_create", obj=run)
    return run


def plan_run_execute(
    *, run: PlanRun, acting_user: Any, progress: Callable[[int, str], None] | None = None
) -> PlanRun:
    """Plan both lists, compare with the by-hand baseline and (unless a dry run) write the
    invitations, in one transaction."""

    def step(percent: int, text: str) -> None:
        PlanRun.objects.filter(pk=run.pk).update(progress=percent, step=text)
        if progress:
            progress(percent, text)

    run.status = PlanRun.Status.RUNNING
    run.save(update_fields=["status"])
    election = run.election
    options = plan_settings(election, **run.options)
    start = date.fromisoformat(run.options["start"])
    summary: dict[str, Any] = {}
    try:
        with transaction.atomic():
            taken: dict[int, int] = {}
            for k, (klass, service, offers) in enumerate(LISTS):
                step(10 + 40 * k, f"Merencanakan {klass}")
                result = _plan_list(election, run.region_code, klass, offers, start, options, taken)
                result.service = service
                shortfall = result.plan.shortfall_by_regency(result.villages)
                seats = [n for n in result.plan.slot_seats.values() if n]
                per_session = round(sum(seats) / len(seats)) if seats else 0
                summary[service] = {
                    "plan": _figures(result.plan) | {"gap": result.plan.gap},
                    "baseline": _figures(result.baseline),
                    "shortfall": shortfall,
                    "sessions_to_close_gap": result.plan.sessions_to_close_gap(per_session),
                    # For the map: village -> [invitees, left out].
                    "villages": {
                        v.code: [v.total, result.plan.unserved.get(v.code, 0)]
                        for v in result.villages
                    },
                    "points": sorted({a.point for a in result.plan.assignments}),
                }
                if run.dry_run:
                    # Nothing written: the next list must still see these seats as taken.
                    for sid, n in result.plan.slot_load.items():
                        taken[sid] = taken.get(sid, 0) + n
                else:
                    step(30 + 40 * k, f"Menulis undangan {klass}")
                    summary[service]["written"] = _write(run, result)
    except Exception as exc:
        run.status, run.error = PlanRun.Status.FAILED, str(exc)[:2000]
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "error", "finished_at"])
        raise
    run.summary = summary
    run.status, run.progress, run.step = PlanRun.Status.DONE, 100, ""
    run.finished_at = timezone.now()
    run.save(update_fields=["summary", "status", "progress", "step", "finished_at"])
    audit_record(
        acting_user=acting_user,
        action="invitation_plan_done",
        obj=run,
        changes={s: [None, v["plan"]["served"]] for s, v in summary.items()},
    )
    return run


def deadline_of(election: Election) -> datetime:
    return local_datetime(election.polling_day, election.polls_close)
