"""The dashboard's pictures as inline SVG: a map of kecamatan, per-region bars, daily progress.

Each picture carries its figures in ``data-*`` attributes of the elements that draw them (counts as
plain integers, shares and rates rounded half up to 0.1 with a ``.``), so what is drawn can be
checked against the table, whatever the language. Text inside the pictures is in the active
language, and so are its numbers (``1.234`` and ``12,5`` in Indonesian, ``1,234`` and ``12.5`` in
English). The pictures have a ``viewBox`` and no pixel size: they fit their box, on screen and on
paper. Same input and language, same bytes.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from html import escape

from django.utils import formats
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rekam.regions.maps import Projection, Ring, number, path_data, rings
from rekam.regions.models import Boundary, Level

WIDTH = 800
# Large enough to read when a picture is shown at half a screen's width (about 400 px).
FONT = 'font-family="sans-serif" font-size="15"'
# Rough width of a character at 15 px, to leave room for names and labels.
CHAR_WIDTH = 7.8
# The map's legend text, against the pictures' 15 px (see ``district_map``).
MAP_LEGEND_SCALE = 1.5
# Projected points nearer than this (in SVG units) to the previous one are left out.
MIN_STEP = 0.5


def _count(n: int) -> str:
    """``1234`` as the active language writes it: ``1.234`` in Indonesian, ``1,234`` in English."""
    return formats.number_format(n, use_l10n=True, force_grouping=True)


def half_up(value: float, places: int = 1) -> Decimal:
    """``value`` rounded half up to ``places`` decimals, as the ``floatformat`` filter of the
    table rounds (``0.25`` → ``0.3``)."""
    return Decimal(repr(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _decimal(value: Decimal) -> str:
    """``Decimal("1234.5")`` as the active language writes it: ``1.234,5`` or ``1,234.5``."""
    return formats.number_format(value, 1, use_l10n=True, force_grouping=True)


def _text_width(text: str) -> float:
    return len(text) * CHAR_WIDTH


def _svg_open(css_class: str, label: str, width: float, height: float, x: float = 0) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{number(x)} {number(x)} '
        f'{number(width)} {number(height)}" class="{css_class}" role="img" '
        f'aria-label="{escape(label)}" {FONT}>'
    )


def _linked(element: str, href: str | None) -> str:
    return f'<a href="{escape(href)}">{element}</a>' if href else element


def _legend(
    items: Sequence[tuple[str, str]], top: float, width: float, scale: float = 1
) -> tuple[list[str], float]:
    """Swatches with labels, ``(swatch SVG at 0,0 of 14×14, label)``, in rows from ``top``;
    returns the elements and the height used. With ``scale``, swatches (drawn that many times
    14×14), labels and spacing are that many times larger."""
    parts: list[str] = []
    x, y = 0.0, top
    size = f' font-size="{number(15 * scale)}"' if scale != 1 else ""
    for swatch, label in items:
        step = (14 + 6 + _text_width(label) + 18) * scale
        if x and x + step > width:
            x, y = 0.0, y + 20 * scale
        parts.append(
            f'<g class="dash-legend-item" transform="translate({number(x)},{number(y)})">'
            f"{swatch}"
            f'<text x="{number(20 * scale)}" y="{number(11 * scale)}"{size}>{escape(label)}</text>'
            "</g>"
        )
        x += step
    return parts, y + 20 * scale - top


# --- the map ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShareClass:
    key: str
    label: str | Promise  # a Promise is read in the active language
    colour: str


# Colours from ColorBrewer's YlOrRd (sequential, safe for colour-blind readers and in print).
# Fine classes at the low end: the province as a whole has about 4 % of its voters unrecorded.
SHARE_CLASSES: tuple[ShareClass, ...] = (
    ShareClass("0", "0 %", "#ffffb2"),
    ShareClass("1", "< 2 %", "#fecc5c"),
    ShareClass("2", "2–5 %", "#fd8d3c"),
    ShareClass("3", "5–10 %", "#f03b20"),
    ShareClass("4", "≥ 10 %", "#bd0026"),
)
NO_DATA = ShareClass("none", gettext_lazy("no data"), "#bdbdbd")
# Upper bounds (exclusive, in tenths of a percent) of classes 1-3; class 4 has none.
_CLASS_BOUNDS = (20, 50, 100)


def share_tenths(unrecorded: int, voters: int) -> int:
    """``unrecorded / voters`` in tenths of a percent, rounded half up (125 = 12.5 %)."""
    return (2000 * unrecorded + voters) // (2 * voters)


def share_class(unrecorded: int, voters: int) -> ShareClass:
    """The colour class of a kecamatan. Non-zero shares are classed by the share as shown
    (rounded to 0.1 %), so a label of "2,0 %" is never coloured as "< 2 %"."""
    if voters <= 0:
        return NO_DATA
    if unrecorded <= 0:
        return SHARE_CLASSES[0]
    tenths = share_tenths(unrecorded, voters)
    for index, bound in enumerate(_CLASS_BOUNDS, start=1):
        if tenths < bound:
            return SHARE_CLASSES[index]
    return SHARE_CLASSES[-1]


@dataclass(frozen=True)
class _Outlines:
    """What a map draws that depends only on the boundaries: kecamatan names and paths, the
    regency outlines and the map's height."""

    names: dict[str, str]
    districts: dict[str, str]  # code -> path data
    regencies: tuple[str, ...]
    height: float


@functools.lru_cache(maxsize=64)
def _outlines(codes: tuple[str, ...], outline_regencies: bool) -> _Outlines | None:
    """Boundaries projected once per process and set of kecamatan: they change only when the
    regions are loaded again, and projecting the province takes a fifth of a second."""
    districts = {
        b.region_id: (b.region.display_name, list(rings(b.geometry)))
        for b in Boundary.objects.filter(
            region_id__in=list(codes), region__level=Level.DISTRICT
        ).select_related("region")
    }
    if not districts:
        return None
    regencies: list[list[Ring]] = []
    if outline_regencies:
        regencies = [
            list(rings(geometry))
            for geometry in Boundary.objects.filter(
                region_id__in=sorted({code[:5] for code in districts}),
                region__level=Level.REGENCY,
            )
            .order_by("region_id")
            .values_list("geometry", flat=True)
        ]
    projection = Projection.fit_rings(
        [ring for _, outline in districts.values() for ring in outline]
        + [ring for outline in regencies for ring in outline],
        WIDTH,
    )
    if projection is None:  # boundaries without a single point
        return None
    return _Outlines(
        names={code: name for code, (name, _) in districts.items()},
        districts={
            code: path_data(projection, outline, MIN_STEP)
            for code, (_, outline) in districts.items()
        },
        regencies=tuple(path_data(projection, outline, MIN_STEP) for outline in regencies),
        height=projection.height,
    )


def district_map(
    shares: Mapping[str, tuple[int, int]],
    *,
    names: Mapping[str, str] | None = None,
    links: Mapping[str, str] | None = None,
    highlight: str = "",
    outline_regencies: bool = True,
) -> str:
    """A map of the kecamatan in ``shares`` (code -> (unrecorded now, voters)), each coloured by
    the share of its voters still unrecorded; ``""`` when none has a boundary."""
    names, links = names or {}, links or {}
    outlines = _outlines(tuple(sorted(shares)), outline_regencies)
    if outlines is None:
        return ""
    districts, regencies, height = outlines.districts, outlines.regencies, outlines.height

    def district(code: str) -> str:
        unrecorded, voters = shares[code]
        name = names.get(code) or outlines.names[code]
        css = share_class(unrecorded, voters)
        if voters > 0:
            tenths = Decimal(share_tenths(unrecorded, voters)).scaleb(-1)
            share = str(tenths)
            title = _("%(name)s: %(share)s %% (%(unrecorded)s of %(voters)s)") % {
                "name": name,
                "share": _decimal(tenths),
                "unrecorded": _count(unrecorded),
                "voters": _count(voters),
            }
        else:
            share, title = "", f"{name}: {NO_DATA.label}"
        extra = ' class="dash-map-highlight" stroke="#000" stroke-width="2.5"'
        path = (
            f'<path d="{districts[code]}" fill="{css.colour}"'
            f"{extra if code == highlight else ''} "
            f'data-code="{escape(code)}" data-unrecorded="{unrecorded}" data-voters="{voters}" '
            f'data-share="{share}" data-class="{css.key}"><title>{escape(title)}</title></path>'
        )
        return _linked(path, links.get(code))

    legend_top = height + 12
    # The map is drawn narrower than the other pictures (two fifths of a laptop's page, about
    # 430 px for 808 units): its legend is drawn larger so that it still reads at 11 px or more.
    scale = MAP_LEGEND_SCALE
    legend, legend_height = _legend(
        [
            (
                f'<rect width="{number(14 * scale)}" height="{number(14 * scale)}" '
                f'fill="{c.colour}" stroke="#999" '
                f'stroke-width=".5" data-class="{c.key}"/>',
                str(c.label),
            )
            for c in (*SHARE_CLASSES, NO_DATA)
        ],
        legend_top + 18 * scale,
        WIDTH,
        scale,
    )
    parts = [
        _svg_open(
            "dash-map",
            _("Map of the kecamatan by the share of voters who have not recorded their KTP-el"),
            WIDTH + 8,
            legend_top + 18 * scale + legend_height + 8,
            x=-4,
        ),
        '<g class="dash-map-districts" stroke="#fff" stroke-width=".6" '
        'stroke-linejoin="round" fill-rule="evenodd">',
        *(district(code) for code in sorted(districts) if code != highlight),
        "</g>",
    ]
    if regencies:
        parts.append(
            '<g class="dash-map-regencies" fill="none" stroke="#444" stroke-width="1.2" '
            'stroke-linejoin="round" pointer-events="none">'
        )
        parts.extend(f'<path d="{outline}"/>' for outline in regencies)
        parts.append("</g>")
    # The highlighted kecamatan comes last so that no neighbour or outline covers its outline.
    if highlight in districts:
        parts.append(f'<g fill-rule="evenodd">{district(highlight)}</g>')
    legend_title = _("Voters not recorded")
    parts.append(
        f'<g class="dash-legend"><text x="0" y="{number(legend_top + 10 * scale)}" '
        f'font-size="{number(15 * scale)}" font-weight="bold">{escape(legend_title)}</text>'
    )
    parts.extend(legend)
    parts.append("</g></svg>")
    return "".join(parts)


# --- bars per region -------------------------------------------------------------------------

BAR_HEIGHT = 16
BAR_STEP = 22
TOTAL_WIDTH = 70


def region_bars(
    rows: Sequence[tuple[str, str, Mapping[str, int]]],
    *,
    series: Sequence[tuple[str, str, str]],
    links: Mapping[str, str] | None = None,
    label: str | None = None,
) -> str:
    """A horizontal bar per region, stacked by ``series`` (key, label, colour) in order, scaled to
    the largest total; ``rows`` are (code, name, value per series key). ``label`` says what the
    picture shows to those who cannot see it (default "Figures per region"). ``""`` without
    rows."""
    if not rows:
        return ""
    links = links or {}
    totals = [sum(values.get(key, 0) for key, _, _ in series) for _, _, values in rows]
    largest = max(totals) or 1
    label_width = min(max(60.0, max(_text_width(name) for _, name, _ in rows) + 12), 320.0)
    bar_width = WIDTH - label_width - TOTAL_WIDTH
    legend, legend_height = _legend(
        [
            (f'<rect width="14" height="14" fill="{escape(colour)}"/>', label)
            for _, label, colour in series
        ],
        0,
        WIDTH,
    )
    top = legend_height + 8
    height = top + BAR_STEP * len(rows)
    parts = [
        _svg_open("dash-bars", label or _("Figures per region"), WIDTH, height),
        '<g class="dash-legend">',
        *legend,
        "</g>",
    ]
    for index, ((code, name, values), total) in enumerate(zip(rows, totals, strict=True)):
        y = top + index * BAR_STEP
        parts.append(
            f'<g class="dash-bar" data-code="{escape(code)}" data-total="{total}">'
            + _linked(
                f'<text x="{number(label_width - 6)}" y="{number(y + 12)}" '
                f'text-anchor="end">{escape(name)}</text>',
                links.get(code),
            )
        )
        done = 0
        for key, series_label, colour in series:
            value = values.get(key, 0)
            # Ends rounded before widths are taken, so that segments meet without a gap.
            x0 = round(label_width + done / largest * bar_width, 1)
            x1 = round(label_width + (done + value) / largest * bar_width, 1)
            done += value
            parts.append(
                f'<rect x="{number(x0)}" y="{number(y)}" width="{number(round(x1 - x0, 1))}" '
                f'height="{BAR_HEIGHT}" fill="{escape(colour)}" data-code="{escape(code)}" '
                f'data-series="{escape(key)}" data-value="{value}">'
                f"<title>{escape(f'{name} – {series_label}: {_count(value)}')}</title></rect>"
            )
        end = label_width + total / largest * bar_width
        parts.append(
            f'<text x="{number(end + 6)}" y="{number(y + 12)}" class="dash-bar-total">'
            f"{_count(total)}</text></g>"
        )
    parts.append("</svg>")
    return "".join(parts)


# --- progress per day ------------------------------------------------------------------------

PROGRESS_HEIGHT = 300
RECORDED_COLOUR, RECORDED_LINE = "#3182bd", "#08306b"
PRINTED_COLOUR, PRINTED_LINE = "#fd8d3c", "#7f2704"
# Vertical room a label of the needed lines takes, so that two never overlap.
LABEL_GAP = 16


def _ticks(highest: float) -> list[int]:
    """Round ticks from 0 to at least ``highest``, about five: steps of 1, 2 or 5 times a power
    of ten, at least 1 (counts)."""
    highest = max(highest, 1.0)
    power = 10 ** math.floor(math.log10(highest / 5))
    step = max(1, int(next(m * power for m in (1, 2, 5, 10) if m * power >= highest / 5)))
    return list(range(0, step * math.ceil(highest / step) + 1, step))


def progress_chart(
    days: Sequence[tuple[date, int, int]],
    *,
    needed_recorded: float | None,
    needed_printed: float | None,
) -> str:
    """Voters recorded and cards printed per day (grouped bars) against what is needed per day to
    finish by polling day (dashed lines; none for a need of ``None``, as once polling day has
    passed). ``""`` without days."""
    if not days:
        return ""
    recorded_label, printed_label = _("recorded"), _("printed")
    needed = [
        (key, text % {"count": _decimal(half_up(value))}, value, colour)
        for key, text, value, colour in (
            ("recorded", _("to record per day: %(count)s"), needed_recorded, RECORDED_LINE),
            ("printed", _("to print per day: %(count)s"), needed_printed, PRINTED_LINE),
        )
        if value is not None and math.isfinite(value)
    ]
    legend, legend_height = _legend(
        [
            (f'<rect width="14" height="14" fill="{RECORDED_COLOUR}"/>', recorded_label),
            (f'<rect width="14" height="14" fill="{PRINTED_COLOUR}"/>', printed_label),
        ],
        0,
        WIDTH,
    )
    ticks = _ticks(max([v for _day, r, p in days for v in (r, p)] + [n[2] for n in needed]))
    left, right = 56.0, WIDTH - 8.0
    top, bottom = legend_height + 16, PROGRESS_HEIGHT - 24.0

    def y_of(value: float) -> float:
        return bottom - max(0.0, value) / ticks[-1] * (bottom - top)

    parts = [
        _svg_open(
            "dash-progress",
            _(
                "Recording and printing per day compared with what is needed per day until "
                "polling day"
            ),
            WIDTH,
            PROGRESS_HEIGHT,
        ),
        '<g class="dash-legend">',
        *legend,
        '</g><g class="dash-axis" fill="#555">',
    ]
    for tick in ticks:
        tick_y = number(y_of(tick))
        parts.append(
            f'<line x1="{number(left)}" x2="{number(right)}" y1="{tick_y}" y2="{tick_y}" '
            f'stroke="#ddd"/><text x="{number(left - 6)}" y="{tick_y}" dy="4" '
            f'text-anchor="end">{_count(tick)}</text>'
        )
    slot = (right - left) / len(days)
    every = math.ceil(len(days) / 16)  # label at most 16 days, so that labels never overlap
    for index, (day, _recorded, _printed) in enumerate(days):
        if index % every == 0:
            parts.append(
                f'<text x="{number(left + (index + 0.5) * slot)}" y="{number(bottom + 16)}" '
                f'text-anchor="middle">{day:%d/%m}</text>'
            )
    parts.append('</g><g class="dash-progress-bars">')
    bar = slot * 0.4
    for index, (day, recorded, printed) in enumerate(days):
        x = left + index * slot + slot * 0.1
        shown = {"day": f"{day:%d/%m}"}
        for offset, key, title, count, colour in (
            (0.0, "recorded", _("%(day)s: recorded %(count)s"), recorded, RECORDED_COLOUR),
            (bar, "printed", _("%(day)s: printed %(count)s"), printed, PRINTED_COLOUR),
        ):
            # Heights from the rounded top, so that every bar stands exactly on the axis.
            bar_top = round(y_of(count), 1)
            parts.append(
                f'<rect x="{number(x + offset)}" y="{number(bar_top)}" width="{number(bar)}" '
                f'height="{number(round(bottom - bar_top, 1))}" fill="{colour}" '
                f'data-day="{day.isoformat()}" data-series="{key}" data-value="{count}">'
                f"<title>{escape(title % {**shown, 'count': _count(count)})}</title></rect>"
            )
    parts.append("</g>")
    placed: list[float] = []
    for key, text, value, colour in needed:
        y = y_of(value)
        # A label stands on its line. Where another label is in the way it goes under the line,
        # unless that would put it under the axis, over the dates (lines at zero): then above
        # the other label. Either way it stays inside the plot.
        label_y = y - 4
        if any(abs(label_y - other) < LABEL_GAP for other in placed):
            below = y + 14
            label_y = below if below <= bottom - 4 else min(placed) - LABEL_GAP
        placed.append(label_y)
        parts.append(
            f'<g class="dash-needed"><line x1="{number(left)}" x2="{number(right)}" '
            f'y1="{number(y)}" y2="{number(y)}" stroke="{colour}" stroke-width="1.5" '
            f'stroke-dasharray="6 4" data-series="{key}" data-needed="{half_up(value)}">'
            f"<title>{escape(text)}</title></line>"
            f'<text x="{number(right - 2)}" y="{number(label_y)}" text-anchor="end" '
            f'fill="{colour}" stroke="#fff" stroke-width="3" paint-order="stroke">'
            f"{escape(text)}</text></g>"
        )
    parts.append("</svg>")
    return "".join(parts)
