"""The public verifier in Chromium: open /verifikasi once, go offline, verify Sukets.

Drives Debian's Chromium through Playwright against pytest-django's live server (skipped with
the reason when /usr/bin/chromium is missing, failing instead under REKAM_REQUIRE_BROWSER=1).
"""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.utils import timezone
from PIL import Image

from rekam.residents.states import KtpState
from rekam.suket.keys import office_key_rotate
from rekam.suket.services import SuketContent, holder_data, render_suket, suket_issue
from rekam.suket.stock import blank_receive, card_print

from .factories import make_resident
from .test_suket_support import make_pilkada, ready_office
from .test_suket_verify import tampered

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def sukets(personas):
    ready_office(personas.bdl_office, blanks=0)
    today = timezone.localdate()
    election = make_pilkada()
    election.polling_day = election.suket_issue_until = today + timedelta(days=3)
    election.suket_valid_until = today + timedelta(days=20)
    election.save()
    genuine = suket_issue(
        resident=make_resident(ktp_state=KtpState.SENT_FOR_ENROLLMENT, name="Siti Aminah"),
        election=election,
    ).suket
    printed = suket_issue(
        resident=make_resident(ktp_state=KtpState.PRINT_READY_RECORD, name="Budi Santoso"),
        election=election,
    ).suket
    assert genuine is not None and printed is not None
    blank_receive(office=personas.bdl_office, count=1, batch="B")
    card_print(resident=printed.resident, card_serial="K1", acting_user=personas.bdl_operator)
    return genuine, printed


def _check(page, text: str) -> str:
    # Clear the previous verdict so that a stale one cannot be read as this one's.
    page.evaluate(
        "() => { const r = document.getElementById('result');"
        " r.hidden = true; delete r.dataset.status; }"
    )
    page.fill("#qr-text", text)
    page.click("#paste-form button[type=submit]")
    page.wait_for_selector("#result[data-status]:not([hidden])")
    return page.get_attribute("#result", "data-status") or ""


def test_the_verifier_works_offline_after_one_visit(live_server, browser, sukets):
    genuine, printed = sukets
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{live_server.url}/verifikasi")
    page.wait_for_selector("#verifier[data-ready='1'][data-offline='1']", timeout=15000)

    context.set_offline(True)
    page.reload()
    page.wait_for_selector("#verifier[data-ready='1']", timeout=15000)

    assert _check(page, genuine.qr_text) == "SAH"
    result = page.inner_text("#result")
    assert "SITI AMINAH" in result
    election = "Pemilihan Wali Kota dan Wakil Wali Kota Tahun 2020"
    assert page.inner_text("#verdict-election") == election
    assert "daftar pencabutan per " in result and " WIB" in result
    assert genuine.resident.masked_nik in result and genuine.resident.nik not in result

    assert _check(page, tampered(genuine.qr_text)) == "TIDAK_SAH"
    assert "TIDAK SAH" in page.inner_text("#verdict-label")

    assert _check(page, genuine.qr_text[:-30]) == "TIDAK_SAH"
    assert _check(page, printed.qr_text) == "DICABUT"

    # A photo this browser cannot read offline is no verdict on the Suket.
    assert _photo(page) == "TIDAK_TERBACA"
    assert page.inner_text("#verdict-label") == "KODE TIDAK TERBACA"
    assert "foto yang lebih tajam" in page.inner_text("#verdict-reason")
    context.set_offline(False)
    assert _photo(page) == "TIDAK_TERBACA"  # read by the server: no QR code in it
    context.close()


def test_the_verifier_reloads_offline_on_an_indonesian_phone(live_server, browser, sukets):
    # The browser sends Accept-Language; the page varies on it, and the cached copy must still
    # answer when the network is gone.
    genuine, _ = sukets
    context = browser.new_context(locale="id-ID")
    page = context.new_page()
    page.goto(f"{live_server.url}/verifikasi")
    page.wait_for_selector("#verifier[data-ready='1'][data-offline='1']", timeout=15000)
    context.set_offline(True)
    page.reload()
    page.wait_for_selector("#verifier[data-ready='1']", timeout=15000)
    assert _check(page, genuine.qr_text) == "SAH"
    context.close()


def _photo(page) -> str:
    """Upload a photo without a QR code, as a KPPS member's blurred shot would be."""
    picture = io.BytesIO()
    Image.new("RGB", (64, 64), "white").save(picture, format="PNG")
    page.evaluate(
        "() => { const r = document.getElementById('result');"
        " r.hidden = true; delete r.dataset.status; }"
    )
    page.set_input_files(
        "#image-input",
        files=[{"name": "foto.png", "mimeType": "image/png", "buffer": picture.getvalue()}],
    )
    page.wait_for_selector("#result[data-status]:not([hidden])")
    return page.get_attribute("#result", "data-status") or ""


def test_the_verifier_speaks_english_when_chosen(live_server, browser, sukets):
    genuine, printed = sukets
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{live_server.url}/verifikasi")
    page.click(".lang-links a[lang=en]")  # a phone has no other way to choose
    page.wait_for_selector("#verifier[data-ready='1']", timeout=15000)
    assert page.inner_text("h1").startswith("Check a Suket")
    page.goto(f"{live_server.url}/verifikasi")  # the choice is kept
    page.wait_for_selector("#verifier[data-ready='1']", timeout=15000)
    assert "Keys and the revocation list as of" in page.inner_text("#offline-state")
    assert _check(page, genuine.qr_text) == "SAH"
    assert page.inner_text("#verdict-label") == "VALID"
    assert "a genuine Suket, valid until" in page.inner_text("#verdict-reason")
    assert "Issued by" in page.inner_text("#verdict-facts")
    assert _check(page, tampered(genuine.qr_text)) == "TIDAK_SAH"
    assert "the signature does not match" in page.inner_text("#verdict-reason")
    assert _check(page, printed.qr_text) == "DICABUT"
    assert page.inner_text("#verdict-label") == "REVOKED"
    context.close()


@pytest.fixture
def key_cases(personas, sukets):
    """A text signed with a retired key after its retirement, and one signed with a key that
    was then reported compromised."""
    genuine, _printed = sukets
    old = genuine.key
    office_key_rotate(office=personas.bdl_office)
    content = SuketContent(
        office=genuine.office,
        election=genuine.election,
        number="470/9999/SKT-KTP/18.71/2020",
        uid=bytes.fromhex("00112233445566ff"),
        holder=holder_data(genuine.resident),
        reason="BELUM_PRR",
        issued_on=timezone.localdate() + timedelta(days=1),
        valid_until=genuine.valid_until,
        signer_name=genuine.signer_name,
        signer_nip=genuine.signer_nip,
    )
    after_retirement = render_suket(content, old)[0]
    ready_office(personas.lamsel_office, blanks=0)
    leaked = suket_issue(
        resident=make_resident(
            "18.01.04.2001", ktp_state=KtpState.SENT_FOR_ENROLLMENT, name="Dewi"
        ),
        election=genuine.election,
    ).suket
    assert leaked is not None
    office_key_rotate(office=personas.lamsel_office, compromised=True)
    return genuine, after_retirement, leaked.qr_text


def test_the_offline_verifier_applies_key_retirement_and_withdrawal(
    live_server, browser, key_cases
):
    genuine, after_retirement, leaked = key_cases
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{live_server.url}/verifikasi")
    page.wait_for_selector("#verifier[data-ready='1'][data-offline='1']", timeout=15000)
    context.set_offline(True)
    page.reload()
    page.wait_for_selector("#verifier[data-ready='1']", timeout=15000)

    assert _check(page, genuine.qr_text) == "SAH"  # signed before its key was retired
    assert _check(page, after_retirement) == "TIDAK_SAH"
    assert "sudah ditarik sejak" in page.inner_text("#verdict-reason")
    assert _check(page, leaked) == "TIDAK_SAH"
    assert "kunci yang tidak dikenal" in page.inner_text("#verdict-reason")
    context.close()
