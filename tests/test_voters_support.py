"""Builders shared by the voter-list tests (no tests of its own): an election, DPT files as KPU
writes them, residents with the NIKs the files list."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl

from rekam.elections.models import Election, ElectionRegion
from rekam.lib.nik import make_nik
from rekam.regions.models import Region
from rekam.residents.models import Resident
from tests.factories import make_resident

POLLING_DAY = date(2020, 12, 9)
KEDATON = "18.71.01.1003"  # Kota Bandar Lampung, Kec. Kedaton, Kel. Kedaton
HAJIMENA = "18.01.04.2001"  # Kab. Lampung Selatan, Kec. Natar, Desa Hajimena

# The KPU layout: title rows, then these headers (a mix of the spellings KPU uses).
KPU_HEADER = [
    "NO",
    "NO KK",
    "NIK",
    "NAMA",
    "TEMPAT LAHIR",
    "TANGGAL LAHIR",
    "STATUS PERKAWINAN (B/S/P)",
    "JK",
    "ALAMAT",
    "RT",
    "RW",
    "TPS",
    "DESA",
    "KECAMATAN",
    "KOTA",
]
TITLE_ROWS: list[list[str]] = [
    ["DAFTAR PEMILIH TETAP"],
    ["PEMILIHAN SERENTAK 2020"],
    [],
]


def make_election(slug: str = "pilkada-uji", regencies: tuple[str, ...] = ("18.71", "18.01")):
    election = Election.objects.create(
        name="Pilkada Uji",
        slug=slug,
        polling_day=POLLING_DAY,
        suket_issue_until=POLLING_DAY,
        suket_valid_until=date(2020, 12, 31),
    )
    for code in regencies:
        ElectionRegion.objects.create(election=election, region_id=code)
    return election


def place(village_code: str) -> tuple[str, str, str]:
    village = Region.objects.select_related("parent__parent").get(code=village_code)
    district = village.parent
    assert district is not None and district.parent is not None
    return village.name, district.name, district.parent.official_name


def nik_for(village_code: str, birth: date, sex: str, serial: int) -> str:
    district = village_code.rsplit(".", 1)[0]
    return make_nik(district, birth, sex, serial)


def voter_row(
    nik: str,
    *,
    name: str = "Siti Aminah",
    birth: str = "17-05-1990",
    sex: str = "P",
    marital: str = "S",
    tps: str = "001",
    village: str = KEDATON,
    **overrides: str,
) -> list[str]:
    v, d, r = place(village)
    row = {
        "NO": "1",
        "NO KK": "1871011203150001",
        "NIK": nik,
        "NAMA": name,
        "TEMPAT LAHIR": "Bandar Lampung",
        "TANGGAL LAHIR": birth,
        "STATUS PERKAWINAN (B/S/P)": marital,
        "JK": sex,
        "ALAMAT": "Jl. Teuku Umar 3",
        "RT": "1",
        "RW": "2",
        "TPS": tps,
        "DESA": v,
        "KECAMATAN": d,
        "KOTA": r,
    }
    row.update(overrides)
    return [row[h] for h in KPU_HEADER]


def write_dpt(
    path: Path,
    rows: list[list[Any]],
    *,
    header: list[str] = KPU_HEADER,
    titles: list[list[str]] = TITLE_ROWS,
    delimiter: str = ",",
) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, delimiter=delimiter)
        writer.writerows(titles)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_dpt_xlsx(path: Path, rows: list[list[Any]], *, header: list[str] = KPU_HEADER) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    for title in TITLE_ROWS:
        ws.append(title or [""])
    ws.append(header)
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


def resident(nik: str, *, village: str = KEDATON, **fields: Any) -> Resident:
    birth = fields.pop("birth_date", date(1990, 5, 17))
    sex = fields.pop("sex", "P")
    return make_resident(village, nik=nik, birth_date=birth, sex=sex, **fields)
