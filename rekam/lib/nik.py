"""NIK (Nomor Induk Kependudukan) and KK numbers: cleaning, validation and explanation.

NIK = ``PP KK CC DDMMYY SSSS``: province, regency/city and kecamatan codes (Kemendagri codes
where the NIK was first issued), birth date with 40 added to the day for women, a two-digit
year, and a serial from 0001. There is no check digit. A region part that is not a current
kecamatan is only a warning: codes were split and renamed over the years.

Every place a NIK enters Rekam goes through :func:`parse_nik` (or :func:`clean_nik`).
"""

from __future__ import annotations

import re
from collections.abc import Container
from datetime import date
from typing import NamedTuple

_SCIENTIFIC = re.compile(r"^[+-]?\d+(?:[.,]\d+)?[eE][+-]?\d+$")
# Characters spreadsheets and typists put inside numbers: spaces (also non-breaking), dots,
# dashes; a leading apostrophe is the spreadsheet's text marker.
_STRIP = str.maketrans("", "", " \u00a0\t.-")
# KPU publishes its lists with part of each NIK hidden behind asterisks (180104****620001).
_MASKED = frozenset("0123456789*")


class NikError(ValueError):
    """A NIK (or KK number) that cannot be accepted; ``message`` is for the person."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class NikInfo(NamedTuple):
    # A NamedTuple rather than a dataclass: imports build one per row, and this is cheaper.
    nik: str
    birth_day: int
    birth_month: int
    birth_year_2: int
    sex: str  # "L" or "P"
    serial: int
    birth_date: date
    warnings: tuple[str, ...] = ()

    @property
    def province_code(self) -> str:
        return self.nik[:2]

    @property
    def regency_code(self) -> str:
        return f"{self.nik[:2]}.{self.nik[2:4]}"

    @property
    def district_code(self) -> str:
        return f"{self.nik[:2]}.{self.nik[2:4]}.{self.nik[4:6]}"

    @property
    def formatted(self) -> str:
        n = self.nik
        return f"{n[:2]}.{n[2:4]}.{n[4:6]} {n[6:12]} {n[12:]}"

    def explain(self) -> list[str]:
        """Lines that explain each part of the NIK, in Indonesian."""
        sex = "perempuan (tanggal + 40)" if self.sex == "P" else "laki-laki"
        return [
            f"Provinsi {self.province_code}, kabupaten/kota {self.regency_code}, "
            f"kecamatan {self.district_code} (tempat NIK pertama diterbitkan)",
            f"Tanggal lahir {self.birth_date:%d-%m-%Y}, {sex}",
            f"Nomor urut {self.serial:04d}",
            *self.warnings,
        ]


def mask_nik(nik: str) -> str:
    """The NIK as shown on public pages: region part and last two digits only."""
    if len(nik) != 16:
        return "*" * len(nik)
    return f"{nik[:6]}{'*' * 8}{nik[14:]}"


def spreadsheet_number(value: object) -> bool:
    """Whether a spreadsheet cell holding a NIK or KK number is a number that may have lost
    digits: any fraction or float, and a 16-digit whole number ending in 0 (a spreadsheet keeps
    15 significant digits, so a 16-digit number typed into one always ends in 0)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, float):
        return True
    return isinstance(value, int) and value >= 10**15 and value % 10 == 0


def clean_nik(raw: object, *, label: str = "NIK") -> str:
    """Digits of a NIK or KK number as typed or exported, or :class:`NikError` saying why not."""
    if raw is None:
        raise NikError("empty", f"{label} kosong")
    if spreadsheet_number(raw):
        # A spreadsheet cell that became a number has lost its last digits.
        raise NikError(
            "scientific",
            f"{label} rusak menjadi angka oleh spreadsheet ({raw!r}); simpan kolom sebagai teks",
        )
    text = str(raw).strip()
    if len(text) == 16 and text.isdigit() and text.isascii():
        return text  # the common case, checked first because imports call this per row
    if text.startswith("'"):
        text = text[1:]
    if not text:
        raise NikError("empty", f"{label} kosong")
    if _SCIENTIFIC.match(text.replace(" ", "")):
        raise NikError(
            "scientific",
            f"{label} rusak menjadi notasi ilmiah oleh spreadsheet ({text}); "
            "digit terakhir hilang, simpan kolom sebagai teks",
        )
    digits = text.translate(_STRIP)
    if not digits.isdigit() or not digits.isascii():
        if "*" in digits and _MASKED.issuperset(digits):
            raise NikError("masked", f"{label} disamarkan dalam daftar, berisi * ({text})")
        raise NikError("not_digits", f"{label} berisi karakter selain angka ({text})")
    if len(digits) != 16:
        raise NikError("length", f"{label} harus 16 digit, bukan {len(digits)} ({text})")
    return digits


def _valid_day(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def parse_nik(
    raw: object,
    *,
    known_districts: Container[str] | None = None,
    birth_date: date | None = None,
    sex: str | None = None,
    today: date | None = None,
) -> NikInfo:
    """Validate a NIK and explain it, or raise :class:`NikError`.

    ``known_districts`` holds current kecamatan codes as six digits (``"187101"``); a region
    part outside it is a warning. ``birth_date`` (from the record) resolves the century and is
    compared with the date in the NIK, as is ``sex``; disagreements are warnings.
    """
    nik = clean_nik(raw)
    if nik[:2] == "00" or nik[2:4] == "00" or nik[4:6] == "00":
        raise NikError("region", f"kode wilayah pada NIK tidak sah ({nik[:6]})")
    raw_day, month, yy, serial = int(nik[6:8]), int(nik[8:10]), int(nik[10:12]), int(nik[12:])
    if not 1 <= month <= 12:
        raise NikError("month", f"bulan lahir pada NIK harus 01-12, bukan {nik[8:10]}")
    if 1 <= raw_day <= 31:
        day, nik_sex = raw_day, "L"
    elif 41 <= raw_day <= 71:
        day, nik_sex = raw_day - 40, "P"
    else:
        raise NikError(
            "day",
            "tanggal lahir pada NIK harus 01-31 (laki-laki) atau 41-71 (perempuan), "
            f"bukan {nik[6:8]}",
        )
    if serial == 0:
        raise NikError("serial", "nomor urut NIK tidak boleh 0000")

    warnings: list[str] = []
    if birth_date is not None and birth_date.year % 100 == yy:
        century = birth_date.year - yy
    else:
        # No usable date on record: the latest century that does not put the birth in the future.
        today = today or date.today()
        century = 2000 if 2000 + yy <= today.year else 1900
    year = century + yy
    try:
        nik_birth = date(year, month, day)
    except ValueError:
        other = year - 100 if century == 2000 else year + 100
        if birth_date is None and _valid_day(other, month, day):
            # 29 February of a year only one century makes a leap year
            nik_birth = date(other, month, day)
        else:
            raise NikError(
                "date",
                f"tanggal lahir pada NIK tidak ada di kalender ({day:02d}-{month:02d}-{yy:02d})",
            ) from None
    if known_districts is not None and nik[:6] not in known_districts:
        warnings.append(
            f"kode kecamatan {nik[:2]}.{nik[2:4]}.{nik[4:6]} bukan kecamatan saat ini "
            "(mungkin sudah dimekarkan atau berganti kode)"
        )
    if birth_date is not None and birth_date != nik_birth:
        warnings.append(
            f"tanggal lahir pada NIK ({nik_birth:%d-%m-%Y}) berbeda dengan data "
            f"({birth_date:%d-%m-%Y})"
        )
    if sex is not None and sex != nik_sex:
        warnings.append("jenis kelamin pada NIK berbeda dengan data")
    return NikInfo(nik, day, month, yy, nik_sex, serial, nik_birth, tuple(warnings))


def clean_kk(raw: object) -> str:
    """A KK (family card) number: 16 digits, region code (6) + issue date DDMMYY + serial."""
    kk = clean_nik(raw, label="Nomor KK")
    if kk[:2] == "00":
        raise NikError("region", f"kode wilayah pada Nomor KK tidak sah ({kk[:6]})")
    day, month = int(kk[6:8]), int(kk[8:10])
    if not (1 <= month <= 12 and 1 <= day <= 31):
        raise NikError("date", f"tanggal terbit pada Nomor KK tidak sah ({kk[6:12]})")
    if kk[12:] == "0000":
        raise NikError("serial", "nomor urut Nomor KK tidak boleh 0000")
    return kk


def make_nik(district_code: str, birth: date, sex: str, serial: int) -> str:
    """Compose a NIK (used by the demo's synthetic population and tests)."""
    day = birth.day + (40 if sex == "P" else 0)
    region = district_code.replace(".", "")
    return f"{region}{day:02d}{birth.month:02d}{birth.year % 100:02d}{serial:04d}"
