"""The dashboard's pictures: the kecamatan map, bars per region, daily progress, in Indonesian and
in English; the shared map drawing the invitation plan's map uses too."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pytest
from django.utils import translation

from rekam.invitations.svgmap import plan_map
from rekam.regions.maps import Projection, path_data, rings
from rekam.regions.models import Boundary, Region
from rekam.reporting.pictures import (
    NO_DATA,
    SHARE_CLASSES,
    district_map,
    progress_chart,
    region_bars,
)

SVG = "{http://www.w3.org/2000/svg}"
KEDATON, SUKARAME, TANJUNGKARANG_BARAT, NATAR = "18.71.01", "18.71.02", "18.71.03", "18.01.04"


@pytest.fixture(autouse=True)
def indonesian():
    """Pictures as the office reads them by default; English is asked for where tested."""
    with translation.override("id"):
        yield


def _svg(text: str) -> ET.Element:
    return ET.fromstring(text)


def _by_code(root: ET.Element) -> dict[str, ET.Element]:
    return {p.get("data-code", ""): p for p in root.iter(f"{SVG}path") if p.get("data-code")}


def _title(element: ET.Element) -> str:
    title = element.find(f"{SVG}title")
    assert title is not None
    return title.text or ""


# --- the shared map drawing ----------------------------------------------------------------


def test_rings_come_from_polygons_and_multipolygons() -> None:
    square = [[0, 0], [1, 0], [1, 1], [0, 0]]
    hole = [[0.2, 0.2], [0.4, 0.2], [0.4, 0.4], [0.2, 0.2]]
    assert list(rings({"type": "Polygon", "coordinates": [square, hole]})) == [square, hole]
    assert list(rings({"type": "MultiPolygon", "coordinates": [[square], [hole]]})) == [
        square,
        hole,
    ]
    assert list(rings({"type": "Point", "coordinates": [0, 0]})) == []


def test_the_projection_squashes_longitude_by_the_cosine_of_the_latitude() -> None:
    # One degree each way around 60° north: half as wide as high.
    projection = Projection.fit([10, 11], [59.5, 60.5], 100)
    assert projection is not None
    assert projection.height == 200
    assert projection.xy(60.5, 10) == (0, 0)
    assert projection.xy(59.5, 11) == (100, 200)
    assert Projection.fit([], [], 100) is None


def test_a_path_leaves_out_points_too_close_to_see_and_rings_left_too_small() -> None:
    projection = Projection.fit([0, 10], [0, 10], 100)
    assert projection is not None
    # (0.02, 10) lies 0.2 units from the first point and is left out; so is the closing point.
    ring = [[0.0, 10.0], [0.02, 10.0], [5.0, 10.0], [5.0, 5.0], [0.0, 10.0]]
    assert path_data(projection, [ring]) == "M0,0 50,0 50,50Z"
    assert path_data(projection, [ring], min_step=0) == "M0,0 0.2,0 50,0 50,50Z"
    assert path_data(projection, [[[0, 0], [0.01, 0], [0, 0.01], [0, 0]]]) == ""


def test_the_plan_map_still_draws_outlines_villages_and_their_colours(lampung) -> None:
    village = Region.objects.filter(code__startswith=KEDATON + ".", lat__isnull=False).first()
    assert village is not None
    root = _svg(plan_map("18.71", {village.code: [4, 1]}, []))
    assert root.get("class") == "plan-map"
    outlines = Boundary.objects.filter(region__code__startswith="18.71.", region__level="district")
    assert len(root.findall(f"{SVG}polygon")) == sum(len(list(rings(b.geometry))) for b in outlines)
    (circle,) = root.findall(f"{SVG}circle")
    assert circle.get("fill") == "#c0392b"  # some left out
    assert circle.get("r") == "6.0"  # the biggest village
    assert _title(circle) == f"{village.name} ({village.code}): 4 diundang, 1 belum terlayani"


# --- the map of kecamatan ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("unrecorded", "voters", "share", "css"),
    [
        (0, 100, "0.0", "0"),
        (1, 100_000, "0.0", "1"),  # shown as 0,0 % but some are left: not "done"
        (19, 1000, "1.9", "1"),
        (194, 10_000, "1.9", "1"),
        (196, 10_000, "2.0", "2"),  # 1.96 % is shown as 2,0 %, and coloured so
        (37, 1000, "3.7", "2"),  # the province's average
        (49, 1000, "4.9", "2"),
        (496, 10_000, "5.0", "3"),
        (99, 1000, "9.9", "3"),
        (996, 10_000, "10.0", "4"),
        (10, 100, "10.0", "4"),
        (1, 1, "100.0", "4"),
        (5, 0, "", "none"),
    ],
)
def test_each_kecamatan_is_coloured_by_its_share_unrecorded(
    lampung, unrecorded, voters, share, css
) -> None:
    path = _by_code(_svg(district_map({KEDATON: (unrecorded, voters)})))[KEDATON]
    assert path.get("data-share") == share
    assert path.get("data-class") == css
    colours = {c.key: c.colour for c in (*SHARE_CLASSES, NO_DATA)}
    assert path.get("fill") == colours[css]


def test_the_map_carries_the_figures_and_names_of_each_kecamatan(lampung) -> None:
    root = _svg(
        district_map({KEDATON: (1234, 9872), SUKARAME: (0, 0), NATAR: (7, 1000)}),
    )
    paths = _by_code(root)
    assert sorted(paths) == [NATAR, KEDATON, SUKARAME]
    kedaton = paths[KEDATON]
    assert (
        kedaton.get("data-unrecorded"),
        kedaton.get("data-voters"),
        kedaton.get("data-share"),
    ) == ("1234", "9872", "12.5")
    assert _title(kedaton) == "Kedaton: 12,5 % (1.234 dari 9.872)"
    assert _title(paths[SUKARAME]) == "Sukarame: tidak ada data"
    assert _title(paths[NATAR]) == "Natar: 0,7 % (7 dari 1.000)"
    assert kedaton.get("d", "").startswith("M")


def test_the_map_has_a_legend_of_its_classes(lampung) -> None:
    root = _svg(district_map({KEDATON: (1, 10)}))
    legend = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "dash-legend")
    items = [
        (item.find(f"{SVG}rect").get("data-class"), item.find(f"{SVG}text").text)  # type: ignore[union-attr]
        for item in legend.iter(f"{SVG}g")
        if item.get("class") == "dash-legend-item"
    ]
    assert items == [
        ("0", "0 %"),
        ("1", "< 2 %"),
        ("2", "2–5 %"),
        ("3", "5–10 %"),
        ("4", "≥ 10 %"),
        ("none", "tidak ada data"),
    ]
    assert legend.find(f"{SVG}text").text == "Pemilih belum rekam"  # type: ignore[union-attr]


def test_the_map_is_a_responsive_accessible_picture(lampung) -> None:
    root = _svg(district_map({KEDATON: (1, 10)}))
    assert root.get("class") == "dash-map"
    assert root.get("role") == "img"
    assert "kecamatan" in (root.get("aria-label") or "")
    assert root.get("width") is None and root.get("height") is None
    assert len((root.get("viewBox") or "").split()) == 4


def test_kecamatan_link_to_their_page_and_names_are_escaped(lampung) -> None:
    text = district_map(
        {KEDATON: (1, 10), SUKARAME: (2, 10)},
        names={KEDATON: 'Kedaton <"&">'},
        links={KEDATON: "/dasbor/?wilayah=18.71.01&pemilihan=2"},
    )
    assert '<"&">' not in text
    root = _svg(text)
    links = list(root.iter(f"{SVG}a"))
    assert [a.get("href") for a in links] == ["/dasbor/?wilayah=18.71.01&pemilihan=2"]
    (linked,) = links[0].findall(f"{SVG}path")
    assert linked.get("data-code") == KEDATON
    assert _title(linked) == 'Kedaton <"&">: 10,0 % (1 dari 10)'


def test_the_highlighted_kecamatan_has_a_thick_outline_drawn_on_top(lampung) -> None:
    root = _svg(
        district_map(
            {KEDATON: (1, 10), SUKARAME: (2, 10), TANJUNGKARANG_BARAT: (3, 10)}, highlight=SUKARAME
        )
    )
    drawn = [p.get("data-code") for p in root.iter(f"{SVG}path") if p.get("data-code")]
    assert drawn == [KEDATON, TANJUNGKARANG_BARAT, SUKARAME]
    highlighted = [p for p in root.iter(f"{SVG}path") if p.get("class") == "dash-map-highlight"]
    assert [p.get("data-code") for p in highlighted] == [SUKARAME]
    assert highlighted[0].get("stroke-width") == "2.5"


def test_regency_outlines_surround_the_kecamatan_unless_left_out(lampung) -> None:
    shares = {KEDATON: (1, 10), SUKARAME: (2, 10), NATAR: (3, 10)}
    root = _svg(district_map(shares))
    (outlines,) = [g for g in root.iter(f"{SVG}g") if g.get("class") == "dash-map-regencies"]
    assert len(outlines.findall(f"{SVG}path")) == 2  # Lampung Selatan and Bandar Lampung
    bare = _svg(district_map(shares, outline_regencies=False))
    assert not [g for g in bare.iter(f"{SVG}g") if g.get("class") == "dash-map-regencies"]


def test_no_map_without_a_boundary(lampung) -> None:
    assert district_map({}) == ""
    assert district_map({"18.71": (1, 10), "18.99.99": (1, 10)}) == ""


def test_the_province_map_of_all_kecamatan_is_small_and_the_same_each_time(lampung) -> None:
    codes = list(Region.objects.filter(level="district").values_list("code", flat=True))
    assert len(codes) == 229
    shares = {code: (n % 300, 1000) for n, code in enumerate(codes)}
    text = district_map(shares, links={code: f"/dasbor/{code}/" for code in codes})
    assert len(text.encode()) < 300_000
    assert text == district_map(shares, links={code: f"/dasbor/{code}/" for code in codes})
    paths = _by_code(_svg(text))
    assert len(paths) == 229
    assert all(p.get("d") for p in paths.values())


# --- bars per region -----------------------------------------------------------------------

SERIES = [
    ("unrecorded_now", "Belum rekam", "#bd0026"),
    ("prr", "PRR & belum cetak", "#fd8d3c"),
    ("printed", "Tercetak", "#3182bd"),
]


def _bars(root: ET.Element) -> dict[str, ET.Element]:
    return {g.get("data-code", ""): g for g in root.iter(f"{SVG}g") if g.get("class") == "dash-bar"}


def test_a_stacked_bar_per_region_scaled_to_the_largest_total(lampung) -> None:
    rows = [
        ("18.71", "Kota Bandar Lampung", {"unrecorded_now": 300, "prr": 100, "printed": 1600}),
        ("18.01", "Kabupaten <Lampung> Selatan", {"unrecorded_now": 500, "printed": 500}),
    ]
    root = _svg(region_bars(rows, series=SERIES, links={"18.71": "/dasbor/?w=18.71&x=1"}))
    assert root.get("class") == "dash-bars" and root.get("width") is None
    bars = _bars(root)
    assert list(bars) == ["18.71", "18.01"]
    assert bars["18.71"].get("data-total") == "2000"
    assert bars["18.01"].get("data-total") == "1000"
    segments = {
        (r.get("data-code"), r.get("data-series")): r
        for r in root.iter(f"{SVG}rect")
        if r.get("data-series")
    }
    assert {k: r.get("data-value") for k, r in segments.items()} == {
        ("18.71", "unrecorded_now"): "300",
        ("18.71", "prr"): "100",
        ("18.71", "printed"): "1600",
        ("18.01", "unrecorded_now"): "500",
        ("18.01", "prr"): "0",
        ("18.01", "printed"): "500",
    }

    def width(code: str, key: str) -> float:
        return float(segments[(code, key)].get("width") or 0)

    def x(code: str, key: str) -> float:
        return float(segments[(code, key)].get("x") or 0)

    full = sum(width("18.71", key) for key, _, _ in SERIES)
    half = sum(width("18.01", key) for key, _, _ in SERIES)
    assert half == pytest.approx(full / 2, abs=0.2)
    assert width("18.71", "printed") == pytest.approx(full * 0.8, abs=0.2)
    # Stacked in the order of the series, each starting where the last one ends.
    assert x("18.71", "prr") == pytest.approx(
        x("18.71", "unrecorded_now") + width("18.71", "unrecorded_now")
    )
    assert x("18.71", "printed") == pytest.approx(x("18.71", "prr") + width("18.71", "prr"))
    assert [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "dash-bar-total"] == [
        "2.000",
        "1.000",
    ]
    (link,) = root.iter(f"{SVG}a")
    assert link.get("href") == "/dasbor/?w=18.71&x=1"
    assert link.find(f"{SVG}text").text == "Kota Bandar Lampung"  # type: ignore[union-attr]
    assert bars["18.01"].find(f"{SVG}text").text == "Kabupaten <Lampung> Selatan"  # type: ignore[union-attr]
    legend = [
        t.text
        for g in root.iter(f"{SVG}g")
        if g.get("class") == "dash-legend"
        for t in g.iter(f"{SVG}text")
    ]
    assert legend == ["Belum rekam", "PRR & belum cetak", "Tercetak"]


def test_bars_of_nothing(lampung) -> None:
    assert region_bars([], series=SERIES) == ""
    root = _svg(region_bars([("18.71", "Kota Bandar Lampung", {})], series=SERIES))
    assert _bars(root)["18.71"].get("data-total") == "0"
    assert {r.get("width") for r in root.iter(f"{SVG}rect") if r.get("data-series")} == {"0"}


# --- progress per day ----------------------------------------------------------------------


def test_progress_bars_per_day_against_what_is_needed_per_day() -> None:
    first = date(2020, 11, 30)
    days = [(first + timedelta(days=n), 100 * n, 50 * n) for n in range(10)]
    root = _svg(progress_chart(days, needed_recorded=812.345, needed_printed=790.25))
    assert root.get("class") == "dash-progress" and root.get("role") == "img"
    bars = {
        (r.get("data-day"), r.get("data-series")): r
        for r in root.iter(f"{SVG}rect")
        if r.get("data-day")
    }
    assert len(bars) == 20
    assert bars[("2020-12-02", "recorded")].get("data-value") == "200"
    assert bars[("2020-12-09", "printed")].get("data-value") == "450"
    assert _title(bars[("2020-12-09", "printed")]) == "09/12: dicetak 450"
    # Every bar stands on the axis, its height in proportion to its value.
    bases = {round(float(r.get("y") or 0) + float(r.get("height") or 0), 1) for r in bars.values()}
    assert len(bases) == 1
    heights = {key: float(r.get("height") or 0) for key, r in bars.items()}
    assert heights[("2020-11-30", "recorded")] == 0
    assert heights[("2020-12-08", "recorded")] == pytest.approx(
        2 * heights[("2020-12-04", "recorded")], abs=0.2
    )
    needed = {
        line.get("data-series"): line for line in root.iter(f"{SVG}line") if line.get("data-needed")
    }
    assert {k: line.get("data-needed") for k, line in needed.items()} == {
        "recorded": "812.3",
        "printed": "790.3",  # half up, as the table rounds
    }
    assert needed["recorded"].get("stroke-dasharray")
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "perlu direkam per hari: 812,3" in texts
    assert "perlu dicetak per hari: 790,3" in texts
    # Round ticks up to the highest figure (the 812,3 needed), and a label per day.
    assert [t for t in texts if t and t[0].isdigit() and "/" not in t] == [
        "0",
        "200",
        "400",
        "600",
        "800",
        "1.000",
    ]
    assert [t for t in texts if t and "/" in t] == [f"{d:%d/%m}" for d, _, _ in days]
    # The line of 812,3 a day runs just above the bar of 800.
    assert float(needed["recorded"].get("y1") or 0) < float(
        bars[("2020-12-08", "recorded")].get("y") or 0
    )


def test_no_progress_chart_without_days_and_no_line_for_an_endless_need() -> None:
    assert progress_chart([], needed_recorded=1, needed_printed=1) == ""
    root = _svg(
        progress_chart(
            [(date(2020, 12, 1), 0, 0)], needed_recorded=0.0, needed_printed=float("inf")
        )
    )
    needed = [
        line.get("data-needed") for line in root.iter(f"{SVG}line") if line.get("data-needed")
    ]
    assert needed == ["0.0"]


def test_no_line_for_a_need_that_is_none_as_after_polling_day() -> None:
    days = [(date(2020, 12, 10), 30, 20), (date(2020, 12, 11), 10, 0)]
    root = _svg(progress_chart(days, needed_recorded=None, needed_printed=4.25))
    needed = [line for line in root.iter(f"{SVG}line") if line.get("data-needed")]
    assert [(line.get("data-series"), line.get("data-needed")) for line in needed] == [
        ("printed", "4.3")
    ]
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "perlu dicetak per hari: 4,3" in texts
    assert not [t for t in texts if t and t.startswith("perlu direkam")]
    bare = _svg(progress_chart(days, needed_recorded=None, needed_printed=None))
    assert not [g for g in bare.iter(f"{SVG}g") if g.get("class") == "dash-needed"]
    # The scale follows the bars alone: 0 to 30.
    ticks = [t.text for t in bare.iter(f"{SVG}text") if t.get("text-anchor") == "end"]
    assert ticks == ["0", "10", "20", "30"]


def _plot_edges(root: ET.Element) -> tuple[float, float]:
    """The y of the highest and the lowest grid line (the axis)."""
    grid = [
        float(line.get("y1") or 0)
        for line in root.iter(f"{SVG}line")
        if line.get("stroke") == "#ddd"
    ]
    return min(grid), max(grid)


def _needed_labels(root: ET.Element) -> list[float]:
    return [
        float(text.get("y") or 0)
        for g in root.iter(f"{SVG}g")
        if g.get("class") == "dash-needed"
        for text in g.iter(f"{SVG}text")
    ]


@pytest.mark.parametrize(
    ("recorded", "printed"), [(0.0, 0.0), (0.4, 0.8), (0.0, 0.05), (0.05, 0.0)]
)
def test_the_needed_labels_of_an_empty_chart_stay_inside_the_plot(recorded, printed) -> None:
    days = [(date(2020, 12, 1) + timedelta(days=n), 0, 0) for n in range(3)]
    root = _svg(progress_chart(days, needed_recorded=recorded, needed_printed=printed))
    top, axis = _plot_edges(root)
    dates = {float(t.get("y") or 0) for t in root.iter(f"{SVG}text") if "/" in (t.text or "")}
    assert dates == {axis + 16}
    labels = _needed_labels(root)
    assert len(labels) == 2
    # Above the axis (not over the dates), below the legend, and apart from each other.
    assert all(top - 4 <= y <= axis - 4 for y in labels), (top, axis, labels)
    assert abs(labels[0] - labels[1]) >= 14


def test_close_lines_with_room_below_put_the_second_label_under_its_line() -> None:
    days = [(date(2020, 12, 1), 500, 400)]
    root = _svg(progress_chart(days, needed_recorded=812.3, needed_printed=790.3))
    lines = {
        line.get("data-series"): float(line.get("y1") or 0)
        for line in root.iter(f"{SVG}line")
        if line.get("data-needed")
    }
    recorded_label, printed_label = _needed_labels(root)
    assert recorded_label == pytest.approx(lines["recorded"] - 4)
    assert printed_label == pytest.approx(lines["printed"] + 14)


# --- languages -----------------------------------------------------------------------------


def test_the_map_speaks_english(lampung) -> None:
    shares = {KEDATON: (1234, 9872), SUKARAME: (0, 0)}
    indonesian = _svg(district_map(shares))
    assert indonesian.get("aria-label") == (
        "Peta kecamatan menurut persentase pemilih yang belum merekam KTP-el"
    )
    with translation.override("en"):
        root = _svg(district_map(shares))
    assert root.get("aria-label") == (
        "Map of the kecamatan by the share of voters who have not recorded their KTP-el"
    )
    paths = _by_code(root)
    assert _title(paths[KEDATON]) == "Kedaton: 12.5 % (1,234 of 9,872)"
    assert _title(paths[SUKARAME]) == "Sukarame: no data"
    legend = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "dash-legend")
    texts = [t.text for t in legend.iter(f"{SVG}text")]
    assert texts == ["Voters not recorded", "0 %", "< 2 %", "2–5 %", "5–10 %", "≥ 10 %", "no data"]


def test_the_bars_speak_english_and_take_a_label() -> None:
    rows = [("18.71", "Kota Bandar Lampung", {"unrecorded_now": 300, "prr": 100, "printed": 1600})]
    assert _svg(region_bars(rows, series=SERIES)).get("aria-label") == "Angka per wilayah"
    labelled = region_bars(rows, series=SERIES, label="Pemilih per kabupaten/kota")
    assert _svg(labelled).get("aria-label") == "Pemilih per kabupaten/kota"
    with translation.override("en"):
        root = _svg(region_bars(rows, series=SERIES))
    assert root.get("aria-label") == "Figures per region"
    totals = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "dash-bar-total"]
    assert totals == ["2,000"]
    titles = [_title(r) for r in root.iter(f"{SVG}rect") if r.get("data-series")]
    assert titles[-1] == "Kota Bandar Lampung – Tercetak: 1,600"


def test_the_progress_chart_speaks_english() -> None:
    first = date(2020, 11, 30)
    days = [(first + timedelta(days=n), 100 * n, 50 * n) for n in range(10)]
    with translation.override("en"):
        root = _svg(progress_chart(days, needed_recorded=812.345, needed_printed=790.25))
    assert root.get("aria-label") == (
        "Recording and printing per day compared with what is needed per day until polling day"
    )
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "to record per day: 812.3" in texts
    assert "to print per day: 790.3" in texts
    assert [
        t.text
        for g in root.iter(f"{SVG}g")
        if g.get("class") == "dash-legend"
        for t in g.iter(f"{SVG}text")
    ] == ["recorded", "printed"]
    assert "1,000" in texts and "1.000" not in texts
    bars = {
        (r.get("data-day"), r.get("data-series")): r
        for r in root.iter(f"{SVG}rect")
        if r.get("data-day")
    }
    assert _title(bars[("2020-12-09", "printed")]) == "09/12: printed 450"
    assert _title(bars[("2020-12-09", "recorded")]) == "09/12: recorded 900"


def _data(text: str) -> list[tuple[str, dict[str, str]]]:
    """Every element's data-* attributes, in order."""
    return [
        (e.tag, {k: v for k, v in e.attrib.items() if k.startswith("data-")})
        for e in _svg(text).iter()
    ]


def test_each_language_draws_the_same_figures_and_the_same_bytes_each_time(lampung) -> None:
    days = [(date(2020, 12, 1) + timedelta(days=n), 1000 * n, 7 * n) for n in range(5)]
    shares = {KEDATON: (1234, 9872), SUKARAME: (37, 1000), NATAR: (0, 0)}
    bar_rows = [("18.71", "Kota Bandar Lampung", {"unrecorded_now": 1300, "printed": 16})]

    def drawn() -> list[str]:
        return [
            district_map(shares),
            region_bars(bar_rows, series=SERIES),
            progress_chart(days, needed_recorded=1234.56, needed_printed=None),
        ]

    indonesian = drawn()
    assert drawn() == indonesian
    with translation.override("en"):
        english = drawn()
        assert drawn() == english
    for id_text, en_text in zip(indonesian, english, strict=True):
        assert id_text != en_text
        assert _data(id_text) == _data(en_text)
    needed = [a for _tag, a in _data(english[2]) if "data-needed" in a]
    assert needed == [{"data-series": "recorded", "data-needed": "1234.6"}]
    assert "1.234,6" in indonesian[2] and "1,234.6" in english[2]
