"""The registry import (rekam import_registry) on messy CSV and XLSX files."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import date, timedelta
from pathlib import Path

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command

from rekam.audit.models import AuditEntry
from rekam.lib.dates import DateError, parse_date, parse_datetime
from rekam.lib.tabular import TabularError
from rekam.residents import importers
from rekam.residents.importers import normalise_phone, registry_import
from rekam.residents.models import ImportBatch, RecordEvent, Resident
from rekam.residents.signals import residents_relocated
from rekam.residents.states import KtpState

from .test_record_moves import announcements

DATA = Path(__file__).parent / "data"
HEADER = [
    "nik",
    "no_kk",
    "nama",
    "tempat_lahir",
    "tanggal_lahir",
    "jenis_kelamin",
    "agama",
    "status_perkawinan",
    "pekerjaan",
    "alamat",
    "rt",
    "rw",
    "kode_desa",
    "telepon",
    "status_ktp",
]
# Women carry day + 40 in the NIK: 57 = the 17th.
SITI = "1871015705900001"
BUDI = "1871012001850002"


def row(nik: str = SITI, **kw: str) -> list[str]:
    values = {
        "nik": nik,
        "no_kk": "1871011203150001",
        "nama": "Siti Aminah",
        "tempat_lahir": "Bandar Lampung",
        "tanggal_lahir": "17-05-1990",
        "jenis_kelamin": "P",
        "agama": "ISLAM",
        "status_perkawinan": "KAWIN",
        "pekerjaan": "Wiraswasta",
        "alamat": "Jl. Raden Intan 12",
        "rt": "1",
        "rw": "2",
        "kode_desa": "18.71.01.1003",
        "telepon": "0812-3456-7890",
        "status_ktp": "",
    }
    values.update(kw)
    return [values[h] for h in HEADER]


def budi(nik: str = BUDI, **kw: str) -> list[str]:
    base = {"nama": "Budi Santoso", "tanggal_lahir": "20/01/1985", "jenis_kelamin": "L"}
    return row(nik, **{**base, **kw})


def write_csv(
    path: Path,
    rows: list[list[str]],
    *,
    header: list[str] = HEADER,
    delimiter: str = ",",
    encoding: str = "utf-8",
    title_rows: tuple[str, ...] = (),
) -> Path:
    buf = io.StringIO()
    for t in title_rows:
        buf.write(t + "\r\n")
    w = csv.writer(buf, delimiter=delimiter)
    w.writerow(header)
    w.writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def rejected(result) -> dict[int, str]:
    return {i.line: i.reason for i in result.issues if i.level == "ditolak"}


def warned(result) -> dict[int, str]:
    out: dict[int, str] = {}
    for i in result.issues:
        if i.level == "peringatan":
            out[i.line] = (out.get(i.line, "") + " | " + i.reason).strip(" |")
    return out


def test_it_imports_a_clean_file_and_keeps_the_counts(lampung, tmp_path):
    result = registry_import(path=write_csv(tmp_path / "r.csv", [row(), budi()]))
    assert (result.rows_read, result.created, result.rejected) == (2, 2, 0)
    siti = Resident.objects.get(nik=SITI)
    assert siti.birth_date == date(1990, 5, 17)
    assert (siti.sex, siti.regency_id, siti.rt, siti.rw) == ("P", "18.71", "001", "002")
    assert siti.name_key == "SITI AMINAH"
    assert siti.import_batch == result.batch


def test_it_cleans_spaces_dots_and_apostrophes_in_niks(lampung, tmp_path):
    rows = [row("'1871 0157 0590 0001"), budi(nik="18.71.01.200185.0002")]
    result = registry_import(path=write_csv(tmp_path / "r.csv", rows))
    assert result.created == 2
    assert set(Resident.objects.values_list("nik", flat=True)) == {SITI, BUDI}


def test_it_rejects_scientific_notation_with_that_reason(lampung, tmp_path):
    result = registry_import(path=write_csv(tmp_path / "r.csv", [row("1.87101E+15"), budi()]))
    assert "notasi ilmiah" in rejected(result)[2]
    assert result.created == 1


def test_it_rejects_impossible_dates_with_their_line(lampung, tmp_path):
    rows = [row(tanggal_lahir="31-02-1990"), budi(tanggal_lahir="1985-13-01")]
    result = registry_import(path=write_csv(tmp_path / "r.csv", rows))
    reasons = rejected(result)
    assert "tidak ada di kalender" in reasons[2]
    assert "bulan" in reasons[3]
    assert result.created == 0


def test_accepted_plus_rejected_equals_rows_read(lampung, tmp_path):
    rows = [
        row(),
        budi(),
        row("123"),
        row(nik="1871015705900003", kode_desa="99.99.99.9999"),
        row(nik="1871015705900004", tanggal_lahir="kemarin"),
        row(),
    ]
    result = registry_import(path=write_csv(tmp_path / "r.csv", rows))
    assert result.rows_read == 6
    assert result.accepted + result.rejected == result.rows_read
    assert (result.accepted, result.rejected) == (2, 4)


def test_it_rejects_the_later_duplicate_naming_the_earlier_line(lampung, tmp_path):
    rows = [row(), budi(), row(nama="Siti Lain")]
    result = registry_import(path=write_csv(tmp_path / "r.csv", rows))
    assert rejected(result) == {4: "NIK ganda: sudah ada di baris 2"}
    assert Resident.objects.get(nik=SITI).name == "Siti Aminah"


def test_it_rejects_an_unknown_village_code(lampung, tmp_path):
    result = registry_import(path=write_csv(tmp_path / "r.csv", [row(kode_desa="18.71.01.9999")]))
    assert "kode desa/kelurahan tidak dikenal (18.71.01.9999)" in rejected(result)[2]


def test_it_accepts_a_village_code_without_dots(lampung, tmp_path):
    registry_import(path=write_csv(tmp_path / "r.csv", [row(kode_desa="1871011003")]))
    assert Resident.objects.get(nik=SITI).village_id == "18.71.01.1003"


def test_it_accepts_a_woman_born_on_the_31st(lampung, tmp_path):
    nik = "1871017112990001"  # 71 = 31 + 40
    rows = [row(nik, tanggal_lahir="31-12-1999")]
    result = registry_import(path=write_csv(tmp_path / "r.csv", rows))
    assert result.created == 1 and not result.issues
    assert Resident.objects.get(nik=nik).birth_date == date(1999, 12, 31)


def test_a_kecamatan_that_is_no_longer_current_is_a_warning(lampung, tmp_path):
    nik = "1871995705900001"
    result = registry_import(path=write_csv(tmp_path / "r.csv", [row(nik)]))
    assert result.created == 1
    assert "bukan kecamatan saat ini" in warned(result)[2]


def test_a_birth_date_or_sex_that_disagrees_with_the_nik_is_a_warning(lampung, tmp_path):
    rows = [row(tanggal_lahir="18-05-1990"), budi(jenis_kelamin="P")]
    result = registry_import(path=write_csv(tmp_path / "r.csv", rows))
    assert result.created == 2
    warnings = warned(result)
    assert "tanggal lahir pada NIK (17-05-1990) berbeda" in warnings[2]
    assert "jenis kelamin pada NIK berbeda" in warnings[3]


def test_a_person_who_need_not_hold_a_ktp_is_not_rejected(lampung, tmp_path):
    nik = "1871015705150001"
    rows = [row(nik, tanggal_lahir="17-05-2015", status_perkawinan="BELUM KAWIN")]
    result = registry_import(path=write_csv(tmp_path / "r.csv", rows))
    assert result.created == 1 and result.rejected == 0


def test_it_finds_the_header_below_title_rows_and_reports_editor_lines(lampung, tmp_path):
    path = write_csv(
        tmp_path / "r.csv",
        [row(), budi(tanggal_lahir="30-02-1985")],
        title_rows=("DATA PENDUDUK KOTA BANDAR LAMPUNG", "Semester II 2020", ""),
    )
    result = registry_import(path=path)
    # Three title lines, the header on line 4, Siti on 5, Budi on 6.
    assert list(rejected(result)) == [6]
    assert result.created == 1


def test_it_reads_a_semicolon_file_with_a_bom_and_other_header_spellings(lampung, tmp_path):
    header = [
        "NIK",
        "NKK",
        "Nama Lengkap",
        "Tempat Lahir",
        "Tgl. Lahir",
        "Jenis Kelamin (L/P)",
        "AGAMA",
        "Status Kawin",
        "PEKERJAAN",
        "Alamat",
        "RT",
        "RW",
        "Village Code",
        "No HP",
        "Status KTP-el",
    ]
    path = write_csv(
        tmp_path / "r.csv", [row(), budi()], header=header, delimiter=";", encoding="utf-8-sig"
    )
    result = registry_import(path=path)
    assert result.created == 2
    assert Resident.objects.get(nik=SITI).phone == "+6281234567890"


def test_it_reads_a_windows_1252_file(lampung, tmp_path):
    path = write_csv(tmp_path / "r.csv", [row(nama="Siti Aminah Façade")], encoding="cp1252")
    registry_import(path=path)
    assert Resident.objects.get(nik=SITI).name == "Siti Aminah Façade"


def test_it_reads_the_messy_sample_file(lampung):
    result = registry_import(path=DATA / "registry_messy.csv")
    assert result.accepted + result.rejected == result.rows_read == 8
    assert set(rejected(result)) == {7, 8, 9, 10}
    assert "notasi ilmiah" in rejected(result)[7]
    assert "NIK ganda: sudah ada di baris 4" in rejected(result)[10]


def test_it_refuses_a_file_without_the_required_columns(lampung, tmp_path):
    path = write_csv(tmp_path / "r.csv", [["1", "x"]], header=["nomor", "nama"])
    with pytest.raises(TabularError, match="kolom wajib"):
        registry_import(path=path)


def _xlsx_with_float_nik(path: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["Data penduduk"])
    ws.append(HEADER)
    # Number and date cells, as a spreadsheet program stores them.
    siti: list[object] = [*row()]
    siti[0], siti[4] = int(SITI), date(1990, 5, 17)
    ws.append(siti)
    ws.append(budi(nik="1234"))
    wb.save(path)
    # A spreadsheet that shows a NIK in scientific notation stores it like this.
    with zipfile.ZipFile(path) as z:
        files = {n: z.read(n) for n in z.namelist()}
    sheet = files["xl/worksheets/sheet1.xml"].decode()
    sheet = re.sub(
        r'(<c r="A4"[^>]*?)t="inlineStr"([^>]*)><is><t>1234</t></is>',
        r'\1t="n"\2><v>1.87101E+15</v>',
        sheet,
    )
    assert "1.87101E+15" in sheet
    files["xl/worksheets/sheet1.xml"] = sheet.encode()
    with zipfile.ZipFile(path, "w") as z:
        for n, data in files.items():
            z.writestr(n, data)
    return path


def test_it_reads_xlsx_keeping_16_digit_integers_and_refusing_floats(lampung, tmp_path):
    result = registry_import(path=_xlsx_with_float_nik(tmp_path / "r.xlsx"))
    assert result.rows_read == 2
    assert Resident.objects.get(nik=SITI).birth_date == date(1990, 5, 17)
    # The cell was a number with its last digits lost: the scientific-notation refusal.
    assert "NIK rusak menjadi angka oleh spreadsheet" in rejected(result)[4]


def test_re_running_the_same_file_changes_nothing(lampung, tmp_path):
    path = write_csv(tmp_path / "r.csv", [row(status_ktp="PRR"), budi(), row("123")])
    registry_import(path=path)
    audits, events = AuditEntry.objects.count(), RecordEvent.objects.count()
    updated_at = Resident.objects.get(nik=SITI).updated_at
    again = registry_import(path=path)
    assert (again.created, again.updated, again.unchanged, again.rejected) == (0, 0, 2, 1)
    assert (AuditEntry.objects.count(), RecordEvent.objects.count()) == (audits, events)
    assert Resident.objects.get(nik=SITI).updated_at == updated_at


def test_an_update_writes_an_audit_entry_with_old_and_new_values(lampung, tmp_path, personas):
    registry_import(path=write_csv(tmp_path / "a.csv", [row(), budi()]))
    path = write_csv(tmp_path / "b.csv", [row(pekerjaan="Guru", kode_desa="18.71.01.1004"), budi()])
    result = registry_import(path=path, acting_user=personas.bdl_admin)
    assert (result.updated, result.unchanged) == (1, 1)
    siti = Resident.objects.get(nik=SITI)
    entry = AuditEntry.objects.get(action="resident.update", object_id=str(siti.pk))
    assert entry.changes == {
        "occupation": ["Wiraswasta", "Guru"],
        "village": ["18.71.01.1003", "18.71.01.1004"],
    }
    assert (entry.actor, entry.actor_label) == (personas.bdl_admin, "import:b.csv")


def test_residents_the_file_moves_to_another_village_are_announced(lampung, tmp_path):
    registry_import(path=write_csv(tmp_path / "a.csv", [row(), budi()]))
    moved: list[list[int]] = []

    def listen(sender, *, resident_ids, **kwargs):
        moved.append(sorted(resident_ids))

    residents_relocated.connect(listen, dispatch_uid="test-relocated")
    try:
        rows = [row(kode_desa="18.71.01.1004"), budi(pekerjaan="Guru")]
        registry_import(path=write_csv(tmp_path / "b.csv", rows))
    finally:
        residents_relocated.disconnect(dispatch_uid="test-relocated")
    assert moved == [[Resident.objects.get(nik=SITI).pk]]  # Budi changed, but stayed


def test_an_empty_cell_keeps_the_existing_value(lampung, tmp_path):
    registry_import(path=write_csv(tmp_path / "a.csv", [row()]))
    result = registry_import(path=write_csv(tmp_path / "b.csv", [row(telepon="", pekerjaan="")]))
    assert result.unchanged == 1
    assert Resident.objects.get(nik=SITI).occupation == "Wiraswasta"


def test_a_new_resident_gets_the_file_state_as_initial_event(lampung, tmp_path):
    registry_import(path=write_csv(tmp_path / "r.csv", [row(status_ktp="SUDAH CETAK")]))
    siti = Resident.objects.get(nik=SITI)
    assert siti.ktp_state == KtpState.CARD_PRINTED
    event = RecordEvent.objects.get(resident=siti)
    assert (event.from_state, event.to_state, event.source, event.actor_label) == (
        "",
        KtpState.CARD_PRINTED,
        "central",
        "import:r.csv",
    )


def test_an_allowed_central_move_on_an_existing_resident_is_made(lampung, tmp_path):
    registry_import(path=write_csv(tmp_path / "a.csv", [row(status_ktp="BIO_CAPTURED")]))
    result = registry_import(path=write_csv(tmp_path / "b.csv", [row(status_ktp="prr")]))
    assert (result.updated, result.moves) == (1, 1)
    siti = Resident.objects.get(nik=SITI)
    assert siti.ktp_state == KtpState.PRINT_READY_RECORD and siti.ktp_state_at is not None
    assert RecordEvent.objects.filter(
        resident=siti, from_state=KtpState.BIO_CAPTURED, to_state=KtpState.PRINT_READY_RECORD
    ).exists()
    assert not AuditEntry.objects.filter(action="resident.update").exists()


def test_a_forbidden_state_move_is_reported_and_not_made(lampung, tmp_path):
    registry_import(path=write_csv(tmp_path / "a.csv", [row(status_ktp="PRR")]))
    result = registry_import(path=write_csv(tmp_path / "b.csv", [row(status_ktp="BELUM REKAM")]))
    assert warned(result)[2] == (
        "status KTP-el tidak diubah: Perpindahan status dari Siap cetak (PRR) ke Belum rekam "
        "tidak diizinkan."
    )
    assert Resident.objects.get(nik=SITI).ktp_state == KtpState.PRINT_READY_RECORD
    assert RecordEvent.objects.count() == 1


@pytest.mark.parametrize(
    ("religion", "marital", "sex", "expected"),
    [
        ("islam", "belum kawin", "LAKI-LAKI", ("ISLAM", "BELUM KAWIN", "L")),
        ("Katholik", "CERAI_MATI", "Pria", ("KATOLIK", "CERAI MATI", "L")),
        ("BUDHA", "Cerai Hidup", "l", ("BUDDHA", "CERAI HIDUP", "L")),
    ],
)
def test_it_accepts_common_spellings(lampung, tmp_path, religion, marital, sex, expected):
    path = write_csv(
        tmp_path / "r.csv", [budi(agama=religion, status_perkawinan=marital, jenis_kelamin=sex)]
    )
    registry_import(path=path)
    b = Resident.objects.get(nik=BUDI)
    assert (b.religion, b.marital_status, b.sex) == expected


def test_an_invalid_phone_is_a_warning_and_left_empty(lampung, tmp_path):
    result = registry_import(path=write_csv(tmp_path / "r.csv", [row(telepon="12345")]))
    assert result.created == 1
    assert "nomor telepon tidak sah" in warned(result)[2]
    assert Resident.objects.get(nik=SITI).phone == ""


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("0812-3456-7890", "+6281234567890"),
        ("+62 812 3456 7890", "+6281234567890"),
        ("6281234567890", "+6281234567890"),
        ("(0721) 123456", "+62721123456"),
        ("0812", None),
    ],
)
def test_phones_are_normalised_to_e164(raw, e164):
    assert normalise_phone(raw) == e164


def test_the_report_file_lists_every_rejected_row(lampung, tmp_path):
    path = write_csv(tmp_path / "r.csv", [row("1.87101E+15"), budi(kode_desa="x")])
    result = registry_import(path=path, report_path=tmp_path / "laporan.csv")
    with (tmp_path / "laporan.csv").open(encoding="utf-8-sig") as f:
        lines = list(csv.DictReader(f))
    assert [(r["baris"], r["jenis"]) for r in lines] == [("2", "ditolak"), ("3", "ditolak")]
    assert result.batch.report_path == str(tmp_path / "laporan.csv")


def test_every_run_is_an_import_batch_with_its_counts(lampung, tmp_path):
    result = registry_import(path=write_csv(tmp_path / "r.csv", [row(), budi(), row("1")]))
    batch = ImportBatch.objects.get(pk=result.batch.pk)
    assert (batch.kind, batch.rows_read, batch.created, batch.rejected) == ("registry", 3, 2, 1)
    assert batch.finished_at is not None and len(batch.sha256) == 64


def test_a_regency_admin_cannot_import_residents_of_another_regency(personas, tmp_path):
    lamsel = "1801045705900001"
    rows = [row(), row(lamsel, kode_desa="18.01.04.2001")]
    result = registry_import(
        path=write_csv(tmp_path / "r.csv", rows), acting_user=personas.bdl_admin
    )
    assert "luar wilayah" in rejected(result)[3]
    assert not Resident.objects.filter(nik=lamsel).exists()


def test_an_operator_may_not_import_at_all(personas, tmp_path):
    with pytest.raises(PermissionDenied):
        registry_import(
            path=write_csv(tmp_path / "r.csv", [row()]), acting_user=personas.bdl_operator
        )


def test_a_dry_run_saves_nothing(lampung, tmp_path):
    result = registry_import(path=write_csv(tmp_path / "r.csv", [row(), budi()]), dry_run=True)
    assert result.created == 2
    assert not Resident.objects.exists()
    assert not ImportBatch.objects.exists()


def test_the_command_prints_rejected_rows_and_the_report_path(lampung, tmp_path, capsys, settings):
    path = write_csv(tmp_path / "r.csv", [row(), budi(tanggal_lahir="31-02-1985")])
    call_command("import_registry", str(path), "--no-progress")
    out = capsys.readouterr().out
    assert "baris 3: ditolak: tanggal lahir tidak ada di kalender (31-02-1985)" in out
    assert "Laporan: " in out and str(settings.IMPORT_REPORT_DIR) in out


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("17-05-1990", date(1990, 5, 17)),
        ("17/05/1990", date(1990, 5, 17)),
        ("1990-05-17", date(1990, 5, 17)),
        ("1990-05-17 00:00:00", date(1990, 5, 17)),
    ],
)
def test_dates_are_read_in_the_usual_formats(raw, expected):
    assert parse_date(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("31-02-1990", "tidak ada di kalender"),
        ("1990-13-01", "bulan"),
        ("17-05-90", "tahun dua digit"),
        ("17 Mei 1990", "format"),
        (33000, "berupa angka"),
    ],
)
def test_bad_dates_are_refused_with_a_clear_reason(raw, message):
    with pytest.raises(DateError, match=message):
        parse_date(raw)


def test_a_naive_timestamp_is_read_in_jakarta_time():
    at = parse_datetime("01-12-2020 08:30")
    assert at.utcoffset() == timedelta(hours=7)
    assert parse_datetime("2020-12-01T01:30:00Z") == at


def test_reading_in_a_second_process_gives_the_same_result(lampung):
    result = registry_import(path=DATA / "registry_messy.csv", parallel=True)
    assert (result.rows_read, result.created, result.rejected, result.warnings) == (8, 4, 4, 1)
    assert [(i.line, i.level) for i in result.issues] == [
        (7, "ditolak"),
        (8, "ditolak"),
        (9, "ditolak"),
        (10, "ditolak"),
        (11, "peringatan"),
    ]


@pytest.mark.parametrize("parallel", [False, True])
def test_a_file_that_breaks_half_way_is_reported_with_its_line(lampung, tmp_path, parallel):
    # A cell longer than the csv module allows (a stray quote swallowing the rest of a file).
    path = write_csv(tmp_path / "r.csv", [row(), budi(alamat="x" * 200_000)])
    with pytest.raises(TabularError, match="mulai baris 3"):
        registry_import(path=path, parallel=parallel)


def test_a_nik_added_by_someone_else_meanwhile_is_skipped_not_an_error(
    lampung, tmp_path, monkeypatch
):
    registry_import(path=write_csv(tmp_path / "a.csv", [row()]))
    # As if another import inserted Siti between this import's check and its insert.
    monkeypatch.setattr(importers._Writer, "_existing", lambda self, cursor, niks: {})
    result = registry_import(path=write_csv(tmp_path / "b.csv", [row(status_ktp="PRR"), budi()]))
    assert (result.created, result.unchanged) == (1, 1)
    assert Resident.objects.get(nik=SITI).ktp_state == KtpState.BELUM_REKAM
    assert RecordEvent.objects.filter(resident__nik=SITI).count() == 0


def test_state_moves_are_announced_once_per_chunk_and_state(lampung, tmp_path):
    registry_import(
        path=write_csv(tmp_path / "a.csv", [row(status_ktp="BIO_CAPTURED"), budi(status_ktp="PRR")])
    )
    siti, budi_ = Resident.objects.get(nik=SITI), Resident.objects.get(nik=BUDI)
    with announcements() as sent:
        registry_import(
            path=write_csv(tmp_path / "b.csv", [row(status_ktp="PRR"), budi(status_ktp="CETAK")])
        )
    assert [(state, ids, label) for state, ids, _at, label in sent] == [
        (KtpState.CARD_PRINTED, [budi_.pk], "import:b.csv"),
        (KtpState.PRINT_READY_RECORD, [siti.pk], "import:b.csv"),
    ]


def test_a_file_named_xlsx_that_is_not_one_is_refused_with_the_reason(lampung, tmp_path):
    fake = tmp_path / "penduduk.xlsx"
    fake.write_bytes(b"x\n")
    with pytest.raises(TabularError, match="bukan XLSX yang utuh"):
        registry_import(path=fake)


def test_a_16_digit_number_cell_ending_in_0_is_refused(lampung, tmp_path):
    """A spreadsheet keeps 15 digits: a NIK typed into a number cell ends in 0 whatever its
    last digit was, so such a cell cannot be trusted (other whole numbers are exact)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(HEADER)
    zeroed: list[object] = [*row("1871015705900010")]
    zeroed[0] = 1871015705900010
    exact: list[object] = [*budi()]
    exact[0] = int(BUDI)
    ws.append(zeroed)
    ws.append(exact)
    wb.save(tmp_path / "r.xlsx")
    result = registry_import(path=tmp_path / "r.xlsx")
    assert "NIK rusak menjadi angka oleh spreadsheet (1871015705900010)" in rejected(result)[2]
    assert list(Resident.objects.values_list("nik", flat=True)) == [BUDI]
