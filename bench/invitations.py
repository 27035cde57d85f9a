"""Invitation planner benchmark: ``python -m bench invitations [--scale S] [--seed N]``.

The reference Lampung 2020 scenario, grouped as the planner sees it: the 1,472 villages with
coordinates in the 8 regencies/cities that held the 2020 Pilkada (Bandar Lampung, Metro,
Lampung Selatan, Lampung Tengah, Lampung Timur, Way Kanan, Pesawaran, Pesisir Barat), real
centroids from ``data/regions/lampung``, and 146,168 x S invitees spread over them with
deterministic weights (10 % first-time voters, 5 % Suket holders). Service points: each of the
131 kecamatan offices (2 counters) at its kecamatan's centroid and each of the 8 regency/city
offices (5 counters) at its regency's; 10 minutes per recording, hourly sessions of at most 20,
open daily 08:00-16:00 from 26 Nov to 9 Dec 2020; polls close 9 Dec 13:00; road factor 1.3.

Timed in the same run: the bare OR-Tools min-cost flow on the same grouped instance (villages
to points, with an unserved arc, nothing else), the planner (distances, fairness second solve
when short, dual bound, sessions in time order) and the by-hand baseline. Prints served before
the deadline, total and mean km per person, sessions at capacity, the optimality gap, the
ratio planner / bare, and the peak memory of this process.

With ``--database-url URL`` instead: a fresh database at URL (SQLite file, or a PostgreSQL
database this drops and creates) set up untimed with the same points and voters, then the whole
plan for the province timed end to end (worklists read, sessions made, both lists solved,
every invitation written).
"""

from __future__ import annotations

import argparse
import csv
import math
import random
import resource
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
from ortools.graph.python import min_cost_flow

from rekam.invitations import planner

REGIONS = Path(__file__).resolve().parent.parent / "data" / "regions" / "lampung"
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
    total = INVITEES * scale
    wsum = sum(weights)
    villages = []
    for r, w in zip(rows, weights, strict=True):
        n = round(total * w / wsum)
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
    parser.add_argument(
        "--database-url", help="also time the plan end to end on a fresh database at this URL"
    )
    args = parser.parse_args(argv)
    if args.database_url:
        return database_run(args.database_url, args.scale, args.seed)
    villages, points = scenario(args.scale, args.seed)
    settings = planner.Settings(deadline=POLLS_CLOSE, road_factor=1.3)
    bare_s = math.inf
    best_s = math.inf
    for _ in range(max(1, args.repeat)):
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
        f"(scale {args.scale:g})"
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
    print(
        f"  bare min-cost flow: {bare_s:.3f} s ({bare_m / 1000:,.0f} km, flow only); "
        f"planner / bare: {best_s / bare_s:.2f}"
    )
    if result.shortfall:
        print(f"  not served: {result.shortfall:,} {result.shortfall_by_regency(villages)}")
    if args.mobile:
        placement = planner.place_mobile_units(
            villages,
            points,
            settings,
            units=dict.fromkeys(PILKADA_2020, args.mobile),
            per_day=args.mobile_per_day,
            days=DAYS - 1,
        )
        extra = planner.mobile_points(
            villages,
            placement,
            per_day=args.mobile_per_day,
            first_day=FIRST_DAY + timedelta(hours=8),
            first_id=10_000_000,
        )
        with_units = planner.plan(villages, points + extra, settings)
        print(
            f"  mobile units ({args.mobile} per regency, {args.mobile_per_day} a day, MIP with "
            f"SCIP): {placement.status} in {placement.seconds:.2f} s, "
            f"{sum(placement.visits.values())} unit-days in {len(placement.visits)} villages, "
            f"gap to the best bound {100 * placement.gap:.4f} %"
        )
        print(
            f"  with mobile units: served {with_units.served:,} "
            f"({with_units.served - result.served:+,}), mean km {with_units.mean_km:.2f}"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak memory: {peak:,.0f} MB")
    return 0


def database_run(url: str, scale: float, seed: int) -> int:
    """End to end on a fresh database: read the worklists, make the sessions, solve, write every
    invitation (``plan_run_execute``), timed; the set-up (migrate, regions, points, voters) not."""
    import os

    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rekam.settings")
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
    else:
        import psycopg

        base, _, name = url.rpartition("/")
        with psycopg.connect(base + "/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    import django

    django.setup()
    from datetime import date
    from datetime import time as dtime

    from django.core.management import call_command
    from django.db import transaction

    from rekam.accounts.services import offices_ensure_for_province
    from rekam.elections.models import Election, ElectionRegion
    from rekam.invitations.models import Invitation
    from rekam.invitations.services import plan_run_create, plan_run_execute
    from rekam.regions.loader import load_province
    from rekam.servicepoints.models import HolidayOpening, ServicePoint
    from rekam.servicepoints.services import opening_hours_set
    from rekam.voters.models import DptImport, ReconciliationRun, Voter, VoterCheck, VoterClass

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    load_province(REGIONS)
    offices = {o.code: o for o in offices_ensure_for_province(province_code="18")}
    villages, points = scenario(scale, seed)
    with transaction.atomic():
        for p in points:
            regency = p.regency
            sp = ServicePoint.objects.create(
                office=offices[regency],
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
            slug="bench-invitations",
            polling_day=date(2020, 12, 9),
            suket_issue_until=date(2020, 12, 9),
            suket_valid_until=date(2020, 12, 31),
        )
        for code in sorted(PILKADA_2020):
            ElectionRegion.objects.create(election=election, region_id=code)
        dpt = DptImport.objects.create(election=election, file_name="bench", sha256="0" * 64)
        run = ReconciliationRun.objects.create(election=election)
    serial = 0
    for v in villages:
        voters = []
        for rank, n in enumerate(v.invitees):
            for _ in range(n):
                serial += 1
                voters.append(
                    (
                        Voter(
                            election=election,
                            added_in=dpt,
                            key=f"B{serial}",
                            nik=f"{serial:016d}",
                            name=f"Pemilih {serial}",
                            name_key=f"PEMILIH {serial}",
                            birth_date=date(1990, 1, 1),
                            sex="L",
                            rt=f"{serial % 7 + 1:03d}",
                            rw=f"{serial % 3 + 1:03d}",
                            tps="001",
                            regency_id=v.regency,
                            district_id=v.code[:8],
                            village_id=v.code,
                        ),
                        rank,
                    )
                )
        with transaction.atomic():
            made = Voter.objects.bulk_create([x for x, _ in voters], batch_size=2_000)
            VoterCheck.objects.bulk_create(
                [
                    VoterCheck(
                        voter=voter,
                        election=election,
                        run=run,
                        klass=VoterClass.NOT_RECORDED,
                        first_time=rank == 0,
                        suket_until=date(2020, 12, 1) if rank == 1 else None,
                    )
                    for voter, (_, rank) in zip(made, voters, strict=True)
                ],
                batch_size=2_000,
            )
    print(f"Database set up in {time.perf_counter() - started:.1f} s ({serial:,} voters): {url}")
    t = time.perf_counter()
    plan = plan_run_create(
        election=election, region_code="", acting_user=None, start=FIRST_DAY.date()
    )
    plan = plan_run_execute(run=plan, acting_user=None)
    seconds = time.perf_counter() - t
    part = plan.summary["recording"]
    print(
        f"  end to end (worklists, sessions, solve, write): {seconds:.2f} s; "
        f"served {part['plan']['served']:,} of {part['plan']['invitees']:,}, "
        f"mean km {part['plan']['mean_km']} (by hand {part['baseline']['mean_km']}), "
        f"written {Invitation.objects.count():,}"
    )
    return 0
