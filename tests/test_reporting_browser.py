"""The dashboard in Chromium: the map, the bars and the chart show the table's numbers.

Drives Debian's Chromium through Playwright against pytest-django's live server (skipped with
the reason when /usr/bin/chromium is missing, failing instead under REKAM_REQUIRE_BROWSER=1).
"""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from django.utils import timezone

from rekam.residents.services import record_move
from rekam.residents.states import KtpState

from .test_antrean_browser import login
from .test_reporting_figures import province  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _table(page, group: str = "voters") -> dict[str, dict[str, str]]:
    """Each row's ``data-value`` per column, by region code."""
    return page.evaluate(
        """(group) => Object.fromEntries(
            [...document.querySelectorAll(`table[data-group="${group}"] tr[data-code]`)].map(
                tr => [tr.dataset.code, Object.fromEntries(
                    [...tr.querySelectorAll('td[data-key]')].map(
                        td => [td.dataset.key, td.dataset.value]))]))""",
        group,
    )


def _attrs(page, selector: str) -> list[dict[str, str]]:
    return page.evaluate(
        "(sel) => [...document.querySelectorAll(sel)].map(e => ({...e.dataset}))", selector
    )


def test_the_pictures_agree_with_the_table(
    live_server,
    browser,
    province,  # noqa: F811
    personas,
    tmp_path,
):
    election, people = province
    election.polling_day = timezone.localdate() + timedelta(days=9)
    election.save()
    record_move(
        resident=people[1], to_state=KtpState.BIO_CAPTURED, acting_user=personas.bdl_operator
    )
    page = browser.new_page(viewport={"width": 1280, "height": 1600})
    page.set_default_timeout(15_000)
    login(page, live_server.url, "prov_admin")
    page.goto(f"{live_server.url}/dasbor/{election.slug}/")

    table = _table(page)
    assert table["18.71"]["voters"] == "6" and table["18.71"]["unrecorded_now"] == "1"
    assert table["18.01"]["voters"] == "2" and table["total"]["voters"] == "8"
    assert page.get_attribute(".days-left", "data-days-left") == "9"

    # The map: every kecamatan of the two regencies, its figures summing to the table's.
    shapes = _attrs(page, "svg.dash-map [data-code]")
    assert len(shapes) > 20
    for regency in ("18.71", "18.01"):
        mine = [s for s in shapes if s["code"].startswith(regency + ".")]
        assert sum(int(s["voters"]) for s in mine) == int(table[regency]["voters"])
        assert sum(int(s["unrecorded"]) for s in mine) == int(table[regency]["unrecorded_now"])
    kedaton = next(s for s in shapes if s["code"] == "18.71.01")
    assert kedaton["share"] == "16.7"  # 1 of 6
    box = page.locator("svg.dash-map").bounding_box()
    assert box is not None and box["width"] > 200 and box["height"] > 100

    # The bars: one per regency, its total the table's voters, each segment a column.
    bars = {b["code"]: b for b in _attrs(page, "svg.dash-bars g[data-code]")}
    assert set(bars) == {"18.71", "18.01"}
    for code, bar in bars.items():
        assert bar["total"] == table[code]["voters"]
    segments = {
        (s["code"], s["series"]): s["value"]
        for s in _attrs(page, "svg.dash-bars rect[data-series]")
    }
    assert segments[("18.71", "unrecorded_now")] == table["18.71"]["unrecorded_now"]
    assert segments[("18.71", "printed")] == table["18.71"]["printed"]

    # The chart: today's recording, and the pace needed to finish by polling day.
    today = timezone.localdate().isoformat()
    bars_today = {
        s["series"]: s["value"] for s in _attrs(page, f'svg.dash-progress rect[data-day="{today}"]')
    }
    assert bars_today == {"recorded": "1", "printed": "0"}
    needed = [n["needed"] for n in _attrs(page, "svg.dash-progress [data-needed]")]
    assert "0.2" in needed  # 2 voters not recorded over 10 days of service
    if os.environ.get("REKAM_SCREENSHOTS"):
        page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)

    # Drill down to Bandar Lampung: rows per kecamatan, and the map agrees again.
    page.click('table[data-group="voters"] tr[data-code="18.71"] th a')
    page.wait_for_url("**wilayah=18.71")
    table = _table(page)
    assert table["18.71.01"]["voters"] == "6" and table["total"]["voters"] == "6"
    shape = next(s for s in _attrs(page, "svg.dash-map [data-code]") if s["code"] == "18.71.01")
    assert (shape["voters"], shape["unrecorded"]) == ("6", "1")


def test_a_laptop_screen_keeps_the_menu_the_legend_and_the_region_column_readable(
    live_server,
    browser,
    province,  # noqa: F811
):
    election, _people = province
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    page.set_default_timeout(15_000)
    login(page, live_server.url, "prov_admin")
    page.goto(f"{live_server.url}/dasbor/{election.slug}/")

    # Every item of the province admin's menu on one line.
    tops = page.evaluate(
        "() => [...document.querySelectorAll('.mainnav li')].map("
        "li => Math.round(li.getBoundingClientRect().top))"
    )
    assert len(tops) > 8 and len(set(tops)) == 1

    # The map's legend as drawn on the screen: 11 px or more.
    sizes = page.evaluate(
        """() => [...document.querySelectorAll('svg.dash-map .dash-legend text')].map(
            t => parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a)"""
    )
    assert sizes and min(sizes) >= 11

    # A table wider than the page, scrolled sideways, still shows its region column.
    moved = page.evaluate(
        """() => {
            const box = document.querySelector('.table-scroll');
            box.scrollLeft = box.scrollWidth;
            const first = box.querySelector('tbody th[scope="row"]');
            const left = first.getBoundingClientRect().left;
            return [box.scrollLeft, left - box.getBoundingClientRect().left];
        }"""
    )
    assert moved[0] > 0 and abs(moved[1]) <= 2
