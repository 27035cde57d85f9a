"""The demo's Suket side: stock everywhere, one electing office out of blanks, Sukets issued
in the rehearsal election and one revoked by a printed card."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from rekam.residents.states import KtpState
from rekam.suket.demo import suket_demo_seed
from rekam.suket.models import Suket
from rekam.suket.stock import stock_balance

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
