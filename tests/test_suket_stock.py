"""Blank-card stock ledger, card printing and hand-over, forecasts and the print list."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone

from rekam.residents.models import MaritalStatus, RecordEvent
from rekam.residents.services import MoveRefused
from rekam.residents.states import KtpState
from rekam.suket.models import BlankMovement, BlankStock, CardPrint, Printer
from rekam.suket.stock import (
    StockError,
    blank_receive,
    blank_spoil,
    blank_transfer,
    card_hand_over,
    card_print,
    print_list,
    printer_set_status,
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
    for i in range(14):
        card_print(
            resident=make_resident(ktp_state=PRR, name=f"Warga {i}"),
            card_serial=f"K{i}",
            acting_user=personas.bdl_operator,
        )
    for i in range(20):
        make_resident(ktp_state=PRR, name=f"Menunggu {i}")
    s = stock_summary(personas.bdl_office, timezone.localdate())
    assert s.balance == 16 and s.daily_use == 1.0 and s.days_left == 16.0
    assert (s.prr_backlog, s.shortfall) == (20, 4)


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
