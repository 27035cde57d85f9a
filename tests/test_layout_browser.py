"""What the stylesheets do to people's screens, measured in Chromium: the waiting-room board read
from 5 m (1366x768 and 1920x1080, 2 to 8 counters) and on a phone, the login page, touch targets,
wide tables and the folded menu on a phone.

Drives Debian's Chromium through Playwright against pytest-django's live server (skipped with
the reason when /usr/bin/chromium is missing, failing instead under REKAM_REQUIRE_BROWSER=1).
"""

from __future__ import annotations

from typing import Any

import pytest

from rekam.antrean.services import ticket_call_next, ticket_issue_walkin

from .conftest import PASSWORD
from .test_antrean_support import WORKDAY, at, make_point

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NOW = at(WORKDAY, 10, 20)
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
}

# Sizes (in vh), colours and boxes of the board's parts, and anything that leaves the screen or
# its counter's box.
BOARD_MEASURES = """() => {
  const vh = innerHeight / 100, vw = innerWidth;
  const lum = c => {
    const [r, g, b] = c.match(/[\\d.]+/g).slice(0, 3).map(v => {
      v /= 255; return v <= .03928 ? v / 12.92 : ((v + .055) / 1.055) ** 2.4; });
    return .2126 * r + .7152 * g + .0722 * b;
  };
  const contrast = (a, b) => {
    const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + .05) / (y + .05); };
  const all = s => [...document.querySelectorAll(s)];
  const px = e => parseFloat(getComputedStyle(e).fontSize);
  const size = s => Math.min(...all(s).map(e => px(e) / vh));
  const cs = getComputedStyle(document.querySelector('.board-counter-name'));
  const outside = [];
  for (const e of all('.board *')) {
    if (e.closest('[hidden]')) continue;
    const r = e.getBoundingClientRect();
    if (!r.width) continue;
    if (r.right > vw + 1 || r.bottom > innerHeight + 1) outside.push(e.className || e.tagName);
    const card = e.parentElement.closest('.board-counter');
    if (card && e.parentElement === card) {
      const c = card.getBoundingClientRect();
      if (r.bottom > c.bottom + 1 || r.right > c.right + 1 || r.left < c.left - 1) {
        outside.push('card: ' + e.className);
      }
    }
  }
  const lines = all('.board-counter-number').map(e => e.getBoundingClientRect().height / px(e));
  return {
    name: size('.board-counter-name'), number: size('.board-counter-number'),
    service: size('.board-counter-service'), calls: size('.board-call-list'),
    titles: size('.board-side-title'), small: size('.board-small'),
    nameContrast: contrast(cs.color, cs.backgroundColor), outside,
    numberLines: Math.max(...lines), scrollWidth: document.documentElement.scrollWidth,
  };
}"""


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    monkeypatch.setattr("rekam.antrean.clock.now", lambda: NOW)


def busy_point(personas, code: str, counters: int):
    """A point whose every counter has called a card pick-up number (the longest service name)."""
    point = make_point(personas.bdl_office, code=code, counters=counters)
    for counter in range(1, counters + 1):
        ticket_issue_walkin(
            service_point=point, service="printing", acting_user=personas.bdl_queue, at=NOW
        )
        ticket_call_next(
            service_point=point, counter=counter, acting_user=personas.bdl_operator, at=NOW
        )
    return point


def login(page, base: str, username: str) -> None:
    page.goto(f"{base}/masuk/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form:has(input[name=password]) button[type=submit]")
    page.wait_for_url(f"{base}/")


def test_the_board_is_read_from_five_metres_with_two_to_eight_counters(
    live_server, browser, personas
):
    points = [busy_point(personas, f"18.71-T{n}", n) for n in (2, 5, 8)]
    for width, height in ((1366, 768), (1920, 1080)):
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        for point in points:
            page.goto(f"{live_server.url}/antrean/papan/{point.code}/")
            assert page.inner_text("[data-counter='1'] [data-field=label]").startswith("B-")
            m = page.evaluate(BOARD_MEASURES)
            where = f"{width}x{height}, {point.counters} counters: {m}"
            # Where to go is as prominent as the number: large, and white on dark blue.
            assert m["name"] >= 5 and m["nameContrast"] >= 7, where
            assert m["number"] >= 8 and m["numberLines"] < 1.5, where
            # Every other line about 5vh.
            assert min(m["service"], m["calls"], m["titles"], m["small"]) >= 4.4, where
            assert m["outside"] == [], where
        context.close()


def test_the_board_on_a_phone_keeps_each_number_on_one_line(live_server, browser, personas):
    point = busy_point(personas, "18.71-T8", 8)
    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.goto(f"{live_server.url}/antrean/papan/{point.code}/")
    m = page.evaluate(BOARD_MEASURES)
    assert m["numberLines"] < 1.5, m
    assert m["scrollWidth"] == 390, m
    context.close()


def test_the_login_cards_stack_on_a_phone_with_the_residents_one_first(live_server, browser):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.goto(f"{live_server.url}/masuk/")
    staff = page.locator(".login-card").first.bounding_box()
    public = page.locator("[data-testid=public-links]").bounding_box()
    assert staff and public
    assert public["y"] + public["height"] <= staff["y"]
    assert public["width"] > 300 and staff["width"] > 300
    # Each resident link reads as a line, not one word a line.
    first_link = page.locator("[data-testid=public-links] a").first.bounding_box()
    assert first_link and first_link["width"] > 200
    context.close()

    desktop = browser.new_page(viewport={"width": 1280, "height": 800})
    desktop.goto(f"{live_server.url}/masuk/")
    staff = desktop.locator(".login-card").first.bounding_box()
    public = desktop.locator("[data-testid=public-links]").bounding_box()
    assert staff and public and staff["y"] == public["y"] and staff["x"] < public["x"]
    desktop.close()


def test_controls_are_44_pixels_on_a_phone_and_compact_on_the_desktop(
    live_server, browser, personas
):
    sizes = """s => [...document.querySelectorAll(s)].map(e => {
      const r = e.getBoundingClientRect(); return [r.width, r.height]; })"""
    context = browser.new_context(**PHONE)
    page = context.new_page()
    login(page, live_server.url, "bdl_operator")
    for selector in (
        ".lang-switch button",
        ".link-button",
        ".mainnav-toggle summary",
        "main .button",
    ):
        for w, h in page.evaluate(sizes, selector):
            assert w >= 44 and h >= 44, (selector, w, h)
    context.close()

    desktop = browser.new_page(viewport={"width": 1366, "height": 768})
    login(desktop, live_server.url, "bdl_operator")
    assert all(h < 40 for _w, h in desktop.evaluate(sizes, ".lang-switch button, .link-button"))
    desktop.close()


def test_a_wide_table_scrolls_in_its_box_and_the_menu_folds_on_a_phone(
    live_server, browser, personas
):
    point = make_point(personas.bdl_office, counters=2)
    for _ in range(3):
        ticket_issue_walkin(
            service_point=point, service="printing", acting_user=personas.bdl_queue, at=NOW
        )
    context = browser.new_context(**PHONE)
    page = context.new_page()
    login(page, live_server.url, "bdl_operator")
    page.goto(f"{live_server.url}/antrean/loket/{point.code}/1/")
    assert page.locator("table.data tbody tr").count() == 3
    assert page.evaluate("document.documentElement.scrollWidth") == 390

    # The menu is folded behind one button that the keyboard opens and closes.
    assert not page.is_visible(".mainnav-list")
    page.focus(".mainnav-toggle summary")
    page.keyboard.press("Enter")
    assert page.is_visible(".mainnav-list")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('.mainnav-list') !== null")
    context.close()

    desktop = browser.new_page(viewport={"width": 1366, "height": 768})
    login(desktop, live_server.url, "bdl_operator")
    assert desktop.is_visible(".mainnav-list") and not desktop.is_visible(".mainnav-toggle")
    desktop.close()


def test_time_ranges_and_stacked_cells_keep_together_on_a_small_phone(live_server, browser):
    """The stylesheets alone, on the markup the pages use: a session's "08.00–09.00" stays on
    one line, and a stacked table cell with several links keeps them beside its label."""
    context = browser.new_context(**{**PHONE, "viewport": {"width": 360, "height": 740}})
    page = context.new_page()
    page.goto(f"{live_server.url}/masuk/")  # same origin, for the stylesheets
    page.set_content(
        f'<link rel="stylesheet" href="{live_server.url}/static/rekam/rekam.css">'
        f'<link rel="stylesheet" href="{live_server.url}/static/antrean/antrean.css">'
        '<main class="wrap"><fieldset class="sessions"><label class="session-choice">'
        '<input type="radio" name="s"><span class="session-time">08.00–09.00</span>'
        '<span class="session-room">12 tempat tersisa lagi hari ini</span></label></fieldset>'
        '<div class="table-scroll"><table class="data stack"><tbody><tr>'
        '<td data-label="Loket"><a href="#1">1</a> <a href="#2">2</a> <a href="#3">3</a></td>'
        "</tr></tbody></table></div></main>"
    )
    # set_content waits for the page's load event: the stylesheets are applied.
    time_box = page.locator(".session-time").bounding_box()
    assert time_box and time_box["height"] < 2 * 18.4  # one line of 1.15rem (two: 55 px)
    links = [page.locator(f"a[href='#{n}']").bounding_box() for n in (1, 2, 3)]
    assert all(b and b["x"] > 120 and b["height"] >= 44 for b in links), links
    context.close()
