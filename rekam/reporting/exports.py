"""Every dashboard table as CSV or XLSX: one header row, then one row per line of the table."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from django.http import Http404, HttpResponse
from django.utils import timezone

from rekam.lib.csvcell import csv_safe
from rekam.lib.xlsx import write_xlsx

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime) and timezone.is_aware(value):
        return timezone.localtime(value).replace(tzinfo=None)  # Asia/Jakarta, as people read it
    if isinstance(value, float):
        return round(value, 2)
    return value


def _csv_cell(value: Any) -> Any:
    """A cell as CSV text: dates as people write them; text that a spreadsheet would run as a
    formula (a name typed as ``=HYPERLINK(...)``) kept as text."""
    value = _cell(value)
    if isinstance(value, date):
        return value.strftime("%d-%m-%Y %H.%M" if isinstance(value, datetime) else "%d-%m-%Y")
    return csv_safe(value)


def table_bytes(fmt: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """The table as a CSV (UTF-8 with a BOM, so that Excel reads it right) or XLSX file."""
    if fmt == "csv":
        buffer = io.StringIO()
        buffer.write("\ufeff")
        writer = csv.writer(buffer)
        writer.writerow([csv_safe(str(h)) for h in header])
        for row in rows:
            writer.writerow([_csv_cell(v) for v in row])
        return buffer.getvalue().encode("utf-8")
    if fmt == "xlsx":
        out = io.BytesIO()
        write_xlsx(out, "Rekam", header, ([_cell(v) for v in row] for row in rows))
        return out.getvalue()
    raise ValueError(f"unknown format {fmt!r}")


def table_response(
    fmt: str, filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> HttpResponse:
    """A download of the table; ``filename`` without its extension."""
    if fmt not in FORMATS:
        raise Http404("Format unduhan tidak dikenal.")
    response = HttpResponse(table_bytes(fmt, header, rows), content_type=FORMATS[fmt])
    response["Content-Disposition"] = f'attachment; filename="{filename}.{fmt}"'
    return response
