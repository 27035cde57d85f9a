"""The demo's Suket side: stock everywhere, one electing office out of blanks, Sukets issued
in the rehearsal election and one revoked by a printed card."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from rekam.residents.states import KtpState
from rekam.suket.demo import suket_demo_seed
from rekam.suket.models import BlankMovement, CardPrint, Suket
from rekam.suket.stock import ledger_lines, serial_in_range, stock_balance

from .factories import make_resident
from .test_suket_support import make_pilkada


def test_the_demo_seed_shows_every_path(personas):
    today = timezone.localdate()
    election = make_pilkada(slug="gladi")
    election.polling_day = election.suket_issue_until = today + timedelta(days=5)
    election.suket_valid_until = today + timedelta(days=25)
    election.save()
    lamsel = "18.01.04.2001"
    for i in range(8):
        make_resident(lamsel, ktp_state=KtpState.PRINT_READY_RECORD, name=f"PRR {i}")
    for i in range(4):
        make_resident(lamsel, ktp_state=KtpState.SENT_FOR_ENROLLMENT, name=f"Kirim {i}")
        make_resident(ktp_state=KtpState.SENT_FOR_ENROLLMENT, name=f"Kota {i}")

    summary = suket_demo_seed(election=election, sukets=6)

    assert summary.out_of_blanks == "18.01"
    assert stock_balance(personas.lamsel_office) == 0
    assert stock_balance(personas.bdl_office) > 0
    reasons = set(Suket.objects.values_list("reason", flat=True))
    assert {"BELUM_PRR", "BLANKO_HABIS"} <= reasons
    assert Suket.objects.filter(revoked_at__isnull=False).count() == 1
    assert summary.revoked and summary.sukets == Suket.objects.count()
    again = suket_demo_seed(election=election, sukets=6)
    assert again.sukets == summary.sukets


def test_the_demo_stock_book_reads_in_order_and_its_serials_are_of_the_received_ranges(
    personas,
):
    today = timezone.localdate()
    election = make_pilkada(slug="gladi")
    election.polling_day = election.suket_issue_until = today + timedelta(days=5)
    election.suket_valid_until = today + timedelta(days=25)
    election.save()
    for i in range(8):
        make_resident("18.01.04.2001", ktp_state=KtpState.PRINT_READY_RECORD, name=f"PRR {i}")
    make_resident(ktp_state=KtpState.SENT_FOR_ENROLLMENT, name="Kota")

    suket_demo_seed(election=election, sukets=4)

    # The office that ran out: its receipt of 6 below the 6 cards printed from it.
    lines = ledger_lines(personas.lamsel_office)
    assert [(line.movement.quantity, line.balance) for line in lines] == [
        *[(-1, n) for n in range(6)],
        (6, 6),
    ]
    # Every card, the one that revoked a Suket in the city included, is on a received blank.
    receipts = BlankMovement.objects.filter(kind=BlankMovement.Kind.RECEIPT)
    ranges = list(receipts.values_list("serial_from", "serial_to"))
    serials = list(CardPrint.objects.values_list("card_serial", flat=True))
    assert len(serials) == 7
    assert all(any(serial_in_range(s, a, b) for a, b in ranges) for s in serials)
