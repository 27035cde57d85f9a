"""Blank-card stock ledger, card printing and hand-over, forecasts and the print list."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from rekam.accounts.models import Office
from rekam.regions.models import Level, Region
from rekam.reporting.figures import stock_figures
from rekam.residents.models import MaritalStatus, RecordEvent
from rekam.residents.services import MoveRefused
from rekam.residents.states import KtpState
from rekam.suket.models import BlankMovement, BlankStock, CardPrint, Printer
from rekam.suket.stock import (
    USE_WINDOW_DAYS,
    StockError,
    blank_receive,
    blank_serial_next,
    blank_spoil,
    blank_transfer,
    card_hand_over,
    card_print,
    ledger_lines,
    print_list,
    printer_set_status,
    serial_in_range,
    serial_ranges_overlap,
    stock_balance,
    stock_summary,
)

from .factories import make_resident
from .test_suket_support import make_pilkada

PRR = KtpState.PRINT_READY_RECORD


def test_a_receipt_records_batch_and_serial_range(personas):
    m = blank_receive(
        office=personas.bdl_office,
        count=100,
        batch="DUK-2020-44",
        serial_from="0001001",
        serial_to="0001100",
        acting_user=personas.bdl_admin,
    )
    assert (m.kind, m.quantity, m.balance_after, m.batch) == ("receipt", 100, 100, "DUK-2020-44")
    assert stock_balance(personas.bdl_office) == 100


def test_it_refuses_a_serial_range_that_does_not_match_the_count(personas):
    with pytest.raises(StockError, match="berisi 100 blangko"):
        blank_receive(
            office=personas.bdl_office, count=99, batch="X", serial_from="1", serial_to="100"
        )


def test_an_operator_cannot_record_a_receipt(personas):
    with pytest.raises(PermissionDenied):
        blank_receive(
            office=personas.bdl_office, count=1, batch="X", acting_user=personas.bdl_operator
        )


def test_the_province_transfers_blanks_between_offices(personas):
    blank_receive(office=personas.lamsel_office, count=50, batch="B")
    out, into = blank_transfer(
        from_office=personas.lamsel_office,
        to_office=personas.bdl_office,
        count=20,
        acting_user=personas.province_admin,
    )
    assert (out.quantity, into.quantity) == (-20, 20)
    assert stock_balance(personas.lamsel_office) == 30
    assert stock_balance(personas.bdl_office) == 20


def test_a_regency_admin_cannot_take_blanks_from_another_regency(personas):
    blank_receive(office=personas.lamsel_office, count=50, batch="B")
    with pytest.raises(PermissionDenied):
        blank_transfer(
            from_office=personas.lamsel_office,
            to_office=personas.bdl_office,
            count=5,
            acting_user=personas.bdl_admin,
        )


def test_it_refuses_a_transfer_larger_than_the_balance(personas):
    blank_receive(office=personas.lamsel_office, count=3, batch="B")
    with pytest.raises(StockError, match="tidak cukup"):
        blank_transfer(from_office=personas.lamsel_office, to_office=personas.bdl_office, count=4)
    assert stock_balance(personas.lamsel_office) == 3
    assert stock_balance(personas.bdl_office) == 0


def test_spoiled_blanks_need_a_reason(personas):
    blank_receive(office=personas.bdl_office, count=3, batch="B")
    with pytest.raises(StockError, match="Alasan"):
        blank_spoil(office=personas.bdl_office, count=1, reason=" ")
    m = blank_spoil(
        office=personas.bdl_office, count=1, reason="salah cetak", acting_user=personas.bdl_operator
    )
    assert (m.quantity, m.balance_after) == (-1, 2)


def test_a_blank_is_either_printed_on_or_spoiled_never_both(personas):
    blank_receive(office=personas.bdl_office, count=3, batch="B")
    blank_spoil(office=personas.bdl_office, count=1, reason="tergores", card_serial="b-5")
    with pytest.raises(StockError, match="sudah tercatat rusak"):
        card_print(
            resident=make_resident(ktp_state=PRR),
            card_serial="B-5",
            acting_user=personas.bdl_operator,
        )
    with pytest.raises(StockError, match="sudah tercatat rusak"):
        blank_spoil(office=personas.bdl_office, count=1, reason="lagi", card_serial="B-5")
    card_print(
        resident=make_resident(ktp_state=PRR, name="Budi"),
        card_serial="B-6",
        acting_user=personas.bdl_operator,
    )
    with pytest.raises(StockError, match="sudah dipakai untuk mencetak"):
        blank_spoil(office=personas.bdl_office, count=1, reason="salah", card_serial="b-6")
    assert stock_balance(personas.bdl_office) == 1


def test_printing_consumes_one_blank_and_moves_the_record(personas):
    blank_receive(office=personas.bdl_office, count=2, batch="B")
    r = make_resident(ktp_state=PRR)
    card = card_print(resident=r, card_serial="k-0001", acting_user=personas.bdl_operator)
    r.refresh_from_db()
    assert r.ktp_state == KtpState.CARD_PRINTED
    assert (card.card_serial, card.operator) == ("K-0001", personas.bdl_operator)
    assert stock_balance(personas.bdl_office) == 1
    consumed = BlankMovement.objects.get(kind="consumed")
    assert consumed.card_serial == "K-0001"
    assert RecordEvent.objects.get(resident=r).actor == personas.bdl_operator


def test_printing_on_a_broken_printer_is_refused(personas):
    blank_receive(office=personas.bdl_office, count=2, batch="B")
    printer = Printer.objects.create(office=personas.bdl_office, name="Printer 1")
    printer_set_status(printer=printer, working=False, problem="Pita habis")
    r = make_resident(ktp_state=PRR)
    with pytest.raises(StockError, match="tercatat rusak"):
        card_print(resident=r, card_serial="K1", acting_user=personas.bdl_operator)
    r.refresh_from_db()
    assert r.ktp_state == PRR and stock_balance(personas.bdl_office) == 2
    printer_set_status(printer=printer, working=True)
    card_print(resident=r, card_serial="K1", acting_user=personas.bdl_operator)


def test_printing_without_a_blank_is_refused_and_changes_nothing(personas):
    r = make_resident(ktp_state=PRR)
    with pytest.raises(StockError, match="habis"):
        card_print(resident=r, card_serial="K1", acting_user=personas.bdl_operator)
    r.refresh_from_db()
    assert r.ktp_state == PRR and not CardPrint.objects.exists()


def test_a_refused_move_gives_the_blank_back(personas):
    blank_receive(office=personas.bdl_office, count=1, batch="B")
    r = make_resident(ktp_state=PRR)
    stale = type(r).objects.get(pk=r.pk)
    card_print(resident=r, card_serial="K1", acting_user=personas.bdl_operator)
    blank_receive(office=personas.bdl_office, count=1, batch="C")
    with pytest.raises(MoveRefused):
        card_print(resident=stale, card_serial="K2", acting_user=personas.bdl_operator)
    assert stock_balance(personas.bdl_office) == 1


def test_a_card_serial_is_used_once(personas):
    blank_receive(office=personas.bdl_office, count=2, batch="B")
    card_print(
        resident=make_resident(ktp_state=PRR), card_serial="K1", acting_user=personas.bdl_operator
    )
    with pytest.raises(StockError, match="sudah dipakai"):
        card_print(
            resident=make_resident(ktp_state=PRR, name="Budi"),
            card_serial="k1",
            acting_user=personas.bdl_operator,
        )


def test_the_database_refuses_a_negative_balance(personas):
    BlankStock.objects.create(office=personas.bdl_office, balance=0)
    with pytest.raises(IntegrityError), transaction.atomic():
        BlankStock.objects.filter(office=personas.bdl_office).update(balance=-1)


def test_the_hand_over_is_recorded_once(personas):
    blank_receive(office=personas.bdl_office, count=1, batch="B")
    card = card_print(
        resident=make_resident(ktp_state=PRR), card_serial="K1", acting_user=personas.bdl_operator
    )
    card_hand_over(card=card, received_by="Siti Aminah", acting_user=personas.bdl_operator)
    assert card.handed_over_at is not None and card.handed_over_by == personas.bdl_operator
    with pytest.raises(StockError, match="sudah diserahkan"):
        card_hand_over(card=card, received_by="Siti Aminah", acting_user=personas.bdl_operator)


def test_days_of_stock_left_follow_recent_use_and_the_prr_backlog(personas):
    blank_receive(office=personas.bdl_office, count=30, batch="B")
    for i in range(5):
        card_print(
            resident=make_resident(ktp_state=PRR, name=f"Warga {i}"),
            card_serial=f"K{i}",
            acting_user=personas.bdl_operator,
        )
    blank_spoil(office=personas.bdl_office, count=2, reason="Tergores")
    # Printed the day before the window began: not part of the recent use.
    card_print(
        resident=make_resident(ktp_state=PRR, name="Lama"),
        card_serial="K-LAMA",
        acting_user=personas.bdl_operator,
        at=timezone.now() - timedelta(days=USE_WINDOW_DAYS),
    )
    for i in range(29):
        make_resident(ktp_state=PRR, name=f"Menunggu {i}")
    s = stock_summary(personas.bdl_office, timezone.localdate())
    # 5 printed + 2 spoiled over 7 days: one blank a day, and 22 blanks left.
    assert USE_WINDOW_DAYS == 7
    assert s.balance == 22 and s.daily_use == 1.0 and s.days_left == 22.0
    assert (s.prr_backlog, s.shortfall) == (29, 7)


def test_the_dashboard_and_the_stock_page_read_the_same_use_and_days_of_stock(personas, client):
    blank_receive(office=personas.bdl_office, count=40, batch="B")
    for i in range(3):
        card_print(
            resident=make_resident(ktp_state=PRR, name=f"Warga {i}"),
            card_serial=f"K{i}",
            acting_user=personas.bdl_operator,
        )
    blank_spoil(office=personas.bdl_office, count=4, reason="Tergores")
    today = timezone.localdate()
    summary = stock_summary(personas.bdl_office, today)
    office = stock_figures(["18.71"], today)["18.71"]
    assert office.blanks_used_per_day == summary.daily_use == 1.0
    assert office.stock_days == summary.days_left == 33.0
    client.force_login(personas.bdl_admin)
    html = client.get("/suket/stok/").content.decode()
    assert f"Blangko terpakai per hari ({USE_WINDOW_DAYS} hari)" in html


def test_without_blanks_there_are_no_days_of_stock_on_either_page(personas):
    blank_receive(office=personas.bdl_office, count=1, batch="B")
    blank_spoil(office=personas.bdl_office, count=1, reason="Tergores")
    today = timezone.localdate()
    assert stock_summary(personas.bdl_office, today).days_left == 0.0
    assert stock_figures(["18.71"], today)["18.71"].stock_days == 0.0


def test_no_recent_use_means_no_forecast(personas):
    blank_receive(office=personas.bdl_office, count=5, batch="B")
    assert stock_summary(personas.bdl_office).days_left is None


def test_the_print_list_puts_voters_first_then_the_oldest_prr(personas):
    today = timezone.localdate()
    election = make_pilkada()
    election.polling_day = today + timedelta(days=10)
    election.suket_issue_until = election.polling_day
    election.suket_valid_until = election.polling_day + timedelta(days=20)
    election.save()
    now = timezone.now()
    # Turns 17 after polling day: not a voter yet, though their PRR is the oldest.
    young = make_resident(
        ktp_state=PRR,
        ktp_state_at=now - timedelta(days=30),
        name="Muda",
        birth_date=today - timedelta(days=365 * 17 - 60),
        marital_status=MaritalStatus.SINGLE,
    )
    newer = make_resident(ktp_state=PRR, ktp_state_at=now - timedelta(days=2), name="Baru")
    older = make_resident(ktp_state=PRR, ktp_state_at=now - timedelta(days=9), name="Lama")
    make_resident(ktp_state=KtpState.SENT_FOR_ENROLLMENT, name="Belum PRR")
    make_resident("18.01.04.2001", ktp_state=PRR, name="Lain wilayah")
    rows = list(print_list(personas.bdl_office, today))
    assert [r.pk for r in rows] == [older.pk, newer.pk, young.pk]
    assert [getattr(r, "is_voter") for r in rows] == [1, 1, 0]  # noqa: B009


def test_without_an_upcoming_election_the_print_list_is_oldest_first(personas):
    now = timezone.now()
    a = make_resident(ktp_state=PRR, ktp_state_at=now - timedelta(days=1), name="A")
    b = make_resident(ktp_state=PRR, ktp_state_at=now - timedelta(days=5), name="B")
    assert [r.pk for r in print_list(personas.bdl_office, date(2031, 1, 1))] == [b.pk, a.pk]


# Serials must come from the ranges the province received


def receive_range(office, first: str, last: str, count: int):
    return blank_receive(
        office=office, count=count, batch="DUK-2020-07", serial_from=first, serial_to=last
    )


def test_a_serial_outside_the_received_ranges_is_refused_naming_them(personas):
    receive_range(personas.bdl_office, "180100007", "180100056", 50)
    r = make_resident(ktp_state=PRR)
    with pytest.raises(StockError, match=r"180100007 s\.d\. 180100056") as refused:
        card_print(resident=r, card_serial="999999999", acting_user=personas.bdl_operator)
    assert "Nomor seri 999999999 tidak termasuk rentang blangko" in refused.value.message
    r.refresh_from_db()
    assert r.ktp_state == PRR and stock_balance(personas.bdl_office) == 50
    assert not CardPrint.objects.exists()
    card_print(resident=r, card_serial="180100056", acting_user=personas.bdl_operator)
    assert stock_balance(personas.bdl_office) == 49


def test_a_spoiled_blank_outside_the_received_ranges_is_refused(personas):
    receive_range(personas.bdl_office, "180100007", "180100056", 50)
    with pytest.raises(StockError, match="tidak termasuk rentang"):
        blank_spoil(office=personas.bdl_office, count=1, reason="tergores", card_serial="1801")
    blank_spoil(office=personas.bdl_office, count=1, reason="tergores", card_serial="180100007")
    assert stock_balance(personas.bdl_office) == 49


def test_any_serial_is_accepted_where_the_province_records_no_range(personas):
    blank_receive(office=personas.bdl_office, count=2, batch="B")
    # A range recorded in another province does not bind Lampung's offices.
    outside_region = Region.objects.create(code="19", level=Level.PROVINCE, name="Luar")
    outside = Office.objects.create(
        code="19", kind=Office.Kind.PROVINCE, name="Dinas Luar", region=outside_region
    )
    receive_range(outside, "190000001", "190000010", 10)
    card = card_print(
        resident=make_resident(ktp_state=PRR),
        card_serial="999999999",
        acting_user=personas.bdl_operator,
    )
    assert card.card_serial == "999999999"


def test_an_office_recording_no_range_accepts_any_serial_though_another_office_does(personas):
    # Lampung Selatan records its range; the city records its receipt without one.
    receive_range(personas.lamsel_office, "180100001", "180100050", 50)
    blank_receive(office=personas.bdl_office, count=100, batch="DUK-2020-08")
    card = card_print(
        resident=make_resident(ktp_state=PRR),
        card_serial="K-0001",
        acting_user=personas.bdl_operator,
    )
    blank_spoil(office=personas.bdl_office, count=1, reason="tergores", card_serial="K-0002")
    assert card.card_serial == "K-0001" and stock_balance(personas.bdl_office) == 98
    with pytest.raises(StockError, match="sudah dipakai"):  # still used once
        card_print(
            resident=make_resident(ktp_state=PRR, name="Budi"),
            card_serial="K-0001",
            acting_user=personas.bdl_operator,
        )
    # Lampung Selatan, which records ranges, is held to them.
    with pytest.raises(StockError, match=r"Rentang yang diterima .*: 180100001 s\.d\. 180100050"):
        card_print(
            resident=make_resident("18.01.04.2001", ktp_state=PRR),
            card_serial="K-0003",
            acting_user=personas.lamsel_operator,
        )


def test_an_office_recording_ranges_accepts_a_serial_of_another_offices_range(personas):
    # Both record ranges; the province moved some of Lampung Selatan's blanks to the city.
    receive_range(personas.lamsel_office, "180100001", "180100050", 50)
    receive_range(personas.bdl_office, "187100001", "187100010", 10)
    blank_transfer(
        from_office=personas.lamsel_office,
        to_office=personas.bdl_office,
        count=10,
        acting_user=personas.province_admin,
    )
    card_print(
        resident=make_resident(ktp_state=PRR),
        card_serial="180100020",
        acting_user=personas.bdl_operator,
    )
    with pytest.raises(StockError) as refused:
        card_print(
            resident=make_resident(ktp_state=PRR, name="Budi"),
            card_serial="999999999",
            acting_user=personas.bdl_operator,
        )
    assert refused.value.message == (
        "Nomor seri 999999999 tidak termasuk rentang blangko yang tercatat diterima di provinsi "
        "ini; periksa nomor seri pada blangko. Rentang yang diterima "
        f"{personas.bdl_office.name}: 187100001 s.d. 187100010."
    )
    assert stock_balance(personas.bdl_office) == 19


@pytest.mark.parametrize(
    ("serial", "first", "last", "inside"),
    [
        ("180100010", "180100007", "180100056", True),
        ("180100007", "180100007", "180100056", True),
        ("180100057", "180100007", "180100056", False),
        ("999999999", "180100007", "180100056", False),
        ("0180100010", "180100007", "180100056", False),  # not the serials' length
        ("10", "9", "12", True),  # digits: compared as numbers
        ("A0100", "A0001", "A0500", True),  # otherwise as text of the same length
        ("a0100", "A0001", "A0500", True),
        ("A100", "A0001", "A0500", False),
        ("B0100", "A0001", "A0500", False),
    ],
)
def test_a_serial_lies_in_a_range_as_number_or_as_text(serial, first, last, inside):
    assert serial_in_range(serial, first, last) is inside


def test_the_next_unused_serial_comes_from_the_offices_range(personas):
    assert blank_serial_next(personas.bdl_office) is None  # no range recorded
    receive_range(personas.bdl_office, "0000101", "0000103", 3)
    card_print(
        resident=make_resident(ktp_state=PRR),
        card_serial="0000101",
        acting_user=personas.bdl_operator,
    )
    blank_spoil(office=personas.bdl_office, count=1, reason="tergores", card_serial="0000102")
    assert blank_serial_next(personas.bdl_office) == "0000103"


def test_the_next_serial_follows_the_highest_used_then_fills_a_gap(personas):
    receive_range(personas.bdl_office, "0000101", "0000110", 10)
    # Serials of other widths or not digits between the bounds (as text) are not of the range.
    blank_receive(office=personas.lamsel_office, count=2, batch="L")
    for serial in ("00001095", "000010A"):
        blank_spoil(office=personas.lamsel_office, count=1, reason="rusak", card_serial=serial)
    for serial in ("0000101", "0000102", "0000104", "0000108"):
        blank_spoil(office=personas.bdl_office, count=1, reason="tergores", card_serial=serial)
    assert blank_serial_next(personas.bdl_office) == "0000109"  # after the highest used
    card_print(
        resident=make_resident(ktp_state=PRR),
        card_serial="0000110",
        acting_user=personas.bdl_operator,
    )
    assert blank_serial_next(personas.bdl_office) == "0000103"  # the last is used: a gap
    for serial in ("0000103", "0000105", "0000106", "0000107", "0000109"):
        blank_spoil(office=personas.bdl_office, count=1, reason="tergores", card_serial=serial)
    assert blank_serial_next(personas.bdl_office) is None  # every serial is used


def test_the_next_serial_takes_the_provinces_range_when_the_offices_is_used_up(personas):
    receive_range(personas.bdl_office, "187100001", "187100001", 1)
    receive_range(personas.lamsel_office, "180100001", "180100050", 50)
    assert blank_serial_next(personas.bdl_office) == "187100001"
    blank_spoil(office=personas.bdl_office, count=1, reason="tergores", card_serial="187100001")
    assert blank_serial_next(personas.bdl_office) == "180100001"
    # An office recording no range of its own is offered the province's serials too.
    assert blank_serial_next(personas.province_office) == "180100001"


def test_the_next_serial_reads_a_few_rows_whatever_the_range_holds(personas):
    receive_range(personas.bdl_office, "0000001", "0000400", 400)
    for n in range(1, 301):
        blank_spoil(office=personas.bdl_office, count=1, reason="x", card_serial=f"{n:07d}")
    blank_spoil(office=personas.bdl_office, count=1, reason="x", card_serial="0000400")
    with CaptureQueriesContext(connection) as queries:
        assert blank_serial_next(personas.bdl_office) == "0000301"
    # The receipts, then a handful of counts over the range: never its 301 used serials.
    assert len(queries) <= 15
    assert all("LIMIT" in q["sql"] or "COUNT" in q["sql"] for q in queries.captured_queries[2:])


# The stock book


def test_the_stock_book_lists_by_time_with_the_running_balance_in_that_order(personas, client):
    now = timezone.now()
    blank_receive(office=personas.bdl_office, count=10, batch="B", at=now - timedelta(hours=2))
    blank_spoil(office=personas.bdl_office, count=1, reason="tergores")
    # Entered after the spoiled blank, printed before it.
    card_print(
        resident=make_resident(ktp_state=PRR),
        card_serial="K1",
        acting_user=personas.bdl_operator,
        at=now - timedelta(hours=1),
    )
    lines = ledger_lines(personas.bdl_office)
    assert [(line.movement.kind, line.movement.quantity, line.balance) for line in lines] == [
        ("spoiled", -1, 8),
        ("consumed", -1, 9),
        ("receipt", 10, 10),
    ]
    client.force_login(personas.bdl_admin)
    html = client.get("/suket/stok/").content.decode()
    shown = re.findall(r'data-movement="(\d+)".*?data-balance>(\d+)<', html, flags=re.S)
    assert [(int(pk), int(b)) for pk, b in shown] == [
        (line.movement.pk, line.balance) for line in lines
    ]


def test_lines_of_the_same_moment_keep_the_order_they_were_written_in(personas):
    moment = timezone.now() - timedelta(minutes=5)
    blank_receive(office=personas.bdl_office, count=6, batch="B", at=moment)
    for i in range(6):
        card_print(
            resident=make_resident(ktp_state=PRR, name=f"Warga {i}"),
            card_serial=f"K{i}",
            acting_user=personas.bdl_operator,
            at=moment,
        )
    lines = ledger_lines(personas.bdl_office)
    assert [(line.movement.quantity, line.balance) for line in lines] == [
        (-1, 0),
        (-1, 1),
        (-1, 2),
        (-1, 3),
        (-1, 4),
        (-1, 5),
        (6, 6),
    ]


def test_the_same_batch_is_not_received_twice_at_an_office(personas):
    blank_receive(office=personas.bdl_office, count=100, batch="DUK-2026-01")
    with pytest.raises(StockError, match="sudah dicatat diterima"):
        blank_receive(office=personas.bdl_office, count=100, batch="duk-2026-01 ")
    assert stock_balance(personas.bdl_office) == 100
    # Another office may hold part of the same shipment.
    blank_receive(office=personas.lamsel_office, count=50, batch="DUK-2026-01")


# Serial numbers of blank cards are unique nationally: a range is received once


def test_a_range_overlapping_one_received_at_the_same_office_is_refused_naming_it(personas):
    receive_range(personas.bdl_office, "180100007", "180100056", 50)
    with pytest.raises(StockError) as refused:
        blank_receive(
            office=personas.bdl_office,
            count=20,
            batch="DUK-2020-09",
            serial_from="180100050",
            serial_to="180100069",
            received_on=date(2020, 11, 20),
        )
    earlier = BlankMovement.objects.get(batch="DUK-2020-07")
    assert refused.value.message == (
        "Nomor seri 180100050 s.d. 180100069 bertumpang tindih dengan blangko yang sudah "
        f"dicatat diterima di {personas.bdl_office.name} pada "
        f"{earlier.received_on:%d-%m-%Y} (kiriman DUK-2020-07, nomor seri 180100007 s.d. "
        "180100056). Satu nomor seri hanya ada pada satu blangko di seluruh Indonesia: periksa "
        "nomor seri pada dokumen pengiriman."
    )
    assert stock_balance(personas.bdl_office) == 50
    assert BlankMovement.objects.filter(kind=BlankMovement.Kind.RECEIPT).count() == 1


def test_a_range_overlapping_one_received_at_another_office_is_refused(personas):
    blank_receive(
        office=personas.lamsel_office,
        count=50,
        batch="DUK-2020-07",
        serial_from="180100007",
        serial_to="180100056",
        received_on=date(2020, 11, 2),
    )
    with pytest.raises(StockError, match="bertumpang tindih") as refused:
        receive_range(personas.bdl_office, "180100001", "180100007", 7)  # shares its first
    assert f"diterima di {personas.lamsel_office.name} pada 02-11-2020" in refused.value.message
    assert stock_balance(personas.bdl_office) == 0


def test_a_range_received_in_another_province_is_refused_too(personas):
    outside_region = Region.objects.create(code="19", level=Level.PROVINCE, name="Luar")
    outside = Office.objects.create(
        code="19", kind=Office.Kind.PROVINCE, name="Dinas Luar", region=outside_region
    )
    receive_range(outside, "190000001", "190000010", 10)
    with pytest.raises(StockError, match="diterima di Dinas Luar"):
        receive_range(personas.bdl_office, "190000010", "190000019", 10)


def test_the_range_after_a_received_one_is_accepted(personas):
    receive_range(personas.bdl_office, "180100007", "180100056", 50)
    # End + 1, at the same office and at another.
    blank_receive(
        office=personas.bdl_office,
        count=10,
        batch="DUK-2020-08",
        serial_from="180100057",
        serial_to="180100066",
    )
    receive_range(personas.lamsel_office, "180100001", "180100006", 6)
    assert stock_balance(personas.bdl_office) == 60
    assert stock_balance(personas.lamsel_office) == 6


def test_the_same_range_under_another_batch_is_refused(personas):
    receive_range(personas.bdl_office, "180100007", "180100056", 50)
    with pytest.raises(StockError, match="bertumpang tindih"):
        blank_receive(
            office=personas.lamsel_office,
            count=50,
            batch="DUK-2020-99",
            serial_from="180100007",
            serial_to="180100056",
        )
    assert stock_balance(personas.lamsel_office) == 0


@pytest.mark.parametrize(
    ("first", "last", "count"),
    [
        ("180100001", "180100100", 100),  # contains the range received
        ("180100010", "180100020", 11),  # lies inside it
    ],
)
def test_a_range_containing_or_inside_a_received_one_is_refused(personas, first, last, count):
    receive_range(personas.bdl_office, "180100007", "180100056", 50)
    with pytest.raises(StockError, match="bertumpang tindih"):
        blank_receive(
            office=personas.lamsel_office,
            count=count,
            batch="DUK-2020-10",
            serial_from=first,
            serial_to=last,
        )


def test_a_refusal_counts_the_other_receipts_the_range_overlaps(personas):
    receive_range(personas.bdl_office, "0001", "0010", 10)
    blank_receive(
        office=personas.bdl_office, count=10, batch="B2", serial_from="0011", serial_to="0020"
    )
    blank_receive(
        office=personas.bdl_office, count=10, batch="B3", serial_from="0021", serial_to="0030"
    )
    with pytest.raises(StockError) as refused:
        receive_range(personas.lamsel_office, "0005", "0024", 20)
    message = refused.value.message
    # The earliest is named; the others are counted.
    assert "(kiriman DUK-2020-07, nomor seri 0001 s.d. 0010) dan 2 penerimaan lainnya." in message


def test_receipts_without_a_serial_range_are_not_compared(personas):
    blank_receive(office=personas.bdl_office, count=10, batch="B1")
    receive_range(personas.bdl_office, "0001", "0010", 10)
    blank_receive(office=personas.bdl_office, count=10, batch="B2")
    assert stock_balance(personas.bdl_office) == 30


def test_a_text_range_given_last_first_is_refused(personas):
    with pytest.raises(StockError, match="tidak boleh lebih besar"):
        blank_receive(
            office=personas.bdl_office, count=3, batch="B", serial_from="A0500", serial_to="A0001"
        )


@pytest.mark.parametrize(
    ("a", "b", "overlap"),
    [
        (("180100007", "180100056"), ("180100056", "180100060"), True),  # share the last
        (("180100007", "180100056"), ("180100057", "180100060"), False),  # end + 1
        (("180100007", "180100056"), ("180100001", "180100006"), False),  # start - 1
        (("0001001", "0001100"), ("1050", "1200"), True),  # digits: compared as numbers
        (("998", "1005"), ("0999", "0999"), True),
        (("9", "12"), ("10", "10"), True),  # not as text ("9" > "10")
        (("A0001", "A0500"), ("a0400", "A0600"), True),  # otherwise as text of one length
        (("A0001", "A0500"), ("A0501", "A0600"), False),
        (("A0001", "A0500"), ("A100", "A200"), False),  # other lengths: other serials
    ],
)
def test_two_serial_ranges_overlap_as_numbers_or_as_text(a, b, overlap):
    assert serial_ranges_overlap(*a, *b) is overlap
    assert serial_ranges_overlap(*b, *a) is overlap
