"""Issued Sukets: numbering, the stored PDF and what it says, the QR read back from the page."""

from __future__ import annotations

import hashlib
import re
import zlib

import pytest
from PIL import Image

from rekam.lib.pdf import date_id
from rekam.lib.qr import qr_read
from rekam.residents.states import KtpState
from rekam.suket.models import Suket
from rekam.suket.services import SuketError, suket_issue, suket_pdf

from .factories import make_resident
from .test_suket_support import jakarta, make_pilkada, ready_office


def page_content(pdf: bytes) -> str:
    """The page's drawing operators (ReportLab writes one zlib stream per page)."""
    streams = re.findall(rb"stream\r?\n(.*?)endstream", pdf, re.S)
    out = []
    for s in streams:
        try:
            out.append(zlib.decompress(s).decode("latin-1"))
        except zlib.error:
            continue
    return "\n".join(out)


def page_text(pdf: bytes) -> str:
    return " ".join(re.findall(r"\((.*?)\) Tj", page_content(pdf)))


def qr_from_pdf(pdf: bytes) -> list[str]:
    """Rebuild the QR code from the rectangles drawn on the page, and read it."""
    content = page_content(pdf)
    runs = [tuple(map(int, m)) for m in re.findall(r"(\d+) (\d+) (\d+) 1 re", content)]
    size = max(col + length for col, _row, length in runs)
    scale, quiet = 6, 4
    side = (size + 2 * quiet) * scale
    image = Image.new("L", (side, side), 255)
    for col, row, length in runs:
        x0, y0 = (col + quiet) * scale, (row + quiet) * scale
        image.paste(0, (x0, y0, x0 + length * scale, y0 + scale))
    return qr_read(image)


@pytest.fixture
def pilkada(personas):
    ready_office(personas.bdl_office, blanks=0)
    ready_office(personas.lamsel_office, blanks=0)
    return make_pilkada()


def _issue(election, village="18.71.01.1003", at=None, name="Siti Aminah"):
    r = make_resident(village, ktp_state=KtpState.SENT_FOR_ENROLLMENT, name=name)
    result = suket_issue(resident=r, election=election, at=at or jakarta(2020, 12, 5))
    assert result.suket is not None, result.decision
    return result.suket


def test_numbers_run_per_office_and_year(pilkada):
    a = _issue(pilkada)
    b = _issue(pilkada, name="Budi")
    c = _issue(pilkada, village="18.01.04.2001", name="Citra")
    assert a.number == "470/0001/SKT-KTP/18.71/2020"
    assert b.number == "470/0002/SKT-KTP/18.71/2020"
    assert c.number == "470/0001/SKT-KTP/18.01/2020"


def test_numbering_starts_again_in_a_new_year(pilkada):
    _issue(pilkada, at=jakarta(2020, 12, 5))
    pilkada.suket_issue_until = pilkada.suket_issue_until.replace(year=2021)
    pilkada.save()
    later = _issue(pilkada, at=jakarta(2021, 1, 2), name="Dewi")
    assert later.number == "470/0001/SKT-KTP/18.71/2021"


def test_the_pdf_is_stored_once_and_downloads_give_the_same_bytes(pilkada, personas, client):
    suket = _issue(pilkada)
    stored = bytes(Suket.objects.get(pk=suket.pk).pdf)
    assert hashlib.sha256(stored).hexdigest() == suket.pdf_sha256
    client.force_login(personas.bdl_operator)
    first = client.get(f"/suket/{suket.pk}/pdf/").content
    second = client.get(f"/suket/{suket.pk}/pdf/").content
    assert first == second == stored
    assert first.startswith(b"%PDF")


def test_a_damaged_stored_pdf_is_not_served(pilkada):
    suket = _issue(pilkada)
    Suket.objects.filter(pk=suket.pk).update(pdf=b"%PDF-broken")
    suket.refresh_from_db()
    with pytest.raises(SuketError, match="rusak"):
        suket_pdf(suket)


def test_the_pdf_is_an_a4_certificate_with_the_required_parts(pilkada):
    suket = _issue(pilkada)
    pdf = suket_pdf(suket)
    assert b"/MediaBox [ 0 0 595.2756 841.8898 ]" in pdf
    text = page_text(pdf)
    for part in (
        "PEMERINTAH KOTA BANDAR LAMPUNG",
        "DINAS KEPENDUDUKAN DAN PENCATATAN SIPIL",
        "SURAT KETERANGAN TELAH MELAKUKAN PEREKAMAN KTP-el",
        "Nomor: 470/0001/SKT-KTP/18.71/2020",
        suket.resident.nik,
        "SITI AMINAH",
        "untuk keperluan Pemilihan Wali Kota",
        "31 Desember 2020",
        "Bandar Lampung, 5 Desember 2020",
        "Drs. Zainal Abidin, M.Si.",
        "NIP. 196805121990031007",
    ):
        assert part in text, part


def test_the_pdf_prints_an_address_anyone_can_type_to_check_it(pilkada, settings):
    # The default verifier address is a bare path: printed after the site's public address.
    settings.SUKET_VERIFY_URL = "/verifikasi"
    settings.PUBLIC_BASE_URL = "https://rekam.lampungprov.go.id/"
    content = page_content(suket_pdf(_issue(pilkada)))
    assert "(https://rekam.lampungprov.go.id/verifikasi) Tj" in content
    assert "(/verifikasi) Tj" not in content


def test_an_absolute_verifier_address_is_printed_as_it_is(pilkada, settings):
    settings.SUKET_VERIFY_URL = "https://cek.example.go.id/suket"
    settings.PUBLIC_BASE_URL = "https://rekam.lampungprov.go.id"
    assert "https://cek.example.go.id/suket" in page_text(suket_pdf(_issue(pilkada)))


def test_the_qr_on_the_page_reads_back_as_the_signed_text(pilkada):
    suket = _issue(pilkada)
    assert qr_from_pdf(suket_pdf(suket)) == [suket.qr_text]


def test_dates_are_written_in_indonesian():
    from datetime import date

    assert date_id(date(2020, 12, 9)) == "9 Desember 2020"
    assert date_id(date(2021, 8, 17)) == "17 Agustus 2021"


def test_it_refuses_to_issue_without_a_signer(personas):
    election = make_pilkada()
    ready_office(personas.bdl_office, blanks=0)
    personas.bdl_office.head_nip = ""
    personas.bdl_office.save()
    r = make_resident(ktp_state=KtpState.SENT_FOR_ENROLLMENT)
    with pytest.raises(SuketError, match="NIP"):
        suket_issue(resident=r, election=election, at=jakarta(2020, 12, 5))
    assert not Suket.objects.exists()


def test_the_holder_data_is_kept_as_printed(pilkada):
    suket = _issue(pilkada)
    assert suket.holder["name"] == "SITI AMINAH"
    assert suket.holder["sex"] == "PEREMPUAN"
    assert suket.valid_from.isoformat() == "2020-12-05"
