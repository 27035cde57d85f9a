"""Queue benchmark: online numbers issued per second under load, on PostgreSQL behind gunicorn.

    .venv/bin/python -m bench.antrean [--database-url URL] [--seconds S] [--clients 16,64]
        [--workers 2 --worker-class gthread --threads 8] [--confirm worker|request|after]
        [--no-redis]

It builds a fresh PostgreSQL database (default ``rekam_antrean_bench`` on 127.0.0.1), starts a
Redis server for the cache and the rate limits (as ``REDIS_URL`` does in production;
``--no-redis`` keeps the database cache), gunicorn with ``rekam.wsgi`` on 127.0.0.1 and, by
default, one ``antrean_confirm`` worker that puts the bookings' confirmations in the outbox,
then drives the server with an asyncio HTTP client in this process, C clients each sending its
next request as soon as the last one was answered, for S seconds per case:

- bare: a Django view doing one database round trip, on the same server: the baseline;
- many sessions: ``POST /antrean/ambil/`` (proven identity cookie, CSRF, rate limit, then one
  prepared statement: seat, number and ticket under the session's and the day counter's row
  locks, and its commit) spread over 800 sessions of 100 service points, as on a real morning;
- one session: the same, all on one session (every request waits for the same row lock);
- board: ``GET /antrean/papan/<point>/data.json`` at a point with a live morning.

Each case prints requests/s, p50 and p99 latency, errors, and its ratio to the bare view at the
same number of clients, then the server side's CPU per answered request (gunicorn, PostgreSQL's
backends for this database, the confirmation worker, Redis; read from ``/proc``, warm-up and
the worker's catching up included) and its ratio to the bare view's: on a machine shared with
other work, requests/s move with whatever else runs, the CPU a request costs much less. After
each issuance case the database is checked: no number twice, no session over its capacity,
every confirmation in the outbox. Before each case the database is vacuumed and checkpointed
(untimed), and the server has answered a few pages first. The server module is this file:
gunicorn loads it as the settings (``rekam.settings`` plus the bare view's URL) when
``REKAM_BENCH_SERVER=1``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/rekam_antrean_bench"
POINTS = 100
HOT_CAPACITY = 30_000
RESIDENTS = 40_000
SECRET = "rekam-bench-antrean-" + "x" * 40

if os.environ.get("REKAM_BENCH_SERVER") == "1":
    # The server's settings: the project's own, plus the bare view below.
    from rekam.settings import *  # noqa: F403

    ROOT_URLCONF = "bench.antrean"

_urls: list[Any] = []


def bare(request: Any) -> Any:
    """The baseline: a Django view doing one database round trip."""
    from django.http import HttpResponse

    from rekam.servicepoints.models import ServicePoint

    code = ServicePoint.objects.order_by("pk").values_list("code", flat=True).first()
    return HttpResponse(code or "", content_type="text/plain")


def __getattr__(name: str) -> Any:
    # Built on first use: as a settings module this file is imported before Django is ready.
    if name == "urlpatterns":
        if not _urls:
            from django.urls import include, path

            _urls.extend([path("bench/bare/", bare), path("", include("rekam.urls"))])
        return _urls
    raise AttributeError(name)


# Setting up


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _recreate_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        db.execute(f'CREATE DATABASE "{name}"')


@dataclass
class Fixture:
    many: list[int]  # session ids spread over points and hours
    hot: int  # the one session
    board_point: str
    residents: list[int]


def _prepare() -> Fixture:
    """Regions, offices, 40 service points with tomorrow's sessions, one huge session, a board
    point with a morning, and residents to book."""
    from datetime import date, datetime, timedelta
    from datetime import time as dtime

    from django.conf import settings
    from django.core.management import call_command
    from django.utils import timezone

    from rekam.accounts.models import Role
    from rekam.accounts.services import offices_ensure_for_province, user_create
    from rekam.antrean.services import (
        sessions_ensure,
        ticket_call_next,
        ticket_close,
        ticket_issue_walkin,
    )
    from rekam.lib.nik import make_nik
    from rekam.regions.loader import load_province
    from rekam.regions.models import Level, Region
    from rekam.residents.models import Resident, name_key
    from rekam.servicepoints.models import HolidayOpening, ServicePoint
    from rekam.servicepoints.services import opening_hours_set

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    load_province(Path(settings.REGION_DATA_DIR) / "lampung")
    office = {o.code: o for o in offices_ensure_for_province(province_code="18")}["18.71"]
    villages = list(Region.objects.filter(level=Level.VILLAGE, code__startswith="18.71."))
    tomorrow = timezone.localdate() + timedelta(days=1)
    today = timezone.localdate()
    hours = {d: (dtime(8, 0), dtime(16, 0)) for d in range(7)}

    def point(code: str, **fields: Any) -> ServicePoint:
        made = ServicePoint.objects.create(
            office=office,
            kind=ServicePoint.Kind.KECAMATAN,
            code=code,
            name=f"Tempat layanan {code}",
            village=villages[len(code) % len(villages)],
            holiday_opening=HolidayOpening.OPEN,
            invitation_percent=0,
            **fields,
        )
        opening_hours_set(service_point=made, hours=hours)
        return made

    many = []
    for n in range(POINTS):
        p = point(f"BENCH-{n:03d}", counters=5)
        many += [s.pk for s in sessions_ensure(service_point=p, day=tomorrow)]
    hot_point = point("BENCH-HOT", counters=5000, waiting_room_limit=HOT_CAPACITY)
    hot = sessions_ensure(service_point=hot_point, day=tomorrow)[0]
    assert hot.capacity == HOT_CAPACITY, hot.capacity

    # The board's point: today open all day, a morning's numbers, calls at every counter.
    board = point("BENCH-PAPAN", counters=5)
    opening_hours_set(
        service_point=board, hours={d: (dtime(0, 0), dtime(23, 59)) for d in range(7)}
    )
    operator = user_create(
        username="bench_operator", password=secrets.token_hex(8), role=Role.OPERATOR, office=office
    )
    sessions_ensure(service_point=board, day=today)
    # This morning's, whatever the hour the benchmark runs (late in the evening walk-ins stop).
    morning = timezone.make_aware(datetime.combine(today, dtime(8, 0)))
    for n in range(15):
        ticket_issue_walkin(
            service_point=board,
            service="recording",
            acting_user=operator,
            at=morning + timedelta(minutes=n),
        )
    called_at = morning + timedelta(minutes=20)
    for counter in range(1, 6):
        called = ticket_call_next(
            service_point=board, counter=counter, acting_user=operator, at=called_at
        )
        if called is not None and counter <= 3:
            ticket_close(ticket=called, outcome="other", acting_user=operator, at=called_at)
            ticket_call_next(
                service_point=board, counter=counter, acting_user=operator, at=called_at
            )

    born = date(1985, 3, 14)
    rows = []
    serials: dict[str, int] = {}
    for i in range(RESIDENTS):
        village = villages[i % len(villages)]
        district = village.code.rsplit(".", 1)[0]
        serials[district] = serials.get(district, 0) + 1
        rows.append(
            Resident(
                nik=make_nik(district, born, "L", serials[district]),
                name=f"Warga Uji {i}",
                name_key=name_key(f"Warga Uji {i}"),
                birth_date=born,
                sex="L",
                village=village,
                regency_id="18.71",
            )
        )
    Resident.objects.bulk_create(rows, batch_size=5000)
    residents = list(Resident.objects.order_by("pk").values_list("pk", flat=True))
    return Fixture(many=many, hot=hot.pk, board_point=board.code, residents=residents)


def _reset_bookings() -> None:
    """Empty tomorrow's bookings, so every case starts from free sessions and fresh NIKs."""
    from django.db import connection

    with connection.cursor() as c:
        c.execute(
            "DELETE FROM antrean_ticketevent WHERE ticket_id IN "
            "(SELECT id FROM antrean_ticket WHERE channel = 'online')"
        )
        c.execute("DELETE FROM antrean_ticket WHERE channel = 'online'")
        c.execute("DELETE FROM notifications_message")
        c.execute(
            "UPDATE antrean_session SET public_taken = 0, invitation_taken = 0 "
            "WHERE id NOT IN (SELECT DISTINCT session_id FROM antrean_ticket)"
        )
        c.execute(
            "UPDATE antrean_daycounter SET seq_recording = 0, seq_printing = 0, seq_suket = 0, "
            "seq_other = 0 WHERE id NOT IN (SELECT s.day_counter_id FROM antrean_session s "
            "JOIN antrean_ticket t ON t.session_id = s.id)"
        )


def _settle(*, checkpoint: bool = False) -> None:
    """Vacuum (untimed) before a case, so that autovacuum does not start on the last case's
    dead rows in the middle of this one; after the setup also a checkpoint, so that the setup's
    writes are not flushed during the first cases (later ones meet checkpoints as a server
    does, every few minutes)."""
    from django.db import connection

    with connection.cursor() as c:
        c.execute("VACUUM ANALYZE")
        if checkpoint:
            c.execute("CHECKPOINT")


def _drain_confirmations(limit_seconds: float = 120.0) -> float:
    """Wait for the confirmation worker to put every booking's message in the outbox; seconds."""
    from django.db import connection

    started = time.perf_counter()
    while time.perf_counter() - started < limit_seconds:
        with connection.cursor() as c:
            c.execute("SELECT COUNT(*) FROM antrean_ticket WHERE confirm_due")
            (due,) = c.fetchone() or (0,)
        if not due:
            break
        time.sleep(0.25)
    return time.perf_counter() - started


CONFIRM_MODES = {
    "worker": "by one antrean_confirm worker beside the server",
    "request": "in the booking request",
    "after": "after each case's load, by the benchmark",
}


def _confirm_here() -> float:
    """Confirm every booking of the case in this process (the server is idle now); seconds."""
    from rekam.antrean.services import tickets_confirm_due

    started = time.perf_counter()
    while tickets_confirm_due(limit=200):
        pass
    return time.perf_counter() - started


def _check_bookings() -> tuple[int, list[str]]:
    """Tickets booked online, and every broken rule found."""
    from django.db import connection

    problems = []
    with connection.cursor() as c:
        c.execute("SELECT COUNT(*) FROM antrean_ticket WHERE channel = 'online'")
        (count,) = c.fetchone() or (0,)
        c.execute(
            "SELECT service_point_id, day, label, COUNT(*) FROM antrean_ticket "
            "GROUP BY service_point_id, day, label HAVING COUNT(*) > 1"
        )
        problems += [f"number {r[2]} twice at point {r[0]}" for r in c.fetchall()]
        c.execute(
            "SELECT s.id, s.capacity, s.public_taken + s.invitation_taken, COUNT(t.id) "
            "FROM antrean_session s LEFT JOIN antrean_ticket t ON t.session_id = s.id "
            "AND t.state <> 'cancelled' GROUP BY s.id "
            "HAVING s.public_taken + s.invitation_taken > s.capacity "
            "OR COUNT(t.id) <> s.public_taken + s.invitation_taken"
        )
        problems += [f"session {r[0]}: capacity {r[1]}, taken {r[2]}, tickets {r[3]}" for r in c]
        c.execute(
            "SELECT COUNT(*) FROM antrean_ticket t WHERE t.channel = 'online' AND NOT EXISTS "
            "(SELECT 1 FROM notifications_message m WHERE m.idempotency_key = "
            "'antrean:' || t.public_code)"
        )
        (unconfirmed,) = c.fetchone() or (0,)
        if unconfirmed:
            problems.append(f"{unconfirmed} numbers without their confirmation in the outbox")
    return int(count), problems


# The load


@dataclass
class Result:
    case: str
    clients: int
    latencies: list[float]
    errors: int
    seconds: float
    answered: int = 0  # good answers, warm-up included
    booked: int | None = None  # numbers in the database after the case (warm-up included)
    drain: float | None = None  # seconds the confirmation worker needed after the load
    # Server-side CPU seconds by part over the case (warm-up and the worker's drain included).
    cpu: dict[str, float] | None = None

    def cpu_per_request(self, part: str | None = None) -> float:
        """Milliseconds of server-side CPU (of one part) per answered request."""
        done = self.booked if self.booked is not None else self.answered
        if self.cpu is None or not done:
            return float("nan")
        used = sum(self.cpu.values()) if part is None else self.cpu.get(part, 0.0)
        return used / done * 1000

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


Request = Callable[[], tuple[bytes, Callable[[int, bytes], bool]]]


async def _one(port: int, payload: bytes) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(payload)
        await writer.drain()
        data = await asyncio.wait_for(reader.read(-1), timeout=30)
    finally:
        writer.close()
    head = data.split(b"\r\n", 1)[0].split()
    return (int(head[1]) if len(head) > 1 else 0), data


async def _load(port: int, make: Request, clients: int, seconds: float, warmup: float) -> Result:
    latencies: list[float] = []
    errors = answered = 0
    start = time.perf_counter()
    measure_from = start + warmup
    stop = measure_from + seconds

    async def client() -> None:
        nonlocal errors, answered
        while True:
            now = time.perf_counter()
            if now >= stop:
                return
            payload, ok = make()
            t0 = time.perf_counter()
            try:
                status, body = await _one(port, payload)
                good = ok(status, body)
            except (OSError, TimeoutError):
                good = False
            t1 = time.perf_counter()
            answered += good
            if t0 >= measure_from and t1 <= stop:
                if good:
                    latencies.append(t1 - t0)
                else:
                    errors += 1

    await asyncio.gather(*(client() for _ in range(clients)))
    return Result("", clients, latencies, errors, seconds, answered)


class CpuMeter:
    """CPU seconds the server side uses, by part: gunicorn's processes (web), PostgreSQL's
    backends for the benchmark's database (db), the confirmation worker, Redis; from ``/proc``.
    A cost per request that other load on a shared machine moves far less than requests per
    second. Sampled twice a second, so a backend that exits (a connection reaching
    ``CONN_MAX_AGE``) loses at most its last half second."""

    def __init__(self, roots: dict[str, int], database: str) -> None:
        self.roots = roots  # part -> the process (with its children)
        self.title = f" {database}".encode()
        self.tick = os.sysconf("SC_CLK_TCK")
        self.base: dict[int, int] = {}
        self.last: dict[int, int] = {}
        self.part: dict[int, str] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _pids(self) -> dict[int, str]:
        pids = {}
        for part, root in self.roots.items():
            pids[root] = part
            try:
                children = Path(f"/proc/{root}/task/{root}/children").read_text().split()
            except OSError:
                continue
            pids.update((int(c), part) for c in children)
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                command = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if command.startswith(b"postgres: ") and (
                self.title + b" " in command or command.rstrip(b"\0").endswith(self.title)
            ):
                pids[int(entry.name)] = "db"
        return pids

    def _sample(self) -> dict[int, int]:
        ticks = {}
        for pid, part in self._pids().items():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            ticks[pid] = int(fields[11]) + int(fields[12])  # utime + stime
            self.part[pid] = part
        return ticks

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            self.last.update(self._sample())

    def start(self) -> None:
        self.base = self._sample()
        self.last = dict(self.base)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> dict[str, float]:
        """Seconds used by each part since :meth:`start`."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.last.update(self._sample())
        used = dict.fromkeys([*self.roots, "db"], 0.0)
        for pid, ticks in self.last.items():
            used[self.part[pid]] += (ticks - self.base.get(pid, 0)) / self.tick
        return used


def _post(path: str, form: dict[str, str], cookies: dict[str, str]) -> bytes:
    from urllib.parse import urlencode

    token = secrets.token_hex(16)
    body = urlencode({**form, "csrfmiddlewaretoken": token}).encode()
    jar = "; ".join(f"{k}={v}" for k, v in {**cookies, "csrftoken": token}.items())
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n"
        f"Cookie: {jar}\r\n\r\n"
    ).encode() + body


def _get(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()


def _booked(status: int, body: bytes) -> bool:
    return status == 303 and b"/antrean/nomor/" in body.split(b"\r\n\r\n", 1)[0]


def _issuance(
    sessions: list[int], residents: Iterator[int], cookie: Callable[[int], str]
) -> Request:
    """Each request a new resident; sessions taken in a shuffled round, so they fill evenly and
    the many-sessions case measures issuance, not refusals of full sessions."""
    order = list(sessions)
    random.Random(7).shuffle(order)
    turn = itertools.cycle(order)

    def make() -> tuple[bytes, Callable[[int, bytes], bool]]:
        session = next(turn)
        resident = next(residents)
        payload = _post(
            "/antrean/ambil/",
            {"session": str(session), "service": "recording"},
            {"antrean_penduduk": cookie(resident)},
        )
        return payload, _booked

    return make


def _fixed(payload: bytes) -> Request:
    def ok(status: int, body: bytes) -> bool:
        return status == 200

    return lambda: (payload, ok)


# Running


def _start_redis(tmp: Path) -> tuple[subprocess.Popen[bytes] | None, str]:
    if shutil.which("redis-server") is None:
        return None, ""
    port = _free_port()
    redis = subprocess.Popen(
        [
            "redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", str(tmp),
        ],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return redis, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.1)
    redis.terminate()
    return None, ""


def _start_server(
    env: dict[str, str], workers: int, worker_class: str, threads: int
) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    command = [
        sys.executable, "-m", "gunicorn", "rekam.wsgi", "--workers", str(workers),
        "--bind", f"127.0.0.1:{port}", "--backlog", "2048", "--log-level", "warning",
        "--worker-class", worker_class,
    ]  # fmt: skip
    if worker_class == "gthread":
        command += ["--threads", str(threads)]
    server = subprocess.Popen(command, cwd=PROJECT, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            status, _ = asyncio.run(_one(port, _get("/bench/bare/")))
            if status == 200:
                return server, port
        except OSError:
            pass
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with {server.returncode}")
        time.sleep(0.2)
    server.terminate()
    raise SystemExit("gunicorn did not start")


def _wait_until_idle(pid: int, limit_seconds: float = 60.0) -> None:
    """Wait until process ``pid`` uses less than 5 % of a core (it has started and polls)."""
    tick = os.sysconf("SC_CLK_TCK")

    def used() -> float:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / tick

    deadline = time.monotonic() + limit_seconds
    last = used()
    while time.monotonic() < deadline:
        time.sleep(1.0)
        now = used()
        if now - last < 0.05:
            return
        last = now


def _warm_up(port: int, rounds: int = 4, parallel: int = 32) -> None:
    """Let every server process do its first-request work (the URL resolver's reverse map takes
    a second or more on a busy machine) before anything is measured: pages that build links,
    many at once so that each process gets some."""

    async def run() -> None:
        for _ in range(rounds):
            await asyncio.gather(*(_one(port, _get("/antrean/")) for _ in range(parallel)))

    asyncio.run(run())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.antrean")
    parser.add_argument("--database-url", default=DEFAULT_URL, help="PostgreSQL; recreated")
    # One process per core, threads to overlap the waits for PostgreSQL's commits.
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--worker-class", default="gthread", choices=["sync", "gthread"])
    parser.add_argument("--threads", type=int, default=8, help="per worker, with gthread")
    parser.add_argument("--seconds", type=float, default=6.0, help="measured per case")
    parser.add_argument("--warmup", type=float, default=1.5, help="unmeasured, before each case")
    parser.add_argument("--clients", default="16,64")
    parser.add_argument("--no-redis", action="store_true", help="keep the database cache")
    parser.add_argument(
        "--confirm",
        choices=["worker", "request", "after"],
        default="worker",
        help="where confirmations go to the outbox: an antrean_confirm worker beside the server "
        "(default), the booking request itself, or this process after each case's load",
    )
    args = parser.parse_args(argv)
    if not args.database_url.startswith("postgres"):
        parser.error("the benchmark runs on PostgreSQL (--database-url postgres://...)")
    clients = [int(c) for c in args.clients.split(",") if c]
    seconds = min(max(1.0, args.seconds), 60.0)
    warmup = min(max(0.0, args.warmup), 10.0)

    _recreate_database(args.database_url)
    os.environ.update(
        DATABASE_URL=args.database_url,
        DJANGO_SETTINGS_MODULE="rekam.settings",
        SECRET_KEY=SECRET,
        NOTIFICATIONS_SEND_ON_COMMIT="0",
    )
    import django

    django.setup()
    from rekam.antrean.views import identity_cookie_value

    started = time.perf_counter()
    fixture = _prepare()
    _settle(checkpoint=True)
    print(
        f"Set up in {time.perf_counter() - started:.1f} s: {len(fixture.many)} sessions at "
        f"{POINTS} points, one session of {HOT_CAPACITY}, {len(fixture.residents)} residents"
    )
    from rekam.residents.models import Resident

    people = Resident.objects.in_bulk(fixture.residents)
    cookies = {pk: identity_cookie_value(people[pk]) for pk in fixture.residents}

    with tempfile.TemporaryDirectory(prefix="rekam-bench-antrean-") as tmp_name:
        tmp = Path(tmp_name)
        redis, redis_url = (None, "") if args.no_redis else _start_redis(tmp)
        env = {
            **os.environ,
            "REKAM_BENCH_SERVER": "1",
            "DJANGO_SETTINGS_MODULE": "bench.antrean",
            "REKAM_DATA_DIR": str(tmp / "var"),
            "REDIS_URL": redis_url,
            # One address sends everything here: a limit far above the load keeps the check
            # (a Redis INCR per request) without refusing the benchmark's clients.
            "ANTREAN_RATE_IP_PER_MINUTE": "100000000",
            "ANTREAN_CONFIRM_ON_COMMIT": "1" if args.confirm == "request" else "0",
            "LOG_LEVEL": "ERROR",
        }
        server, port = _start_server(env, args.workers, args.worker_class, args.threads)
        _warm_up(port)
        # The confirmations' worker runs beside the server on the same cores, as deployed.
        worker = None
        if args.confirm == "worker":
            worker = subprocess.Popen(
                [
                    sys.executable, "-m", "rekam", "antrean_confirm",
                    "--max-seconds", "1800", "--verbosity", "0",
                ],
                cwd=PROJECT,
                env={**env, "DJANGO_SETTINGS_MODULE": "rekam.settings"},
            )  # fmt: skip
            _wait_until_idle(worker.pid)  # its start-up is no case's cost
        roots = {"web": server.pid}
        roots |= {part: p.pid for part, p in (("worker", worker), ("redis", redis)) if p}
        meter = CpuMeter(roots, args.database_url.rsplit("/", 1)[1])
        print(
            f"gunicorn rekam.wsgi: {args.workers} {args.worker_class} workers"
            f"{f' x {args.threads} threads' if args.worker_class == 'gthread' else ''}, "
            f"cache {'Redis' if redis_url else 'database'}, PostgreSQL, confirmations "
            f"{CONFIRM_MODES[args.confirm]}, "
            f"client asyncio (one connection per request), {seconds:g} s per case after "
            f"{warmup:g} s warm-up"
        )
        results: list[Result] = []
        failed = False
        try:
            for n in clients:
                cases: list[tuple[str, Request]] = [("bare view", _fixed(_get("/bench/bare/")))]
                for case, sessions in (
                    ("many sessions", fixture.many),
                    ("one session", [fixture.hot]),
                ):
                    cases.append(
                        (case, _issuance(sessions, iter(fixture.residents), cookies.__getitem__))
                    )
                if n == min(clients):
                    board = _get(f"/antrean/papan/{fixture.board_point}/data.json")
                    cases.append(("board refresh", _fixed(board)))
                for case, make in cases:
                    booking = case in ("many sessions", "one session")
                    if booking:
                        _reset_bookings()
                    _settle()
                    meter.start()
                    result = asyncio.run(_load(port, make, n, seconds, warmup))
                    result.case = case
                    results.append(result)
                    if booking and args.confirm == "worker":
                        result.drain = _drain_confirmations()
                    result.cpu = meter.stop()  # with the worker's drain, without "after"
                    if booking:
                        if args.confirm == "after":
                            result.drain = _confirm_here()
                        result.booked, problems = _check_bookings()
                        if problems:
                            failed = True
                            print(f"  {case}: {'; '.join(problems[:5])}", file=sys.stderr)
                    _print(result, results)
        finally:
            server.terminate()
            server.wait(timeout=30)
            if worker is not None:
                worker.terminate()
                worker.wait(timeout=30)
            if redis is not None:
                redis.terminate()
                redis.wait(timeout=10)
    return 1 if failed or any(r.errors for r in results) else 0


def _print(result: Result, results: list[Result]) -> None:
    base = next((r for r in results if r.case == "bare view" and r.clients == result.clients), None)
    ratio = result.rate / base.rate if base and base.rate else float("nan")
    cpu_ratio = base.cpu_per_request() / result.cpu_per_request() if base else float("nan")
    notes = []
    if result.booked is not None:
        notes.append(f"{result.booked} numbers, all checked")
    if result.drain:
        notes.append(f"confirmations done {result.drain:.1f} s after the load")
    print(
        f"  {result.clients:>3} clients  {result.case:<14} {result.rate:8.0f} req/s  "
        f"p50 {result.pct(0.5):6.1f} ms  p99 {result.pct(0.99):6.1f} ms  "
        f"errors {result.errors:<3} ratio {ratio:.2f}  "
        f"cpu {result.cpu_per_request():5.2f} ms/req (ratio {cpu_ratio:.2f}: "
        + ", ".join(f"{part} {result.cpu_per_request(part):.2f}" for part in (result.cpu or {}))
        + ")"
        + (f"  ({'; '.join(notes)})" if notes else ""),
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
