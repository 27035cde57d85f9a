"""Finding the Kemendagri region a DPT row names: KPU files name places, not codes.

A row's regency/city, kecamatan and village are matched by name (case, punctuation, spacing
and prefixes such as ``KAB.``, ``KEC.``, ``DESA`` ignored) or by code. Only the distinct
combinations of a file are looked up (a province's DPT has a few thousand), never each row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rekam.regions.models import Level, Region

_NON_ALNUM = re.compile(r"[^0-9A-Z]+")
_CODE = re.compile(r"^\d{2}(?:\.?\d{2}){1,2}(?:\.?\d{4})?$")
_REGENCY_PREFIXES = ("KABUPATEN ", "KAB ", "KOTA ADMINISTRASI ", "KOTA ")
_DISTRICT_PREFIXES = ("KECAMATAN ", "KEC ")
_VILLAGE_PREFIXES = ("KELURAHAN ", "KEL ", "DESA ", "DS ", "KAMPUNG ", "PEKON ", "TIYUH ")
_PREFIXES: dict[str, tuple[str, ...]] = {
    Level.REGENCY.value: _REGENCY_PREFIXES,
    Level.DISTRICT.value: _DISTRICT_PREFIXES,
    Level.VILLAGE.value: _VILLAGE_PREFIXES,
}


def _fold(text: str, prefixes: tuple[str, ...]) -> str:
    """Upper case, letters and digits only, known prefixes dropped, spaces removed
    ("Kec. Way Halim" and "WAYHALIM" compare equal)."""
    words = _NON_ALNUM.sub(" ", text.upper()).strip()
    for prefix in prefixes:
        if words.startswith(prefix) and len(words) > len(prefix):
            words = words[len(prefix) :]
            break
    return words.replace(" ", "")


def _code(text: str) -> str | None:
    """A Kemendagri code written with or without dots, in dotted form."""
    compact = text.strip()
    if not _CODE.match(compact):
        return None
    digits = compact.replace(".", "")
    parts = [digits[:2], digits[2:4], digits[4:6], digits[6:]]
    return ".".join(p for p in parts if p)


@dataclass(frozen=True)
class Place:
    regency: str
    district: str
    village: str


class Places:
    """The regions of the database, indexed for matching KPU's spellings."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.parents: dict[str, str] = {}
        self.levels: dict[str, str] = {}
        self.regencies: dict[str, str] = {}
        # (parent code, folded name) -> code, or "" when two regions share the name
        self.children: dict[tuple[str, str], str] = {}
        rows = Region.objects.filter(
            level__in=[Level.REGENCY, Level.DISTRICT, Level.VILLAGE]
        ).values_list("code", "level", "parent_id", "name", "official_name")
        for code, level, parent, name, official in rows:
            self.names[code] = official or name
            self.parents[code] = parent or ""
            self.levels[code] = level
            prefixes = _PREFIXES[level]
            keys = {_fold(name, prefixes), _fold(official or name, prefixes)}
            for key in keys:
                if level == Level.REGENCY:
                    self.regencies[key] = code
                else:
                    slot = (parent or "", key)
                    self.children[slot] = "" if self.children.get(slot, code) != code else code

    def name(self, code: str) -> str:
        return self.names.get(code, code)

    def _by_code(self, raw: str, level: str) -> str | None:
        code = _code(raw)
        if code is not None and self.levels.get(code) == level:
            return code
        return None

    def regency(self, raw: str) -> tuple[str | None, str | None]:
        raw = raw.strip()
        if not raw:
            return None, "kabupaten/kota kosong"
        code = self._by_code(raw, Level.REGENCY) or self.regencies.get(
            _fold(raw, _REGENCY_PREFIXES)
        )
        if code is None:
            return None, f"kabupaten/kota tidak dikenal ({raw})"
        return code, None

    def _child(
        self, parent: str, raw: str, level: str, prefixes: tuple[str, ...], label: str
    ) -> tuple[str | None, str | None]:
        raw = raw.strip()
        if not raw:
            return None, f"{label} kosong"
        code = self._by_code(raw, level)
        if code is not None:
            if self.parents.get(code) != parent:
                return None, f"{label} {raw} tidak berada di {self.name(parent)}"
            return code, None
        found = self.children.get((parent, _fold(raw, prefixes)))
        if found is None:
            return None, f"{label} tidak dikenal di {self.name(parent)} ({raw})"
        if found == "":
            return None, f"nama {label} {raw} ada lebih dari satu di {self.name(parent)}"
        return found, None

    def resolve(self, regency: str, district: str, village: str) -> tuple[Place | None, str]:
        """The place a row names, or None and the reason (in Indonesian)."""
        # A village code alone is enough.
        direct = self._by_code(village, Level.VILLAGE)
        if direct is not None:
            d = self.parents[direct]
            return Place(self.parents[d], d, direct), ""
        regency_code, error = self.regency(regency)
        if regency_code is None:
            return None, error or ""
        district_code, error = self._child(
            regency_code, district, Level.DISTRICT, _DISTRICT_PREFIXES, "kecamatan"
        )
        if district_code is None:
            return None, error or ""
        village_code, error = self._child(
            district_code, village, Level.VILLAGE, _VILLAGE_PREFIXES, "desa/kelurahan"
        )
        if village_code is None:
            return None, error or ""
        return Place(regency_code, district_code, village_code), ""
