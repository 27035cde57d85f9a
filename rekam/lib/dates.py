"""Dates and timestamps as offices write them: DD-MM-YYYY, DD/MM/YYYY, ISO, spreadsheet cells.

Two-digit years are refused (the century is a guess); impossible dates (31-02-1990) are refused
with a message a person can act on.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

JAKARTA = ZoneInfo("Asia/Jakarta")

_TIME = r"(?:[ T]+(\d{1,2})[:.](\d{2})(?:[:.](\d{2})(?:[.,](\d{1,6}))?)?)?\s*(Z|[+-]\d{2}:?\d{2})?"
_DMY = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})" + _TIME + "$")
_YMD = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})" + _TIME + "$")
_SHORT_YEAR = re.compile(r"^\d{1,2}[-/.]\d{1,2}[-/.]\d{2}(?:\s.*)?$")
_HINT = "gunakan DD-MM-YYYY atau YYYY-MM-DD"


class DateError(ValueError):
    """A date that cannot be accepted; ``message`` is for the person."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _parts(value: str, label: str) -> tuple[int, int, int, re.Match[str]]:
    text = " ".join(value.split())
    m = _DMY.match(text)
    if m:
        day, month, year = int(m[1]), int(m[2]), int(m[3])
    else:
        m = _YMD.match(text)
        if m is None:
            if _SHORT_YEAR.match(text):
                raise DateError(f"{label} memakai tahun dua digit ({value}); tulis tahun lengkap")
            raise DateError(f"format {label} tidak dikenali ({value}); {_HINT}")
        year, month, day = int(m[1]), int(m[2]), int(m[3])
    if not 1 <= month <= 12:
        raise DateError(f"bulan pada {label} harus 01-12 ({value})")
    if not 1 <= day <= 31:
        raise DateError(f"hari pada {label} harus 01-31 ({value})")
    if year < 1800:
        raise DateError(f"tahun pada {label} tidak masuk akal ({value})")
    try:
        date(year, month, day)
    except ValueError:
        raise DateError(f"{label} tidak ada di kalender ({value})") from None
    return year, month, day, m


def parse_date(value: object, *, label: str = "tanggal") -> date:
    """A calendar date from text or a spreadsheet cell, or :class:`DateError`.

    A time of day after the date (``1990-05-17 00:00:00``, common in exports) is ignored.
    """
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if value is None or (isinstance(value, str) and not value.strip()):
        raise DateError(f"{label} kosong")
    if isinstance(value, int | float):
        raise DateError(
            f"{label} berupa angka ({value}); format sel sebagai tanggal atau tulis DD-MM-YYYY"
        )
    year, month, day, _m = _parts(str(value), label)
    return date(year, month, day)


def parse_datetime(value: object, *, label: str = "waktu", tz: ZoneInfo = JAKARTA) -> datetime:
    """An aware timestamp; a value without a zone is read in ``tz`` (Asia/Jakarta).

    Accepts the date formats of :func:`parse_date` followed by an optional ``HH:MM[:SS]``
    and an optional ``Z``/``+07:00`` offset; a date alone means midnight.
    """
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=tz)
    if isinstance(value, date):
        return datetime.combine(value, time(), tzinfo=tz)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise DateError(f"{label} kosong")
    if isinstance(value, int | float):
        raise DateError(f"{label} berupa angka ({value}); {_HINT} dan jam HH:MM")
    text = str(value)
    year, month, day, m = _parts(text, label)
    hour, minute, second = int(m[4] or 0), int(m[5] or 0), int(m[6] or 0)
    micro = int((m[7] or "0").ljust(6, "0"))
    if hour > 23 or minute > 59 or second > 59:
        raise DateError(f"jam pada {label} tidak sah ({text})")
    zone: timezone | ZoneInfo = tz
    if m[8]:
        if m[8] == "Z":
            zone = UTC
        else:
            sign = -1 if m[8][0] == "-" else 1
            digits = m[8][1:].replace(":", "")
            zone = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=zone)
