"""What an operator sees in a real browser: log in, find a resident, record biometrics.

Drives Debian's Chromium through Playwright against pytest-django's live server. Without
/usr/bin/chromium the test is skipped with the reason, unless REKAM_REQUIRE_BROWSER=1 (CI),
in which case it fails.
"""

from __future__ import annotations

import pytest

from rekam.residents.models import RecordEvent
from rekam.residents.states import KtpState

from .conftest import PASSWORD
from .factories import make_resident

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_operator_finds_a_resident_and_records_biometrics(live_server, personas, browser):
    resident = make_resident("18.71.01.1003", name="Siti Aminah")
    nik = resident.nik
    # No locale: Chromium sends Accept-Language en-US, and the pages must still be Indonesian.
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)

    page.goto(f"{live_server.url}/masuk/")
    assert page.locator("h1").inner_text() == "Masuk"
    page.get_by_label("Nama pengguna").fill("bdl_operator")
    page.get_by_label("Sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_url(f"{live_server.url}/")

    page.get_by_role("link", name="Penduduk", exact=True).click()
    page.get_by_label("NIK atau nama").fill(f"{nik[:6]} {nik[6:12]} {nik[12:]}")
    page.get_by_role("button", name="Cari", exact=True).click()
    page.get_by_role("link", name="Siti Aminah").click()
    page.wait_for_url(f"{live_server.url}/penduduk/{nik}/")
    assert page.locator(".state-now").inner_text() == "Belum rekam"

    page.get_by_label("Catatan (tidak wajib)").fill("Loket 2")
    page.get_by_role("button", name="Catat perekaman biometrik").click()

    page.get_by_role("status").get_by_text(
        "Status KTP-el sekarang: Sudah rekam biometrik"
    ).wait_for()
    assert page.locator(".state-now").inner_text() == "Sudah rekam biometrik"
    row = page.locator("table.timeline tbody tr")
    assert row.count() == 1
    cells = row.first.locator("td").all_inner_texts()
    assert cells[1:] == [
        "Belum rekam",
        "Sudah rekam biometrik",
        "Kantor",
        "bdl_operator",
        "Loket 2",
    ]
    context.close()

    event = RecordEvent.objects.get(resident=resident)
    assert (event.to_state, event.actor) == (KtpState.BIO_CAPTURED, personas.bdl_operator)
