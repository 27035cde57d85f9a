"""Importing the final voter list (DPT) of an election from CSV or XLSX, as KPU publishes it.

The registry import's rules hold here too: every row read is accepted or rejected with its
line and a reason in Indonesian (accepted + rejected = rows read), a bad row never stops the
import, and re-running the same file changes nothing. On top of them: a NIK listed twice is
reported (the later rows are rejected, naming the first), never merged; a voter whose NIK is
not a valid NIK is kept (the reconciliation classes them ``NIK_INVALID``) with a warning; and
importing a newer version of the list records who was added, removed or changed.

A file covers the polling stations (village and TPS) its accepted rows lie in, whether KPU
published it per TPS, per regency/city or for the province: voters of those TPS missing from
it are removed from the current list; every other TPS keeps its voters, so importing files of
part of a regency one at a time never empties the rest. A voter found in the file under the
same identity is matched wherever the list had them before (a move to another TPS is a change).

The bulk path is DuckDB: it reads the file and checks every row with set-based SQL. Values
that repeat across a list (birth dates, sexes, marital codes, TPS, RT/RW and places) are read
once per distinct value by the same Python parsers the registry import uses
(``rekam.lib.dates.parse_date``, the registry's spellings); NIK and KK numbers, unique per row,
are checked in SQL by the rules of ``rekam.lib.nik`` (a test holds the two to the same
verdicts and messages). Rows reach the database by COPY (PostgreSQL) or ``executemany``
(SQLite). XLSX files, and CSV files whose quoted cells span lines, are first read by
``rekam.lib.tabular`` so that every row keeps its exact line number.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
from django.db import transaction
from django.utils import timezone

from rekam.accounts.access import OUTSIDE_JURISDICTION, Action, can, require
from rekam.audit.services import audit_record
from rekam.elections.models import Election
from rekam.lib.csvcell import csv_safe_sql
from rekam.lib.dates import DateError, parse_date
from rekam.lib.nik import spreadsheet_number
from rekam.lib.tabular import REJECTED, WARNING, RowIssue, Table, TabularError, open_table
from rekam.regions.models import Level, Region
from rekam.residents.importers import (
    MARITAL_SPELLINGS,
    SEX_SPELLINGS,
    default_report_path,
    spelling_key,
)

from . import bulk
from .models import DptImport, Marital, Voter, VoterCheck
from .places import Places

# canonical column -> accepted header spellings (folded: see rekam.lib.tabular.fold_header)
DPT_COLUMNS: dict[str, tuple[str, ...]] = {
    "kk_number": ("nkk", "no_kk", "nomor_kk", "kk", "no_kartu_keluarga", "nomor_kartu_keluarga"),
    "nik": ("nik", "no_nik", "nomor_nik", "nomor_induk_kependudukan"),
    "name": ("nama", "nama_pemilih", "nama_lengkap"),
    "birth_place": ("tempat_lahir", "tmpt_lahir", "tempat_lhr"),
    "birth_date": ("tanggal_lahir", "tgl_lahir", "tgl_lhr", "tanggal_lhr"),
    "sex": ("jenis_kelamin", "jk", "l_p", "kelamin"),
    "marital": ("kawin", "status_perkawinan", "status_kawin", "sts_kawin", "perkawinan"),
    "street": ("alamat", "alamat_lengkap", "jalan"),
    "rt": ("rt", "no_rt"),
    "rw": ("rw", "no_rw"),
    "tps": ("tps", "no_tps", "nomor_tps"),
    "village": (
        "kelurahan",
        "desa",
        "desa_kelurahan",
        "kelurahan_desa",
        "desa_kel",
        "kel_desa",
        "nama_desa",
        "nama_kelurahan",
        "kode_desa",
    ),
    "district": ("kecamatan", "kec", "nama_kecamatan"),
    "regency": ("kabupaten", "kota", "kabupaten_kota", "kab_kota", "kota_kabupaten"),
}
REQUIRED_COLUMNS = ("nik", "name", "birth_date", "sex", "tps", "village", "district")
CANONICAL = tuple(DPT_COLUMNS)

# How many issues an import hands back to its caller (all of them are in the report).
ISSUE_SAMPLE = 1_000

_MARITAL_CODES = {
    **dict.fromkeys(["B", "BK", "BELUM"], Marital.NOT_MARRIED.value),
    **dict.fromkeys(["S", "SK", "SUDAH"], Marital.MARRIED.value),
    **dict.fromkeys(["P", "PERNAH", "PERNAH KAWIN", "PK"], Marital.PREVIOUSLY.value),
}
_FROM_REGISTRY = {"BELUM KAWIN": "B", "KAWIN": "S", "CERAI HIDUP": "P", "CERAI MATI": "P"}


# --- distinct values, parsed in Python ------------------------------------------------------


def _birth_date(raw: str, today: date) -> tuple[date | None, str | None]:
    raw = raw.strip()
    try:
        value = parse_date(raw, label="tanggal lahir")
    except DateError as exc:
        return None, exc.message
    if value > today:
        return None, f"tanggal lahir di masa depan ({raw})"
    return value, None


def _sex(raw: str) -> tuple[str | None, str | None]:
    raw = raw.strip()
    if raw == "":
        return None, "jenis kelamin kosong"
    sex = SEX_SPELLINGS.get(spelling_key(raw))
    return (sex, None) if sex else (None, f"jenis kelamin tidak dikenali ({raw})")


def _marital(raw: str) -> tuple[str, str | None]:
    raw = raw.strip()
    if raw == "":
        return "", None
    k = spelling_key(raw)
    code = _MARITAL_CODES.get(k) or _FROM_REGISTRY.get(MARITAL_SPELLINGS.get(k, ""))
    if code is None:
        return "", f"status perkawinan tidak dikenali ({raw}); tidak diimpor"
    return code, None


def _numbered(raw: str, label: str) -> tuple[str, str | None]:
    """RT/RW as three digits, as the registry import reads them; else a warning."""
    raw = raw.strip()
    if raw == "":
        return "", None
    text = raw.upper().removeprefix(label).strip(" .:")
    if text.isdigit() and text.isascii() and len(text.lstrip("0")) <= 3:
        return text.lstrip("0").zfill(3), None
    return "", f"{label} tidak sah ({raw}); tidak diimpor"


def parse_tps(raw: str) -> tuple[str | None, str | None]:
    """A TPS number as the list stores it (``"7"``, ``"TPS 07"`` -> ``"007"``), or the error."""
    raw = raw.strip()
    if raw == "":
        return None, "nomor TPS kosong"
    text = raw.strip().upper().removeprefix("TPS").strip(" .:-#")
    if text.isdigit() and text.isascii() and 0 < int(text) <= 999:
        return f"{int(text):03d}", None
    return None, f"nomor TPS tidak sah ({raw})"


def _table_from_lists(
    con: duckdb.DuckDBPyConnection, name: str, columns: Sequence[tuple[str, str]], rows: list[Any]
) -> None:
    """A small DuckDB table from Python rows (one statement, the lists as parameters)."""
    spec = ", ".join(f"unnest(?::{kind}[]) AS {col}" for col, kind in columns)
    data = [list(c) for c in zip(*rows, strict=True)] if rows else [[] for _ in columns]
    con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT {spec}", data)


def _distinct(con: duckdb.DuckDBPyConnection, column: str) -> list[str]:
    return [r[0] for r in con.execute(f"SELECT DISTINCT {column} FROM rows").fetchall()]


# --- NIK and KK numbers, checked in SQL by the rules of rekam.lib.nik -------------------------

_MACROS = r"""
CREATE OR REPLACE MACRO strip_ws(s) AS
    CASE WHEN regexp_matches(s, '^[\s\v\x{00a0}]|[\s\v\x{00a0}]$')
         THEN trim(s, ' ' || chr(9) || chr(10) || chr(11) || chr(12) || chr(13) || chr(160))
         ELSE s END;
CREATE OR REPLACE MACRO nik_text(raw) AS
    CASE WHEN starts_with(strip_ws(raw), '''') THEN substr(strip_ws(raw), 2) ELSE strip_ws(raw) END;
CREATE OR REPLACE MACRO nik_digits(t) AS translate(t, ' ' || chr(160) || chr(9) || '.-', '');
CREATE OR REPLACE MACRO nik_clean_error(t, d, label, is_number) AS CASE
    WHEN NOT is_number AND length(d) = 16 AND regexp_full_match(d, '[0-9]+') THEN NULL
    WHEN is_number THEN label || ' rusak menjadi angka oleh spreadsheet (' || t
        || '); simpan kolom sebagai teks'
    WHEN t IS NULL OR t = '' THEN label || ' kosong'
    WHEN regexp_full_match(replace(t, ' ', ''), '[+-]?[0-9]+(?:[.,][0-9]+)?[eE][+-]?[0-9]+')
        THEN label || ' rusak menjadi notasi ilmiah oleh spreadsheet (' || t
        || '); digit terakhir hilang, simpan kolom sebagai teks'
    WHEN regexp_full_match(d, '[0-9*]*[*][0-9*]*')
        THEN label || ' disamarkan dalam daftar, berisi * (' || t || ')'
    WHEN NOT regexp_full_match(d, '[0-9]+')
        THEN label || ' berisi karakter selain angka (' || t || ')'
    WHEN length(d) <> 16
        THEN label || ' harus 16 digit, bukan ' || length(d) || ' (' || t || ')'
    END;
CREATE OR REPLACE MACRO two(n) AS lpad(CAST(n AS VARCHAR), 2, '0');
CREATE OR REPLACE MACRO ymd(y, m, d) AS
    try_cast(lpad(CAST(y AS VARCHAR), 4, '0') || '-' || two(m) || '-' || two(d) AS DATE);
"""


def _nik_sql(this_year: int) -> str:
    """Columns checking ``nik_t`` (cleaned text), ``nik_num`` (a spreadsheet number), ``bd``
    (the row's birth date or NULL) and ``sx`` (its sex or NULL) from the relation ``src``.

    Gives ``nik`` (16 digits, or the text as listed), ``nik_problem`` (the first reason it is
    not a valid NIK, as ``parse_nik`` words it, or NULL) and ``nik_warnings`` (a list).
    """
    return f"""
    WITH a AS (
        SELECT *, nik_clean_error(nik_t, d, 'NIK', nik_num) AS e_clean
        FROM (SELECT *, nik_digits(nik_t) AS d FROM src)
    ), b AS (
        SELECT *,
            CASE WHEN e_clean IS NULL THEN CAST(substr(d, 7, 2) AS INTEGER) END AS rd,
            CASE WHEN e_clean IS NULL THEN CAST(substr(d, 9, 2) AS INTEGER) END AS mm,
            CASE WHEN e_clean IS NULL THEN CAST(substr(d, 11, 2) AS INTEGER) END AS yy,
            CASE WHEN e_clean IS NULL THEN CAST(substr(d, 13, 4) AS INTEGER) END AS serial
        FROM a
    ), c AS (
        SELECT *,
            CASE WHEN rd > 40 THEN rd - 40 ELSE rd END AS dd,
            CASE WHEN rd > 40 THEN 'P' ELSE 'L' END AS nik_sex,
            CASE WHEN bd IS NOT NULL AND year(bd) % 100 = yy THEN year(bd) - yy
                 WHEN 2000 + yy <= {this_year} THEN 2000 ELSE 1900 END AS century
        FROM b
    ), e AS (
        SELECT *,
            ymd(century + yy, mm, dd) AS d1,
            ymd(CASE WHEN century = 2000 THEN century + yy - 100 ELSE century + yy + 100 END,
                mm, dd) AS d2
        FROM c
    ), f AS (
        SELECT *,
            coalesce(d1, CASE WHEN bd IS NULL THEN d2 END) AS nik_birth,
            coalesce(
                e_clean,
                CASE WHEN substr(d, 1, 2) = '00' OR substr(d, 3, 2) = '00'
                          OR substr(d, 5, 2) = '00'
                     THEN 'kode wilayah pada NIK tidak sah (' || substr(d, 1, 6) || ')' END,
                CASE WHEN mm NOT BETWEEN 1 AND 12
                     THEN 'bulan lahir pada NIK harus 01-12, bukan ' || substr(d, 9, 2) END,
                CASE WHEN NOT (rd BETWEEN 1 AND 31 OR rd BETWEEN 41 AND 71)
                     THEN 'tanggal lahir pada NIK harus 01-31 (laki-laki) atau 41-71 '
                          || '(perempuan), bukan ' || substr(d, 7, 2) END,
                CASE WHEN serial = 0 THEN 'nomor urut NIK tidak boleh 0000' END,
                CASE WHEN d1 IS NULL AND NOT (bd IS NULL AND d2 IS NOT NULL)
                     THEN 'tanggal lahir pada NIK tidak ada di kalender ('
                          || two(dd) || '-' || two(mm) || '-' || two(yy) || ')' END
            ) AS nik_problem
        FROM e
    )
    SELECT * EXCLUDE (e_clean, d, rd, mm, yy, serial, dd, century, d1, d2, nik_birth),
        CASE WHEN e_clean IS NULL THEN d ELSE coalesce(nik_t, '') END AS nik,
        CASE WHEN nik_problem IS NULL THEN list_filter([
            CASE WHEN substr(d, 1, 6) NOT IN (SELECT code FROM districts)
                 THEN 'kode kecamatan ' || substr(d, 1, 2) || '.' || substr(d, 3, 2) || '.'
                      || substr(d, 5, 2) || ' bukan kecamatan saat ini (mungkin sudah '
                      || 'dimekarkan atau berganti kode)' END,
            CASE WHEN bd IS NOT NULL AND bd <> nik_birth
                 THEN 'tanggal lahir pada NIK (' || strftime(nik_birth, '%d-%m-%Y')
                      || ') berbeda dengan data (' || strftime(bd, '%d-%m-%Y') || ')' END,
            CASE WHEN sx IS NOT NULL AND sx <> nik_sex
                 THEN 'jenis kelamin pada NIK berbeda dengan data' END
        ], lambda x: x IS NOT NULL) ELSE [] END AS nik_warnings
    FROM f
    """


# Over ``kk_t`` (cleaned text), ``kk_d`` (its digits) and ``kk_num`` (a spreadsheet number).
_KK_SQL = """
    CASE WHEN kk_t = '' AND NOT kk_num THEN NULL
         ELSE coalesce(
            nik_clean_error(kk_t, kk_d, 'Nomor KK', kk_num),
            CASE WHEN substr(kk_d, 1, 2) = '00'
                 THEN 'kode wilayah pada Nomor KK tidak sah (' || substr(kk_d, 1, 6) || ')' END,
            CASE WHEN NOT (CAST(substr(kk_d, 9, 2) AS INTEGER) BETWEEN 1 AND 12
                           AND CAST(substr(kk_d, 7, 2) AS INTEGER) BETWEEN 1 AND 31)
                 THEN 'tanggal terbit pada Nomor KK tidak sah (' || substr(kk_d, 7, 6) || ')'
            END,
            CASE WHEN substr(kk_d, 13, 4) = '0000'
                 THEN 'nomor urut Nomor KK tidak boleh 0000' END)
    END
"""


def _load_districts(con: duckdb.DuckDBPyConnection) -> None:
    codes = Region.objects.filter(level=Level.DISTRICT).values_list("code", flat=True)
    _table_from_lists(
        con, "districts", [("code", "VARCHAR")], [(c.replace(".", ""),) for c in codes]
    )


def check_niks(
    values: Iterable[tuple[str, date | None, str | None]], *, today: date | None = None
) -> list[tuple[str, str | None, list[str]]]:
    """``(nik, problem, warnings)`` for each ``(raw NIK, birth date, sex)`` by the SQL rules
    of the import (for tests and one-off checks; the import runs the same SQL in bulk)."""
    today = today or timezone.localdate()
    rows = list(values)
    con = duckdb.connect()
    try:
        con.execute(_MACROS)
        _load_districts(con)
        _table_from_lists(
            con,
            "raw_niks",
            [("i", "INTEGER"), ("raw", "VARCHAR"), ("bd", "DATE"), ("sx", "VARCHAR")],
            [(i, r, b, s) for i, (r, b, s) in enumerate(rows)],
        )
        con.execute(
            "CREATE TABLE src AS SELECT i, nik_text(raw) AS nik_t, false AS nik_num, bd, sx "
            "FROM raw_niks"
        )
        result = con.execute(
            f"SELECT nik, nik_problem, nik_warnings FROM ({_nik_sql(today.year)}) ORDER BY i"
        ).fetchall()
    finally:
        con.close()
    return [(r[0], r[1], list(r[2])) for r in result]


# --- reading the file into DuckDB ---------------------------------------------------------------


def _cell_text(value: Any) -> tuple[str, bool]:
    """A spreadsheet cell as text, and whether it was a number with a fraction or exponent."""
    if value is None or value == "":
        return "", False
    if isinstance(value, datetime):
        return value.date().isoformat(), False
    if isinstance(value, date):
        return value.isoformat(), False
    if isinstance(value, bool):
        return str(value), False
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value)), False
        return repr(value), True
    return str(value).strip(), False


def _rows_via_python(table: Table, path: Path) -> None:
    """Rows of a table read by rekam.lib.tabular, as a CSV with their line numbers."""
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["line", *CANONICAL, "nik_num", "kk_num"])
        for line, row in table.rows():
            values = []
            flags = {"nik": False, "kk_number": False}
            for name in CANONICAL:
                text, is_float = _cell_text(row.get(name, ""))
                if name in flags:
                    # A NIK the spreadsheet turned into a number (clean_nik refuses those).
                    flags[name] = spreadsheet_number(row.get(name))
                elif is_float:
                    text = repr(row.get(name))
                values.append(text)
            writer.writerow([line, *values, flags["nik"], flags["kk_number"]])


def _scan_lines(path: Path) -> tuple[int, list[int]]:
    """Physical lines of a text file and the numbers of its empty ones (DuckDB skips those)."""
    lines = 0
    blanks: list[int] = []
    previous = b"\n"
    empty = re.compile(rb"\n(?=\r?\n)")
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            data = previous[-2:] + chunk
            offset = len(previous[-2:])
            base = lines - data.count(b"\n", 0, offset)
            for m in empty.finditer(data):
                if m.start() >= offset - 1:
                    number = base + data.count(b"\n", 0, m.start() + 1) + 1
                    if not blanks or blanks[-1] != number:
                        blanks.append(number)
            lines += chunk.count(b"\n")
            previous = chunk
    if previous and not previous.endswith(b"\n"):
        lines += 1
    if blanks and blanks[-1] > lines:
        blanks.pop()
    return lines, blanks


def _transcode(path: Path, encoding: str, target: Path) -> Path:
    """A Windows-1252 or UTF-16 file as UTF-8 (DuckDB reads UTF-8), decoded in large
    chunks."""
    if encoding.startswith("utf-8"):
        return path
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    with path.open("rb") as src, target.open("w", encoding="utf-8", newline="") as out:
        while chunk := src.read(1 << 20):
            out.write(decoder.decode(chunk))
        out.write(decoder.decode(b"", final=True))
    return target


def _load_rows(con: duckdb.DuckDBPyConnection, table: Table, work: Path) -> None:
    """The DuckDB table ``rows``: line and the canonical columns (text, '' when empty) of
    every non-blank row below the header."""
    flags = "false AS nik_num, false AS kk_num"
    if table.kind == "csv":
        source = _transcode(table.path, table.encoding, work / "utf8.csv")
        width = max(len(table.headers), max(table.columns.values()) + 1)
        spec = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(width))
        delim = table.delimiter.replace("'", "''")
        read = (
            "CREATE OR REPLACE TABLE raw AS SELECT * FROM read_csv("
            f"'{str(source).replace(chr(39), chr(39) * 2)}', header=false, auto_detect=false, "
            f"skip={table.header_line}, delim='{delim}', quote='\"', escape='\"', "
            f"null_padding=true, strict_mode=false, parallel=PARALLEL, columns={{{spec}}})"
        )
        try:
            con.execute(read.replace("PARALLEL", "true"))
        except duckdb.Error:
            # Quoted cells spanning lines need the single-threaded reader.
            con.execute(read.replace("PARALLEL", "false"))
        table.close()
        lines, blanks = _scan_lines(source)
        blanks = [b for b in blanks if b > table.header_line]
        (records,) = con.execute("SELECT count(*) FROM raw").fetchone() or (0,)
        if records + len(blanks) == lines - table.header_line:
            picks = ", ".join(
                f"coalesce(c{table.columns[c]}, '') AS {c}" if c in table.columns else f"'' AS {c}"
                for c in CANONICAL
            )
            cells = ", ".join(f"c{i}" for i in range(width))
            # The k-th record's line: header + 1 + k + the empty lines before it.
            skips = [(b - table.header_line - 1 - i, i + 1) for i, b in enumerate(blanks)]
            _table_from_lists(con, "blank_lines", [("k", "BIGINT"), ("n", "BIGINT")], skips)
            con.execute(
                f"""
                CREATE TABLE rows AS
                SELECT {table.header_line + 1} + r.rowid + coalesce(bl.n, 0) AS line,
                       {picks}, {flags}
                FROM raw r ASOF LEFT JOIN
                     (SELECT k, max(n) AS n FROM blank_lines GROUP BY k) bl ON r.rowid >= bl.k
                WHERE regexp_matches(concat({cells}), '[^\\s\\x{{00a0}}]')
                """
            )
            con.execute("DROP TABLE raw")
            return
        # Quoted cells spanning lines: let the Python reader count lines exactly.
        con.execute("DROP TABLE raw")
        table = open_table(table.path, DPT_COLUMNS, required=REQUIRED_COLUMNS)
    target = work / "rows.csv"
    with table:
        _rows_via_python(table, target)
    spec = ", ".join(
        [
            "'line': 'BIGINT'",
            *(f"'{c}': 'VARCHAR'" for c in CANONICAL),
            "'nik_num': 'BOOLEAN'",
            "'kk_num': 'BOOLEAN'",
        ]
    )
    texts = ", ".join(f"coalesce({c}, '') AS {c}" for c in CANONICAL)
    con.execute(
        f"""
        CREATE TABLE rows AS SELECT line, {texts}, nik_num, kk_num
        FROM read_csv('{str(target).replace(chr(39), chr(39) * 2)}', header=true,
                      auto_detect=false, delim=',', quote='"', escape='"', columns={{{spec}}})
        """
    )
    target.unlink()


# --- the import ---------------------------------------------------------------------------------


@dataclass
class DptResult:
    batch: DptImport
    report_path: Path
    changes_path: Path
    rows_read: int = 0
    accepted: int = 0
    rejected: int = 0
    warnings: int = 0
    duplicates: int = 0
    added: int = 0
    removed: int = 0
    changed: int = 0
    unchanged: int = 0
    # Voters of the file's regencies/cities at TPS the file does not list: kept as they were.
    outside: int = 0
    regencies: list[str] = field(default_factory=list)
    # The first ISSUE_SAMPLE issues by line; all of them are in the report.
    issues: list[RowIssue] = field(default_factory=list)

    def summary(self) -> list[str]:
        """Lines for the terminal, in Indonesian."""
        return [
            f"Baris dibaca: {self.rows_read}",
            f"Diterima: {self.accepted} (baru {self.added}, diubah {self.changed}, "
            f"tidak berubah {self.unchanged})",
            f"Ditolak: {self.rejected} (di antaranya NIK ganda {self.duplicates})",
            f"Peringatan: {self.warnings}",
            f"Dihapus dari daftar (tidak ada lagi di TPS-nya dalam berkas): {self.removed}",
            f"Tetap di daftar (TPS-nya tidak ada dalam berkas): {self.outside}",
            f"Kabupaten/kota dalam berkas: {', '.join(self.regencies) or '-'}",
            f"Laporan baris: {self.report_path}",
            f"Laporan perubahan: {self.changes_path}",
        ]


# A voter's own columns, in the order the import writes them (benchmarks write the same).
VOTER_FIELDS = (
    "key",
    "nik",
    "nik_problem",
    "kk_number",
    "name",
    "name_key",
    "birth_place",
    "birth_date",
    "sex",
    "marital",
    "street",
    "rt",
    "rw",
    "tps",
    "regency_id",
    "district_id",
    "village_id",
)
_COMPARED = [f for f in VOTER_FIELDS if f != "key"]
_VOTERS = Voter._meta.db_table
_CHECKS = VoterCheck._meta.db_table

_TEXT_LIMITS = {"name": 150, "birth_place": 100, "street": 200}
_TEXT_LABELS = {"name": "nama", "birth_place": "tempat lahir", "street": "alamat"}


def _report_paths(report_path: Path | str | None, source: Path) -> tuple[Path, Path]:
    report = Path(report_path) if report_path else default_report_path("dpt", source)
    return report, report.with_name(f"{report.stem}-perubahan.csv")


def dpt_import(
    *,
    path: Path | str,
    election: Election,
    acting_user: Any = None,
    regency: str | None = None,
    report_path: Path | str | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> DptResult:
    """Import a DPT file into ``election``; see the module docstring for the rules.

    ``regency`` names the regency/city (Kemendagri code) of a file without a
    KABUPATEN/KOTA column. Raises :class:`TabularError` when the file cannot be read as a
    table and :class:`PermissionDenied` when ``acting_user`` may not import.
    """
    path = Path(path)
    stage = on_stage or (lambda text: None)
    if acting_user is not None:
        require(acting_user, Action.IMPORT_DPT)
    table = open_table(path, DPT_COLUMNS, required=REQUIRED_COLUMNS)
    election_regions = set(election.regions.values_list("code", flat=True))
    if "regency" in table.columns:
        regency = None  # the file names each row's regency/city: that is what counts
    elif regency is None:
        if len(election_regions) != 1:
            table.close()
            raise TabularError(
                "kolom KABUPATEN/KOTA tidak ada; sebutkan kabupaten/kota berkas ini (--regency)"
            )
        regency = next(iter(election_regions))
    report, changes = _report_paths(report_path, path)
    batch = DptImport.objects.create(
        election=election,
        file_name=path.name[:255],
        sha256=table.sha256,
        acting_user=acting_user if getattr(acting_user, "pk", None) else None,
        report_path=str(report),
        changes_path=str(changes),
    )
    result = DptResult(batch=batch, report_path=report, changes_path=changes)
    today = timezone.localdate()
    with bulk.workspace("dpt-") as (con, work):
        con.execute(_MACROS)
        stage("membaca berkas")
        _load_rows(con, table, work)
        if regency is not None:
            con.execute("UPDATE rows SET regency = ?", [regency])
        stage("memeriksa baris")
        _check_rows(con, election, election_regions, acting_user, today)
        stage("membandingkan dengan daftar saat ini")
        _compare(con, election, result, work)
        _write_reports(con, result)
        stage("menyimpan")
        with transaction.atomic():
            # Imports of one election store one at a time, each against the list it compared
            # with: one of the same regencies/cities that finished meanwhile makes this
            # comparison stale (other regencies' voters were never compared).
            Election.objects.select_for_update().filter(pk=election.pk).first()
            meanwhile = DptImport.objects.filter(
                election=election, finished_at__gt=batch.started_at
            ).values_list("regencies", flat=True)
            if any(set(codes) & set(result.regencies) for codes in meanwhile):
                raise TabularError(
                    "impor DPT lain untuk pemilihan ini selesai selama berkas ini diproses; "
                    "impor berkas ini sekali lagi"
                )
            _store(con, election, batch, work)
            _finish(batch, result)
            audit_record(
                acting_user=acting_user,
                action="dpt.import",
                obj=batch,
                changes={
                    "added": [0, result.added],
                    "removed": [0, result.removed],
                    "changed": [0, result.changed],
                },
                reason=f"Impor DPT {path.name}",
            )
        bulk.analyze(_VOTERS, _CHECKS)
    return result


def _check_rows(
    con: duckdb.DuckDBPyConnection,
    election: Election,
    election_regions: set[str],
    acting_user: Any,
    today: date,
) -> None:
    """The table ``checked``: every row with its database values, ``errors`` (reasons to
    reject) and ``warnings``."""
    dates = [(raw, *_birth_date(raw, today)) for raw in _distinct(con, "birth_date")]
    _table_from_lists(
        con, "m_dates", [("raw", "VARCHAR"), ("value", "DATE"), ("error", "VARCHAR")], dates
    )
    for name, parse in (("sex", _sex), ("tps", parse_tps)):
        values = [(raw, *parse(raw)) for raw in _distinct(con, name)]
        _table_from_lists(
            con,
            f"m_{name}",
            [("raw", "VARCHAR"), ("value", "VARCHAR"), ("error", "VARCHAR")],
            values,
        )
    coded: list[tuple[str, Callable[[str], tuple[str, str | None]]]] = [
        ("marital", _marital),
        ("rt", lambda raw: _numbered(raw, "RT")),
        ("rw", lambda raw: _numbered(raw, "RW")),
    ]
    for name, parse_coded in coded:
        values = [(raw, *parse_coded(raw)) for raw in _distinct(con, name)]
        _table_from_lists(
            con,
            f"m_{name}",
            [("raw", "VARCHAR"), ("value", "VARCHAR"), ("warning", "VARCHAR")],
            values,
        )
    places = Places()
    allowed: dict[str, str | None] = {}
    resolved = []
    triples = con.execute("SELECT DISTINCT regency, district, village FROM rows").fetchall()
    for reg, dis, vil in triples:
        place, error = places.resolve(reg, dis, vil)
        if place is not None:
            code = place.regency
            if code not in allowed:
                if code not in election_regions:
                    allowed[code] = f"{places.name(code)} tidak mengadakan {election.name}"
                elif acting_user is not None and not can(acting_user, Action.IMPORT_DPT, code):
                    allowed[code] = OUTSIDE_JURISDICTION
                else:
                    allowed[code] = None
            error = allowed[code] or ""
        resolved.append(
            (
                reg,
                dis,
                vil,
                place.regency if place else None,
                place.district if place else None,
                place.village if place else None,
                error or None,
            )
        )
    _table_from_lists(
        con,
        "m_places",
        [
            ("regency", "VARCHAR"),
            ("district", "VARCHAR"),
            ("village", "VARCHAR"),
            ("regency_id", "VARCHAR"),
            ("district_id", "VARCHAR"),
            ("village_id", "VARCHAR"),
            ("error", "VARCHAR"),
        ],
        resolved,
    )
    _load_districts(con)

    texts = []
    text_warnings = []
    for col, limit in _TEXT_LIMITS.items():
        clean = f"trim(regexp_replace(r.{col}, '[\\s\\x{{00a0}}]+', ' ', 'g'))"
        texts.append(f"left({clean}, {limit}) AS {col}")
        text_warnings.append(
            f"CASE WHEN length({clean}) > {limit} THEN "
            f"'{_TEXT_LABELS[col]} lebih dari {limit} karakter; dipotong' END"
        )
    con.execute(
        f"""
        CREATE TABLE src AS
        SELECT r.line, nik_text(r.nik) AS nik_t, r.nik_num, nik_text(r.kk_number) AS kk_t,
               r.kk_num, md.value AS bd, ms.value AS sx,
               {", ".join(texts)},
               md.error AS e_date, ms.error AS e_sex, mt.value AS tps, mt.error AS e_tps,
               mp.regency_id, mp.district_id, mp.village_id, mp.error AS e_place,
               mm.value AS marital, mm.warning AS w_marital,
               mrt.value AS rt, mrt.warning AS w_rt, mrw.value AS rw, mrw.warning AS w_rw,
               [{", ".join(text_warnings)}] AS w_text
        FROM rows r
        JOIN m_dates md ON md.raw = r.birth_date
        JOIN m_sex ms ON ms.raw = r.sex
        JOIN m_tps mt ON mt.raw = r.tps
        JOIN m_marital mm ON mm.raw = r.marital
        JOIN m_rt mrt ON mrt.raw = r.rt
        JOIN m_rw mrw ON mrw.raw = r.rw
        JOIN m_places mp ON mp.regency = r.regency AND mp.district = r.district
             AND mp.village = r.village
        """
    )
    con.execute(
        f"""
        CREATE TABLE checked AS
        WITH n AS ({_nik_sql(today.year)}),
        k AS (
            SELECT *, {_KK_SQL} AS kk_error FROM (SELECT *, nik_digits(kk_t) AS kk_d FROM n)
        )
        SELECT line, nik, coalesce(nik_problem, '') AS nik_problem,
            CASE WHEN kk_t = '' OR kk_error IS NOT NULL THEN '' ELSE kk_d END
                AS kk_number,
            name, upper(name) AS name_key, birth_place, bd AS birth_date, sx AS sex,
            marital, street, rt, rw, tps, regency_id, district_id, village_id,
            CASE WHEN length(nik) = 16 AND regexp_full_match(nik, '[0-9]+') THEN nik
                 ELSE '~' || upper(name) || '|' || coalesce(CAST(bd AS VARCHAR), '') || '|'
                      || coalesce(village_id, '')
            END AS key,
            list_filter([e_date, e_sex, CASE WHEN name = '' THEN 'nama kosong' END, e_tps,
                         e_place], lambda x: x IS NOT NULL) AS errors,
            list_filter(
                [CASE WHEN nik_problem IS NOT NULL
                      THEN 'NIK tidak sah: ' || nik_problem
                           || '; pemilih tetap dicatat sebagai NIK_INVALID' END]
                || nik_warnings
                || [CASE WHEN kk_error IS NOT NULL THEN kk_error || '; Nomor KK tidak diimpor'
                         END, w_marital, w_rt, w_rw]
                || w_text,
                lambda x: x IS NOT NULL) AS warnings
        FROM k
        """
    )
    # A key listed twice: the first row stays, the later ones are rejected naming it.
    con.execute(
        """
        CREATE TABLE firsts AS
        SELECT line, key, min(line) OVER (PARTITION BY key) AS first_line
        FROM checked WHERE len(errors) = 0
        """
    )
    con.execute(
        """
        UPDATE checked SET errors = [CASE WHEN starts_with(checked.key, '~')
                THEN 'pemilih ganda: nama, tanggal lahir dan desa sama dengan baris '
                ELSE 'NIK ganda: sudah ada di baris ' END || f.first_line
                || ' (tidak digabung)']
        FROM firsts f WHERE f.line = checked.line AND f.first_line < f.line
        """
    )
    con.execute("DROP TABLE src; DROP TABLE rows")


def _compare(
    con: duckdb.DuckDBPyConnection, election: Election, result: DptResult, work: Path
) -> None:
    """Rows read and rejected, and the differences from the voters now on the list."""
    counts = con.execute(
        """
        SELECT count(*),
               count(*) FILTER (WHERE len(errors) > 0),
               coalesce(sum(len(warnings)) FILTER (WHERE len(errors) = 0), 0),
               count(*) FILTER (WHERE len(errors) = 1
                                AND (errors[1] LIKE 'NIK ganda:%'
                                     OR errors[1] LIKE 'pemilih ganda:%'))
        FROM checked
        """
    ).fetchone()
    assert counts is not None
    result.rows_read, result.rejected, result.warnings, result.duplicates = map(int, counts)
    result.accepted = result.rows_read - result.rejected
    con.execute("CREATE TABLE new AS SELECT * FROM checked WHERE len(errors) = 0")
    result.regencies = [
        r[0]
        for r in con.execute("SELECT DISTINCT regency_id FROM new ORDER BY regency_id").fetchall()
    ]
    columns = [
        ("id", "BIGINT"),
        *[(f, "DATE" if f == "birth_date" else "VARCHAR") for f in VOTER_FIELDS],
    ]
    marks = ", ".join(["%s"] * len(result.regencies)) or "NULL"
    bulk.export(
        con,
        table="current",
        sql=f"SELECT id, {', '.join(VOTER_FIELDS)} FROM {_VOTERS} "
        f"WHERE election_id = %s AND removed_in_id IS NULL AND regency_id IN ({marks})",
        params=[election.pk, *result.regencies],
        columns=columns,
        work=work,
    )
    differs = " OR ".join(f"n.{f} IS DISTINCT FROM c.{f}" for f in _COMPARED)
    con.execute("CREATE TABLE covered AS SELECT DISTINCT village_id, tps FROM new")
    con.execute(
        f"""
        CREATE TABLE changes AS
        SELECT CASE WHEN c.id IS NULL THEN 'added'
                    WHEN n.key IS NULL AND cv.tps IS NULL THEN 'outside'
                    WHEN n.key IS NULL THEN 'removed'
                    WHEN {differs} THEN 'changed' ELSE 'same' END AS change,
               c.id AS id, n.line AS line,
               {", ".join(f"coalesce(n.{f}, c.{f}) AS {f}" for f in VOTER_FIELDS)}
        FROM new n FULL OUTER JOIN current c ON c.key = n.key
        LEFT JOIN covered cv ON cv.village_id = c.village_id AND cv.tps = c.tps
        """
    )
    rows = dict(con.execute("SELECT change, count(*) FROM changes GROUP BY change").fetchall())
    result.added = int(rows.get("added", 0))
    result.removed = int(rows.get("removed", 0))
    result.changed = int(rows.get("changed", 0))
    result.unchanged = int(rows.get("same", 0))
    result.outside = int(rows.get("outside", 0))


def _write_reports(con: duckdb.DuckDBPyConnection, result: DptResult) -> None:
    issues = f"""
        SELECT line, nik, '{REJECTED}' AS level, array_to_string(errors, '; ') AS reason, 0 AS o
        FROM checked WHERE len(errors) > 0
        UNION ALL
        SELECT line, nik, '{WARNING}', unnest(warnings), 1
        FROM checked WHERE len(errors) = 0 AND len(warnings) > 0
    """
    ordered = f"SELECT line, nik, level, reason FROM ({issues}) ORDER BY line, o"
    # NIKs and names are the file's own text: cells a spreadsheet would run as a formula are
    # written as text (the sample shown on the page keeps them as read).
    bulk.write_csv_report(
        con,
        query=f"SELECT line, {csv_safe_sql('nik')}, level, {csv_safe_sql('reason')} "
        f"FROM ({issues}) ORDER BY line, o",
        header=["baris", "nik", "jenis", "alasan"],
        path=result.report_path,
    )
    sample = con.execute(f"{ordered} LIMIT {ISSUE_SAMPLE}").fetchall()
    result.issues = [RowIssue(int(r[0]), r[1], r[2], r[3]) for r in sample]
    labels = (
        "CASE change WHEN 'added' THEN 'ditambahkan' WHEN 'removed' THEN 'dihapus' "
        "ELSE 'diubah' END"
    )
    bulk.write_csv_report(
        con,
        query=f"""
            SELECT {labels}, coalesce(CAST(line AS VARCHAR), ''), {csv_safe_sql("nik")},
                   {csv_safe_sql("name")},
                   strftime(birth_date, '%d-%m-%Y'), tps, village_id, district_id, regency_id
            FROM changes WHERE change IN ('added', 'removed', 'changed')
            ORDER BY change, regency_id, village_id, tps, name
        """,
        header=[
            "perubahan",
            "baris",
            "nik",
            "nama",
            "tanggal_lahir",
            "tps",
            "kode_desa",
            "kode_kecamatan",
            "kode_kabupaten",
        ],
        path=result.changes_path,
    )


def _store(
    con: duckdb.DuckDBPyConnection, election: Election, batch: DptImport, work: Path
) -> None:
    as_text = ", ".join(
        f"CAST({f} AS VARCHAR) AS {f}" if f == "birth_date" else f for f in VOTER_FIELDS
    )
    removed = bulk.run_with_ids(
        con,
        query="SELECT id FROM changes WHERE change = 'removed'",
        statement=f"UPDATE {_VOTERS} SET removed_in_id = {int(batch.pk)} "
        "WHERE id IN (SELECT id FROM bulk_rows)",
        work=work,
        temp_columns=[("id", "bigint")],
    )
    if removed:
        bulk.run_with_ids(
            con,
            query="SELECT id FROM changes WHERE change = 'removed'",
            statement=f"DELETE FROM {_CHECKS} WHERE voter_id IN (SELECT id FROM bulk_rows)",
            work=work,
            temp_columns=[("id", "bigint")],
        )
    sets = ", ".join(f"{f} = bulk_rows.{f}" for f in _COMPARED)
    bulk.run_with_ids(
        con,
        query=f"SELECT id, {as_text} FROM changes WHERE change = 'changed'",
        statement=f"UPDATE {_VOTERS} SET {sets} FROM bulk_rows WHERE {_VOTERS}.id = bulk_rows.id",
        work=work,
        temp_columns=[
            ("id", "bigint"),
            *[(f, "date" if f == "birth_date" else "varchar(220)") for f in VOTER_FIELDS],
        ],
    )
    bulk.load(
        con,
        query=f"SELECT {int(election.pk)}, {int(batch.pk)}, {as_text} FROM changes "
        "WHERE change = 'added' ORDER BY village_id, tps, key",
        table=_VOTERS,
        columns=["election_id", "added_in_id", *VOTER_FIELDS],
        work=work,
    )


def _finish(batch: DptImport, result: DptResult) -> None:
    for name in (
        "rows_read",
        "accepted",
        "rejected",
        "warnings",
        "duplicates",
        "added",
        "removed",
        "changed",
        "unchanged",
        "regencies",
    ):
        setattr(batch, name, getattr(result, name))
    batch.finished_at = timezone.now()
    batch.save()
