"""Importing the DPT (rekam import_dpt): KPU's files, row rules, duplicates, new versions."""

from __future__ import annotations

import csv
import re
from datetime import date, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command

from rekam.accounts.access import OUTSIDE_JURISDICTION
from rekam.lib.nik import NikError, parse_nik
from rekam.lib.tabular import REJECTED, WARNING, TabularError
from rekam.regions.models import Level, Region
from rekam.residents import importers
from rekam.voters.importer import check_niks, dpt_import
from rekam.voters.models import DptImport, Voter
from tests.test_voters_support import (
    HAJIMENA,
    KEDATON,
    KPU_HEADER,
    make_election,
    nik_for,
    voter_row,
    write_dpt,
    write_dpt_xlsx,
)

SITI = nik_for(KEDATON, date(1990, 5, 17), "P", 1)  # a woman: day 17 + 40 = 57
BUDI = nik_for(KEDATON, date(1985, 1, 20), "L", 2)


@pytest.fixture
def election(lampung):
    return make_election()


def budi(**kw: str) -> list[str]:
    return voter_row(BUDI, **{"name": "Budi Santoso", "birth": "20/01/1985", "sex": "L", **kw})


def report_rows(result) -> list[dict[str, str]]:
    with result.report_path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def test_it_imports_a_kpu_csv_with_title_rows(tmp_path, election):
    path = write_dpt(tmp_path / "dpt.csv", [voter_row(SITI), budi()])
    result = dpt_import(path=path, election=election)
    assert (result.rows_read, result.accepted, result.rejected) == (2, 2, 0)
    siti = Voter.objects.get(nik=SITI)
    assert siti.village_id == KEDATON
    assert (siti.district_id, siti.regency_id) == ("18.71.01", "18.71")
    assert (siti.tps, siti.rt, siti.rw, siti.marital) == ("001", "001", "002", "S")
    assert siti.birth_date == date(1990, 5, 17)
    assert siti.kk_number == "1871011203150001"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le"])
def test_it_imports_an_excel_unicode_text_export(tmp_path, election, encoding):
    """Excel's "Unicode Text" is UTF-16 (with a byte order mark, or without), tab-separated."""
    utf8 = write_dpt(tmp_path / "dpt8.csv", [voter_row(SITI), budi()], delimiter="\t")
    path = tmp_path / "dpt16.txt"
    path.write_bytes(utf8.read_text(encoding="utf-8").encode(encoding))
    result = dpt_import(path=path, election=election)
    assert (result.rows_read, result.accepted, result.rejected) == (2, 2, 0)
    assert Voter.objects.get(nik=SITI).name == voter_row(SITI)[3]


def test_it_trims_cells_as_typed_in_a_spreadsheet(tmp_path, election):
    row = voter_row(f" '{SITI} ", name="  Siti   Aminah ", tps=" 7 ", sex=" p ", RT=" RT 03 ")
    result = dpt_import(path=write_dpt(tmp_path / "dpt.csv", [row]), election=election)
    assert result.issues == []
    siti = Voter.objects.get()
    assert (siti.nik, siti.name, siti.tps, siti.sex, siti.rt) == (
        SITI,
        "Siti Aminah",
        "007",
        "P",
        "003",
    )


def test_it_reads_a_female_nik_without_a_warning(tmp_path, election):
    assert SITI[6:8] == "57"
    path = write_dpt(tmp_path / "dpt.csv", [voter_row(SITI, sex="P")])
    result = dpt_import(path=path, election=election)
    assert result.issues == []
    assert Voter.objects.get(nik=SITI).nik_problem == ""


def test_it_warns_when_the_nik_says_another_sex(tmp_path, election):
    path = write_dpt(tmp_path / "dpt.csv", [voter_row(SITI, sex="L")])
    result = dpt_import(path=path, election=election)
    assert [i.reason for i in result.issues] == ["jenis kelamin pada NIK berbeda dengan data"]
    assert result.accepted == 1


def test_it_matches_header_synonyms(tmp_path, election):
    synonyms = {
        "NO KK": "NKK",
        "JK": "JENIS KELAMIN (L/P)",
        "STATUS PERKAWINAN (B/S/P)": "KAWIN",
        "DESA": "KELURAHAN",
        "KOTA": "KABUPATEN/KOTA",
        "TANGGAL LAHIR": "tgl_lahir",
    }
    header = [synonyms.get(h, h) for h in KPU_HEADER]
    path = write_dpt(tmp_path / "dpt.csv", [voter_row(SITI)], header=header, delimiter=";")
    result = dpt_import(path=path, election=election)
    assert result.accepted == 1
    assert Voter.objects.get(nik=SITI).kk_number == "1871011203150001"


def test_it_imports_xlsx_with_title_rows_and_reports_spreadsheet_numbers(tmp_path, election):
    rows: list[list[Any]] = [voter_row(SITI), budi()]
    rows[0][5] = date(1990, 5, 17)  # a real date cell
    rows[1][2] = "1.87101E+15"  # the NIK as a spreadsheet showed it
    path = write_dpt_xlsx(tmp_path / "dpt.xlsx", rows)
    result = dpt_import(path=path, election=election)
    assert result.rows_read == 2
    assert Voter.objects.get(nik=SITI).birth_date == date(1990, 5, 17)
    budi_voter = Voter.objects.get(name="Budi Santoso")
    assert "notasi ilmiah" in budi_voter.nik_problem
    # Title rows 1-3 and the header on row 4: the data starts on row 5.
    warning = next(i for i in result.issues if i.line == 6)
    assert warning.level == WARNING and "NIK_INVALID" in warning.reason


def test_a_16_digit_number_cell_ending_in_0_is_not_taken_as_a_nik(tmp_path, election):
    zeroed = nik_for(KEDATON, date(1990, 5, 17), "P", 10)
    rows: list[list[Any]] = [voter_row(zeroed), budi()]
    rows[0][2], rows[1][2] = int(zeroed), int(BUDI)  # number cells, as a spreadsheet keeps them
    dpt_import(path=write_dpt_xlsx(tmp_path / "dpt.xlsx", rows), election=election)
    assert "rusak menjadi angka" in Voter.objects.get(name="Siti Aminah").nik_problem
    assert Voter.objects.get(nik=BUDI).nik_problem == ""


def test_it_rejects_bad_rows_with_line_and_reason_and_keeps_the_rest(tmp_path, election):
    rows = [
        voter_row(SITI),
        [],  # blank line 6: skipped, later lines keep their numbers
        budi(birth="31-02-1985"),
        voter_row(nik_for(KEDATON, date(1970, 1, 1), "L", 3), name="", sex="X", tps="TPS"),
        voter_row(
            nik_for(KEDATON, date(1970, 1, 2), "L", 4),
            sex="L",
            birth="02-01-1970",
            DESA="Tidak Ada",
        ),
    ]
    path = write_dpt(tmp_path / "dpt.csv", rows)
    result = dpt_import(path=path, election=election)
    assert result.rows_read == 4
    assert result.accepted + result.rejected == result.rows_read
    rejected = {i.line: i.reason for i in result.issues if i.level == REJECTED}
    assert rejected[7] == "tanggal lahir tidak ada di kalender (31-02-1985)"
    assert rejected[8] == (
        "jenis kelamin tidak dikenali (X); nama kosong; nomor TPS tidak sah (TPS)"
    )
    assert rejected[9].startswith("desa/kelurahan tidak dikenal di Kedaton")
    assert [r["baris"] for r in report_rows(result) if r["jenis"] == REJECTED] == ["7", "8", "9"]


def test_it_keeps_a_voter_with_an_invalid_nik_and_says_why(tmp_path, election):
    masked = SITI[:6] + "****" + SITI[10:]
    path = write_dpt(tmp_path / "dpt.csv", [voter_row(masked)])
    result = dpt_import(path=path, election=election)
    assert result.accepted == 1
    voter = Voter.objects.get()
    assert voter.nik == masked
    # KPU's own masking is named as such, not as a typing error.
    assert voter.nik_problem == f"NIK disamarkan dalam daftar, berisi * ({masked})"
    warning = next(i for i in result.issues if i.level == WARNING)
    assert warning.reason == (
        f"NIK tidak sah: NIK disamarkan dalam daftar, berisi * ({masked}); "
        "pemilih tetap dicatat sebagai NIK_INVALID"
    )


def test_it_reports_a_nik_listed_twice_and_does_not_merge_it(tmp_path, election):
    path = write_dpt(
        tmp_path / "dpt.csv",
        [voter_row(SITI), budi(), voter_row(SITI, name="Siti A.", tps="004")],
    )
    result = dpt_import(path=path, election=election)
    assert (result.accepted, result.rejected, result.duplicates) == (2, 1, 1)
    issue = next(i for i in result.issues if i.level == REJECTED)
    assert (issue.line, issue.key) == (7, SITI)
    assert issue.reason == "NIK ganda: sudah ada di baris 5 (tidak digabung)"
    assert Voter.objects.get(nik=SITI).name == "Siti Aminah"


def test_running_the_same_file_again_changes_nothing(tmp_path, election):
    path = write_dpt(tmp_path / "dpt.csv", [voter_row(SITI), budi()])
    dpt_import(path=path, election=election)
    before = list(Voter.objects.order_by("id").values())
    again = dpt_import(path=path, election=election)
    assert (again.added, again.removed, again.changed, again.unchanged) == (0, 0, 0, 2)
    assert list(Voter.objects.order_by("id").values()) == before


def test_a_newer_version_reports_who_was_added_and_removed(tmp_path, election):
    first = write_dpt(tmp_path / "v1.csv", [voter_row(SITI), budi()])
    dpt_import(path=first, election=election)
    newcomer = nik_for(KEDATON, date(2003, 12, 1), "L", 9)
    second = write_dpt(
        tmp_path / "v2.csv",
        [
            voter_row(SITI, tps="002"),
            voter_row(newcomer, name="Rizki", birth="01-12-2003", sex="L", marital="B"),
        ],
    )
    result = dpt_import(path=second, election=election)
    assert (result.added, result.removed, result.changed, result.unchanged) == (1, 1, 1, 0)
    batch = DptImport.objects.get(pk=result.batch.pk)
    assert Voter.objects.get(nik=BUDI).removed_in == batch
    assert Voter.objects.get(nik=newcomer).added_in == batch
    assert Voter.objects.get(nik=SITI).tps == "002"
    with result.changes_path.open(encoding="utf-8-sig", newline="") as f:
        changes = {(r["perubahan"], r["nik"]) for r in csv.DictReader(f)}
    assert changes == {("ditambahkan", newcomer), ("dihapus", BUDI), ("diubah", SITI)}


def test_a_regency_file_leaves_other_regencies_alone(tmp_path, election):
    lamsel = nik_for(HAJIMENA, date(1980, 3, 3), "L", 5)
    both = write_dpt(
        tmp_path / "province.csv",
        [
            voter_row(SITI),
            voter_row(lamsel, name="Joko", birth="03-03-1980", sex="L", village=HAJIMENA),
        ],
    )
    dpt_import(path=both, election=election)
    only_bdl = write_dpt(tmp_path / "bdl.csv", [budi()])
    result = dpt_import(path=only_bdl, election=election)
    assert result.regencies == ["18.71"]
    assert (result.added, result.removed) == (1, 1)
    assert Voter.objects.get(nik=lamsel).removed_in is None


def test_files_of_one_tps_each_add_up_and_remove_only_within_their_tps(tmp_path, election):
    """KPU publishes the DPT per TPS: importing them one by one never empties the others."""
    rizki = nik_for(KEDATON, date(2001, 12, 1), "L", 9)
    dpt_import(path=write_dpt(tmp_path / "tps1.csv", [voter_row(SITI), budi()]), election=election)
    second = write_dpt(
        tmp_path / "tps2.csv",
        [voter_row(rizki, name="Rizki", birth="01-12-2001", sex="L", tps="002")],
    )
    result = dpt_import(path=second, election=election)
    assert (result.added, result.removed, result.outside) == (1, 0, 2)
    current = Voter.objects.filter(election=election, removed_in__isnull=True)
    assert sorted(current.values_list("nik", flat=True)) == sorted([SITI, BUDI, rizki])
    # A new version of TPS 001 alone drops the voter it no longer lists, and only them.
    third = dpt_import(path=write_dpt(tmp_path / "tps1b.csv", [voter_row(SITI)]), election=election)
    assert (third.removed, third.unchanged, third.outside) == (1, 1, 1)
    assert Voter.objects.get(nik=BUDI).removed_in_id == third.batch.pk
    assert Voter.objects.get(nik=rizki).removed_in is None


def test_a_named_regency_never_overrides_the_files_own_column(tmp_path, election, personas):
    lamsel = nik_for(HAJIMENA, date(1980, 3, 3), "L", 5)
    path = write_dpt(
        tmp_path / "dpt.csv",
        [voter_row(lamsel, name="Joko", birth="03-03-1980", sex="L", village=HAJIMENA)],
    )
    result = dpt_import(
        path=path, election=election, regency="18.71", acting_user=personas.bdl_admin
    )
    assert result.accepted == 0 and "wilayah kerja" in result.issues[0].reason
    assert not Voter.objects.filter(nik=lamsel).exists()


def test_an_import_finished_meanwhile_makes_the_comparison_stale(tmp_path, election, monkeypatch):
    from rekam.voters import importer

    first = write_dpt(tmp_path / "a.csv", [voter_row(SITI)])
    second = write_dpt(tmp_path / "b.csv", [budi()])
    compare = importer._compare
    landed: list[object] = []

    def another_import_lands_meanwhile(*args, **kwargs):
        compare(*args, **kwargs)
        if not landed:  # once: the other import compares unhindered
            landed.append(True)
            dpt_import(path=second, election=election)

    monkeypatch.setattr(importer, "_compare", another_import_lands_meanwhile)
    with pytest.raises(TabularError, match="selesai selama berkas ini diproses"):
        dpt_import(path=first, election=election)
    assert list(Voter.objects.values_list("nik", flat=True)) == [BUDI]
    # Another regency's file landing meanwhile changes nothing this one compared with.
    lamsel = nik_for(HAJIMENA, date(1980, 3, 3), "L", 5)
    other = [voter_row(lamsel, name="Joko", birth="03-03-1980", sex="L", village=HAJIMENA)]
    second = write_dpt(tmp_path / "c.csv", other)
    landed.clear()
    dpt_import(path=first, election=election)
    current = Voter.objects.filter(removed_in__isnull=True)
    assert sorted(current.values_list("nik", flat=True)) == sorted([SITI, lamsel])


def test_it_rejects_rows_of_a_regency_without_the_election(tmp_path, lampung):
    election = make_election(regencies=("18.71",))
    lamsel = nik_for(HAJIMENA, date(1980, 3, 3), "L", 5)
    path = write_dpt(
        tmp_path / "dpt.csv", [voter_row(lamsel, sex="L", birth="03-03-1980", village=HAJIMENA)]
    )
    result = dpt_import(path=path, election=election)
    assert result.issues[0].reason == "Kabupaten Lampung Selatan tidak mengadakan Pilkada Uji"


def test_it_refuses_an_import_by_an_operator(tmp_path, election, personas):
    path = write_dpt(tmp_path / "dpt.csv", [voter_row(SITI)])
    with pytest.raises(PermissionDenied):
        dpt_import(path=path, election=election, acting_user=personas.lamsel_operator)
    assert not Voter.objects.exists()


def test_it_rejects_rows_outside_the_admins_regency(tmp_path, election, personas):
    lamsel = nik_for(HAJIMENA, date(1980, 3, 3), "L", 5)
    path = write_dpt(
        tmp_path / "dpt.csv",
        [voter_row(SITI), voter_row(lamsel, sex="L", birth="03-03-1980", village=HAJIMENA)],
    )
    result = dpt_import(path=path, election=election, acting_user=personas.bdl_admin)
    assert [(i.line, i.reason) for i in result.issues] == [(6, OUTSIDE_JURISDICTION)]
    assert list(Voter.objects.values_list("nik", flat=True)) == [SITI]


def test_the_command_prints_rejections_and_counts(tmp_path, election, capsys):
    path = write_dpt(tmp_path / "dpt.csv", [voter_row(SITI), budi(TPS="")])
    call_command("import_dpt", str(path), "--election", election.slug, verbosity=0)
    out = capsys.readouterr().out
    assert "baris 6: ditolak: nomor TPS kosong" in out
    assert "Baris dibaca: 2" in out


def _verdict(raw: str, birth: date | None, sex: str | None, districts) -> tuple:
    try:
        info = parse_nik(
            raw, known_districts=districts, birth_date=birth, sex=sex, today=date(2020, 11, 1)
        )
    except NikError as exc:
        return exc.message, []
    return None, list(info.warnings)


def test_the_bulk_nik_check_agrees_with_parse_nik(lampung):
    districts = frozenset(
        c.replace(".", "")
        for c in Region.objects.filter(level=Level.DISTRICT).values_list("code", flat=True)
    )
    cases: list[tuple[str, date | None, str | None]] = [
        (SITI, date(1990, 5, 17), "P"),
        (SITI, date(1990, 5, 18), "L"),
        (" 1871.0157-0590 0001 ", None, None),
        ("'1871015705900001", None, "P"),
        ("1.87101E+15", None, None),
        ("18710157059000x1", None, None),
        ("187101****900001", None, None),
        ("1871.01** 0590 0001", None, None),
        ("****************", None, None),
        ("18710157059000*x", None, None),
        ("187101570590001", None, None),
        ("", None, None),
        ("0071015705900001", None, None),
        ("1871015713900001", None, None),
        ("1871013505900001", None, None),
        ("1871017205900001", None, None),
        ("1871015705900000", None, None),
        ("1871013102900001", None, None),
        ("1871012902000001", None, None),
        ("1871012902000001", date(1900, 2, 10), None),
        ("1871012902960001", None, None),
        ("1801011203650001", date(1965, 3, 12), "L"),
        ("1871011203650001", date(2065 - 100, 3, 12), "L"),
        ("1871016912190001", date(2019, 12, 29), "P"),
    ]
    got = check_niks(cases, today=date(2020, 11, 1))
    for (raw, birth, sex), (_nik, problem, warnings) in zip(cases, got, strict=True):
        assert (problem, warnings) == _verdict(raw, birth, sex, districts), raw


def test_same_named_files_imported_in_the_same_second_keep_their_own_reports(
    tmp_path, election, settings, monkeypatch
):
    """Two offices' files called dpt.csv, imported in the same second: neither report is
    written over the other (nor any change report)."""
    second = datetime(2020, 12, 2, 10, 15, 30, tzinfo=ZoneInfo("Asia/Jakarta"))
    # Reports are named by the second they start in: both imports start in the same one.
    monkeypatch.setattr(importers, "timezone", SimpleNamespace(localtime=lambda: second))
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = dpt_import(
        path=write_dpt(tmp_path / "a" / "dpt.csv", [voter_row(SITI)]), election=election
    )
    later = dpt_import(
        path=write_dpt(tmp_path / "b" / "dpt.csv", [budi(tps="002")]), election=election
    )
    paths = {first.report_path, first.changes_path, later.report_path, later.changes_path}
    assert len(paths) == 4 and all(p.exists() for p in paths)
    assert {p.parent for p in paths} == {Path(settings.IMPORT_REPORT_DIR)}
    # Still readable: kind, the second, a short random part, the file's name.
    assert re.fullmatch(r"dpt-20201202-101530-[0-9a-f]{6}-dpt\.csv", first.report_path.name)
    assert first.changes_path.name == first.report_path.stem + "-perubahan.csv"
    assert "Siti" in first.changes_path.read_text(encoding="utf-8-sig")
    assert "Budi" in later.changes_path.read_text(encoding="utf-8-sig")
