"""Hundreds of parallel requests at one session, through gunicorn with several worker processes.

The server is the production one (``gunicorn rekam.wsgi``, 3 workers) on 127.0.0.1, against the
test database: on PostgreSQL (``DATABASE_URL=postgres://...``) the test database itself, on
SQLite a file copy of it in WAL mode (the in-memory test database cannot be shared between
processes). Online numbers and walk-ins at the gate race for the same session; afterwards every
number is unique, the session holds exactly its capacity and no NIK has two active numbers.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.utils import timezone

from rekam.antrean.services import sessions_ensure, ticket_issue_walkin
from rekam.antrean.views import IDENTITY_COOKIE, identity_cookie_value
from rekam.lib.nik import make_nik
from rekam.regions.models import Region
from rekam.residents.models import Resident, name_key
from rekam.servicepoints.models import HolidayOpening

from .test_antrean_support import make_point

pytestmark = pytest.mark.django_db(transaction=True)

PROJECT = Path(__file__).resolve().parent.parent
WORKERS = 3
CAPACITY = 60


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _database_url(tmp_path: Path) -> str:
    """Where the server's processes find this test's data."""
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        user, host = db.get("USER") or "postgres", db.get("HOST") or "127.0.0.1"
        return f"postgres://{user}@{host}:{db.get('PORT') or 5432}/{db['NAME']}"
    copy = tmp_path / "antrean.sqlite3"
    connection.ensure_connection()
    target = sqlite3.connect(copy)
    connection.connection.backup(target)
    target.execute("PRAGMA journal_mode=WAL")
    target.close()
    return f"sqlite:///{copy}"


class Server:
    def __init__(self, url: str, database_url: str) -> None:
        self.url = url
        self.database_url = database_url

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        """Read what the server wrote (on SQLite: from its file)."""
        if self.database_url.startswith("sqlite:///"):
            with sqlite3.connect(self.database_url.removeprefix("sqlite:///")) as db:
                return list(db.execute(sql).fetchall())
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return list(cursor.fetchall())


@pytest.fixture
def serve(tmp_path) -> Iterator[Any]:
    started: list[subprocess.Popen[bytes]] = []

    def start() -> Server:
        port = _free_port()
        database_url = _database_url(tmp_path)
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "rekam.settings",
            "DATABASE_URL": database_url,
            "SECRET_KEY": settings.SECRET_KEY,
            "REKAM_DATA_DIR": str(tmp_path / "var"),
            "ANTREAN_RATE_IP_PER_MINUTE": "0",
            "NOTIFICATIONS_SEND_ON_COMMIT": "0",
        }
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "rekam.wsgi",
                "--workers",
                str(WORKERS),
                "--bind",
                f"127.0.0.1:{port}",
                "--timeout",
                "60",
                "--log-level",
                "warning",
            ],
            cwd=PROJECT,
            env=env,
        )
        started.append(process)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/antrean/", timeout=2).status_code == 200:
                    return Server(url, database_url)
            except httpx.TransportError:
                pass
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {process.returncode}")
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not answer in 30 s")

    yield start
    for process in started:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _residents(count: int) -> list[Resident]:
    village = Region.objects.get(code="18.71.01.1003")
    born = date(1990, 5, 17)
    return Resident.objects.bulk_create(
        Resident(
            nik=make_nik("18.71.01", born, "L", 5000 + i),
            name=f"Warga {i}",
            name_key=name_key(f"Warga {i}"),
            birth_date=born,
            sex="L",
            village=village,
            regency_id="18.71",
        )
        for i in range(count)
    )


def _one_session_today(personas: Any, invitation_percent: int = 0) -> Any:
    """A point whose whole day is one session with ``CAPACITY`` seats, open now."""
    point = make_point(
        personas.bdl_office,
        counters=100,  # so the projected wait never stops walk-ins: only capacity does
        hours=(dtime(0, 0), dtime(23, 59)),
        session_minutes=1440,
        waiting_room_limit=CAPACITY,
        holiday_opening=HolidayOpening.OPEN,
        invitation_percent=invitation_percent,
    )
    (session,) = sessions_ensure(service_point=point, day=timezone.localdate())
    assert session.capacity == CAPACITY
    return point, session


async def _fire(
    base: str, requests: list[tuple[str, dict[str, str], dict[str, str]]], parallel: int
) -> list[httpx.Response]:
    limit = asyncio.Semaphore(parallel)
    limits = httpx.Limits(max_connections=parallel, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:

        async def one(path: str, data: dict[str, str], cookies: dict[str, str]) -> httpx.Response:
            async with limit:
                token = secrets.token_hex(16)  # a CSRF secret of our own, as a browser gets
                jar = {**cookies, settings.CSRF_COOKIE_NAME: token}
                return await client.post(
                    path,
                    data={**data, "csrfmiddlewaretoken": token},
                    headers={"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())},
                )

        return await asyncio.gather(*(one(*r) for r in requests))


# Half the session kept for invitations nobody holds: the requests take those seats too, one
# released at a time under the session's lock, and still no more than the capacity.
@pytest.mark.parametrize("invitation_percent", [0, 50])
def test_parallel_online_and_gate_requests_never_overbook_a_session(
    personas, serve, invitation_percent
):
    point, session = _one_session_today(personas, invitation_percent)
    people = _residents(220)
    gate = Client()
    gate.force_login(personas.bdl_queue)
    gate_cookie = {settings.SESSION_COOKIE_NAME: gate.cookies[settings.SESSION_COOKIE_NAME].value}
    server = serve()

    take = "/antrean/ambil/"
    requests = []
    for n, resident in enumerate(people):
        # The first 20 residents press the button three times at once.
        for _ in range(3 if n < 20 else 1):
            requests.append(
                (
                    take,
                    {"session": str(session.pk), "service": "recording"},
                    {IDENTITY_COOKIE: identity_cookie_value(resident)},
                )
            )
    for _ in range(40):
        requests.append(
            (
                f"/antrean/gerbang/{point.code}/",
                {"action": "issue", "service": "printing"},
                gate_cookie,
            )
        )
    assert len(requests) == 300
    responses = asyncio.run(_fire(server.url, requests, parallel=64))

    statuses = [r.status_code for r in responses]
    assert 500 not in statuses, [r.text[:300] for r in responses if r.status_code >= 500][:3]
    places = [(r.status_code, r.headers.get("location", "")) for r in responses]
    booked = [p for p in places if p[0] == 303 and "/antrean/nomor/" in p[1]]
    walked_in = [p for p in places if p[0] == 302 and "tiket=" in p[1]]
    refused = [p for p in places if p[0] == 303 and "/antrean/jadwal/" in p[1]]
    # The gate shows its page again with the reason (and what was typed).
    refused_at_gate = [p for p in places if p[0] == 400]
    assert len(booked) + len(walked_in) == CAPACITY
    assert len(refused) + len(refused_at_gate) == 300 - CAPACITY

    tickets = server.rows(
        "SELECT label, nik, state, session_id FROM antrean_ticket "
        f"WHERE service_point_id = {point.pk}"
    )
    labels = [t[0] for t in tickets]
    assert len(tickets) == CAPACITY
    assert len(labels) == len(set(labels)), "a number was handed out twice"
    niks = [t[1] for t in tickets if t[1]]
    assert len(niks) == len(set(niks)), "a NIK holds two active numbers"
    assert {t[3] for t in tickets} == {session.pk}
    (taken,) = server.rows(
        "SELECT public_taken + invitation_taken, capacity, invitation_capacity "
        f"FROM antrean_session WHERE id = {session.pk}"
    )
    assert taken == (CAPACITY, CAPACITY, 0)
    # Numbers run without gaps per service: the counter row moved once per ticket.
    by_prefix: dict[str, list[int]] = {}
    for label in labels:
        prefix, _, digits = label.partition("-")
        by_prefix.setdefault(prefix, []).append(int(digits))
    for numbers in by_prefix.values():
        assert sorted(numbers) == list(range(1, len(numbers) + 1))


def test_parallel_counters_never_call_the_same_person(personas, serve):
    point, session = _one_session_today(personas)

    # Issued at the day's start, so that late in the evening the projected wait cannot pass
    # closing time and stop walk-ins.
    for _ in range(30):
        ticket_issue_walkin(
            service_point=point,
            service="recording",
            acting_user=personas.bdl_queue,
            at=session.starts_at,
        )
    operator = Client()
    operator.force_login(personas.bdl_operator)
    cookie = {settings.SESSION_COOKIE_NAME: operator.cookies[settings.SESSION_COOKIE_NAME].value}
    server = serve()
    # 20 counters press "call next" twice at once: 40 requests for 30 people.
    requests = [
        (f"/antrean/loket/{point.code}/{counter}/", {"action": "call"}, cookie)
        for counter in range(1, 21)
        for _ in range(2)
    ]
    responses = asyncio.run(_fire(server.url, requests, parallel=40))
    assert all(r.status_code == 302 for r in responses), [r.status_code for r in responses]
    called = server.rows(
        "SELECT counter, label FROM antrean_ticket "
        f"WHERE service_point_id = {point.pk} AND state = 'called'"
    )
    counters = [c for c, _ in called]
    assert len(called) == 20, "each counter calls one person, however often it is pressed"
    assert sorted(counters) == list(range(1, 21))
    events = server.rows(
        "SELECT COUNT(*), COUNT(DISTINCT ticket_id) FROM antrean_ticketevent "
        f"WHERE service_point_id = {point.pk} AND kind = 'called'"
    )
    assert events == [(20, 20)]


def test_one_resident_booking_many_days_at_once_holds_one_number(personas, serve):
    """A resident who presses "book" for twelve days at once, through the server's processes,
    gets one upcoming number."""
    point, _ = _one_session_today(personas)
    today = timezone.localdate()
    sessions = [
        sessions_ensure(service_point=point, day=today + timedelta(days=n))[0] for n in range(1, 13)
    ]
    (resident,) = _residents(1)
    server = serve()
    cookie = {IDENTITY_COOKIE: identity_cookie_value(resident)}
    requests = [
        ("/antrean/ambil/", {"session": str(s.pk), "service": "recording"}, cookie)
        for s in sessions
    ]
    responses = asyncio.run(_fire(server.url, requests, parallel=12))
    assert 500 not in [r.status_code for r in responses]
    (active,) = server.rows(
        "SELECT count(*) FROM antrean_ticket "
        f"WHERE resident_id = {resident.pk} AND state IN ('booked', 'waiting')"
    )
    assert active == (1,)
