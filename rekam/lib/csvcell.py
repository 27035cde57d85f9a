"""Cells of CSV files people open in a spreadsheet.

A text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read by
Excel and LibreOffice as a formula, so a name or an address typed by anyone (an upload, a form)
could run one on the computer of whoever opens the export. Such cells are written with a leading
apostrophe, the spreadsheet's own "this is text" marker. XLSX exports write text cells and need
nothing of this.
"""

from __future__ import annotations

from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> Any:
    """The value as a CSV cell that no spreadsheet runs as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def csv_safe_sql(expression: str) -> str:
    """The same for a text column of a DuckDB query (``COPY (…) TO`` a CSV file)."""
    return (
        f"CASE WHEN left({expression}, 1) IN ('=', '+', '-', '@', chr(9), chr(13)) "
        f"THEN '''' || {expression} ELSE {expression} END"
    )
