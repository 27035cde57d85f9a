"""Parallel counters: each thread is a client with its own database connection.

Run on SQLite (default) and on PostgreSQL with ``DATABASE_URL=postgres://...``: the balance never
goes below zero and Suket numbers never repeat.

SQLite's in-memory test database is shared between threads through its shared cache, which
locks whole tables and fails at once instead of waiting; deployments use a file in WAL mode
where writers queue on the busy timeout. So on SQLite the prepared data is copied into a file
database (SQLite's backup API) and the clients, and the checks after them, run against it.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections

from rekam.residents.states import KtpState
from rekam.suket.models import BlankMovement, BlankStock, CardPrint, Suket
from rekam.suket.services import suket_issue
from rekam.suket.stock import StockError, blank_receive, card_print, stock_balance

from .factories import make_resident
from .test_suket_support import jakarta, make_pilkada, ready_office

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def parallel_db(tmp_path):
    """After the test's set-up, point new connections at a file copy when on SQLite."""
    swapped: dict[str, Any] = {}

    def switch() -> None:
        name = str(connection.settings_dict["NAME"])
        if connection.vendor != "sqlite" or not (name == ":memory:" or "mode=memory" in name):
            return
        connection.ensure_connection()
        target = sqlite3.connect(tmp_path / "parallel.sqlite3")
        connection.connection.backup(target)
        target.execute("PRAGMA journal_mode=WAL")
        target.close()
        swapped["name"] = connection.settings_dict["NAME"]
        # The settings dict is shared: connections opened from now on (other threads) use it,
        # while this thread's open connection keeps the in-memory database alive.
        connection.settings_dict["NAME"] = str(tmp_path / "parallel.sqlite3")

    yield switch
    if swapped:
        connection.settings_dict["NAME"] = swapped["name"]


def in_thread(fn: Callable[[], Any]) -> Any:
    """Run ``fn`` on a fresh connection (on SQLite: the file the clients used)."""
    results, errors = run_clients(lambda _i: fn(), clients=1)
    if errors:
        raise errors[0]
    return results[0]


CLIENTS = 6


def run_clients(
    work: Callable[[int], Any], clients: int = CLIENTS
) -> tuple[list[Any], list[BaseException]]:
    """Run ``work(i)`` in ``clients`` threads started together; collect results and errors."""
    barrier = threading.Barrier(clients)
    results: list[Any] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def body(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            out = work(i)
            with lock:
                results.append(out)
        except BaseException as exc:  # collected and asserted on by the test
            with lock:
                errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=body, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results, errors


def test_concurrent_printing_never_takes_the_stock_below_zero(personas, parallel_db):
    blank_receive(office=personas.bdl_office, count=20, batch="B")
    per_client = 6
    residents = [
        [
            make_resident(ktp_state=KtpState.PRINT_READY_RECORD, name=f"W{c}-{i}")
            for i in range(per_client)
        ]
        for c in range(CLIENTS)
    ]
    operator = personas.bdl_operator
    parallel_db()

    def work(c: int) -> tuple[int, int]:
        printed = refused = 0
        for i, r in enumerate(residents[c]):
            try:
                card_print(resident=r, card_serial=f"S{c:02d}{i:02d}", acting_user=operator)
                printed += 1
            except StockError:
                refused += 1
        return printed, refused

    results, errors = run_clients(work)
    assert not errors, errors
    assert sum(p for p, _ in results) == 20
    assert sum(r for _, r in results) == CLIENTS * per_client - 20

    def state() -> tuple[int, int, list[BlankMovement], int]:
        ledger = list(BlankMovement.objects.filter(office=personas.bdl_office).order_by("id"))
        return (
            stock_balance(personas.bdl_office),
            CardPrint.objects.count(),
            ledger,
            BlankStock.objects.get(office=personas.bdl_office).balance,
        )

    balance, cards, ledger, row = in_thread(state)
    assert balance == row == 0 and cards == 20
    assert sum(m.quantity for m in ledger) == 0
    assert min(m.balance_after for m in ledger) >= 0
    # Each consumption saw the balance its predecessor left: the ledger is a single chain.
    assert sorted(m.balance_after for m in ledger if m.kind == "consumed") == list(range(20))


def test_concurrent_issuance_gives_unique_numbers(personas, parallel_db):
    ready_office(personas.bdl_office, blanks=0)
    election = make_pilkada()
    per_client = 4
    residents = [
        [
            make_resident(ktp_state=KtpState.SENT_FOR_ENROLLMENT, name=f"W{c}-{i}")
            for i in range(per_client)
        ]
        for c in range(CLIENTS)
    ]
    parallel_db()

    def work(c: int) -> list[str]:
        out = []
        for r in residents[c]:
            result = suket_issue(resident=r, election=election, at=jakarta(2020, 12, 5))
            assert result.suket is not None
            out.append(result.suket.number)
        return out

    results, errors = run_clients(work)
    assert not errors, errors
    numbers = [n for chunk in results for n in chunk]
    assert len(numbers) == len(set(numbers)) == CLIENTS * per_client
    seqs = sorted(in_thread(lambda: list(Suket.objects.values_list("seq", flat=True))))
    assert seqs == list(range(1, CLIENTS * per_client + 1))


def test_two_counters_issuing_for_the_same_resident_make_one_suket(personas, parallel_db):
    ready_office(personas.bdl_office, blanks=0)
    election = make_pilkada()
    r = make_resident(ktp_state=KtpState.SENT_FOR_ENROLLMENT)
    parallel_db()

    def work(c: int) -> bool:
        return suket_issue(resident=r, election=election, at=jakarta(2020, 12, 5)).issued

    results, errors = run_clients(work, clients=3)
    assert not errors, errors
    assert sorted(results) == [False, False, True]
    assert in_thread(Suket.objects.count) == 1


def test_overlapping_ranges_received_at_the_same_moment_are_received_once(personas, parallel_db):
    # Every pair of these ranges overlaps; half are received at the city, half at Lampung
    # Selatan: serial numbers are unique across offices, so only one may be received.
    offices = [personas.bdl_office, personas.lamsel_office]
    parallel_db()

    def work(c: int) -> str:
        first = 180100001 + 10 * c
        try:
            blank_receive(
                office=offices[c % 2],
                count=100,
                batch=f"DUK-2020-{c:02d}",
                serial_from=str(first),
                serial_to=str(first + 99),
            )
        except StockError as exc:
            assert "bertumpang tindih" in exc.message, exc.message
            return "refused"
        return "received"

    results, errors = run_clients(work)
    assert not errors, errors
    assert sorted(results) == ["received"] + ["refused"] * (CLIENTS - 1)

    def receipts() -> list[tuple[str, int]]:
        return list(
            BlankMovement.objects.filter(kind=BlankMovement.Kind.RECEIPT).values_list(
                "serial_from", "balance_after"
            )
        )

    assert len(in_thread(receipts)) == 1
    stocks = BlankStock.objects.filter(office__in=offices)
    balances = in_thread(lambda: sorted(stocks.values_list("balance", flat=True)))
    assert balances[-1] == 100 and sum(balances) == 100
