"""An offline map of a plan: outlines from the stored boundaries, villages as circles (area by
invitees, red where some are left out), service points as squares, villages a mobile unit visits
as orange diamonds. Plain SVG, no tile server."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from html import escape

from django.utils.translation import gettext

from rekam.regions.maps import Projection, polygon_points, rings
from rekam.regions.models import Boundary, Region
from rekam.servicepoints.models import ServicePoint

WIDTH = 640


def _village_note(invited: int, left: int) -> str:
    note = gettext("%(n)d invited") % {"n": invited}
    if left:
        note += ", " + gettext("%(n)d not served") % {"n": left}
    return note


def plan_map(
    region_code: str,
    villages: Mapping[str, list[int]],
    point_ids: Iterable[int],
    visited: Iterable[str] = (),
) -> str:
    """The SVG text for ``villages`` (code -> [invitees, left out]), the points used and the
    villages mobile units visit."""
    outlines = Boundary.objects.filter(
        region__code__startswith=(region_code + ".") if region_code else "18.",
        region__level="district",
    ).values_list("geometry", flat=True)
    if not outlines:
        outlines = Boundary.objects.filter(region__level="regency").values_list(
            "geometry", flat=True
        )
    outline_rings = [ring for g in outlines for ring in rings(g)]
    visited = sorted(set(visited))
    places: dict[str, tuple[float, float]] = {}
    names: dict[str, str] = {}
    for c, name, lat, lon in Region.objects.filter(code__in=[*villages, *visited]).values_list(
        "code", "name", "lat", "lon"
    ):
        names[c] = name
        if lat is not None and lon is not None:
            places[c] = (lat, lon)
    points = [
        (p.name, p.lat, p.lon)
        for p in ServicePoint.objects.filter(pk__in=list(point_ids))
        if p.lat is not None and p.lon is not None
    ]
    projection = Projection.fit_rings(outline_rings, WIDTH, places.values())
    if projection is None:
        return ""
    xy = projection.xy
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="-8 -8 {WIDTH + 16} '
        f'{projection.height + 16}" '
        'class="plan-map" role="img" aria-label="Peta desa dan tempat layanan">'
    ]
    for ring in outline_rings:
        parts.append(
            f'<polygon points="{polygon_points(projection.ring(ring))}" '
            'fill="#f4f1ea" stroke="#9a9385" stroke-width=".5"/>'
        )
    biggest = max((n for n, _ in villages.values()), default=1) or 1
    for code, (n, left) in sorted(villages.items()):
        if code not in places:
            continue
        x, y = xy(*places[code])
        r = round(1 + 5 * math.sqrt(n / biggest), 1)
        colour = "#c0392b" if left else "#2e7d32"
        parts.append(
            f'<circle cx="{x}" cy="{y}" r="{r}" fill="{colour}" fill-opacity=".6">'
            f"<title>{escape(names.get(code, code))} ({escape(code)}): "
            f"{escape(_village_note(n, left))}</title></circle>"
        )
    for name, lat, lon in points:
        x, y = xy(lat, lon)
        parts.append(
            f'<rect x="{x - 3}" y="{y - 3}" width="6" height="6" fill="#1a4f8b">'
            f"<title>{escape(name)}</title></rect>"
        )
    visited_note = gettext("visited by a mobile unit")
    for code in visited:
        if code not in places:
            continue
        x, y = xy(*places[code])
        parts.append(
            f'<polygon points="{x},{y - 5} {x + 5},{y} {x},{y + 5} {x - 5},{y}" fill="#e67e22" '
            f'class="mobile-visit"><title>{escape(names.get(code, code))} ({escape(code)}): '
            f"{escape(visited_note)}</title></polygon>"
        )
    parts.append("</svg>")
    return "".join(parts)
