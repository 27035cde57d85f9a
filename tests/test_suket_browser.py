"""The public verifier in Chromium: open /verifikasi once, go offline, verify Sukets.

Drives Debian's Chromium through Playwright against pytest-django's live server (skipped with
the reason when /usr/bin/chromium is missing, failing instead under REKAM_REQUIRE_BROWSER=1).
"""

from __future__ import annotations

import io
from datetime import timedelta

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.utils import timezone, translation
from PIL import Image

from rekam.lib.signing import cose_sign1, key_id, pack_text, public_key_raw
from rekam.residents.states import KtpState
from rekam.suket.keys import office_key_rotate
from rekam.suket.services import SuketContent, holder_data, render_suket, suket_issue
from rekam.suket.stock import blank_receive, card_print
from rekam.suket.verify import verifier_texts

from .factories import make_resident
from .test_suket_support import make_pilkada, ready_office
from .test_suket_verify import _parts, tampered

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def texts(language: str = "id") -> dict[str, str]:
    """What the page shows, in ``language``, as the lead's catalogue translates it."""
    with translation.override(language):
        return verifier_texts()


def signed_with_own_key(text: str, *, days_back: int = 0) -> str:
    """The payload, its issue date moved ``days_back`` days back, signed with a key no office
    ever published."""
    _protected, payload, _sig = _parts(text)
    data = dict(cbor2.loads(payload))
    data["iss"] = (timezone.localdate() - timedelta(days=days_back)).isoformat()
    key = Ed25519PrivateKey.generate()
    kid = key_id(public_key_raw(key.public_key()))
    return pack_text(cose_sign1(cbor2.dumps(data), private_key=key, kid=kid), prefix="RK1:")


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
    assert "17-05-1990" in result  # the birth date, to compare with the person
    assert page.inner_text("#verdict-next") == texts()["next_valid"]
    assert page.inner_text("#offline-ready") == texts()["offline_ready"]

    assert _check(page, tampered(genuine.qr_text)) == "TIDAK_SAH"
    assert "TIDAK SAH" in page.inner_text("#verdict-label")
    assert page.inner_text("#verdict-next") == texts()["next_not_valid"]

    assert _check(page, genuine.qr_text[:-30]) == "TIDAK_SAH"
    assert _check(page, printed.qr_text) == "DICABUT"

    # A photo this browser cannot read offline is no verdict on the Suket, and a sharper
    # photo would not help: this browser has no QR reader of its own.
    assert page.get_attribute("#verifier", "data-qr-reader") == "0"
    assert page.inner_text("#image-note") == texts()["no_qr_reader"]
    assert _photo(page) == "TIDAK_TERBACA"
    assert page.inner_text("#verdict-label") == "KODE TIDAK TERBACA"
    assert page.inner_text("#verdict-reason") == texts()["image_offline"]
    context.set_offline(False)
    assert _photo(page) == "TIDAK_TERBACA"  # read by the server: no QR code in it
    assert "foto yang lebih tajam" in page.inner_text("#verdict-reason")
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
    state = page.inner_text("#offline-state")
    assert state.startswith("Keys as of ") and "and the revocation list as of" in state
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
    # The key list names the leaked key: refused even though it was issued today.
    assert _check(page, leaked) == "TIDAK_SAH"
    assert "sudah ditarik sejak" in page.inner_text("#verdict-reason")
    # A key no office ever had, on a Suket dated before the key list: not valid.
    assert _check(page, signed_with_own_key(genuine.qr_text, days_back=1)) == "TIDAK_SAH"
    assert "kunci yang tidak dikenal" in page.inner_text("#verdict-reason")
    context.close()


# Browsers and devices that cannot decide: never "not valid", and what to do instead.

# An older Chrome or Samsung Internet: WebCrypto without Ed25519.
WITHOUT_ED25519 = """
(() => {
  const subtle = window.crypto && crypto.subtle;
  if (!subtle) return;
  const importKey = subtle.importKey.bind(subtle);
  subtle.importKey = (format, data, algorithm, ...rest) => {
    const name = typeof algorithm === "string" ? algorithm : algorithm && algorithm.name;
    if (String(name).toLowerCase() === "ed25519") {
      return Promise.reject(new DOMException("Algorithm: Unrecognized name", "NotSupportedError"));
    }
    return importKey(format, data, algorithm, ...rest);
  };
})();
"""
WITHOUT_DECOMPRESSION_AND_QR_READER = (
    "delete window.DecompressionStream; delete window.BarcodeDetector;"
)


def _open_then_go_offline(context, url: str):
    page = context.new_page()
    page.goto(f"{url}/verifikasi")
    page.wait_for_selector("#verifier[data-ready='1'][data-offline='1']", timeout=15000)
    return page


def _reload_offline(context, page) -> None:
    context.set_offline(True)
    page.reload()
    page.wait_for_selector("#verifier[data-ready='1']", timeout=15000)


def test_without_ed25519_the_server_decides_and_offline_it_cannot_be_checked_here(
    live_server, browser, sukets
):
    genuine, printed = sukets
    context = browser.new_context()
    context.add_init_script(WITHOUT_ED25519)
    page = _open_then_go_offline(context, live_server.url)
    page.wait_for_selector("#verifier[data-local-check='0']")
    assert page.inner_text("#local-check-note") == texts()["no_local_check"]

    # Pressing "Periksa" with nothing pasted asks for the code; it is no verdict.
    page.click("#paste-form button[type=submit]")
    page.wait_for_selector("#form-message:not([hidden])")
    assert page.inner_text("#form-message") == texts()["empty"]
    assert page.is_hidden("#result")

    # With signal the page asks the server, which has the full check.
    assert _check(page, genuine.qr_text) == "SAH"
    result = page.inner_text("#result")
    assert "SITI AMINAH" in result and "17-05-1990" in result
    assert "daftar pencabutan terkini (diperiksa daring)" in result
    assert genuine.resident.nik not in result
    assert _check(page, tampered(genuine.qr_text)) == "TIDAK_SAH"
    assert _check(page, printed.qr_text) == "DICABUT"

    # Without signal: this device cannot check, and says what to do.
    _reload_offline(context, page)
    assert _check(page, genuine.qr_text) == "TIDAK_DAPAT_DIPERIKSA"
    assert page.inner_text("#verdict-label") == texts()["cannot_check"]
    assert page.inner_text("#verdict-reason") == texts()["no_ed25519"]
    assert page.inner_text("#verdict-next") == texts()["next_offline"]
    assert "SITI" not in page.inner_text("#result")
    assert _check(page, tampered(genuine.qr_text)) == "TIDAK_DAPAT_DIPERIKSA"
    # What needs no signature check is still decided here.
    assert _check(page, genuine.qr_text[:-30]) == "TIDAK_SAH"
    context.close()


def test_without_decompression_or_a_qr_reader_the_page_says_so_up_front(
    live_server, browser, sukets
):
    genuine, _printed = sukets
    context = browser.new_context()
    context.add_init_script(WITHOUT_DECOMPRESSION_AND_QR_READER)
    page = _open_then_go_offline(context, live_server.url)
    page.wait_for_selector("#verifier[data-local-check='0'][data-qr-reader='0']")
    assert page.inner_text("#local-check-note") == texts()["no_local_check"]
    assert page.inner_text("#image-note") == texts()["no_qr_reader"]
    assert page.is_hidden("#camera-button")
    assert _check(page, genuine.qr_text) == "SAH"  # by the server

    _reload_offline(context, page)
    assert _check(page, genuine.qr_text) == "TIDAK_DAPAT_DIPERIKSA"
    assert page.inner_text("#verdict-reason") == texts()["no_inflate"]
    assert _check(page, "bukan kode") == "TIDAK_SAH"  # not a Suket code at all
    assert _photo(page) == "TIDAK_TERBACA"
    assert page.inner_text("#verdict-reason") == texts()["image_offline"]
    context.close()


def test_after_a_key_rotation_a_saved_key_list_cannot_check_the_new_key_until_online(
    live_server, browser, sukets, personas
):
    genuine, _printed = sukets
    context = browser.new_context()
    page = _open_then_go_offline(context, live_server.url)  # keys saved before the rotation
    office_key_rotate(office=personas.bdl_office)
    fresh = suket_issue(
        resident=make_resident(ktp_state=KtpState.SENT_FOR_ENROLLMENT, name="Rina Wati"),
        election=genuine.election,
    ).suket
    assert fresh is not None

    _reload_offline(context, page)
    assert _check(page, fresh.qr_text) == "TIDAK_DAPAT_DIPERIKSA"
    assert page.inner_text("#verdict-reason").startswith(
        texts()["key_not_yet_known"].split("%(")[0]
    )
    assert page.inner_text("#verdict-next") == texts()["next_offline"]
    assert "RINA" not in page.inner_text("#result")
    looks = {"TIDAK_DAPAT_DIPERIKSA": _look(page)}
    assert _check(page, genuine.qr_text) == "SAH"  # the old key is in the saved list
    looks["SAH"] = _look(page)
    assert _check(page, tampered(genuine.qr_text)) == "TIDAK_SAH"
    looks["TIDAK_SAH"] = _look(page)
    assert len(set(looks.values())) == 3  # three verdicts, three looks

    context.set_offline(False)  # signal again: the server knows the new key
    assert _check(page, fresh.qr_text) == "SAH"
    assert "RINA WATI" in page.inner_text("#result")
    context.close()


def _look(page) -> tuple[str, ...]:
    """Border, background and label colours of the verdict shown."""
    return tuple(
        page.evaluate(
            "() => { const box = getComputedStyle(document.getElementById('result'));"
            " const label = getComputedStyle(document.getElementById('verdict-label'));"
            " return [box.borderTopColor, box.backgroundColor, label.color]; }"
        )
    )


def test_the_language_links_work_offline_and_leave_the_choice_alone(live_server, browser, sukets):
    genuine, _printed = sukets
    context = browser.new_context()
    page = _open_then_go_offline(context, live_server.url)
    # Saving the English copy did not choose English for the visitor.
    assert all(c["value"] != "en" for c in context.cookies() if c["name"] == "django_language")

    context.set_offline(True)
    page.click(".lang-links a[lang=en]")
    page.wait_for_selector("#verifier[data-ready='1']", timeout=15000)
    assert page.inner_text("h1").startswith("Check a Suket")
    assert _check(page, genuine.qr_text) == "SAH"
    assert page.inner_text("#verdict-label") == "VALID"
    assert page.inner_text("#verdict-next") == texts("en")["next_valid"]

    page.click(".lang-links a[lang=id]")
    page.wait_for_selector("#verifier[data-ready='1']", timeout=15000)
    assert page.inner_text("h1").startswith("Periksa Suket")
    assert _check(page, genuine.qr_text) == "SAH"
    assert page.inner_text("#verdict-label") == "SAH"
    context.close()
