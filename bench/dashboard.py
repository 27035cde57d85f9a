"""Dashboard benchmark: ``python -m bench.dashboard [--scale S] [--database-url URL] [--rounds N]``.

Every dashboard page at province scale on PostgreSQL. At ``--scale 1`` the data is Lampung's:
the registry of 9.1 M residents that ``bench.voters`` generates (cached under ``var/bench/``),
and a DPT of 3.9 M voters (KPU's 3,909,445 x S) drawn from the residents of age in the 8
regencies/cities that held the 2020 Pilkada (``data/elections/``), written in KPU's layout with
2 % voters the registry does not know. Then a week of events, the last day being today:

- each day 1.5 % of the voters unrecorded at the reconciliation record at a counter
  (``record_move``, the office's path: the central system may not make that move);
- each day a SIAK status file through ``rekam import_statuses``: yesterday's captures sent for
  enrolment, 4 % of the records sent become print ready, 2 % of the print-ready ones printed
  (voters or not, anywhere in the province), so the ``records_moved`` receivers keep the counts;
- Sukets (40,000 x S over the week, before each day's status file so that printed cards revoke
  them through the real receiver), written with ``bulk_create``: placeholder PDF bytes and QR
  text, since the dashboard reads neither;
- blank-card ledgers: a receipt per regency/city office at the start of the week and one
  ``consumed`` line per card the status files printed in that regency/city (``bulk_create``);
- queue tickets (100,000 x S over the week) in the sessions of the demo's service points, and
  one invitation per voter who needs a visit (about 430,000 at scale 1) in sessions from the
  start of the week to polling day, with attendance on past days, and the WhatsApp message of
  each recording invitation (``bulk_create``: the planner's own write path is benchmarked by
  ``bench.invitations``).

Untimed, and done once: a database that holds this data (a marker table records the scale,
seed and days) is reused, so a second run only times; each stage first migrates it (and
analyses it when a migration ran). The week is dated when it is built: on a later day the
dashboard's 7- and 14-day windows see less of it, and ``--rebuild`` makes it again.

Timed, as a province admin and as a regency admin (Bandar Lampung, 18.71), through Django's test
``Client`` in this process (middleware, views, templates; no HTTP server): every dashboard page,
download and compliance page, one warm-up then ``--rounds`` rounds, median and max. Baseline in
the same run: the same level's voter figures counted live without the pre-aggregates (verdicts
joined with the voters and the residents' state now, and the record events of the last 14 days
for the progress chart). Also the upkeep of the counts: the ``records_moved`` receiver's work for
one batch of 10,000 moves, and a reconciliation's reset of the counts (each in a transaction
rolled back, so the data stays as built).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import os
import random
import re
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench import voters

PROJECT = voters.PROJECT
WORK = voters.WORK
ELECTIONS_FILE = PROJECT / "data" / "elections" / "pilkada_2020_lampung.csv"
DATA_VERSION = 1
DB_NAME = "rekam_bench_dash"
ELECTION = "bench-dasbor"
MARKER_TABLE = "bench_dashboard"
# Voters must be 17 by polling day; the registry's births run to 2019.
BORN_BEFORE = "2009-01-01"
WEEK = 7
DAYS_TO_POLLING = 14
RECORDED_PER_DAY = 0.015  # of the voters unrecorded at the reconciliation
SENT_TO_PRR_PER_DAY = 0.04
PRR_TO_PRINTED_PER_DAY = 0.02
SUKETS = 40_000
TICKETS = 100_000
MOVE_BATCH = 10_000
ONE_SECOND_MS = 1000.0
PROVINCE_USER = "prov_admin"
REGENCY_USER = "bdl_admin"  # Bandar Lampung's admin (demo accounts)
REGENCY = "18.71"
DISTRICT = "18.71.01"
PLACEHOLDER_PDF = b"%PDF-1.4\n% placeholder: the dashboard benchmark reads no Suket PDF\n%%EOF\n"


def _stem(scale: float, seed: int) -> str:
    return f"dashboard-v{DATA_VERSION}-s{scale:g}-seed{seed}"


# --- the voter list -------------------------------------------------------------------------


def electing_dpt(registry: Path, scale: float, seed: int) -> tuple[Path, int]:
    """A DPT in KPU's layout for the regencies/cities that held the 2020 Pilkada: KPU's total
    x ``scale`` voters drawn from their residents of age, 2 % of them with a NIK the registry
    does not know (made once, then reused)."""
    dpt = WORK / f"{_stem(scale, seed)}-dpt.csv"
    con = voters._duck()
    if dpt.exists():
        (n,) = con.execute(f"SELECT count(*) FROM read_csv('{dpt}', skip=3)").fetchone() or (0,)
        con.close()
        return dpt, int(n)
    regions = voters.REGIONS
    con.execute(
        f"""
        CREATE TABLE electing AS
        SELECT regency_code, CAST(dpt AS BIGINT) AS dpt
        FROM read_csv('{ELECTIONS_FILE}', all_varchar=true) WHERE holds_election = '1'
        """
    )
    (kpu_total,) = con.execute("SELECT sum(dpt) FROM electing").fetchone() or (0,)
    names = "[" + ", ".join(f"'{c}'" for c in voters.REGISTRY_COLUMNS) + "]"
    con.execute(
        f"""
        CREATE TABLE eligible AS
        SELECT r.nik, r.kk_number, r.name, CAST(r.birth_date AS DATE) AS birth, r.sex,
               r.marital_status, r.rt, r.rw, r.street, r.village_id AS village,
               v.name AS village_name, d.name AS district_name, g.official_name AS regency_name
        FROM read_csv('{registry}', header=true, all_varchar=true, names={names}) r
        JOIN read_csv('{regions / "lampung_villages.csv"}') v ON v.code = r.village_id
        JOIN read_csv('{regions / "lampung_districts.csv"}') d ON d.code = v.district_code
        JOIN read_csv('{regions / "lampung_regencies.csv"}') g ON g.code = d.regency_code
        JOIN electing e ON e.regency_code = g.code
        WHERE CAST(r.birth_date AS DATE) < DATE '{BORN_BEFORE}'
        """
    )
    (n_eligible,) = con.execute("SELECT count(*) FROM eligible").fetchone() or (1,)
    per_million = min(1_000_000, round(1_000_000 * kpu_total * scale / n_eligible))
    body = WORK / f"{_stem(scale, seed)}-dpt.body"
    con.execute(
        f"""
        COPY (
            SELECT row_number() OVER (ORDER BY village, nik), kk_number,
                   CASE WHEN hash(nik, {seed} + 11) % 100 < 2
                        THEN substr(nik, 1, 12) || '9' || substr(nik, 14) ELSE nik END,
                   name, 'LAMPUNG', strftime(birth, '%d-%m-%Y'),
                   CASE WHEN marital_status = 'KAWIN' THEN 'S' ELSE 'B' END, sex, street, rt, rw,
                   lpad(CAST(1 + (row_number() OVER (PARTITION BY village ORDER BY nik) - 1)
                             // 480 AS VARCHAR), 3, '0'),
                   village_name, district_name, regency_name
            FROM eligible WHERE hash(nik, {seed} + 10) % 1000000 < {per_million}
            ORDER BY village, nik
        ) TO '{body}' (FORMAT csv, HEADER false)
        """
    )
    con.close()
    n = 0
    with dpt.open("w", encoding="utf-8") as out, body.open(encoding="utf-8") as src:
        out.write("DAFTAR PEMILIH TETAP (DPT) PEMILIHAN SERENTAK 2020\nPROVINSI LAMPUNG\n\n")
        out.write(
            "NO,NKK,NIK,NAMA,TEMPAT LAHIR,TANGGAL LAHIR,KAWIN,JENIS KELAMIN,ALAMAT,RT,RW,TPS,"
            "KELURAHAN,KECAMATAN,KABUPATEN/KOTA\n"
        )
        for line in src:
            out.write(line)
            n += 1
    body.unlink()
    return dpt, n


# --- the parent process: files, database, stages ----------------------------------------------


def _marker(url: str) -> str | None:
    """What the database at ``url`` was built with, or None when it was not (completely)."""
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=5) as c:
            row = c.execute(f"SELECT value FROM {MARKER_TABLE} WHERE key = 'data'").fetchone()
    except psycopg.Error:
        return None
    return str(row[0]) if row else None


def _stage(url: str, stage: str, args: argparse.Namespace) -> int:
    """Run one stage in a child process with Django set up on ``url``; its exit status."""
    env = voters._env(url)
    env["DJANGO_SETTINGS_MODULE"] = "rekam.settings"
    env["PYTHONUNBUFFERED"] = "1"
    command = [sys.executable, "-m", "bench.dashboard", "--stage", stage]
    command += ["--scale", f"{args.scale:g}", "--seed", str(args.seed)]
    command += ["--rounds", str(args.rounds)]
    return subprocess.run(command, env=env, cwd=PROJECT, check=False).returncode


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.dashboard",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--scale", type=float, default=0.05, help="1 = 9.1 M residents, 3.9 M voters"
    )
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument(
        "--database-url",
        help=f"PostgreSQL server or database URL (default {voters.DEFAULT_POSTGRES}/{DB_NAME}; "
        "made when it does not hold this scale's data)",
    )
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds per page")
    parser.add_argument("--rebuild", action="store_true", help="make the database again")
    parser.add_argument("--stage", choices=["setup", "events", "time"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.stage:
        return _run_stage(args)
    url = args.database_url or f"{voters.DEFAULT_POSTGRES}/{DB_NAME}"
    if urlsplit(url).path in {"", "/"}:
        url = url.rstrip("/") + f"/{DB_NAME}"
    if not url.startswith("postgres"):
        print("the dashboard benchmark runs on PostgreSQL only", file=sys.stderr)
        return 2
    if args.rounds < 1:
        print("--rounds must be at least 1", file=sys.stderr)
        return 2
    stem = _stem(args.scale, args.seed)
    built = _marker(url)
    if built and built.startswith(stem + " ") and not args.rebuild:
        print(f"Dashboard: reusing {urlsplit(url).path[1:]} ({built})")
    else:
        started = time.perf_counter()
        registry, _, n_registry, _ = voters.generate(args.scale, args.seed)
        dpt, n_dpt = electing_dpt(registry, args.scale, args.seed)
        print(
            f"Dashboard: scale {args.scale:g}: registry {n_registry:,} residents, DPT {n_dpt:,} "
            f"voters in the 8 electing regencies/cities; files ready in "
            f"{time.perf_counter() - started:.0f} s"
        )
        started = time.perf_counter()
        voters.prepare_database(url, registry)
        print(f"PostgreSQL ready, registry loaded, in {time.perf_counter() - started:.0f} s")
        if status := _stage(url, "setup", args):
            return status
        election = ["--election", ELECTION]
        voters.timed(
            "rekam import_dpt", [*voters.REKAM, "import_dpt", str(dpt), *election, "-v", "0"], url
        )
        voters.timed("rekam reconcile", [*voters.REKAM, "reconcile", *election], url)
        if status := _stage(url, "events", args):
            return status
    return _stage(url, "time", args)


def _run_stage(args: argparse.Namespace) -> int:
    import django
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    django.setup()
    # A reused database follows the code's schema (migrations added since it was built), and
    # has its statistics refreshed when a migration ran (it may have rewritten a table, and
    # autovacuum is off on the development server).
    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    call_command("migrate", verbosity=0)
    if pending:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    if args.stage == "setup":
        _setup()
    elif args.stage == "events":
        _events(args.scale, args.seed)
    else:
        _time_pages(args.rounds)
    return 0


# --- set-up (a child process with Django) -----------------------------------------------------


def _setup() -> None:
    """The election in the 8 electing regencies/cities (polling day two weeks ahead), offices,
    the demo's service points and staff accounts."""
    from django.core.management import call_command
    from django.utils import timezone

    from rekam.accounts.services import offices_ensure_for_province
    from rekam.demo.services import demo_users_ensure, service_points_ensure_for_demo
    from rekam.elections.loader import REHEARSAL_VALIDITY_DAYS, electing_regions, election_ensure
    from rekam.elections.models import Election

    call_command("createcachetable", verbosity=0)
    # bench.voters' set-up makes an election in all 15 regencies/cities: not this one.
    Election.objects.filter(slug=voters.ELECTION).delete()
    polling = timezone.localdate() + timedelta(days=DAYS_TO_POLLING)
    electing = electing_regions()
    election_ensure(
        slug=ELECTION,
        name="Pemilihan Serentak Lampung (uji beban dasbor)",
        polling_day=polling,
        suket_issue_until=polling,
        suket_valid_until=polling + timedelta(days=REHEARSAL_VALIDITY_DAYS),
        regions=electing,
    )
    offices = offices_ensure_for_province(province_code="18")
    points = service_points_ensure_for_demo(electing_regions=[r.regency_code for r in electing])
    logins = demo_users_ensure()
    print(
        f"  election {ELECTION} (polling day {polling:%d-%m-%Y}), {len(offices)} offices, "
        f"{len(points)} service points, {len(logins)} staff accounts"
    )


# --- a week of events (a child process with Django) -------------------------------------------


def _step(text: str, started: float) -> float:
    """Print what was done since ``started`` and how long it took; returns the time now."""
    now = time.perf_counter()
    print(f"  {text} ({now - started:.1f} s)", flush=True)
    return now


def _moment(day: date, minute: float, now: datetime) -> datetime:
    """``minute`` minutes into ``day`` in Asia/Jakarta, and never later than a minute ago (the
    status import refuses timestamps from the future)."""
    from django.utils import timezone

    at = timezone.make_aware(datetime.combine(day, clock())) + timedelta(minutes=minute)
    return min(at, now - timedelta(minutes=1))


def _sample(
    states: list[str], regencies: list[str], per_10k: int, salt: str
) -> list[tuple[str, str]]:
    """``(nik, regency)`` of a deterministic ``per_10k``/10,000 of the residents in ``states``."""
    from django.db import connection

    from rekam.residents.models import Resident

    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT nik, regency_id FROM {Resident._meta.db_table} "
            "WHERE regency_id = ANY(%s) AND ktp_state = ANY(%s) "
            "AND abs(hashtext(nik || %s)) %% 10000 < %s",
            [regencies, states, salt, per_10k],
        )
        return [(str(nik), str(regency)) for nik, regency in cursor.fetchall()]


def _events(scale: float, seed: int) -> None:
    from django.db import connection
    from django.utils import timezone

    from rekam.accounts.models import User
    from rekam.elections.models import Election
    from rekam.regions.models import Level, Region
    from rekam.voters.models import VoterCheck, VoterClass

    rng = random.Random(seed)
    election = Election.objects.get(slug=ELECTION)
    now = timezone.now()
    today = timezone.localdate(now)
    days = [today - timedelta(days=WEEK - 1 - n) for n in range(WEEK)]
    regencies = list(Region.objects.filter(level=Level.REGENCY).values_list("code", flat=True))
    admin = User.objects.get(username=PROVINCE_USER)
    # import_dpt and reconcile leave the tables they filled unanalysed; with autovacuum off (as
    # on the development server) every record move's voter look-up would be planned blind.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    unrecorded = list(
        VoterCheck.objects.filter(
            election=election, klass=VoterClass.NOT_RECORDED, resident__isnull=False
        )
        .order_by("resident_id")
        .values_list("resident_id", flat=True)
    )
    rng.shuffle(unrecorded)
    per_day = max(1, round(len(unrecorded) * RECORDED_PER_DAY))
    suket_plan = _SuketWriter(election, scale, rng, days)
    printed: Counter[tuple[str, date]] = Counter()
    print(f"A week of events, {days[0]:%d-%m-%Y} to {days[-1]:%d-%m-%Y}:")
    for n, day in enumerate(days):
        t = time.perf_counter()
        recorded = _record_at_counters(unrecorded[n * per_day : (n + 1) * per_day], day, now, admin)
        counter_s = time.perf_counter() - t
        t = time.perf_counter()
        sukets = suket_plan.write_day(n, now)
        suket_s = time.perf_counter() - t
        rows, moved, import_s = _status_file(day, n, now, seed, regencies, printed)
        print(
            f"  {day:%d-%m-%Y}: {recorded:,} recorded at counters ({counter_s:.1f} s), "
            f"{sukets:,} Sukets ({suket_s:.1f} s), import_statuses {rows:,} rows, "
            f"{moved:,} moved ({import_s:.1f} s, {rows / max(import_s, 1e-9):,.0f} rows/s)",
            flush=True,
        )
    suket_plan.finish()
    started = time.perf_counter()
    _blank_ledgers(days, printed, now, rng)
    started = _step("blank-card receipts and consumption", started)
    sessions = _sessions(days[0], today + timedelta(days=DAYS_TO_POLLING))
    started = _step(f"{sessions:,} queue sessions", started)
    tickets = _tickets(days, now, round(TICKETS * scale), rng)
    started = _step(f"{tickets:,} queue tickets", started)
    invited, sent = _invitations(election, now, rng)
    started = _step(f"{invited:,} invitations, {sent:,} invitation messages", started)
    _mark_built(scale, seed, days)
    _step("VACUUM ANALYZE", started)


def _mark_built(scale: float, seed: int, days: list[date]) -> None:
    """Statistics for the planner, and the marker that lets the next run reuse the data."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {MARKER_TABLE} (key text PRIMARY KEY, value text)"
        )
        cursor.execute(
            f"INSERT INTO {MARKER_TABLE} VALUES ('data', %s) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [f"{_stem(scale, seed)} events {days[0]:%Y-%m-%d}..{days[-1]:%Y-%m-%d}"],
        )


def _record_at_counters(resident_ids: list[int], day: date, now: datetime, user: Any) -> int:
    """Office recordings (BELUM_REKAM to BIO_CAPTURED), one ``record_move`` each, as counters
    make them, spread over the day's opening hours."""
    from rekam.residents.models import Resident
    from rekam.residents.services import record_move
    from rekam.residents.states import KtpState

    residents = Resident.objects.filter(pk__in=resident_ids, ktp_state=KtpState.BELUM_REKAM).only(
        "pk", "regency_id", "ktp_state", "ktp_state_at"
    )
    done = 0
    step = 8 * 60 / max(1, len(resident_ids))
    for i, resident in enumerate(residents.order_by("pk")):
        record_move(
            resident=resident,
            to_state=KtpState.BIO_CAPTURED,
            acting_user=user,
            at=_moment(day, 8 * 60 + i * step, now),
        )
        done += 1
    return done


# How the central system's export spells the states this benchmark moves records to.
_SIAK_SPELLING = {
    "SENT_FOR_ENROLLMENT": "TERKIRIM",
    "PRINT_READY_RECORD": "PRR",
    "CARD_PRINTED": "SUDAH CETAK",
}


def _status_file(
    day: date,
    n: int,
    now: datetime,
    seed: int,
    regencies: list[str],
    printed: Counter[tuple[str, date]],
) -> tuple[int, int, float]:
    """The day's SIAK export, imported by ``rekam import_statuses``: rows, moves, seconds.
    Counts the cards it prints per regency/city in ``printed``."""
    from django.core.management import call_command
    from django.db import connection

    from rekam.residents.models import Resident
    from rekam.residents.states import KtpState

    start = _moment(day, 0, now)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT nik, regency_id FROM {Resident._meta.db_table} "
            "WHERE regency_id = ANY(%s) AND ktp_state = %s AND ktp_state_at < %s",
            [regencies, KtpState.BIO_CAPTURED.value, start],
        )
        sent = [(str(nik), str(regency)) for nik, regency in cursor.fetchall()]
    salt = f"{seed}:{n}"
    ready = _sample([KtpState.SENT_FOR_ENROLLMENT], regencies, int(SENT_TO_PRR_PER_DAY * 1e4), salt)
    cards = _sample(
        [KtpState.PRINT_READY_RECORD], regencies, int(PRR_TO_PRINTED_PER_DAY * 1e4), salt
    )
    path = WORK / f"dashboard-siak-{day:%Y%m%d}.csv"
    rows = 0
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["NIK", "STATUS", "TANGGAL"])
        for state, picked in (
            (KtpState.SENT_FOR_ENROLLMENT, sent),
            (KtpState.PRINT_READY_RECORD, ready),
            (KtpState.CARD_PRINTED, cards),
        ):
            spelling = _SIAK_SPELLING[state]
            for i, (nik, regency) in enumerate(picked):
                at = _moment(day, 17 * 60 + 240 * i / max(1, len(picked)), now)
                out.writerow([nik, spelling, f"{at.astimezone(start.tzinfo):%d-%m-%Y %H:%M:%S}"])
                rows += 1
                if state == KtpState.CARD_PRINTED:
                    printed[(regency, day)] += 1
    summary = io.StringIO()
    t = time.perf_counter()
    call_command("import_statuses", str(path), "--no-progress", stdout=summary)
    seconds = time.perf_counter() - t
    moved = next(
        (
            int(line.split(":")[1])
            for line in summary.getvalue().splitlines()
            if "berpindah" in line
        ),
        0,
    )
    path.unlink()
    return rows, moved, seconds


class _SuketWriter:
    """Sukets issued over the week to voters recorded but without a card, with their decisions
    (``bulk_create``; placeholder PDF and QR: the dashboard reads neither)."""

    def __init__(self, election: Any, scale: float, rng: random.Random, days: list[date]):
        from rekam.accounts.models import Office
        from rekam.residents.states import KtpState
        from rekam.suket.keys import office_key_active
        from rekam.voters.models import VoterCheck

        self.election = election
        self.rng = rng
        self.days = days
        self.per_day = max(1, round(SUKETS * scale / len(days)))
        self.offices = {
            str(o.region_id): o for o in Office.objects.filter(kind=Office.Kind.REGENCY)
        }
        self.keys = {code: office_key_active(o) for code, o in self.offices.items()}
        self.seq: Counter[str] = Counter()
        waiting = [
            KtpState.SENT_FOR_ENROLLMENT,
            KtpState.RECEIVED_AT_CENTRAL,
            KtpState.PRINT_READY_RECORD,
        ]
        self.candidates = list(
            VoterCheck.objects.filter(election=election, ktp_state__in=waiting)
            .order_by("resident_id")
            .values_list("resident_id", flat=True)
        )
        rng.shuffle(self.candidates)
        self.next = 0

    def write_day(self, n: int, now: datetime) -> int:
        from rekam.residents.models import Resident
        from rekam.residents.states import KtpState
        from rekam.suket.models import Outcome, Suket, SuketDecision
        from rekam.suket.rules import Reason
        from rekam.suket.services import format_number

        chosen = self.candidates[self.next : self.next + self.per_day]
        self.next += self.per_day
        residents = list(
            Resident.objects.filter(pk__in=chosen)
            .exclude(ktp_state=KtpState.CARD_PRINTED)
            .only("pk", "nik", "name", "village_id", "regency_id", "ktp_state")
            .order_by("pk")
        )
        day = self.days[n]
        polling = self.election.polling_day
        decisions: list[SuketDecision] = []
        sukets: list[Suket] = []
        for i, r in enumerate(residents):
            office = self.offices[str(r.regency_id)]
            at = _moment(day, 8 * 60 + 8 * 60 * i / max(1, len(residents)), now)
            reason = (
                Reason.BLANKO_HABIS
                if r.ktp_state == KtpState.PRINT_READY_RECORD
                else Reason.BELUM_PRR
            )
            decisions.append(
                SuketDecision(
                    resident_id=r.pk,
                    election=self.election,
                    office=office,
                    moment=at,
                    outcome=Outcome.SUKET,
                    reason=reason,
                    message=str(reason.label),
                    inputs={"ktp_state": r.ktp_state},
                    actor_label="bench",
                )
            )
            self.seq[office.code] += 1
            uid = hashlib.blake2b(f"{r.pk}:{at}".encode(), digest_size=8).hexdigest()
            # One in 20 valid only until the day before polling day (the "expiring" column),
            # one in 200 valid too long and one in 200 without a reason (compliance flags).
            draw = self.rng.random()
            until = (
                polling - timedelta(days=1)
                if draw < 0.05
                else self.election.suket_valid_until + timedelta(days=7)
                if draw < 0.055
                else self.election.suket_valid_until
            )
            sukets.append(
                Suket(
                    uid=uid,
                    office=office,
                    year=day.year,
                    seq=self.seq[office.code],
                    number=format_number(office, day.year, self.seq[office.code]),
                    resident_id=r.pk,
                    village_id=r.village_id,
                    regency_id=r.regency_id,
                    election=self.election,
                    reason="" if 0.055 <= draw < 0.06 else reason,
                    holder={"nik": r.nik, "nama": r.name},
                    issued_at=at,
                    valid_from=day,
                    valid_until=until,
                    signer_name="Kepala Dinas",
                    signer_nip="196805121990031007",
                    key=self.keys[str(r.regency_id)],
                    qr_text=f"REKAM-BENCH:{uid}",
                    pdf=PLACEHOLDER_PDF,
                    pdf_sha256=hashlib.sha256(PLACEHOLDER_PDF).hexdigest(),
                    issued_by_label="bench",
                )
            )
        SuketDecision.objects.bulk_create(decisions, batch_size=1000)
        for suket, decision in zip(sukets, decisions, strict=True):
            suket.decision = decision
        Suket.objects.bulk_create(sukets, batch_size=1000)
        return len(sukets)

    def finish(self) -> None:
        """The offices' number counters continue after the Sukets written here."""
        from rekam.suket.models import NumberCounter

        year = self.days[-1].year
        for code, last in self.seq.items():
            NumberCounter.objects.update_or_create(
                office=self.offices[code], year=year, defaults={"last": last}
            )


def _blank_ledgers(
    days: list[date], printed: Counter[tuple[str, date]], now: datetime, rng: random.Random
) -> None:
    """A receipt per regency/city office at the start of the week, one ``consumed`` line per
    card the status files printed there, and the balance they leave (a few offices short)."""
    from rekam.accounts.models import Office
    from rekam.suket.models import BlankMovement, BlankStock

    offices = {str(o.region_id): o for o in Office.objects.filter(kind=Office.Kind.REGENCY)}
    movements: list[BlankMovement] = []
    stocks: list[BlankStock] = []
    for code, office in sorted(offices.items()):
        used = sum(n for (regency, _), n in printed.items() if regency == code)
        left = round(used * rng.choice([0.05, 0.5, 1.0, 2.0]))
        balance = used + left
        movements.append(
            BlankMovement(
                office=office,
                kind=BlankMovement.Kind.RECEIPT,
                quantity=balance,
                balance_after=balance,
                at=_moment(days[0], 7 * 60, now),
                batch=f"BENCH-{days[0]:%Y%m%d}",
                received_on=days[0],
                actor_label="bench",
            )
        )
        serial = 0
        for day in days:
            count = printed[(code, day)]
            for i in range(count):
                balance -= 1
                serial += 1
                movements.append(
                    BlankMovement(
                        office=office,
                        kind=BlankMovement.Kind.CONSUMED,
                        quantity=-1,
                        balance_after=balance,
                        at=_moment(day, 8 * 60 + 8 * 60 * i / max(1, count), now),
                        card_serial=f"{code.replace('.', '')}{serial:08d}",
                        actor_label="bench",
                    )
                )
        stocks.append(BlankStock(office=office, balance=balance))
    BlankStock.objects.bulk_create(stocks)
    BlankMovement.objects.bulk_create(movements, batch_size=2000)


def _points() -> list[Any]:
    from rekam.servicepoints.models import ServicePoint

    return list(
        ServicePoint.objects.filter(is_active=True, offers_recording=True)
        .select_related("office")
        .order_by("pk")
    )


def _sessions(first: date, last: date) -> int:
    """The demo points' queue sessions from the start of the week to polling day."""
    from rekam.antrean.services import sessions_ensure_many

    made = sessions_ensure_many(service_points=_points(), start=first, days=(last - first).days + 1)
    return sum(len(s) for s in made.values())


def _tickets(days: list[date], now: datetime, count: int, rng: random.Random) -> int:
    """``count`` tickets over the week's sessions (more at points with more counters): served,
    no-shows and cancellations in the past, waiting or booked in sessions not over yet."""
    from rekam.antrean.models import Channel, Session, Ticket
    from rekam.antrean.models import State as T
    from rekam.servicepoints.models import SERVICE_PREFIX, Service

    points = {p.pk: p for p in _points()}
    sessions = list(
        Session.objects.filter(
            service_point_id__in=list(points), day__range=(days[0], days[-1])
        ).order_by("service_point_id", "starts_at")
    )
    weights = [points[s.service_point_id].counters for s in sessions]
    per_session = Counter(rng.choices(range(len(sessions)), weights=weights, k=count))
    services = [Service.RECORDING, Service.PRINTING, Service.SUKET, Service.OTHER]
    numbers: Counter[tuple[int, date, str]] = Counter()
    tickets: list[Ticket] = []
    written = 0
    for index in sorted(per_session):
        s = sessions[index]
        point = points[s.service_point_id]
        span = (s.ends_at - s.starts_at).total_seconds() / 60
        for _ in range(per_session[index]):
            service = rng.choices(services, weights=[50, 30, 15, 5])[0]
            numbers[(point.pk, s.day, service)] += 1
            arrived = s.starts_at + timedelta(minutes=rng.uniform(0, span))
            called = arrived + timedelta(minutes=rng.uniform(2, 60))
            closed = called + timedelta(minutes=rng.uniform(4, 15))
            draw = rng.random()
            ticket = Ticket(
                session=s,
                service_point=point,
                day=s.day,
                window_start=s.starts_at,
                window_end=s.ends_at,
                service=service,
                label=f"{SERVICE_PREFIX[service]}-{numbers[(point.pk, s.day, service)]:03d}",
                channel=rng.choice([Channel.ONLINE, Channel.GATE, Channel.INVITATION]),
                public_code=f"BENCH{len(tickets) + written:011d}",
                estimated_at=arrived,
                issued_at=arrived - timedelta(hours=rng.choice([0, 0, 20])),
            )
            if closed > now:  # not over yet: booked or waiting, nobody called
                ticket.state = T.WAITING if arrived <= now else T.BOOKED
                ticket.checked_in_at = arrived if arrived <= now else None
            elif draw < 0.05:
                ticket.state = T.CANCELLED
            elif draw < 0.13:
                ticket.state, ticket.checked_in_at = T.NO_SHOW, arrived
                ticket.called_at, ticket.closed_at = called, called
            else:
                ticket.state, ticket.checked_in_at = T.DONE, arrived
                ticket.called_at, ticket.closed_at = called, closed
                ticket.counter = rng.randint(1, point.counters)
                ticket.calls = 1
            tickets.append(ticket)
        if len(tickets) >= 5000:
            Ticket.objects.bulk_create(tickets, batch_size=1000)
            written += len(tickets)
            tickets = []
    Ticket.objects.bulk_create(tickets, batch_size=1000)
    return written + len(tickets)


def _invitations(election: Any, now: datetime, rng: random.Random) -> tuple[int, int]:
    """One invitation per voter who needs a visit, to a session of their kecamatan's point (or
    their regency/city office) from the start of the week to polling day: attended, no-show,
    cancelled or rescheduled (with its replacement) where the session is over; and the
    WhatsApp message of each recording invitation to a resident, as ``invitations_send`` keys
    them. Returns (invitations, messages)."""
    from rekam.antrean.models import Session
    from rekam.invitations.models import Invitation, PlanRun
    from rekam.notifications.models import Channel, Message
    from rekam.notifications.models import State as Sent
    from rekam.servicepoints.models import ServicePoint
    from rekam.voters.models import NEEDS_WORK, VoterCheck, VoterClass

    run = PlanRun.objects.create(
        election=election, status=PlanRun.Status.DONE, progress=100, step="bench", finished_at=now
    )
    by_code = {p.code: p for p in ServicePoint.objects.filter(is_active=True)}
    sessions_of: dict[int, list[Any]] = defaultdict(list)
    for s in Session.objects.filter(service_point_id__in=[p.pk for p in by_code.values()]).order_by(
        "starts_at"
    ):
        sessions_of[s.service_point_id].append(s)
    people = (
        VoterCheck.objects.filter(election=election, klass__in=NEEDS_WORK)
        .order_by("voter_id")
        .values(
            "voter_id",
            "klass",
            "resident_id",
            "voter__name",
            "voter__regency_id",
            "voter__district_id",
            "voter__village_id",
            "voter__rt",
            "voter__rw",
        )
    )
    recording = {VoterClass.NOT_RECORDED, VoterClass.NOT_IN_REGISTRY, VoterClass.NIK_INVALID}
    serial = 0
    invited = sent = 0

    def invitation(voter: dict[str, Any], session: Any, state: str) -> Invitation:
        nonlocal serial
        serial += 1
        return Invitation(
            run=run,
            election=election,
            voter_id=voter["voter_id"],
            village_id=voter["voter__village_id"],
            rt=voter["voter__rt"],
            rw=voter["voter__rw"],
            service=Invitation.Service.RECORDING
            if voter["klass"] in recording
            else Invitation.Service.PRINTING,
            service_point_id=session.service_point_id,
            session=session,
            starts_at=session.starts_at,
            ends_at=session.ends_at,
            km=round(rng.uniform(0.3, 18.0), 1),
            state=state,
            reference=f"BENCH{run.pk:04d}{serial:09d}",
            checked_in_at=session.starts_at + timedelta(minutes=rng.uniform(0, 40))
            if state == Invitation.State.ATTENDED
            else None,
            rescheduled_at=session.starts_at - timedelta(days=1)
            if state == Invitation.State.RESCHEDULED
            else None,
        )

    def message(voter: dict[str, Any], inv: Invitation) -> Message:
        at = min(inv.starts_at - timedelta(days=3), now - timedelta(hours=1))
        return Message(
            idempotency_key=f"invitation:{inv.reference}",
            template="invitation",
            data={"name": voter["voter__name"], "code": inv.reference[:8]},
            resident_id=voter["resident_id"],
            recipient_name=voter["voter__name"],
            phone="+628120000000",
            village_id=voter["voter__village_id"],
            regency_id=voter["voter__regency_id"],
            channels=[Channel.WHATSAPP],
            channel=Channel.WHATSAPP,
            state=Sent.DELIVERED,
            attempts=1,
            sent_at=at,
            delivered_at=at + timedelta(seconds=5),
        )

    for chunk in _chunked(people.iterator(chunk_size=20_000), 20_000):
        first: list[Invitation] = []
        voters_of: list[dict[str, Any]] = []
        later_of: list[list[Any]] = []
        for voter in chunk:
            point = by_code.get(f"{voter['voter__district_id']}-KEC")
            if point is None or not sessions_of[point.pk]:
                point = by_code[f"{voter['voter__regency_id']}-DINAS"]
            choices = sessions_of[point.pk]
            session = choices[rng.randrange(len(choices))]
            draw = rng.random()
            if session.ends_at > now:
                state = Invitation.State.CANCELLED if draw < 0.03 else Invitation.State.PLANNED
            elif draw < 0.55:
                state = Invitation.State.ATTENDED
            elif draw < 0.85:
                state = Invitation.State.NO_SHOW
            elif draw < 0.93:
                state = Invitation.State.RESCHEDULED
            else:
                state = Invitation.State.CANCELLED
            first.append(invitation(voter, session, state))
            voters_of.append(voter)
            later_of.append(
                [s for s in choices if s.starts_at > now]
                if state == Invitation.State.RESCHEDULED
                else []
            )
        Invitation.objects.bulk_create(first, batch_size=2000)
        again: list[Invitation] = []
        again_voters: list[dict[str, Any]] = []
        for old, voter, later in zip(first, voters_of, later_of, strict=True):
            if later:
                new = invitation(voter, rng.choice(later), Invitation.State.PLANNED)
                new.replaces = old
                again.append(new)
                again_voters.append(voter)
        Invitation.objects.bulk_create(again, batch_size=2000)
        messages = [
            message(voter, inv)
            for voter, inv in zip([*voters_of, *again_voters], [*first, *again], strict=True)
            if inv.service == Invitation.Service.RECORDING and voter["resident_id"]
        ]
        Message.objects.bulk_create(messages, batch_size=2000)
        invited += len(first) + len(again)
        sent += len(messages)
    return invited, sent


def _chunked(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# --- timing (a child process with Django) -----------------------------------------------------


@dataclass
class Page:
    name: str
    user: str
    path: str
    within: str  # what the live baseline counts: "" province, a regency or a kecamatan


@dataclass
class Timing:
    median_ms: float
    max_ms: float


def _timed(fn: Callable[[], Any], rounds: int) -> Timing:
    spent = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        spent.append((time.perf_counter() - t) * 1000)
    return Timing(statistics.median(spent), max(spent))


_LIVE_STATES = """
SELECT v.{group}, c.klass, c.first_time, coalesce(r.ktp_state, ''), count(*)
FROM voters_votercheck c
JOIN voters_voter v ON v.id = c.voter_id
LEFT JOIN residents_resident r ON r.id = c.resident_id
WHERE c.election_id = %s {where}
GROUP BY 1, 2, 3, 4
"""
_LIVE_PROGRESS = """
SELECT (e.at AT TIME ZONE 'Asia/Jakarta')::date,
       count(*) FILTER (WHERE e.from_state = 'BELUM_REKAM'),
       count(*) FILTER (WHERE e.to_state = 'CARD_PRINTED')
FROM residents_recordevent e
JOIN voters_votercheck c ON c.resident_id = e.resident_id
JOIN voters_voter v ON v.id = c.voter_id
WHERE e.at >= %s AND (e.from_state = 'BELUM_REKAM' OR e.to_state = 'CARD_PRINTED')
  AND c.election_id = %s {where}
GROUP BY 1
"""


def live_voter_figures(election: Any, within: str, since: datetime) -> int:
    """The voter figures of a page counted without the pre-aggregates: the voters per region,
    reconciliation class and state now, and the progress chart from the record events; returns
    the voters counted."""
    from django.db import connection

    group = {0: "regency_id", 2: "district_id", 3: "village_id"}[
        within.count(".") + 1 if within else 0
    ]
    where, params = "", []
    if within:
        where = "AND v.regency_id = %s" + (" AND v.district_id = %s" if len(within) > 5 else "")
        params = [within[:5]] + ([within] if len(within) > 5 else [])
    with connection.cursor() as cursor:
        cursor.execute(_LIVE_STATES.format(group=group, where=where), [election.pk, *params])
        voters_counted = sum(int(row[4]) for row in cursor.fetchall())
        cursor.execute(_LIVE_PROGRESS.format(where=where), [since, election.pk, *params])
        cursor.fetchall()
    return voters_counted


def _pages(base: str) -> list[Page]:
    from rekam.reporting.flags import FLAG_KINDS

    pages = [
        Page("province", PROVINCE_USER, base, ""),
        Page(f"regency {REGENCY}", PROVINCE_USER, f"{base}?wilayah={REGENCY}", REGENCY),
        Page(f"kecamatan {DISTRICT}", PROVINCE_USER, f"{base}?wilayah={DISTRICT}", DISTRICT),
        Page("unduh.csv", PROVINCE_USER, f"{base}unduh.csv", ""),
        Page("unduh.xlsx", PROVINCE_USER, f"{base}unduh.xlsx", ""),
        Page(f"own regency {REGENCY}", REGENCY_USER, base, REGENCY),
        Page(f"kecamatan {DISTRICT}", REGENCY_USER, f"{base}?wilayah={DISTRICT}", DISTRICT),
        Page("unduh.csv", REGENCY_USER, f"{base}unduh.csv", REGENCY),
        Page("unduh.xlsx", REGENCY_USER, f"{base}unduh.xlsx", REGENCY),
    ]
    for user, within in ((PROVINCE_USER, ""), (REGENCY_USER, REGENCY)):
        pages.append(Page("kepatuhan", user, f"{base}kepatuhan/", within))
        pages += [
            Page(f"kepatuhan/{kind}", user, f"{base}kepatuhan/{kind}/", within)
            for kind in FLAG_KINDS
        ]
    return pages


def _data_summary(election: Any) -> None:
    from rekam.antrean.models import Ticket
    from rekam.invitations.models import Invitation
    from rekam.notifications.models import Message
    from rekam.reporting.models import VoterDay, VoterMove, VoterStateCount
    from rekam.residents.models import RecordEvent, Resident
    from rekam.suket.models import BlankMovement, Suket
    from rekam.voters.models import Voter, VoterCheck

    counts = {
        "residents": Resident.objects.count(),
        "voters": Voter.objects.filter(election=election, removed_in__isnull=True).count(),
        "verdicts": VoterCheck.objects.filter(election=election).count(),
        "record events": RecordEvent.objects.count(),
        "VoterStateCount rows": VoterStateCount.objects.filter(election=election).count(),
        "VoterMove rows": VoterMove.objects.filter(election=election).count(),
        "VoterDay rows": VoterDay.objects.filter(election=election).count(),
        "Sukets": Suket.objects.filter(election=election).count(),
        "revoked": Suket.objects.filter(election=election, revoked_at__isnull=False).count(),
        "invitations": Invitation.objects.filter(election=election).count(),
        "messages": Message.objects.count(),
        "tickets": Ticket.objects.count(),
        "blank movements": BlankMovement.objects.count(),
    }
    print("data: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))


def _diagnose(client: Any, page: Page) -> list[tuple[float, str]]:
    """One more (untimed) request with its queries captured: each query's ms and text,
    slowest first."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        client.get(page.path)
    queries = [(float(q["time"]) * 1000, q["sql"]) for q in captured.captured_queries]
    return sorted(queries, key=lambda q: -q[0])


def _explain(sql: str, name: str) -> Path:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        plan = "\n".join(str(row[0]) for row in cursor.fetchall())
    path = WORK / f"dashboard-explain-{re.sub(r'[^\w]+', '-', name).strip('-')}.txt"
    path.write_text(sql + "\n\n" + plan + "\n", encoding="utf-8")
    return path


def _time_pages(rounds: int) -> None:
    from django.db import transaction
    from django.test import Client
    from django.urls import reverse
    from django.utils import timezone

    from rekam.accounts.models import User
    from rekam.elections.models import Election
    from rekam.reporting import tallies
    from rekam.residents.states import KtpState
    from rekam.voters.models import VoterCheck

    election = Election.objects.get(slug=ELECTION)
    today = timezone.localdate()
    _data_summary(election)
    base = reverse("dashboard_election", kwargs={"slug": election.slug})
    clients: dict[str, Any] = {}
    for username in (PROVINCE_USER, REGENCY_USER):
        clients[username] = Client()
        clients[username].force_login(User.objects.get(username=username))
    pages = _pages(base)

    since = timezone.make_aware(datetime.combine(today - timedelta(days=13), clock()))
    baselines: dict[str, Timing] = {}
    for within in dict.fromkeys(p.within for p in pages):
        live_voter_figures(election, within, since)  # warm-up

        def live(w: str = within) -> None:
            live_voter_figures(election, w, since)

        baselines[within] = _timed(live, rounds)

    print(
        f"\nDashboard pages, {rounds} rounds after a warm-up, {today:%d-%m-%Y} "
        f"(baseline: the same level's voter figures counted live), load average "
        f"{os.getloadavg()[0]:.1f}"
    )
    header = (
        f"{'page':<34} {'user':<10} {'median':>8} {'max':>8} {'baseline':>9} {'ratio':>6} "
        f"{'< 1 s':>5}  {'queries':>7} {'SQL ms':>7} {'slowest':>8}"
    )
    print(header)
    print("-" * len(header))
    slow: list[tuple[Page, float, list[tuple[float, str]]]] = []
    for page in pages:
        client = clients[page.user]

        def get(c: Any = client, p: Page = page) -> None:
            response = c.get(p.path)
            if response.status_code != 200:
                raise RuntimeError(f"{p.path} as {p.user}: HTTP {response.status_code}")
            len(response.content)

        get()  # warm-up
        timing = _timed(get, rounds)
        baseline = baselines[page.within]
        queries = _diagnose(client, page)
        sql_ms = sum(ms for ms, _ in queries)
        slowest_ms = queries[0][0] if queries else 0.0
        fast = timing.max_ms < ONE_SECOND_MS
        print(
            f"{page.name:<34} {page.user:<10} {timing.median_ms:8.0f} {timing.max_ms:8.0f} "
            f"{baseline.median_ms:9.0f} {timing.median_ms / baseline.median_ms:6.2f} "
            f"{'yes' if fast else 'NO':>5}  {len(queries):>7} {sql_ms:7.0f} {slowest_ms:8.0f}",
            flush=True,
        )
        if not fast:
            slow.append((page, timing.median_ms, queries))
    print(f"load average {os.getloadavg()[0]:.1f}")
    for within, t in baselines.items():
        print(
            f"baseline {within or 'province':<10} median {t.median_ms:8.0f} ms, "
            f"max {t.max_ms:8.0f} ms"
        )
    for page, median_ms, queries in slow:
        path = _explain(queries[0][1], f"{page.user}-{page.name}")
        sql_ms = sum(ms for ms, _ in queries)
        print(
            f"\n{page.name} as {page.user}: {median_ms:.0f} ms, of which SQL {sql_ms:.0f} ms in "
            f"{len(queries)} queries; the slowest (EXPLAIN ANALYZE of the first in {path}):"
        )
        for ms, sql in queries[:3]:
            tail = sql[sql.find(" FROM ") :] if " FROM " in sql else ""
            print(f"  {ms:6.0f} ms  {sql[:70]} ...{tail[:230]}")

    # The upkeep of the counts, each in a transaction rolled back.
    moving = list(
        VoterCheck.objects.filter(election=election, resident__isnull=False)
        .exclude(resident__ktp_state=KtpState.CARD_PRINTED)
        .order_by("resident_id")
        .values_list("resident_id", flat=True)
    )
    batch = random.Random(1).sample(moving, min(MOVE_BATCH, len(moving)))
    regencies = list(election.regions.values_list("code", flat=True))
    moved = 0

    def move() -> None:
        nonlocal moved
        with transaction.atomic():
            moved = tallies.voters_moved(
                resident_ids=batch, to_state=KtpState.CARD_PRINTED, at=timezone.now()
            )
            transaction.set_rollback(True)

    def reset() -> None:
        with transaction.atomic():
            tallies.voter_counts_reset(election=election, regencies=regencies)
            transaction.set_rollback(True)

    move_t = _timed(move, rounds)
    reset_t = _timed(reset, rounds)
    print(
        f"\nupkeep: records_moved receiver, {len(batch):,} residents ({moved:,} voters moved to "
        f"CARD_PRINTED): median {move_t.median_ms:.0f} ms, max {move_t.max_ms:.0f} ms "
        f"({move_t.median_ms * 1000 / max(1, moved):.0f} µs a voter)"
    )
    print(
        f"upkeep: reconciliation's reset of the counts ({len(regencies)} regencies/cities): "
        f"median {reset_t.median_ms:.0f} ms, max {reset_t.max_ms:.0f} ms"
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
