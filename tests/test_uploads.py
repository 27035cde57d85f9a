"""Imports uploaded from the web: the file is stored, its import runs in the background with
progress, and the page lists every rejected row with its line and reason."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from rekam.accounts.models import Role
from rekam.accounts.services import user_create
from rekam.audit.models import AuditEntry
from rekam.residents import importers
from rekam.residents.models import Resident
from rekam.uploads import services as upload_services
from rekam.uploads.models import Upload
from rekam.uploads.services import UploadRefused, upload_run, upload_start
from rekam.voters.models import Voter

from .conftest import PASSWORD
from .test_import_registry import BUDI, HEADER, SITI, budi, row, write_csv
from .test_voters_support import HAJIMENA, make_election, nik_for, voter_row, write_dpt

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def files_in_tmp(settings, tmp_path):
    settings.UPLOAD_DIR = tmp_path / "uploads"


def login(client, user):
    assert client.login(username=user.get_username(), password=PASSWORD)


def post_file(client, path: Path, kind: str, **extra):
    upload = SimpleUploadedFile(path.name, path.read_bytes(), content_type="text/csv")
    return client.post(reverse("uploads"), {"kind": kind, "file": upload, **extra})


def registry_file(tmp_path: Path) -> Path:
    return write_csv(
        tmp_path / "penduduk.csv",
        [
            row(),
            budi(tanggal_lahir="31-02-1985"),  # line 3: no such date
            row("1.87101E+15"),  # line 4: a spreadsheet ate the digits
            row("1801045705900001", kode_desa=HAJIMENA),  # line 5: Lampung Selatan
        ],
    )


def test_a_registry_upload_imports_and_lists_each_rejected_row(client, personas, tmp_path):
    login(client, personas.bdl_admin)
    response = post_file(client, registry_file(tmp_path), "registry")
    upload = Upload.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("upload", args=[upload.pk])
    upload.refresh_from_db()
    assert (upload.status, upload.percent, upload.acting_user) == (
        Upload.Status.DONE,
        100,
        personas.bdl_admin,
    )
    counts = upload.counts
    assert (counts["rows_read"], counts["accepted"], counts["rejected"]) == (4, 1, 3)
    assert counts["accepted"] + counts["rejected"] == counts["rows_read"]
    assert list(Resident.objects.values_list("nik", flat=True)) == [SITI]
    assert [line for line, *_ in upload.issues] == [3, 4, 5]

    page = client.get(response["Location"]).content.decode()
    assert 'data-testid="upload-issues"' in page
    assert "notasi ilmiah" in page and "wilayah kerja" in page
    report = client.get(reverse("upload_report", args=[upload.pk, "laporan"]))
    assert report.status_code == 200
    body = b"".join(report.streaming_content).decode("utf-8-sig")
    assert "31-02-1985" in body or "tanggal" in body.lower()
    assert AuditEntry.objects.filter(action="upload.start", object_id=str(upload.pk)).exists()


def test_the_same_file_again_changes_nothing(client, personas, tmp_path):
    login(client, personas.bdl_admin)
    path = registry_file(tmp_path)
    post_file(client, path, "registry")
    post_file(client, path, "registry")
    first, second = Upload.objects.order_by("id")
    assert second.counts["unchanged"] == first.counts["created"] == 1
    assert second.counts["created"] == second.counts["updated"] == 0
    assert Resident.objects.count() == 1


def test_a_status_upload_reports_a_forbidden_move(client, personas, tmp_path):
    Resident.objects.all().delete()
    login(client, personas.bdl_admin)
    registry = [row(status_ktp="BIO_CAPTURED"), budi()]
    post_file(client, write_csv(tmp_path / "p.csv", registry), "registry")
    states = tmp_path / "siak.csv"
    states.write_text(
        "NIK,STATUS,TANGGAL\n"
        f"{SITI},PRINT_READY_RECORD,2020-11-20 09:00\n"
        f"{BUDI},CARD_PRINTED,2020-11-20 09:00\n",  # not recorded yet: never printed
        encoding="utf-8",
    )
    post_file(client, states, "statuses")
    upload = Upload.objects.filter(kind="statuses").get()
    assert upload.status == Upload.Status.DONE
    assert (upload.counts["rows_read"], upload.counts["rejected"]) == (2, 1)
    assert [line for line, *_ in upload.issues] == [3]
    assert upload.counts["moved"] == 1


def test_a_dpt_upload_names_its_election_and_links_the_changes(client, personas, tmp_path):
    election = make_election()
    login(client, personas.bdl_admin)
    dpt = write_dpt(tmp_path / "dpt.csv", [voter_row(SITI)])
    response = post_file(client, dpt, "dpt", election=election.pk)
    upload = Upload.objects.get()
    assert response.status_code == 302 and upload.status == Upload.Status.DONE
    assert upload.counts["added"] == 1 and Voter.objects.count() == 1
    assert upload.dpt_import is not None
    page = client.get(reverse("upload", args=[upload.pk])).content.decode()
    assert reverse("voters_import", args=[election.slug, upload.dpt_import.pk]) in page


def test_a_dpt_upload_needs_an_election(client, personas, tmp_path):
    login(client, personas.bdl_admin)
    dpt = write_dpt(tmp_path / "dpt.csv", [voter_row(SITI)])
    response = post_file(client, dpt, "dpt")
    assert response.status_code == 400
    assert "Pilih pemilihan untuk DPT ini." in response.content.decode()
    assert not Upload.objects.exists()


def test_an_unreadable_file_fails_with_the_reason(client, personas, tmp_path):
    login(client, personas.bdl_admin)
    fake = tmp_path / "rusak.xlsx"
    fake.write_bytes(b"not a workbook")
    post_file(client, fake, "registry")
    upload = Upload.objects.get()
    assert upload.status == Upload.Status.FAILED
    assert upload.error.startswith("Berkas tidak dapat diimpor:")


def test_only_csv_and_xlsx_are_taken(client, personas, tmp_path):
    login(client, personas.bdl_admin)
    other = tmp_path / "data.pdf"
    other.write_bytes(b"%PDF-1.4")
    response = post_file(client, other, "registry")
    assert response.status_code == 400
    assert "Berkas harus CSV atau XLSX." in response.content.decode()


def test_an_operator_may_not_upload(client, personas, tmp_path):
    login(client, personas.bdl_operator)
    assert client.get(reverse("uploads")).status_code == 403
    assert post_file(client, registry_file(tmp_path), "registry").status_code == 403
    assert not Upload.objects.exists()


def test_another_regencys_admin_cannot_follow_the_upload(client, personas, tmp_path):
    login(client, personas.bdl_admin)
    post_file(client, registry_file(tmp_path), "registry")
    upload = Upload.objects.get()
    lamsel_admin = user_create(
        username="lamsel_admin",
        password=PASSWORD,
        role=Role.REGENCY_ADMIN,
        office=personas.lamsel_office,
    )
    client.logout()
    login(client, lamsel_admin)
    pages: list[tuple[str, list[object]]] = [
        ("upload", [upload.pk]),
        ("upload_status", [upload.pk]),
        ("upload_report", [upload.pk, "laporan"]),
    ]
    for name, args in pages:
        assert client.get(reverse(name, args=args)).status_code == 404
    assert upload.file_name not in client.get(reverse("uploads")).content.decode()
    client.logout()
    login(client, personas.province_admin)
    assert client.get(reverse("upload", args=[upload.pk])).status_code == 200


def test_an_election_outside_the_jurisdiction_is_not_offered(client, personas, tmp_path):
    lamsel_only = make_election("lamsel-saja", regencies=("18.01",))
    login(client, personas.bdl_admin)
    joko = nik_for(HAJIMENA, date(1990, 5, 17), "P", 1)
    dpt = write_dpt(tmp_path / "dpt.csv", [voter_row(joko, village=HAJIMENA)])
    response = post_file(client, dpt, "dpt", election=lamsel_only.pk)
    assert response.status_code == 400 and not Upload.objects.exists()


def test_the_uploaded_file_is_removed_and_the_report_kept(client, personas, tmp_path, settings):
    login(client, personas.bdl_admin)
    named_like_the_report = registry_file(tmp_path).rename(tmp_path / "laporan.csv")
    post_file(client, named_like_the_report, "registry")
    upload = Upload.objects.get()
    assert upload.counts["rows_read"] == 4 and upload.file_name == "laporan.csv"
    assert not Path(upload.path).exists()
    assert Path(upload.report_path).is_file()


def test_an_upload_that_stopped_reporting_is_marked_failed(client, personas, tmp_path):
    login(client, personas.bdl_admin)
    post_file(client, registry_file(tmp_path), "registry")
    upload = Upload.objects.get()
    long_ago = timezone.now() - timedelta(hours=1)
    Upload.objects.filter(pk=upload.pk).update(status=Upload.Status.RUNNING, updated_at=long_ago)
    status = client.get(reverse("upload_status", args=[upload.pk])).json()
    assert status["finished"] and status["status"] == Upload.Status.FAILED
    assert "unggah berkasnya lagi" in status["error"]


def test_a_queued_upload_gone_stale_loses_its_file_even_if_run_later(client, personas, tmp_path):
    login(client, personas.bdl_admin)
    file = SimpleUploadedFile("p.csv", registry_file(tmp_path).read_bytes())
    upload = upload_start(kind="registry", file=file, acting_user=personas.bdl_admin)
    assert Path(upload.path).is_file()
    Upload.objects.filter(pk=upload.pk).update(updated_at=timezone.now() - timedelta(hours=1))
    client.get(reverse("upload", args=[upload.pk]))  # the page marks it failed
    assert not Path(upload.path).exists()
    with pytest.raises(UploadRefused):
        upload_run(upload=Upload.objects.get(pk=upload.pk))  # a worker picks it up late
    assert not Resident.objects.exists()


def test_reports_are_in_indonesian_whatever_the_page_language(client, personas, tmp_path):
    login(client, personas.bdl_admin)
    post_file(client, write_csv(tmp_path / "p.csv", [budi()]), "registry")
    client.cookies["django_language"] = "en"
    states = tmp_path / "siak.csv"
    states.write_text(f"NIK,STATUS,TANGGAL\n{BUDI},BIO_CAPTURED,2020-11-20 09:00\n")
    post_file(client, states, "statuses")
    (_, _, _, reason), *_ = Upload.objects.get(kind="statuses").issues
    assert "dari Belum rekam ke Sudah rekam biometrik" in reason


def test_a_regency_admins_dpt_upload_keeps_the_files_regency_column(client, personas, tmp_path):
    election = make_election()
    login(client, personas.bdl_admin)
    joko = nik_for(HAJIMENA, date(1980, 3, 3), "L", 5)
    dpt = write_dpt(
        tmp_path / "dpt.csv",
        [voter_row(joko, name="Joko", birth="03-03-1980", sex="L", village=HAJIMENA)],
    )
    post_file(client, dpt, "dpt", election=election.pk)
    upload = Upload.objects.get()
    assert upload.counts["accepted"] == 0 and "wilayah kerja" in upload.issues[0][3]
    assert not Voter.objects.exists()


# --- messy files (review of an admin loading them) -------------------------------------------

LAMSEL_VILLAGE = "18.01.04.2001"


def in_english(client):
    client.cookies["django_language"] = "en"


def test_an_unreadable_upload_fails_naming_the_line_not_a_system_error(client, personas, tmp_path):
    login(client, personas.bdl_admin)
    mac = tmp_path / "mac.csv"
    header, siti = ",".join(HEADER), ",".join(row(nama="Françoise"))
    mac.write_bytes(f"{header}\n{','.join(budi())}\n{siti}\n".encode("mac_roman"))
    post_file(client, mac, "registry")
    upload = Upload.objects.get()
    assert upload.status == Upload.Status.FAILED and upload.stage == ""
    assert upload.error == (
        "Berkas tidak dapat diimpor: baris 3 berisi karakter yang tidak terbaca (bukan UTF-8 "
        "atau Windows-1252); simpan ulang berkas sebagai CSV UTF-8"
    )
    status = client.get(reverse("upload_status", args=[upload.pk])).json()
    assert status["stage"] == "" and status["finished"]


def test_another_regencys_file_is_named_and_summed_up_as_nothing_accepted(
    client, personas, tmp_path
):
    login(client, personas.bdl_admin)
    rows = [
        row("1801045705900001", kode_desa=LAMSEL_VILLAGE),
        budi("1801042001850002", kode_desa=LAMSEL_VILLAGE),
    ]
    post_file(client, write_csv(tmp_path / "lamsel.csv", rows), "registry")
    upload = Upload.objects.get()
    assert upload.status == Upload.Status.DONE
    assert {reason for *_, reason in upload.issues} == {
        "Kabupaten Lampung Selatan di luar wilayah kerja kantor Anda"
    }
    assert upload.counts["outside_jurisdiction"] == 2
    in_english(client)
    page = client.get(reverse("upload", args=[upload.pk])).content.decode()
    outcome = "No row was accepted: every row is outside your jurisdiction."
    assert 'data-testid="upload-outcome"' in page and outcome in page
    assert outcome in client.get(reverse("uploads")).content.decode()


def test_rejected_rows_come_first_and_the_totals_are_said(client, personas, tmp_path, monkeypatch):
    monkeypatch.setattr(upload_services, "ISSUES_SHOWN", 2)
    login(client, personas.bdl_admin)
    warned = [
        row(f"18710157059000{n:02d}", telepon="123")  # a phone number that is not one
        for n in range(1, 4)
    ]
    rows = [*warned, budi(tanggal_lahir="31-02-1985")]  # line 5: rejected
    post_file(client, write_csv(tmp_path / "p.csv", rows), "registry")
    upload = Upload.objects.get()
    assert [(line, level) for line, _, level, _ in upload.issues] == [
        (5, "ditolak"),
        (2, "peringatan"),
    ]
    in_english(client)
    page = client.get(reverse("upload", args=[upload.pk])).content.decode()
    assert "Rejected rows in all: 1; warnings in all: 3." in page
    assert "Shown here: rejected rows first (1), then warnings (1), each by line." in page
    assert reverse("upload_report", args=[upload.pk, "laporan"]) in page


def test_a_header_only_upload_says_the_file_holds_no_rows(client, personas, tmp_path):
    login(client, personas.bdl_admin)
    post_file(client, write_csv(tmp_path / "kosong.csv", []), "registry")
    upload = Upload.objects.get()
    assert upload.status == Upload.Status.DONE and upload.counts["rows_read"] == 0
    in_english(client)
    page = client.get(reverse("upload", args=[upload.pk])).content.decode()
    assert "The file holds no data rows." in page
    assert "Every row was accepted without a warning." not in page


def test_a_stage_is_named_in_the_readers_language_and_gone_once_finished(client, personas):
    login(client, personas.bdl_admin)
    file = SimpleUploadedFile("p.csv", b"NIK\n")
    upload = upload_start(kind="registry", file=file, acting_user=personas.bdl_admin)
    in_english(client)
    status_url = reverse("upload_status", args=[upload.pk])
    for stored, shown in [
        (upload_services.STAGE_READING, "Reading and checking the rows"),
        (upload_services.STAGE_APPLYING, "Applying the states"),
        ("menyimpan", "Saving"),  # the DPT import's own stage
    ]:
        Upload.objects.filter(pk=upload.pk).update(status=Upload.Status.RUNNING, stage=stored)
        assert client.get(status_url).json()["stage"] == shown
        assert (
            f'data-field="stage">{shown}<' in client.get(reverse("upload", args=[upload.pk])).text
        )
    # A stage left over once the import has finished is not repeated after its status.
    for status in (Upload.Status.DONE, Upload.Status.FAILED):
        Upload.objects.filter(pk=upload.pk).update(status=status, stage="selesai")
        assert client.get(status_url).json()["stage"] == ""
        assert 'data-field="stage"><' in client.get(reverse("upload", args=[upload.pk])).text


def test_a_dpt_upload_names_the_regencies_of_its_file(client, personas, tmp_path):
    election = make_election()
    login(client, personas.bdl_admin)
    post_file(
        client, write_dpt(tmp_path / "dpt.csv", [voter_row(SITI)]), "dpt", election=election.pk
    )
    upload = Upload.objects.get()
    page = client.get(reverse("upload", args=[upload.pk])).content.decode()
    assert "<dd>Kota Bandar Lampung</dd>" in page


def test_a_registry_upload_moves_its_progress_while_a_chunk_is_read(
    client, personas, tmp_path, monkeypatch
):
    monkeypatch.setattr(importers, "PROGRESS_ROWS", 1)
    monkeypatch.setattr(upload_services, "PROGRESS_EVERY", 0)
    told: list[int] = []
    rows_of = upload_services._Progress.rows

    def spy(self, done, total):
        told.append(done)
        rows_of(self, done, total)

    monkeypatch.setattr(upload_services._Progress, "rows", spy)
    login(client, personas.bdl_admin)
    rows = [row(f"18710157059000{n:02d}") for n in range(1, 5)]
    post_file(client, write_csv(tmp_path / "p.csv", rows), "registry")
    assert told == [1, 2, 3, 4, 4]
    assert Upload.objects.get().percent == 100
