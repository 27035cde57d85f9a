"""An offline map of a plan: outlines from the stored boundaries, villages as circles (area by
invitees, red where some are left out), service points as squares. Plain SVG, no tile server."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from html import escape
from typing import Any

from rekam.regions.models import Boundary, Region
from rekam.servicepoints.models import ServicePoint

WIDTH = 640


def _rings(geometry: Mapping[str, Any]) -> Iterable[list[list[float]]]:
    kind, coords = geometry.get("type"), geometry.get("coordinates") or []
    if kind == "Polygon":
        yield from coords
    elif kind == "MultiPolygon":
        for polygon in coords:
            yield from polygon


def plan_map(region_code: str, villages: Mapping[str, list[int]], point_ids: Iterable[int]) -> str:
    """The SVG text for ``villages`` (code -> [invitees, left out]) and the points used."""
    outlines = Boundary.objects.filter(
        region__code__startswith=(region_code + ".") if region_code else "18.",
        region__level="district",
    ).values_list("geometry", flat=True)
    if not outlines:
        outlines = Boundary.objects.filter(region__level="regency").values_list(
            "geometry", flat=True
        )
    rings = [ring for g in outlines for ring in _rings(g)]
    places = {
        c: (lat, lon)
        for c, lat, lon in Region.objects.filter(code__in=list(villages)).values_list(
            "code", "lat", "lon"
        )
        if lat is not None and lon is not None
    }
    points = [
        (p.name, p.lat, p.lon)
        for p in ServicePoint.objects.filter(pk__in=list(point_ids))
        if p.lat is not None and p.lon is not None
    ]
    lons = [x for ring in rings for x, _ in ring] + [lon for _, lon in places.values()]
    lats = [y for ring in rings for _, y in ring] + [lat for lat, _ in places.values()]
    if not lons:
        return ""
    west, east, south, north = min(lons), max(lons), min(lats), max(lats)
    squash = math.cos(math.radians((north + south) / 2))
    span_x = max((east - west) * squash, 1e-6)
    span_y = max(north - south, 1e-6)
    height = round(WIDTH * span_y / span_x)

    def xy(lat: float, lon: float) -> tuple[float, float]:
        return (
            round((lon - west) * squash / span_x * WIDTH, 1),
            round((north - lat) / span_y * height, 1),
        )

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="-8 -8 {WIDTH + 16} {height + 16}" '
        'class="plan-map" role="img" aria-label="Peta desa dan tempat layanan">'
    ]
    for ring in rings:
        path = " ".join(f"{a},{b}" for a, b in (xy(y, x) for x, y in ring))
        parts.append(
            f'<polygon points="{path}" fill="#f4f1ea" stroke="#9a9385" stroke-width=".5"/>'
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
            f"<title>{escape(code)}: {n} ({left})</title></circle>"
        )
    for name, lat, lon in points:
        x, y = xy(lat, lon)
        parts.append(
            f'<rect x="{x - 3}" y="{y - 3}" width="6" height="6" fill="#1a4f8b">'
            f"<title>{escape(name)}</title></rect>"
        )
    parts.append("</svg>")
    return "".join(parts)
