"""``rekam suket_decide`` and ``rekam suket_issue``."""

from __future__ import annotations

import io
from datetime import date

import pytest
from django.core.management import CommandError, call_command

from rekam.residents.states import KtpState
from rekam.suket.models import Suket, SuketDecision

from .factories import make_resident
from .test_suket_support import make_pilkada, ready_office


@pytest.fixture
def pilkada(personas):
    ready_office(personas.bdl_office, blanks=3)
    return make_pilkada()


def test_decide_prints_outcome_reason_and_inputs_and_changes_nothing(pilkada):
    r = make_resident(ktp_state=KtpState.PRINT_READY_RECORD)
    out = io.StringIO()
    call_command("suket_decide", r.nik, election="pilkada-2020", at="2020-12-05T10:00", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "PRINT CETAK"
    assert "  blanks: 3" in lines and "  today: 2020-12-05" in lines
    assert not SuketDecision.objects.exists()


def test_decide_after_the_deadline_says_lewat_batas(pilkada):
    r = make_resident(ktp_state=KtpState.SENT_FOR_ENROLLMENT)
    out = io.StringIO()
    call_command("suket_decide", r.nik, election="pilkada-2020", at="2020-12-10T08:00", stdout=out)
    assert out.getvalue().startswith("REFUSE LEWAT_BATAS")


def test_decide_refuses_an_unknown_election(pilkada):
    r = make_resident()
    with pytest.raises(CommandError, match="tidak ditemukan"):
        call_command("suket_decide", r.nik, election="pemilu-2099")


def test_issue_writes_pdfs_and_prints_number_and_qr_and_refuses_with_reason(pilkada, tmp_path):
    ok = make_resident(ktp_state=KtpState.SENT_FOR_ENROLLMENT, name="Siti")
    no = make_resident(ktp_state=KtpState.BELUM_REKAM, name="Budi")
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "suket_issue",
        ok.nik,
        no.nik,
        "123",
        election="pilkada-2020",
        out=str(tmp_path),
        at="2020-12-05T10:00",
        stdout=out,
        stderr=err,
    )
    lines = out.getvalue().splitlines()
    assert lines[0].startswith(f"{ok.nik}\t470/0001/SKT-KTP/18.71/2020\tRK1:")
    assert lines[1].startswith(f"{no.nik}\tREFUSE BELUM_REKAM")
    assert "harus 16 digit" in err.getvalue()
    pdf = tmp_path / "470-0001-SKT-KTP-18.71-2020.pdf"
    assert pdf.read_bytes() == bytes(Suket.objects.get().pdf)


def test_issue_exits_non_zero_when_every_nik_is_refused_and_reports_each(pilkada):
    no = make_resident(ktp_state=KtpState.BELUM_REKAM, name="Budi")
    young = make_resident(ktp_state=KtpState.BIO_CAPTURED, birth_date=date(2005, 1, 1))
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="Tidak ada Suket yang diterbitkan: 3 NIK ditolak"):
        call_command(
            "suket_issue",
            no.nik,
            young.nik,
            "123",
            election="pilkada-2020",
            at="2020-12-05T10:00",
            stdout=out,
            stderr=err,
        )
    lines = out.getvalue().splitlines()
    assert lines[0].startswith(f"{no.nik}\tREFUSE BELUM_REKAM\t")
    assert lines[1].startswith(f"{young.nik}\tREFUSE BELUM_WAJIB_KTP\t")
    assert "123: " in err.getvalue()
    assert not Suket.objects.exists()


def test_issue_exits_non_zero_when_no_nik_could_be_read(pilkada):
    with pytest.raises(CommandError, match="Tidak ada Suket"):
        call_command("suket_issue", "123", election="pilkada-2020", stderr=io.StringIO())
