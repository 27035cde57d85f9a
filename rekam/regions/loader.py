"""Load a province's regions from the project's data files.

A province lives in ``data/regions/<name>/`` with the files of ``data/regions/lampung/``:
``province.csv`` (code, name), ``*_regencies.csv``, ``*_districts.csv``, ``*_villages.csv``,
optional ``*_population.csv`` and ``*_regencies.geojson`` / ``*_districts.geojson``.
Loading is idempotent: it upserts by code.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from .models import Boundary, Level, Region


@dataclass
class LoadResult:
    provinces: int = 0
    regencies: int = 0
    districts: int = 0
    villages: int = 0
    boundaries: int = 0


def _one(folder: Path, suffix: str, required: bool = True) -> Path | None:
    found = sorted(folder.glob(f"*{suffix}"))
    if len(found) > 1:
        raise ValueError(f"{folder}: more than one *{suffix}")
    if not found:
        if required:
            raise ValueError(f"{folder}: missing *{suffix}")
        return None
    return found[0]


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _float(value: str | None) -> float | None:
    return float(value) if value not in (None, "") else None


@transaction.atomic
def load_province(folder: Path) -> LoadResult:
    result = LoadResult()
    province_file = _one(folder, "province.csv")
    assert province_file is not None
    population: dict[str, int] = {}
    pop_file = _one(folder, "_population.csv", required=False)
    if pop_file:
        population = {r["code"]: int(r["total"]) for r in _rows(pop_file)}

    regions: list[Region] = []
    for r in _rows(province_file):
        regions.append(
            Region(
                code=r["code"],
                level=Level.PROVINCE,
                name=r["name"],
                population=population.get(r["code"]),
            )
        )
        result.provinces += 1
    for r in _rows(_one(folder, "_regencies.csv")):  # type: ignore[arg-type]
        regions.append(
            Region(
                code=r["code"],
                level=Level.REGENCY,
                parent_id=r["code"][:2],
                name=r["name"],
                kind=r.get("type", ""),
                official_name=r.get("official_name", ""),
                lat=_float(r.get("lat")),
                lon=_float(r.get("lon")),
                area_km2=_float(r.get("area_km2")),
                population=population.get(r["code"]),
            )
        )
        result.regencies += 1
    for r in _rows(_one(folder, "_districts.csv")):  # type: ignore[arg-type]
        regions.append(
            Region(
                code=r["code"],
                level=Level.DISTRICT,
                parent_id=r["regency_code"],
                name=r["name"],
                lat=_float(r.get("lat")),
                lon=_float(r.get("lon")),
            )
        )
        result.districts += 1
    for r in _rows(_one(folder, "_villages.csv")):  # type: ignore[arg-type]
        regions.append(
            Region(
                code=r["code"],
                level=Level.VILLAGE,
                parent_id=r["district_code"],
                name=r["name"],
                kind=r.get("type", ""),
                lat=_float(r.get("lat")),
                lon=_float(r.get("lon")),
            )
        )
        result.villages += 1
    # Parents come first in the list, so one ordered upsert satisfies the foreign keys.
    Region.objects.bulk_create(
        regions,
        batch_size=500,
        update_conflicts=True,
        unique_fields=["code"],
        update_fields=[
            "level",
            "parent",
            "name",
            "kind",
            "official_name",
            "lat",
            "lon",
            "area_km2",
            "population",
        ],
    )
    for suffix in ("_regencies.geojson", "_districts.geojson"):
        geo = _one(folder, suffix, required=False)
        if geo is None:
            continue
        features = json.loads(geo.read_text(encoding="utf-8"))["features"]
        Boundary.objects.bulk_create(
            [Boundary(region_id=f["properties"]["code"], geometry=f["geometry"]) for f in features],
            batch_size=50,
            update_conflicts=True,
            unique_fields=["region"],
            update_fields=["geometry"],
        )
        result.boundaries += len(features)
    return result
