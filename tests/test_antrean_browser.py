"""The queue in Chromium: a resident takes an online number; the gate officer's walk-in ticket
says when to come back; an operator calls the next number and the board shows and says it,
for as long as it runs without growing.

Drives Debian's Chromium through Playwright against pytest-django's live server (skipped with
the reason when /usr/bin/chromium is missing, failing instead under REKAM_REQUIRE_BROWSER=1).
The queue's clock is set to a Wednesday at 10:20 so the sessions on screen are always the same.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

from rekam.antrean.models import State, Ticket
from rekam.antrean.services import sessions_ensure, ticket_issue_walkin
from rekam.servicepoints.models import HolidayOpening

from .conftest import PASSWORD
from .factories import make_resident
from .test_antrean_support import WORKDAY, at, make_point

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"]
NOW = at(WORKDAY, 10, 20)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser():
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is not installed (apt-get install chromium)"
        if os.environ.get("REKAM_REQUIRE_BROWSER") == "1":
            pytest.fail(f"REKAM_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    monkeypatch.setattr("rekam.antrean.clock.now", lambda: NOW)


@pytest.fixture
def point(personas):
    return make_point(personas.bdl_office, counters=2, holiday_opening=HolidayOpening.OPEN)


def login(page, base: str, username: str) -> None:
    page.goto(f"{base}/masuk/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form:has(input[name=password]) button[type=submit]")
    page.wait_for_url(f"{base}/")


def test_a_resident_takes_an_online_number_on_a_phone(live_server, browser, point):
    resident = make_resident(name="Siti Aminah", birth_date=date(1990, 5, 17))
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{live_server.url}/antrean/")
    page.fill("input[name=nik]", f"{resident.nik[:6]} {resident.nik[6:12]} {resident.nik[12:]}")
    page.fill("input[name=birth_date]", "1990-05-17")
    page.click("form.panel button[type=submit]")
    page.wait_for_url(f"{live_server.url}/antrean/jadwal/")
    assert page.inner_text("[data-testid=masked-nik]") == resident.masked_nik
    # Sessions of today still open at 10:20: 10:00 to 16:00.
    assert page.locator("input[name=session]").count() == 6
    page.locator("label.session-choice").nth(1).click()  # 11:00-12:00
    page.click("form[action^='/antrean/ambil/'] button[type=submit]")
    page.wait_for_selector("[data-testid=ticket-number]")
    assert page.inner_text("[data-testid=ticket-number]") == "A-001"
    assert page.inner_text("[data-testid=window]") == "11.00–12.00"
    assert resident.nik not in page.content()
    page.wait_for_function("document.querySelector('.ticket-qr img').naturalWidth > 0")
    ticket = Ticket.objects.get()
    assert (ticket.nik, ticket.state, ticket.window_start) == (
        resident.nik,
        State.BOOKED,
        at(WORKDAY, 11),
    )
    context.close()


def test_the_date_list_can_be_walked_with_the_keyboard(live_server, browser, point):
    resident = make_resident(name="Siti Aminah", birth_date=date(1990, 5, 17))
    page = browser.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{live_server.url}/antrean/")
    page.fill("input[name=nik]", resident.nik)
    page.fill("input[name=birth_date]", "1990-05-17")
    page.click("form.panel button[type=submit]")
    page.wait_for_url(f"{live_server.url}/antrean/jadwal/")
    page.focus("#id_tanggal")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.wait_for_timeout(300)
    # Still on the page with the list focused: arrows only move through the dates.
    assert page.evaluate("document.activeElement.id") == "id_tanggal"
    assert "tanggal=" not in page.url
    chosen = page.eval_on_selector("#id_tanggal", "el => el.value")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert f"tanggal={chosen}" in page.url
    page.close()


def test_the_gate_prints_a_come_back_ticket_when_the_session_is_full(
    live_server, browser, point, personas
):
    now_session = sessions_ensure(service_point=point, day=WORKDAY)[2]  # 10:00-11:00
    now_session.public_taken = now_session.capacity
    now_session.save()
    context = browser.new_context(viewport={"width": 1024, "height": 768})
    # Count the print dialogs instead of opening them.
    context.add_init_script(
        "window.print = () => { window.__printed = (window.__printed || 0) + 1; };"
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    login(page, live_server.url, "bdl_queue")
    page.goto(f"{live_server.url}/antrean/gerbang/{point.code}/")
    page.click("button[name=service][value=recording]")
    page.wait_for_selector("[data-testid=come-back]")
    assert page.get_attribute("[data-testid=slip]", "data-come-back") == "11.00"
    assert "11.00" in page.inner_text("[data-testid=come-back]")
    assert page.inner_text(".slip-number") == "A-001"
    page.wait_for_function("window.__printed === 1")
    assert "cetak=1" not in page.url  # a reload does not print it twice
    ticket = Ticket.objects.get()
    assert ticket.state == State.BOOKED and ticket.window_start == at(WORKDAY, 11)
    context.close()


def test_an_operator_calls_the_next_number_and_the_board_shows_and_says_it(
    live_server, browser, point, personas
):
    ticket_issue_walkin(service_point=point, service="recording", acting_user=personas.bdl_queue)
    board_context = browser.new_context(viewport={"width": 1280, "height": 720})
    board = board_context.new_page()
    board.set_default_timeout(10_000)
    clips: list[str] = []
    board.on(
        "request",
        lambda r: clips.append(r.url.rsplit("/", 1)[-1]) if "/antrean/audio/" in r.url else None,
    )
    board.goto(f"{live_server.url}/antrean/papan/{point.code}/?interval=50")
    board.click("[data-action=sound]")  # the one tap a TV needs before it may play sound
    assert board.inner_text("[data-counter='1'] [data-field=label]") == "–"

    desk_context = browser.new_context()
    desk = desk_context.new_page()
    desk.set_default_timeout(10_000)
    login(desk, live_server.url, "bdl_operator")
    desk.goto(f"{live_server.url}/antrean/loket/{point.code}/1/")
    desk.click("button[value=call]")
    desk.wait_for_selector("[data-testid=current-number]")
    assert desk.inner_text("[data-testid=current-number]") == "A-001"

    board.wait_for_function(
        "document.querySelector(\"[data-counter='1'] [data-field=label]\").textContent === 'A-001'"
    )
    assert board.inner_text("[data-row='0'] [data-part=label]") == "A-001"
    # Said from the shipped clips (decoded, so playing), not by a network voice.
    board.wait_for_selector("#board[data-saying='A-001@1']")
    assert clips == ["chime.opus", "nomor.opus", "huruf-a.opus", "1.opus", "loket.opus"]

    # Left running, the board replaces text in the same nodes: nothing grows.
    cdp = board_context.new_cdp_session(board)
    nodes = "document.getElementsByTagName('*').length"

    def settled_heap() -> int:
        cdp.send("HeapProfiler.collectGarbage")
        return int(cdp.send("Runtime.getHeapUsage")["usedSize"])

    before_nodes, before_heap = board.evaluate(nodes), settled_heap()
    # While the call is said to its end, the board keeps polling (some 80 times at 50 ms).
    board.wait_for_selector("#board[data-spoken='A-001@1']")
    assert board.get_attribute("#board", "data-voice") == "clips"
    assert board.evaluate(nodes) == before_nodes
    assert settled_heap() - before_heap < 256 * 1024
    board_context.close()
    desk_context.close()
