"""Invitation planner benchmark: ``python -m bench invitations [--scale S] [--seed N]``.

The reference Lampung 2020 scenario, grouped as the planner sees it: the 1,472 villages with
coordinates in the 8 regencies/cities that held the 2020 Pilkada (Bandar Lampung, Metro,
Lampung Selatan, Lampung Tengah, Lampung Timur, Way Kanan, Pesawaran, Pesisir Barat), real
centroids from ``data/regions/lampung``, and 146,168 x S invitees: each regency/city's real
2020 unrecorded voters (``data/elections/pilkada_2020_lampung.csv``; Lampung Tengah alone has
63,973), spread over its villages with deterministic log-normal weights (10 % first-time
voters, 5 % Suket holders). Service points: each of the
131 kecamatan offices (2 counters) at its kecamatan's centroid and each of the 8 regency/city
offices (5 counters) at its regency's; 10 minutes per recording, hourly sessions of at most 20,
open daily 08:00-16:00 from 26 Nov to 9 Dec 2020; polls close 9 Dec 13:00; road factor 1.3.

Timed in the same run: the bare OR-Tools min-cost flow on the same grouped instance (villages
to points, with an unserved arc, nothing else), the planner (distances, fairness second solve
when short, dual bound, sessions in time order) and the by-hand baseline. Prints served before
the deadline, total and mean km per person, sessions at capacity, the optimality gap, the
ratio planner / bare, and the peak memory of this process.

``--large``: instead, a synthetic country of 100 regencies (a 10 x 10 grid of 0.5-degree
squares over southern Sumatra's latitudes, provinces "91" and "92" of 50 each), each with 12
kecamatan (centre uniform in the square, a kecamatan office of 2 counters there) of 10 villages
(centroids normal around the kecamatan's centre, 0.04 degrees, kept in the square) and a
regency office of 5 counters at its centre; 1,500,000 x S invitees over the 12,000 villages with
the same log-normal weights and ranks, the same sessions and deadline.

With ``--database-url URL`` instead: a fresh database at URL (SQLite file, or a PostgreSQL
database this drops and creates) set up untimed with the same regions, points and voters, then
in a separate process the whole plan timed end to end as ``rekam plan_invitations`` without
``--dry-run`` does it (worklists read, sessions made, both lists solved, mobile units placed
and their visits written when ``--mobile`` > 0, approved as the system, every invitation
written, messages put in the outbox), with that process's peak memory.

``--letters N``: invitation letters per second (a fresh SQLite database under ``var/bench/``,
N invitations planned in 10 villages of Bandar Lampung), with the Suket benchmark's ratio
method: a bare ReportLab page of the same text with a QR of a random payload of the same length,
rendered in alternating rounds with the letters so that other load slows both alike.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import random
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import numpy as np
from ortools.graph.python import min_cost_flow

from rekam.invitations import planner

if TYPE_CHECKING:
    from django.db.models import Model

PROJECT = Path(__file__).resolve().parent.parent
REGIONS = PROJECT / "data" / "regions" / "lampung"
ELECTION_FIGURES = PROJECT / "data" / "elections" / "pilkada_2020_lampung.csv"
BENCH_SLUG = "bench-invitations"
PUBLIC_URL = "https://rekam.example.go.id"  # letters carry the reschedule link and its QR
PILKADA_2020 = {"18.01", "18.02", "18.07", "18.08", "18.09", "18.13", "18.71", "18.72"}
INVITEES = 146_168
JAKARTA = ZoneInfo("Asia/Jakarta")
FIRST_DAY = datetime(2020, 11, 26, tzinfo=JAKARTA)
DAYS = 14
POLLS_CLOSE = datetime(2020, 12, 9, 13, 0, tzinfo=JAKARTA)


def _seats(counters: int) -> int:
    return min(counters * 60 // 10, 20)


def scenario(scale: float, seed: int) -> tuple[list[planner.Village], list[planner.Point]]:
    rng = random.Random(seed)
    rows = [
        r
        for r in csv.DictReader((REGIONS / "lampung_villages.csv").open())
        if r["district_code"][:5] in PILKADA_2020 and r["lat"] and r["lon"]
    ]
    weights = [rng.lognormvariate(0, 0.8) for _ in rows]
    # Each regency/city's invitees are its real 2020 unrecorded voters (they add up to
    # INVITEES), spread over its villages by the weights.
    unrecorded = {
        r["regency_code"]: int(r["dpt_unrecorded"])
        for r in csv.DictReader(ELECTION_FIGURES.open())
        if r["regency_code"] in PILKADA_2020
    }
    wsum: dict[str, float] = {}
    for r, w in zip(rows, weights, strict=True):
        wsum[r["district_code"][:5]] = wsum.get(r["district_code"][:5], 0.0) + w
    villages = []
    for r, w in zip(rows, weights, strict=True):
        regency = r["district_code"][:5]
        n = round(unrecorded[regency] * scale * w / wsum[regency])
        first, suket = round(n * 0.10), round(n * 0.05)
        villages.append(
            planner.Village(
                r["code"],
                r["district_code"][:5],
                float(r["lat"]),
                float(r["lon"]),
                (first, suket, n - first - suket),
            )
        )
    points: list[planner.Point] = []
    slot_id = 0

    def add(pid: int, lat: float, lon: float, kind: str, counters: int, regency: str) -> None:
        nonlocal slot_id
        slots = []
        for d in range(DAYS):
            for h in range(8, 16):
                start = FIRST_DAY + timedelta(days=d, hours=h)
                slots.append(
                    planner.Slot(slot_id, start, start + timedelta(hours=1), _seats(counters))
                )
                slot_id += 1
        points.append(planner.Point(pid, lat, lon, kind, tuple(slots), regency))

    for r in csv.DictReader((REGIONS / "lampung_districts.csv").open()):
        if r["regency_code"] in PILKADA_2020:
            add(len(points), float(r["lat"]), float(r["lon"]), "kecamatan", 2, r["regency_code"])
    for r in csv.DictReader((REGIONS / "lampung_regencies.csv").open()):
        if r["code"] in PILKADA_2020:
            add(len(points), float(r["lat"]), float(r["lon"]), "office", 5, r["code"])
    return villages, points


LARGE_INVITEES = 1_500_000
LARGE_GRID = 10  # regencies per side
LARGE_DISTRICTS = 12  # per regency
LARGE_VILLAGES = 10  # per kecamatan
LARGE_SIDE = 0.5  # degrees


@dataclass(frozen=True)
class RegionRow:
    code: str
    parent: str
    level: str
    name: str
    lat: float
    lon: float


def _slots_of(first_slot: int, counters: int) -> tuple[planner.Slot, ...]:
    slots: list[planner.Slot] = []
    for d in range(DAYS):
        for h in range(8, 16):
            start = FIRST_DAY + timedelta(days=d, hours=h)
            slots.append(
                planner.Slot(
                    first_slot + len(slots), start, start + timedelta(hours=1), _seats(counters)
                )
            )
    return tuple(slots)


def large_scenario(
    scale: float, seed: int
) -> tuple[list[planner.Village], list[planner.Point], list[RegionRow]]:
    """The synthetic 100-regency country (see the module's docstring)."""
    rng = random.Random(seed)
    regions = [RegionRow(p, "", "province", f"Provinsi Uji {p}", -3.5, 102.5) for p in ("91", "92")]
    places: list[tuple[str, str, float, float]] = []  # village, regency, lat, lon
    points: list[planner.Point] = []
    slot = 0
    for r in range(LARGE_GRID * LARGE_GRID):
        province = "91" if r < 50 else "92"
        regency = f"{province}.{r % 50 + 1:02d}"
        lat0 = -1.0 - LARGE_SIDE * (r // LARGE_GRID)
        lon0 = 100.0 + LARGE_SIDE * (r % LARGE_GRID)
        centre = (lat0 - LARGE_SIDE / 2, lon0 + LARGE_SIDE / 2)
        regions.append(RegionRow(regency, province, "regency", f"Kabupaten Uji {regency}", *centre))
        points.append(planner.Point(len(points), *centre, "office", _slots_of(slot, 5), regency))
        slot += len(points[-1].slots)
        for d in range(LARGE_DISTRICTS):
            district = f"{regency}.{d + 1:02d}"
            dlat = lat0 - rng.uniform(0, LARGE_SIDE)
            dlon = lon0 + rng.uniform(0, LARGE_SIDE)
            regions.append(RegionRow(district, regency, "district", f"Kec {district}", dlat, dlon))
            points.append(
                planner.Point(len(points), dlat, dlon, "kecamatan", _slots_of(slot, 2), regency)
            )
            slot += len(points[-1].slots)
            for v in range(LARGE_VILLAGES):
                code = f"{district}.{2001 + v}"
                vlat = min(lat0, max(lat0 - LARGE_SIDE, rng.gauss(dlat, 0.04)))
                vlon = min(lon0 + LARGE_SIDE, max(lon0, rng.gauss(dlon, 0.04)))
                regions.append(RegionRow(code, district, "village", f"Desa {code}", vlat, vlon))
                places.append((code, regency, vlat, vlon))
    weights = [rng.lognormvariate(0, 0.8) for _ in places]
    total, wsum = LARGE_INVITEES * scale, sum(weights)
    villages = []
    for (code, regency, lat, lon), w in zip(places, weights, strict=True):
        n = round(total * w / wsum)
        first, suket = round(n * 0.10), round(n * 0.05)
        villages.append(planner.Village(code, regency, lat, lon, (first, suket, n - first - suket)))
    return villages, points, regions


def bare(
    villages: list[planner.Village], points: list[planner.Point], settings: planner.Settings
) -> tuple[float, int]:
    """One min-cost flow, villages to points, nothing else; returns (seconds, metres)."""
    started = time.perf_counter()
    seats = [sum(planner.usable_seats(s, settings) for s in p.slots) for p in points]
    nv, np_ = len(villages), len(points)
    sink, unserved = nv + np_, nv + np_ + 1
    matrix = planner._metres_matrix(villages, points, settings)
    totals = np.array([v.total for v in villages], dtype=np.int64)
    total = int(totals.sum())
    # villages -> points, villages -> unserved, points -> sink, unserved -> sink
    vp_tail = np.repeat(np.arange(nv, dtype=np.int32), np_)
    vp_head = np.tile(np.arange(nv, nv + np_, dtype=np.int32), nv)
    tails = np.concatenate(
        [
            vp_tail,
            np.arange(nv, dtype=np.int32),
            np.arange(nv, nv + np_, dtype=np.int32),
            [unserved],
        ]
    ).astype(np.int32)
    heads = np.concatenate(
        [vp_head, np.full(nv, unserved, dtype=np.int32), np.full(np_, sink, dtype=np.int32), [sink]]
    ).astype(np.int32)
    caps = np.concatenate([np.repeat(totals, np_), totals, np.array(seats), [total]]).astype(
        np.int64
    )
    costs = np.concatenate([matrix.ravel(), np.full(nv, 100_000_000), np.zeros(np_), [0]]).astype(
        np.int64
    )
    mcf = min_cost_flow.SimpleMinCostFlow()
    mcf.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
    supplies = np.concatenate([totals, np.zeros(np_, dtype=np.int64), [-total, 0]])
    mcf.set_nodes_supplies(np.arange(supplies.size, dtype=np.int32), supplies)
    if mcf.solve() != mcf.OPTIMAL:
        raise RuntimeError("bare min-cost flow failed")
    n_vp = vp_tail.size
    metres = int((mcf.flows(np.arange(n_vp)) * costs[:n_vp]).sum())
    return time.perf_counter() - started, metres


def _row(label: str, a: object, b: object) -> str:
    return f"  {label:<30}{a!s:>14}{b!s:>14}"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench invitations")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument("--repeat", type=int, default=3, help="best of this many timings")
    parser.add_argument("--mobile", type=int, default=2, help="mobile units per regency (0: none)")
    parser.add_argument("--mobile-per-day", type=int, default=60, help="people a unit serves a day")
    parser.add_argument("--large", action="store_true", help="the 100-regency, 1.5 M case")
    parser.add_argument("--no-bare", action="store_true", help="skip the bare min-cost flow")
    parser.add_argument(
        "--database-url", help="time the plan end to end on a fresh database at this URL instead"
    )
    parser.add_argument("--letters", type=int, default=0, help="time N invitation letters instead")
    parser.add_argument(
        "--again",
        action="store_true",
        help="with --database-url: plan again on the database set up before, emptied of its "
        "plans, invitations, mobile units and sessions (no set-up)",
    )
    parser.add_argument("--plan-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    print(f"  load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.letters:
        return letters_run(args.letters)
    if args.plan_only:
        return timed_plan(args.mobile, args.mobile_per_day)
    if args.database_url:
        return database_run(args, args.database_url)
    if args.large:
        villages, points, _ = large_scenario(args.scale, args.seed)
    else:
        villages, points = scenario(args.scale, args.seed)
    settings = planner.Settings(deadline=POLLS_CLOSE, road_factor=1.3)
    bare_s = math.inf
    best_s = math.inf
    bare_m = 0
    for _ in range(max(1, args.repeat)):
        if not args.no_bare:
            seconds, bare_m = bare(villages, points, settings)
            bare_s = min(bare_s, seconds)
        t = time.perf_counter()
        result = planner.plan(villages, points, settings)
        best_s = min(best_s, time.perf_counter() - t)
    t = time.perf_counter()
    by_hand = planner.baseline(villages, points, settings)
    baseline_s = time.perf_counter() - t
    print(
        f"Invitations: {result.invitees:,} invitees, {len(villages):,} villages, "
        f"{len(points)} service points, {sum(len(p.slots) for p in points):,} sessions "
        f"(scale {args.scale:g}{', large' if args.large else ''})"
    )
    print(_row("", "optimal", "by hand"))
    print(_row("served before polls close", f"{result.served:,}", f"{by_hand.served:,}"))
    print(_row("total km", f"{result.total_km:,.0f}", f"{by_hand.total_km:,.0f}"))
    print(_row("mean km per person", f"{result.mean_km:.2f}", f"{by_hand.mean_km:.2f}"))
    print(_row("sessions at capacity", f"{result.slots_full:,}", f"{by_hand.slots_full:,}"))
    print(_row("seconds", f"{best_s:.3f}", f"{baseline_s:.3f}"))
    saved = 1 - result.mean_km / by_hand.mean_km if by_hand.mean_km else 0.0
    print(f"  mean km below by hand: {100 * saved:.1f} %")
    print(f"  optimality gap: {100 * result.gap:.5f} % (bound {result.lower_bound_km:,.0f} km)")
    if not args.no_bare:
        print(
            f"  bare min-cost flow: {bare_s:.3f} s ({bare_m / 1000:,.0f} km, flow only); "
            f"planner / bare: {best_s / bare_s:.2f}"
        )
    if result.shortfall:
        print(f"  not served: {result.shortfall:,} {result.shortfall_by_regency(villages)}")
    if args.mobile:
        regencies = sorted({v.regency for v in villages})
        placement = planner.place_mobile_units(
            villages,
            points,
            settings,
            units=dict.fromkeys(regencies, args.mobile),
            per_day=args.mobile_per_day,
            days=DAYS - 1,
        )
        every_day = [list(range(DAYS - 1)) for _ in range(args.mobile)]
        schedule = planner.schedule_visits(placement, villages, dict.fromkeys(regencies, every_day))
        extra = planner.mobile_points(
            villages,
            schedule,
            per_day=args.mobile_per_day,
            first_day=FIRST_DAY + timedelta(hours=8),
            first_id=100_000_000,
        )
        with_units = planner.plan(villages, points + extra, settings)
        print(
            f"  mobile units ({args.mobile} per regency, {args.mobile_per_day} a day, "
            f"{placement.method}): {placement.status} in {placement.seconds:.2f} s, "
            f"{len(schedule)} unit-days in {len(placement.visits)} villages, "
            f"gap to the best bound {100 * placement.gap:.4f} %"
        )
        print(
            f"  with mobile units: served {with_units.served:,} "
            f"({with_units.served - result.served:+,}), mean km {with_units.mean_km:.2f}"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak memory: {peak:,.0f} MB")
    return 0


def _django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rekam.settings")
    import django

    django.setup()


def _fresh_database(url: str) -> None:
    if url.startswith("sqlite:///"):
        for suffix in ("", "-wal", "-shm"):
            Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
        return
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def _child(args: argparse.Namespace, url: str) -> int:
    env = dict(os.environ, DATABASE_URL=url)
    cmd = [sys.executable, "-m", "bench", "invitations", "--plan-only"]
    cmd += ["--mobile", str(args.mobile), "--mobile-per-day", str(args.mobile_per_day)]
    return subprocess.run(cmd, env=env, cwd=PROJECT, check=False).returncode


def _emptied(url: str) -> None:
    """The database as set up (and migrated): no plan, invitation, mobile unit or queue
    session."""
    _django(url)
    from django.core.management import call_command
    from django.db import connection, transaction

    tables = [
        "invitations_invitation",
        "invitations_planrun",
        "antrean_session",
        "antrean_daycounter",
        "servicepoints_mobilevisit",
    ]
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute(f"TRUNCATE {', '.join(tables)} CASCADE")
        else:
            for table in tables:
                cur.execute(f"DELETE FROM {table}")
        cur.execute("DELETE FROM servicepoints_servicepoint WHERE kind = 'mobile'")
    call_command("migrate", verbosity=0)  # emptied first: SQLite copies a table it alters
    print(f"Emptied and migrated in {time.perf_counter() - started:.1f} s: {url}")


def database_run(args: argparse.Namespace, url: str) -> int:
    """Set up a fresh database (untimed), then time the plan end to end in a child process
    (``--plan-only``) so its peak memory is the plan's alone."""
    if args.again:
        _emptied(url)
        return _child(args, url)
    _fresh_database(url)
    _django(url)
    from datetime import date
    from datetime import time as dtime

    from django.core.management import call_command
    from django.db import connection, transaction

    from rekam.accounts.services import offices_ensure_for_province
    from rekam.elections.models import Election, ElectionRegion
    from rekam.regions.loader import load_province
    from rekam.regions.models import Region
    from rekam.servicepoints.models import HolidayOpening, ServicePoint
    from rekam.servicepoints.services import opening_hours_set
    from rekam.voters.importer import VOTER_FIELDS
    from rekam.voters.models import DptImport, ReconciliationRun, Voter, VoterCheck, VoterClass

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    if args.large:
        villages, points, rows = large_scenario(args.scale, args.seed)
        Region.objects.bulk_create(
            [
                Region(
                    code=r.code,
                    parent_id=r.parent or None,
                    level=r.level,
                    name=r.name,
                    kind="kabupaten" if r.level == "regency" else "",
                    lat=r.lat,
                    lon=r.lon,
                )
                for r in rows
            ],
            batch_size=2_000,
        )
        provinces = ["91", "92"]
    else:
        load_province(REGIONS)
        villages, points = scenario(args.scale, args.seed)
        provinces = ["18"]
    offices = {o.code: o for p in provinces for o in offices_ensure_for_province(province_code=p)}
    with transaction.atomic():
        for p in points:
            sp = ServicePoint.objects.create(
                office=offices[p.regency],
                kind=ServicePoint.Kind.OFFICE
                if p.kind == "office"
                else ServicePoint.Kind.KECAMATAN,
                code=f"BENCH-{p.id}",
                name=f"Tempat layanan {p.id}",
                lat=p.lat,
                lon=p.lon,
                counters=5 if p.kind == "office" else 2,
                session_minutes=60,
                service_minutes=10,
                protocol_percent=100,
                waiting_room_limit=20,
                invitation_percent=100,
                holiday_opening=HolidayOpening.OPEN,
            )
            opening_hours_set(
                service_point=sp, hours={d: (dtime(8, 0), dtime(16, 0)) for d in range(7)}
            )
        election = Election.objects.create(
            name="Bench undangan",
            slug=BENCH_SLUG,
            polling_day=date(2020, 12, 9),
            suket_issue_until=date(2020, 12, 9),
            suket_valid_until=date(2020, 12, 31),
        )
        for code in sorted({v.regency for v in villages}):
            ElectionRegion.objects.create(election=election, region_id=code)
        dpt = DptImport.objects.create(election=election, file_name="bench", sha256="0" * 64)
        run = ReconciliationRun.objects.create(election=election)
    # Voters and verdicts straight into their tables (ids given, as the tables start empty):
    # model instances would take most of an hour for 1.5 M voters on this machine.
    voters: list[tuple[Any, ...]] = []
    checks: list[tuple[Any, ...]] = []
    serial = 0
    born, suket = date(1990, 1, 1), date(2020, 12, 1)
    voter_columns = ("id", "election_id", "added_in_id", *VOTER_FIELDS)
    for v in villages:
        for rank, n in enumerate(v.invitees):
            for _ in range(n):
                serial += 1
                # In the order of voter_columns and CHECK_COLUMNS.
                voters.append(
                    (
                        *(serial, election.pk, dpt.pk, f"B{serial}", f"{serial:016d}", "", ""),
                        *(f"Pemilih {serial}", f"PEMILIH {serial}", "", born, "L", "", ""),
                        *(f"{serial % 7 + 1:03d}", f"{serial % 3 + 1:03d}", "001"),
                        *(v.regency, v.code[:8], v.code),
                    )
                )
                checks.append(
                    (
                        *(serial, election.pk, run.pk, VoterClass.NOT_RECORDED.value, "", False),
                        *(rank == 0, suket if rank == 1 else None),
                    )
                )
        if len(voters) >= 50_000:
            _insert(Voter, voter_columns, voters)
            _insert(VoterCheck, CHECK_COLUMNS, checks)
            voters.clear()
            checks.clear()
    _insert(Voter, voter_columns, voters)
    _insert(VoterCheck, CHECK_COLUMNS, checks)
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT setval(pg_get_serial_sequence('voters_voter', 'id'), %s)", [serial])
    print(f"Database set up in {time.perf_counter() - started:.1f} s ({serial:,} voters): {url}")
    return _child(args, url)


CHECK_COLUMNS = (
    "voter_id",
    "election_id",
    "run_id",
    "klass",
    "ktp_state",
    "via_match",
    "first_time",
    "suket_until",
)


def _insert(model: type[Model], columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    """Rows into the model's table in one transaction: COPY on PostgreSQL, executemany on
    SQLite."""
    from django.db import connection, transaction

    if not rows:
        return
    table = model._meta.db_table
    names = ", ".join(columns)
    with transaction.atomic(), connection.cursor() as cur:
        if connection.vendor == "postgresql":
            with cur.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(columns))
            cur.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)


def _plan_the_day_before() -> None:
    """Plan as an office would, the day before the 2020 sessions start (plans never invite to
    a session that has started or starts within ``INVITATIONS_LEAD_HOURS``)."""
    from rekam.antrean import clock

    clock.now = lambda: FIRST_DAY - timedelta(days=1)


def timed_plan(mobile: int, per_day: int) -> int:
    """The child of :func:`database_run`: the whole plan of the province, as the command
    without ``--dry-run`` runs it, timed, and this process's peak memory."""
    _django(os.environ["DATABASE_URL"])
    from rekam.elections.models import Election
    from rekam.invitations.models import Invitation
    from rekam.invitations.services import plan_run_create, plan_run_execute

    election = Election.objects.get(slug=BENCH_SLUG)
    _plan_the_day_before()
    t = time.perf_counter()
    plan = plan_run_create(
        election=election,
        region_code="",
        acting_user=None,
        start=FIRST_DAY.date(),
        mobile_units=mobile,
        mobile_per_day=per_day,
    )
    plan = plan_run_execute(run=plan, acting_user=None)
    seconds = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    part = plan.summary["recording"]
    print(
        f"  end to end (worklists, sessions, solve, approve, write, outbox): {seconds:.2f} s, "
        f"peak memory {peak:,.0f} MB; served {part['plan']['served']:,} of "
        f"{part['plan']['invitees']:,}, mean km {part['plan']['mean_km']} "
        f"(by hand {part['baseline']['mean_km']}), written {Invitation.objects.count():,}"
    )
    mobile_part = part.get("mobile")
    if mobile_part:
        print(
            f"  mobile units: {mobile_part['unit_days']} unit-days, "
            f"MIP ({mobile_part.get('solver')} through OR-Tools) "
            f"{mobile_part.get('status')} in {mobile_part.get('seconds')} s, gap "
            f"{100 * mobile_part.get('gap', 0):.4f} %; served {mobile_part['plan']['served']:,}, "
            f"mean km {mobile_part['plan']['mean_km']}"
        )
    print(f"  load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


LETTER_VILLAGES = 10


def _bare_letters(pages: list[dict[str, str]]) -> bytes:
    """The baseline: the same letters' text on bare ReportLab pages, each with two QRs of random,
    unsigned payloads of the check-in token's and the reschedule link's lengths; no database,
    no signing."""
    import io

    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.lib.utils import simpleSplit
    from reportlab.pdfgen.canvas import Canvas

    from rekam.lib.qr import qr_matrix

    left, right = 25 * mm, A4[0] - 20 * mm
    out = io.BytesIO()
    c = Canvas(out, pagesize=A4, invariant=True, pageCompression=1)
    for page in pages:
        top = A4[1] - 20 * mm
        c.setFont("Helvetica-Bold", 13)
        c.drawCentredString(A4[0] / 2, top, page["office"])
        c.line(left, top - 8, right, top - 8)
        c.setFont("Helvetica-Bold", 12)
        c.drawCentredString(A4[0] / 2, top - 34, page["title"])
        c.setFont("Helvetica", 11)
        y = top - 64
        for line in page["lines"].split("\n"):
            for part in simpleSplit(line, "Helvetica", 11, right - left):
                c.drawString(left, y, part)
                y -= 15
        for text, x, side in ((page["qr"], left, 45 * mm), (page["qr2"], right - 32 * mm, 32 * mm)):
            matrix = qr_matrix(text)
            module = side / matrix.size
            rects = " ".join(f"{col} {row} {n} 1 re" for row, col, n in matrix.dark_runs())
            c.saveState()
            c.transform(module, 0, 0, -module, x, y - side - 6 + side)
            c.addLiteral(f"{rects} f")
            c.restoreState()
        c.showPage()
    c.save()
    return out.getvalue()


def letters_run(count: int) -> int:
    """Letters per second against the bare baseline, on a fresh SQLite database."""
    import string
    from datetime import date
    from datetime import time as dtime

    work = PROJECT / "var" / "bench"
    work.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{work / 'invitations-letters.sqlite3'}"
    _fresh_database(url)
    _django(url)
    from django.core.management import call_command

    from rekam.accounts.services import offices_ensure_for_province
    from rekam.elections.models import Election, ElectionRegion
    from rekam.invitations.invites import checkin_token, invitation_place, public_links, when_id
    from rekam.invitations.letters import TITLE, WHAT, letters_for_village, render_letters
    from rekam.invitations.services import plan_run_create, plan_run_execute
    from rekam.regions.loader import load_province
    from rekam.regions.models import Region
    from rekam.servicepoints.models import HolidayOpening, ServicePoint
    from rekam.servicepoints.services import opening_hours_set
    from rekam.voters.models import DptImport, ReconciliationRun, Voter, VoterCheck, VoterClass

    call_command("migrate", verbosity=0)
    load_province(REGIONS)
    offices = {o.code: o for o in offices_ensure_for_province(province_code="18")}
    office = offices["18.71"]
    villages = list(
        Region.objects.filter(level="village", code__startswith="18.71.", lat__isnull=False)
        .select_related("parent")
        .order_by("code")[:LETTER_VILLAGES]
    )
    point = ServicePoint.objects.create(
        office=office,
        kind=ServicePoint.Kind.OFFICE,
        code="18.71-DINAS",
        name="Kantor Disdukcapil Kota Bandar Lampung",
        address="Jl. Dr. Susilo No. 2, Sumur Batu, Teluk Betung Utara",
        village=villages[0],
        lat=villages[0].lat,
        lon=villages[0].lon,
        counters=5,
        invitation_percent=100,
        holiday_opening=HolidayOpening.OPEN,
    )
    opening_hours_set(service_point=point, hours={d: (dtime(8, 0), dtime(16, 0)) for d in range(7)})
    election = Election.objects.create(
        name="Pilkada Bandar Lampung 2020",
        slug="bench-letters",
        polling_day=date(2020, 12, 9),
        suket_issue_until=date(2020, 12, 9),
        suket_valid_until=date(2020, 12, 31),
    )
    ElectionRegion.objects.create(election=election, region_id="18.71")
    dpt = DptImport.objects.create(election=election, file_name="bench", sha256="0" * 64)
    check_run = ReconciliationRun.objects.create(election=election)
    made = Voter.objects.bulk_create(
        [
            Voter(
                election=election,
                added_in=dpt,
                key=f"L{i}",
                nik=f"{1871010101900000 + i:016d}",
                name=f"Warga Uji {i:05d}",
                name_key=f"WARGA UJI {i:05d}",
                birth_date=date(1990, 1, 1),
                sex="P" if i % 2 else "L",
                street=f"Jl. Raden Intan No. {i % 200 + 1}",
                rt=f"{i % 20 + 1:03d}",
                rw=f"{i % 9 + 1:03d}",
                tps="001",
                regency_id="18.71",
                district_id=villages[i % len(villages)].code[:8],
                village_id=villages[i % len(villages)].code,
            )
            for i in range(count)
        ],
        batch_size=2_000,
    )
    VoterCheck.objects.bulk_create(
        [
            VoterCheck(voter=v, election=election, run=check_run, klass=VoterClass.NOT_RECORDED)
            for v in made
        ],
        batch_size=2_000,
    )
    _plan_the_day_before()
    run = plan_run_create(
        election=election, region_code="18.71", acting_user=None, start=FIRST_DAY.date()
    )
    plan_run_execute(run=run, acting_user=None)
    name = office.name
    batches = {v.code: letters_for_village(election.pk, v.code) for v in villages}
    letters = sum(len(b) for b in batches.values())
    assert letters == count, f"only {letters} of {count} invited"
    sample = next(iter(batches.values()))[0]
    sample_token = checkin_token(sample)
    link_length = len(public_links(sample, PUBLIC_URL)["reschedule_url"])
    rng = random.Random(8)
    alphabet = string.ascii_letters + string.digits + "-_:"

    def bare_page(inv) -> dict[str, str]:
        day, hours = when_id(inv.starts_at, inv.ends_at)
        place, address = invitation_place(inv)
        lines = [
            "Kepada Yth.",
            inv.voter.name,
            f"{inv.voter.street} RT {inv.rt} / RW {inv.rw}",
            inv.voter.village.name,
            f"Dengan hormat, Saudara kami undang untuk {WHAT[inv.service]} pada:",
            f"Hari, tanggal : {day}",
            f"Pukul : {hours}",
            f"Tempat : {place}",
            f"Alamat : {address}",
            "Membawa : Fotokopi Kartu Keluarga (KK)",
            "Tunjukkan kode QR di bawah kepada petugas di pintu masuk. Kode ini hanya berlaku "
            "satu kali. Datanglah sesuai jam di atas agar ruang tunggu tidak penuh.",
            "Jika berhalangan, pilih jadwal lain sebelum hari pemungutan suara: pindai kode QR "
            f"kanan bawah dengan ponsel, atau buka {PUBLIC_URL}/undangan/jadwal/"
            + "x"
            * (link_length - len(PUBLIC_URL) - 17),
            f"Nomor undangan: {inv.reference}",
            "Untuk petugas di pintu masuk",
            "Ganti jadwal (pindai dengan ponsel)",
        ]
        qr = "UND:" + "".join(rng.choice(alphabet) for _ in range(len(sample_token) - 4))
        link = (
            PUBLIC_URL
            + "/"
            + "".join(rng.choice(alphabet) for _ in range(link_length - len(PUBLIC_URL) - 1))
        )
        return {
            "office": name.upper(),
            "title": TITLE[inv.service],
            "lines": "\n".join(lines),
            "qr": qr,
            "qr2": link,
        }

    bare_docs = {code: [bare_page(i) for i in b] for code, b in batches.items()}
    codes = sorted(batches)
    spent = {"bare": 0.0, "render": 0.0, "page": 0.0}
    rounds = 5
    for _ in range(rounds):
        # Every round renders every village once per measure, the measures interleaved.
        for code in codes:
            t = time.perf_counter()
            _bare_letters(bare_docs[code])
            spent["bare"] += time.perf_counter() - t
            t = time.perf_counter()
            render_letters(batches[code], office=name, public_url=PUBLIC_URL)
            spent["render"] += time.perf_counter() - t
            t = time.perf_counter()
            render_letters(
                letters_for_village(election.pk, code), office=name, public_url=PUBLIC_URL
            )
            spent["page"] += time.perf_counter() - t
    n = letters * rounds
    bare_rate, render_rate, page_rate = (n / spent[k] for k in ("bare", "render", "page"))
    print(
        f"letters: {letters:,} invitations in {len(codes)} villages ({letters // len(codes)} "
        f"pages a PDF), {rounds} rounds, check-in token {len(sample_token)} characters, "
        f"reschedule link {link_length}, SQLite"
    )
    print(f"  baseline (bare page + 2 unsigned QRs)     {bare_rate:8.1f} /s   ratio 1.00")
    print(
        f"  letters (render_letters: tokens, QR, PDF) {render_rate:8.1f} /s   "
        f"ratio {render_rate / bare_rate:.2f}"
    )
    print(
        f"  letters per village from the database     {page_rate:8.1f} /s   "
        f"ratio {page_rate / bare_rate:.2f}"
    )
    print(f"  load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0
