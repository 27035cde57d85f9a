"""Files an admin loads that are not the tidy CSV the imports expect: other encodings, binary
files under a .csv name, wrong headers, no rows, another regency's rows. Each is refused (or
reported) with a reason a person can act on, by the commands and the upload page alike."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from rekam.accounts.access import OUTSIDE_JURISDICTION
from rekam.lib.tabular import TabularError, open_table
from rekam.residents import importers
from rekam.residents.central import STATUS_COLUMNS
from rekam.residents.importers import (
    REGISTRY_COLUMNS,
    REQUIRED_COLUMNS,
    registry_import,
    statuses_import,
    summarise,
)
from rekam.residents.models import Resident
from rekam.residents.states import KtpState

from .factories import make_resident
from .test_import_registry import HEADER, SITI, budi, rejected, row, write_csv

pytestmark = pytest.mark.django_db

UNREADABLE = (
    "baris 3 berisi karakter yang tidak terbaca (bukan UTF-8 atau Windows-1252); "
    "simpan ulang berkas sebagai CSV UTF-8"
)
LAMSEL_VILLAGE = "18.01.04.2001"


def csv_text(rows: list[list[str]], *, header: list[str] = HEADER, delimiter: str = ",") -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def mac_roman_file(path: Path) -> Path:
    """Budi on line 2 in plain ASCII, then "Françoise" saved on a Mac: ç is 0x8D, a byte
    Windows-1252 leaves undefined (and no UTF-8 either)."""
    text = csv_text([budi(), row(nama="Françoise")])
    path.write_bytes(text.encode("mac_roman"))
    return path


# --- encodings and binary files -----------------------------------------------------------


def test_a_mac_roman_file_is_refused_naming_the_line(lampung, tmp_path):
    with pytest.raises(TabularError) as refused:
        registry_import(path=mac_roman_file(tmp_path / "mac.csv"))
    assert refused.value.message == UNREADABLE
    assert not Resident.objects.exists()


def test_a_binary_file_named_csv_is_refused_as_not_csv(lampung, tmp_path):
    path = tmp_path / "foto.csv"
    path.write_bytes(bytes(range(256)) * 40)
    with pytest.raises(TabularError, match="bukan berkas CSV/XLSX"):
        registry_import(path=path)


def test_an_xlsx_named_csv_is_refused_with_a_hint(lampung, tmp_path):
    path = tmp_path / "penduduk.csv"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
    with pytest.raises(TabularError, match=r"bukan berkas CSV/XLSX.*\.xlsx"):
        registry_import(path=path)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-16-le"])
def test_an_excel_unicode_text_export_is_read(lampung, tmp_path, encoding):
    # Excel's "Unicode Text": UTF-16 (little-endian with a byte order mark), tab-delimited.
    text = csv_text([row(nama="Françoise Siti"), budi()], delimiter="\t")
    data = text.encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data  # big-endian, with its mark
    path = tmp_path / "unicode.txt"
    path.write_bytes(data)
    result = registry_import(path=path)
    assert (result.rows_read, result.created, result.rejected) == (2, 2, 0)
    assert Resident.objects.get(nik=SITI).name == "Françoise Siti"


def test_a_status_export_in_mac_roman_is_refused_naming_the_line(lampung, tmp_path):
    path = tmp_path / "siak.csv"
    path.write_bytes(
        f"NIK,STATUS,TANGGAL\n{SITI},PRR,02-12-2020 09:00\n{SITI},PRR,02-12-2020 09:00 ç\n".encode(
            "mac_roman"
        )
    )
    with pytest.raises(TabularError) as refused:
        statuses_import(path=path)
    assert refused.value.message == UNREADABLE


def test_the_registry_command_refuses_an_unreadable_file_without_a_traceback(lampung, tmp_path):
    path = mac_roman_file(tmp_path / "mac.csv")
    with pytest.raises(CommandError) as refused:
        call_command("import_registry", str(path), "--no-progress")
    assert str(refused.value) == f"{path}: {UNREADABLE}"


def test_the_statuses_command_refuses_a_binary_file_without_a_traceback(lampung, tmp_path):
    path = tmp_path / "siak.csv"
    path.write_bytes(b"\x00\x01\x02garbage\xff" * 100)
    with pytest.raises(CommandError, match="bukan berkas CSV/XLSX"):
        call_command("import_statuses", str(path), "--no-progress")


# --- headers ------------------------------------------------------------------------------


def test_missing_registry_columns_are_named_as_people_write_them(lampung, tmp_path):
    path = write_csv(tmp_path / "r.csv", [["1", "x"]], header=["NIK", "NAMA"])
    with pytest.raises(TabularError) as refused:
        registry_import(path=path)
    message = refused.value.message
    assert message.endswith("kolom wajib yang tidak ada: TANGGAL_LAHIR, JENIS_KELAMIN, KODE_DESA")
    assert "birth_date" not in message and "village_code" not in message


def test_missing_status_columns_are_named_as_people_write_them(tmp_path):
    path = tmp_path / "siak.csv"
    path.write_text(f"NIK,KETERANGAN\n{SITI},x\n", encoding="utf-8")
    with pytest.raises(TabularError) as refused:
        open_table(path, STATUS_COLUMNS, required=("nik", "state", "at")).close()
    assert refused.value.message.endswith("kolom wajib yang tidak ada: STATUS, TANGGAL")


def test_every_required_registry_column_has_an_indonesian_first_spelling():
    labels = [REGISTRY_COLUMNS[c][0] for c in REQUIRED_COLUMNS]
    assert labels == ["nik", "nama", "tanggal_lahir", "jenis_kelamin", "kode_desa"]


# --- files that give nothing ----------------------------------------------------------------


def test_a_header_only_file_says_it_holds_no_rows(lampung, tmp_path):
    result = registry_import(path=write_csv(tmp_path / "r.csv", []))
    assert result.rows_read == 0
    assert "Berkas tidak berisi baris data." in summarise(result)


def test_the_command_says_a_header_only_file_holds_no_rows(lampung, tmp_path, capsys):
    call_command("import_registry", str(write_csv(tmp_path / "r.csv", [])), "--no-progress")
    assert "Berkas tidak berisi baris data." in capsys.readouterr().out


def test_another_regencys_file_names_the_regency_on_every_row(personas, tmp_path):
    rows = [
        row("1801045705900001", kode_desa=LAMSEL_VILLAGE),
        budi("1801042001850002", kode_desa=LAMSEL_VILLAGE),
    ]
    result = registry_import(
        path=write_csv(tmp_path / "lamsel.csv", rows), acting_user=personas.bdl_admin
    )
    reason = "Kabupaten Lampung Selatan di luar wilayah kerja kantor Anda"
    assert rejected(result) == {2: reason, 3: reason}
    assert (result.rejected, result.outside_jurisdiction, result.accepted) == (2, 2, 0)
    assert "Tidak ada baris yang diterima: semua baris di luar wilayah kerja Anda." in summarise(
        result
    )


def test_a_resident_moved_into_another_regency_names_that_regency(personas, tmp_path):
    registry_import(path=write_csv(tmp_path / "a.csv", [row()]), acting_user=personas.bdl_admin)
    moved = [row(kode_desa=LAMSEL_VILLAGE)]
    result = registry_import(
        path=write_csv(tmp_path / "b.csv", moved), acting_user=personas.bdl_admin
    )
    assert rejected(result) == {2: "Kabupaten Lampung Selatan di luar wilayah kerja kantor Anda"}


def test_another_regencys_status_export_does_not_say_where_its_residents_live(
    personas, tmp_path, capsys
):
    """A file of bare NIKs must not tell a regency where another regency's residents live."""
    make_resident(LAMSEL_VILLAGE, nik="1801045705900001", ktp_state=KtpState.BIO_CAPTURED)
    path = tmp_path / "siak.csv"
    path.write_text("NIK,STATUS,TANGGAL\n1801045705900001,PRR,02-12-2020 09:00\n")
    call_command("import_statuses", str(path), "--no-progress", "--user", "bdl_admin")
    out = capsys.readouterr().out
    assert f"baris 2: ditolak: {OUTSIDE_JURISDICTION}" in out
    assert "Lampung Selatan" not in out
    assert "Tidak ada baris yang diterima: semua baris di luar wilayah kerja Anda." in out


def test_a_registry_row_of_another_regencys_resident_does_not_name_it(personas, tmp_path):
    """The file puts the resident in Bandar Lampung, but the registry has them in Lampung
    Selatan: the refusal does not say where they live."""
    make_resident(LAMSEL_VILLAGE, nik="1801045705900001")
    result = registry_import(
        path=write_csv(tmp_path / "bdl.csv", [row("1801045705900001")]),
        acting_user=personas.bdl_admin,
    )
    assert rejected(result) == {2: OUTSIDE_JURISDICTION}


# --- progress -------------------------------------------------------------------------------


def test_progress_is_told_while_a_chunk_is_read(lampung, tmp_path, monkeypatch):
    monkeypatch.setattr(importers, "CHUNK_ROWS", 4)
    monkeypatch.setattr(importers, "PROGRESS_ROWS", 2)
    rows = [row(f"18710157059000{n:02d}") for n in range(1, 6)]
    told: list[int] = []
    registry_import(
        path=write_csv(tmp_path / "r.csv", rows),
        parallel=False,
        on_progress=lambda done, total: told.append(done),
    )
    assert told == [2, 4, 5]


def test_the_command_bar_ends_at_100_percent(lampung, tmp_path, capsys):
    # Blank lines at the end: the line count the bar starts from is larger than the rows.
    path = write_csv(tmp_path / "r.csv", [row(), budi()])
    path.write_text(path.read_text() + "\n\n\n,,,\n")
    call_command("import_registry", str(path))
    bar = capsys.readouterr().err
    assert "2/2" in bar and "100%" in bar
