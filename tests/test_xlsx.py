"""The exports' XLSX writer, read back with openpyxl."""

from __future__ import annotations

import io
from datetime import date, datetime
from typing import Any

import openpyxl
import pytest

from rekam.lib.xlsx import write_xlsx


def _read(data: bytes) -> list[tuple]:
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    return list(sheet.iter_rows(values_only=True))


def test_values_come_back_as_they_went_in() -> None:
    out = io.BytesIO()
    rows: list[list[Any]] = [
        ["1871010101900001", 42, 2.5, True, date(2020, 12, 9), datetime(2020, 12, 9, 13, 30)],
        ["A & B <C>", None, "", False, date(1900, 3, 1), "  spaces kept "],
    ]
    assert write_xlsx(out, "DPT", ["NIK", "N", "X", "B", "TANGGAL", "WAKTU"], rows) == 2
    header, first, second = _read(out.getvalue())
    assert header == ("NIK", "N", "X", "B", "TANGGAL", "WAKTU")
    # A NIK stays text: no spreadsheet turns it into 1.87101E+15.
    assert first == (
        "1871010101900001",
        42,
        2.5,
        True,
        datetime(2020, 12, 9),
        datetime(2020, 12, 9, 13, 30),
    )
    assert second == ("A & B <C>", None, None, False, datetime(1900, 3, 1), "  spaces kept ")


def test_characters_xml_cannot_hold_are_dropped() -> None:
    out = io.BytesIO()
    write_xlsx(out, "Rekam", ["NAMA"], [["Siti\x00 Aminah\x1f"]])
    assert _read(out.getvalue())[1] == ("Siti Aminah",)


def test_wide_rows_get_columns_past_z() -> None:
    out = io.BytesIO()
    write_xlsx(out, "Rekam", [f"K{i}" for i in range(30)], [list(range(30))])
    sheet = openpyxl.load_workbook(io.BytesIO(out.getvalue())).active
    assert sheet is not None and sheet["AD2"].value == 29


def test_an_aware_datetime_is_refused() -> None:
    from zoneinfo import ZoneInfo

    with pytest.raises(ValueError, match="naive"):
        write_xlsx(io.BytesIO(), "R", ["T"], [[datetime(2020, 1, 1, tzinfo=ZoneInfo("UTC"))]])


def test_rows_are_written_as_each_cell_alone_would_be() -> None:
    """Text and dates are written inline for speed: the same XML as ``_cell`` writes."""
    from django.utils.functional import lazy

    from rekam.lib.xlsx import _cell, _column, _row

    class Name(str):
        pass

    lazy_label = lazy(lambda: "Label <x>", str)()
    plain = ["Siti", "", None, date(1990, 5, 17), " kept ", 7, True, 0, 0.0, False]
    rows: list[list[Any]] = [
        plain,
        [*plain, "A & B", "\x00", "\x01 x\x02 ", "<b>"],  # a row whose text needs escaping
        [datetime(2020, 12, 9, 13, 30), Name("Budi"), lazy_label, "\u00a0nbsp", "x\t"],
    ]
    for n, row in enumerate(rows, start=2):
        expected = "".join(_cell(f"{_column(i)}{n}", v) for i, v in enumerate(row))
        assert _row(n, row, []) == f'<row r="{n}">{expected}</row>'
