"""Reading the tables offices exchange (CSV and XLSX) as a stream of rows.

Files arrive from many hands: title rows above the header, headers in any case and spelling,
``,`` ``;`` or tab as delimiter, UTF-8 with or without BOM, Windows-1252 or UTF-16 (Excel's
"Unicode Text"). A file that is none of these, or not text at all, is refused with the line of
its first unreadable character. :func:`open_table`
finds the header row, maps the headers to the caller's canonical column names and yields
``(line, values)`` where ``line`` is the line (CSV) or row (XLSX) number a person sees in an
editor or spreadsheet. XLSX cells keep their type (numbers stay numbers) so that callers can
refuse a NIK a spreadsheet has turned into a number.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import re
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rekam.lib.csvcell import csv_safe

# How far down a file the header row is looked for (title rows, notes, blank rows above it).
HEADER_SEARCH_ROWS = 30
_DELIMITERS = (",", ";", "\t")
_FOLD = re.compile(r"[\s_.\-/]+")
_PARENS = re.compile(r"\([^)]*\)")
_SCAN_CHUNK = 1 << 20


class TabularError(ValueError):
    """A file that cannot be read as a table; ``message`` is for the person."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def fold_header(text: object) -> str:
    """A header as compared: lower case, runs of spaces, underscores, dots, dashes folded."""
    return _FOLD.sub("_", str(text).strip().lower()).strip("_")


def _header_keys(text: object) -> tuple[str, ...]:
    """Keys a header cell may match: itself, and without a note in parentheses ("JK (L/P)")."""
    full = fold_header(text)
    bare = fold_header(_PARENS.sub(" ", str(text)))
    return (full, bare) if bare and bare != full else (full,)


@dataclass
class Table:
    """An open table: the header found, the column mapping, and the rows below it."""

    path: Path
    kind: str  # "csv" or "xlsx"
    header_line: int
    headers: list[str]
    # canonical name -> index of the column holding it
    columns: dict[str, int]
    unknown_headers: list[str]
    sha256: str
    # Rows below the header, counted cheaply (lines for CSV); for progress bars only.
    size_hint: int | None
    encoding: str = ""
    delimiter: str = ""
    _rows: Iterator[tuple[int, Sequence[Any]]] | None = field(default=None, repr=False)
    _closers: list[Any] = field(default_factory=list, repr=False)

    def rows(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """``(line, {canonical: value})`` for every non-blank row below the header.

        CSV values are stripped strings; XLSX values are stripped strings or the cell's own
        value (int, float, datetime); an empty cell is ``""``. Columns the caller asked for
        but the file lacks are absent from the dict.
        """
        if self._rows is None:
            raise TabularError("tabel sudah dibaca")
        source, self._rows = self._rows, None
        keys = list(self.columns)
        indices = list(self.columns.values())
        width = max(indices) + 1
        if self.kind == "csv":
            # The hot loop of every import: C-level picking and stripping, one dict per row.
            for line, cells in source:
                if len(cells) < width:
                    cells = [*cells, *([""] * (width - len(cells)))]
                values = dict(zip(keys, map(str.strip, [cells[i] for i in indices]), strict=True))
                if any(values.values()) or any(c.strip() for c in cells):
                    yield line, values
        else:
            for line, row in source:
                cells = [_cell(c) for c in row]
                if len(cells) < width:
                    cells.extend([""] * (width - len(cells)))
                if any(c != "" for c in cells):
                    yield line, dict(zip(keys, [cells[i] for i in indices], strict=True))

    def close(self) -> None:
        for c in self._closers:
            c.close()
        self._closers.clear()

    def __enter__(self) -> Table:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    return value


@dataclass
class _Scan:
    sha256: str
    newlines: int
    # The text encoding, or why the file cannot be read as text (for CSV only).
    encoding: str = ""
    refusal: str = ""


# Bytes Windows-1252 leaves undefined: a file holding one is in neither encoding we read.
_NOT_CP1252 = (b"\x81", b"\x8d", b"\x8f", b"\x90", b"\x9d")
# How much of the start of a file tells text from binary.
_SNIFF = 8192


def _utf16_without_bom(head: bytes) -> str:
    """``utf-16-le``/``-be`` when every other byte of ``head`` is zero (text in the Latin
    range written as UTF-16 without a byte order mark), else ``""``."""
    if len(head) < 16:
        return ""
    even, odd = head[0::2], head[1::2]
    for zeros, others, encoding in ((odd, even, "utf-16-le"), (even, odd, "utf-16-be")):
        if zeros.count(0) > 0.9 * len(zeros) and others.count(0) < 0.1 * len(others):
            return encoding
    return ""


def _text_encoding(head: bytes) -> str:
    """The encoding a file's first bytes name (a UTF-16 byte order mark), or ``""``."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"  # the codec reads the mark and drops it
    return _utf16_without_bom(head)


def _binary_refusal(head: bytes) -> str:
    """Why a file is refused as not text (a zero byte near its start), or ``""``."""
    if b"\x00" not in head:
        return ""
    if head.startswith(b"PK\x03\x04"):  # a zip file, as an XLSX is
        return (
            "bukan berkas CSV/XLSX (isinya berkas ZIP; jika ini XLSX, beri nama berakhiran .xlsx)"
        )
    return "bukan berkas CSV/XLSX (isinya bukan teks)"


def unreadable_line_message(line: int) -> str:
    return (
        f"baris {line} berisi karakter yang tidak terbaca (bukan UTF-8 atau Windows-1252); "
        "simpan ulang berkas sebagai CSV UTF-8"
    )


def _scan(path: Path) -> _Scan:
    """sha256, newline count and the text encoding: UTF-16 when the file says so, UTF-8 if
    the whole file decodes as such, else Windows-1252 (what Excel writes on Indonesian PCs) if
    it holds none of the bytes that encoding leaves undefined; else the refusal to give."""
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    newlines = 0
    not_cp1252 = 0  # line of the first byte Windows-1252 cannot decode (0: none)
    with path.open("rb") as f:
        head = f.read(_SNIFF)
        encoding = _text_encoding(head)
        refusal = "" if encoding else _binary_refusal(head)
        # Text whose encoding is still to be told (not UTF-16, not binary).
        sniff = not encoding and not refusal
        utf8 = sniff
        chunk = head + f.read(_SCAN_CHUNK - len(head)) if head else b""
        while chunk:
            digest.update(chunk)
            if sniff and not not_cp1252:
                found = [i for b in _NOT_CP1252 if (i := chunk.find(b)) >= 0]
                if found:
                    not_cp1252 = newlines + chunk.count(b"\n", 0, min(found)) + 1
            newlines += chunk.count(b"\n")
            if utf8:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    utf8 = False
            chunk = f.read(_SCAN_CHUNK)
        if utf8:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                utf8 = False
    scan = _Scan(sha256=digest.hexdigest(), newlines=newlines, encoding=encoding)
    if encoding or refusal:
        scan.refusal = refusal
    elif utf8:
        scan.encoding = "utf-8-sig"  # drops a BOM when present
    elif not_cp1252:
        scan.refusal = unreadable_line_message(not_cp1252)
    else:
        scan.encoding = "cp1252"
    return scan


def _match_header(
    cells: Sequence[Any], lookup: Mapping[str, str]
) -> tuple[dict[str, int], list[str]]:
    columns: dict[str, int] = {}
    unknown: list[str] = []
    for i, cell in enumerate(cells):
        if cell is None or str(cell).strip() == "":
            continue
        for key in _header_keys(cell):
            name = lookup.get(key)
            if name is not None:
                columns.setdefault(name, i)
                break
        else:
            unknown.append(str(cell).strip())
    return columns, unknown


def _lookup(columns: Mapping[str, Sequence[str]]) -> dict[str, str]:
    lookup: dict[str, str] = {}
    for name, spellings in columns.items():
        for s in (name, *spellings):
            lookup.setdefault(fold_header(s), name)
    return lookup


@dataclass
class _Header:
    line: int
    cells: Sequence[Any]
    columns: dict[str, int]
    unknown: list[str]


def _find_header(
    rows: Iterable[tuple[int, Sequence[Any]]],
    lookup: Mapping[str, str],
    required: Sequence[str],
) -> tuple[_Header | None, dict[str, int]]:
    """The first row holding every required column, else the best partial match."""
    best: dict[str, int] = {}
    for n, (line, cells) in enumerate(rows):
        if n >= HEADER_SEARCH_ROWS:
            break
        columns, unknown = _match_header(cells, lookup)
        if columns and all(r in columns for r in required):
            return _Header(line, cells, columns, unknown), columns
        if len(columns) > len(best):
            best = columns
    return None, best


def column_label(name: str, columns: Mapping[str, Sequence[str]]) -> str:
    """A column as people write its header: the first accepted spelling, in capitals
    (``TANGGAL_LAHIR`` for ``birth_date``)."""
    spellings = columns.get(name) or (name,)
    return spellings[0].upper()


def _missing_message(
    required: Sequence[str], found: Mapping[str, int], columns: Mapping[str, Sequence[str]]
) -> str:
    missing = [column_label(r, columns) for r in required if r not in found]
    return (
        f"baris judul kolom tidak ditemukan dalam {HEADER_SEARCH_ROWS} baris pertama; "
        f"kolom wajib yang tidak ada: {', '.join(missing)}"
    )


def _csv_records(
    path: Path, encoding: str, delimiter: str
) -> tuple[Iterator[tuple[int, list[str]]], Any]:
    f = path.open(newline="", encoding=encoding)
    reader = csv.reader(f, delimiter=delimiter)

    def records() -> Iterator[tuple[int, list[str]]]:
        last = 0
        try:
            for cells in reader:
                # A quoted cell may span lines: the record starts on the line after the last.
                yield last + 1, cells
                last = reader.line_num
        except csv.Error as exc:
            raise TabularError(f"berkas CSV rusak mulai baris {last + 1}: {exc}") from exc
        except UnicodeDecodeError as exc:  # a UTF-16 file cut short, or changed since its scan
            raise TabularError(unreadable_line_message(last + 1)) from exc

    return records(), f


def _open_csv(path: Path, columns: Mapping[str, Sequence[str]], required: Sequence[str]) -> Table:
    scan = _scan(path)
    if scan.refusal:
        raise TabularError(scan.refusal)
    encoding = scan.encoding
    lookup = _lookup(columns)
    # Try each delimiter; the one whose header row maps the most columns wins.
    best: tuple[_Header, str] | None = None
    best_partial: dict[str, int] = {}
    for delimiter in _DELIMITERS:
        records, f = _csv_records(path, encoding, delimiter)
        try:
            header, found = _find_header(records, lookup, required)
        except csv.Error as exc:
            raise TabularError(f"berkas CSV tidak dapat dibaca: {exc}") from exc
        finally:
            f.close()
        if header is not None:
            if best is None or len(header.columns) > len(best[0].columns):
                best = (header, delimiter)
        elif len(found) > len(best_partial):
            best_partial = found
    if best is None:
        raise TabularError(_missing_message(required, best_partial, columns))
    header, delimiter = best
    records, f = _csv_records(path, encoding, delimiter)
    for line, _cells in records:
        if line == header.line:
            break
    return Table(
        path=path,
        kind="csv",
        header_line=header.line,
        headers=[str(c).strip() for c in header.cells],
        columns=header.columns,
        unknown_headers=header.unknown,
        sha256=scan.sha256,
        size_hint=max(scan.newlines - header.line, 0),
        encoding=encoding,
        delimiter=delimiter,
        _rows=records,
        _closers=[f],
    )


def _open_xlsx(path: Path, columns: Mapping[str, Sequence[str]], required: Sequence[str]) -> Table:
    import openpyxl  # only XLSX imports pay for loading it
    from openpyxl.utils.exceptions import InvalidFileException

    sha = _scan(path).sha256
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except zipfile.BadZipFile as exc:  # an XLSX is a zip file: this is something else
        raise TabularError("berkas ini bukan XLSX yang utuh (rusak atau berformat lain)") from exc
    except (InvalidFileException, OSError, KeyError, ValueError) as exc:
        raise TabularError(f"berkas XLSX tidak dapat dibuka: {exc}") from exc
    lookup = _lookup(columns)
    best_partial: dict[str, int] = {}
    for ws in wb.worksheets:
        max_row = ws.max_row
        # Some writers store a wrong sheet size; reading without it never cuts rows off.
        ws.reset_dimensions()  # type: ignore[union-attr]
        header, found = _find_header(
            enumerate(ws.iter_rows(values_only=True), start=1), lookup, required
        )
        if header is None:
            if len(found) > len(best_partial):
                best_partial = found
            continue
        start = header.line + 1
        return Table(
            path=path,
            kind="xlsx",
            header_line=header.line,
            headers=[str(c).strip() if c is not None else "" for c in header.cells],
            columns=header.columns,
            unknown_headers=header.unknown,
            sha256=sha,
            size_hint=max(max_row - header.line, 0) if max_row else None,
            _rows=enumerate(ws.iter_rows(min_row=start, values_only=True), start=start),
            _closers=[wb],
        )
    wb.close()
    raise TabularError(_missing_message(required, best_partial, columns))


def open_table(
    path: Path | str,
    columns: Mapping[str, Sequence[str]],
    *,
    required: Sequence[str] = (),
) -> Table:
    """Open a CSV or XLSX file and find its header row.

    ``columns`` maps each canonical column name to the header spellings accepted for it
    (compared after :func:`fold_header`; the canonical name itself is always accepted); the
    first spelling names the column to people (:func:`column_label`).
    ``required`` columns must all be in the header row. Raises :class:`TabularError`.
    """
    path = Path(path)
    if not path.is_file():
        raise TabularError(f"berkas tidak ditemukan: {path}")
    suffix = path.suffix.lower()
    if suffix in {".xlsx", ".xlsm"}:
        return _open_xlsx(path, columns, required)
    if suffix == ".xls":
        raise TabularError("format .xls lama tidak didukung; simpan ulang sebagai .xlsx atau .csv")
    return _open_csv(path, columns, required)


REJECTED = "ditolak"
WARNING = "peringatan"

# Why an import that ran kept no row (see :func:`nothing_accepted`), as commands print it.
NO_DATA_ROWS = "empty"
ALL_OUTSIDE_JURISDICTION = "outside"
ALL_REJECTED = "rejected"
NOTHING_ACCEPTED = {
    NO_DATA_ROWS: "Berkas tidak berisi baris data.",
    ALL_OUTSIDE_JURISDICTION: (
        "Tidak ada baris yang diterima: semua baris di luar wilayah kerja Anda."
    ),
    ALL_REJECTED: "Tidak ada baris yang diterima: semua baris ditolak.",
}


def nothing_accepted(*, rows_read: int, accepted: int, outside_jurisdiction: int = 0) -> str:
    """Why an import kept no row: one of the keys of :data:`NOTHING_ACCEPTED`, or ``""`` when
    it kept some. A file of another regency/city is rejected row by row (every row reported),
    and then read as a whole."""
    if rows_read == 0:
        return NO_DATA_ROWS
    if accepted > 0:
        return ""
    if outside_jurisdiction >= rows_read:
        return ALL_OUTSIDE_JURISDICTION
    return ALL_REJECTED


@dataclass(frozen=True)
class RowIssue:
    """A rejected row, or a warning on a kept row, as an import report shows it."""

    line: int
    key: str  # what identifies the row for a person (a NIK for registry and voter lists)
    level: str  # REJECTED or WARNING
    reason: str


class ReportWriter:
    """The CSV report of an import's rejected rows and warnings.

    Written as UTF-8 with a BOM so that Excel opens it with the right characters.
    """

    def __init__(self, path: Path, *, key_header: str = "nik") -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file = path.open("w", newline="", encoding="utf-8-sig")
        self._csv = csv.writer(self._file)
        self._csv.writerow(["baris", key_header, "jenis", "alasan"])

    def write(self, issue: RowIssue) -> None:
        # The key (and a reason quoting it) is the file's own text.
        self._csv.writerow([issue.line, csv_safe(issue.key), issue.level, csv_safe(issue.reason)])

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> ReportWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
