"""Offline maps drawn from the stored boundaries: no tile server, plain SVG.

Outlines are GeoJSON geometries (``Polygon`` / ``MultiPolygon``, ``[lon, lat]`` pairs). They are
drawn in an equirectangular projection whose x axis is squashed by the cosine of the middle
latitude, which at Lampung's latitude (about 5° south) is as good as any other projection, and
fitted to a given width.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Ring = Sequence[Sequence[float]]
Point = tuple[float, float]


def rings(geometry: Mapping[str, Any]) -> Iterator[Ring]:
    """The rings (outer outlines and holes) of a GeoJSON Polygon or MultiPolygon."""
    kind, coords = geometry.get("type"), geometry.get("coordinates") or []
    if kind == "Polygon":
        yield from coords
    elif kind == "MultiPolygon":
        for polygon in coords:
            yield from polygon


@dataclass(frozen=True)
class Projection:
    """Longitude/latitude to SVG coordinates: x from 0 to ``width``, y from 0 to ``height``."""

    west: float
    north: float
    squash: float
    span_x: float
    span_y: float
    width: int
    height: int

    @classmethod
    def fit(cls, lons: Iterable[float], lats: Iterable[float], width: int) -> Projection | None:
        """The projection showing every given place at ``width``; None when there are none."""
        lons, lats = list(lons), list(lats)
        if not lons or not lats:
            return None
        west, east, south, north = min(lons), max(lons), min(lats), max(lats)
        squash = math.cos(math.radians((north + south) / 2))
        span_x = max((east - west) * squash, 1e-6)
        span_y = max(north - south, 1e-6)
        return cls(west, north, squash, span_x, span_y, width, round(width * span_y / span_x))

    @classmethod
    def fit_rings(
        cls, outlines: Iterable[Ring], width: int, places: Iterable[Point] = ()
    ) -> Projection | None:
        """The projection showing every ring and every ``(lat, lon)`` place at ``width``."""
        lons: list[float] = []
        lats: list[float] = []
        for ring in outlines:
            lons.extend(p[0] for p in ring)
            lats.extend(p[1] for p in ring)
        for lat, lon in places:
            lons.append(lon)
            lats.append(lat)
        return cls.fit(lons, lats, width)

    def xy(self, lat: float, lon: float) -> Point:
        """The SVG point of a place, rounded to 0.1 (enough for a screen or a printed page)."""
        return (
            round((lon - self.west) * self.squash / self.span_x * self.width, 1),
            round((self.north - lat) / self.span_y * self.height, 1),
        )

    def ring(self, ring: Ring, min_step: float = 0.0) -> list[Point]:
        """A ring's SVG points, leaving out points nearer than ``min_step`` to the last one kept
        (they cannot be seen, and they make a province map several times bigger)."""
        out: list[Point] = []
        for p in ring:
            x, y = self.xy(p[1], p[0])
            if out and min_step and math.hypot(x - out[-1][0], y - out[-1][1]) < min_step:
                continue
            out.append((x, y))
        return out


def number(value: float) -> str:
    """A coordinate as short as it can be written: ``12``, ``12.5``."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def polygon_points(points: Iterable[Point]) -> str:
    """The ``points`` attribute of an SVG ``<polygon>``."""
    return " ".join(f"{x},{y}" for x, y in points)


def path_data(projection: Projection, outlines: Iterable[Ring], min_step: float = 0.5) -> str:
    """The ``d`` attribute of one SVG ``<path>`` drawing all ``outlines`` (holes included, with
    ``fill-rule="evenodd"``); rings left with fewer than 3 points are dropped."""
    parts = []
    for ring in outlines:
        points = projection.ring(ring, min_step)
        if len(points) > 1 and points[0] == points[-1]:
            points.pop()  # "Z" closes the ring
        if len(points) < 3:
            continue
        parts.append("M" + " ".join(f"{number(x)},{number(y)}" for x, y in points) + "Z")
    return "".join(parts)
