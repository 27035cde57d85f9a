"""A printed card revokes its holder's Suket whichever path reports it: a counter, the central
status import, the registry import. The published list and the offline verifier then agree."""

from __future__ import annotations

import csv
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from rekam.audit.models import AuditEntry
from rekam.residents.importers import registry_import
from rekam.residents.states import KtpState
from rekam.suket.keys import published_keys
from rekam.suket.models import Suket
from rekam.suket.services import revocation_list_published, suket_issue
from rekam.suket.stock import blank_receive, card_print
from rekam.suket.verify import DICABUT, SAH, KeySet, RevocationList, verify_qr_text

from .factories import make_resident
from .test_suket_support import make_pilkada, ready_office


@pytest.fixture
def election(personas):
    ready_office(personas.bdl_office, blanks=0)
    today = timezone.localdate()
    election = make_pilkada()
    election.polling_day = election.suket_issue_until = today + timedelta(days=3)
    election.suket_valid_until = today + timedelta(days=20)
    election.save()
    return election


def issue(election, **fields) -> Suket:
    resident = make_resident(ktp_state=KtpState.PRINT_READY_RECORD, **fields)
    suket = suket_issue(resident=resident, election=election).suket
    assert suket is not None and suket.reason == "BLANKO_HABIS"
    return suket


def offline(text: str) -> str:
    return verify_qr_text(
        text,
        keys=KeySet.from_published(published_keys()),
        revoked=RevocationList.from_published(revocation_list_published()),
        now=timezone.now(),
    ).status


def siak_export(tmp_path: Path, *rows: tuple[str, str]) -> Path:
    at = timezone.localtime(timezone.now() - timedelta(hours=1))
    path = tmp_path / "siak.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["NIK", "STATUS", "TANGGAL"])
        w.writerows([nik, state, f"{at:%d-%m-%Y %H:%M}"] for nik, state in rows)
    return path


def test_a_card_printed_elsewhere_in_a_status_import_revokes_the_suket(election, tmp_path):
    suket = issue(election)
    assert offline(suket.qr_text) == SAH
    path = siak_export(tmp_path, (suket.resident.nik, "SUDAH CETAK"))
    call_command("import_statuses", str(path), "--no-progress")
    suket.refresh_from_db()
    assert suket.revoked_at is not None and "import:siak.csv" in suket.revoked_reason
    assert revocation_list_published()["count"] == 1
    assert offline(suket.qr_text) == DICABUT


def test_the_online_check_reads_the_revocation_not_the_record_state(election, tmp_path, client):
    suket = issue(election)
    call_command(
        "import_statuses",
        str(siak_export(tmp_path, (suket.resident.nik, "CARD_PRINTED"))),
        "--no-progress",
    )
    data = client.get("/verifikasi/periksa", {"qr": suket.qr_text}).json()
    assert data["status"] == DICABUT


def test_a_status_import_revokes_everyone_it_reports_printed_and_no_one_else(election, tmp_path):
    printed = [issue(election, name=f"Warga {i}") for i in range(3)]
    waiting = make_resident(ktp_state=KtpState.SENT_FOR_ENROLLMENT, name="Belum Cetak")
    kept = suket_issue(resident=waiting, election=election).suket
    assert kept is not None
    rows = [(s.resident.nik, "CARD_PRINTED") for s in printed] + [(waiting.nik, "PRR")]
    call_command("import_statuses", str(siak_export(tmp_path, *rows)), "--no-progress")
    assert set(Suket.objects.filter(revoked_at__isnull=False)) == set(printed)
    assert offline(kept.qr_text) == SAH
    assert AuditEntry.objects.filter(action="suket.revoke").count() == 3


def test_a_registry_import_that_reports_the_card_printed_revokes_the_suket(election, tmp_path):
    suket = issue(election)
    r = suket.resident
    path = tmp_path / "registry.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["nik", "nama", "tanggal_lahir", "jenis_kelamin", "kode_desa", "status_ktp"])
        w.writerow([r.nik, r.name, f"{r.birth_date:%d-%m-%Y}", r.sex, r.village_id, "TERCETAK"])
    result = registry_import(path=path)
    assert result.moves == 1
    suket.refresh_from_db()
    assert suket.revoked_at is not None
    assert offline(suket.qr_text) == DICABUT


def test_a_dry_run_registry_import_revokes_nothing(election, tmp_path):
    suket = issue(election)
    r = suket.resident
    path = tmp_path / "registry.csv"
    path.write_text(
        "nik,nama,tanggal_lahir,jenis_kelamin,kode_desa,status_ktp\n"
        f"{r.nik},{r.name},{r.birth_date:%d-%m-%Y},{r.sex},{r.village_id},CETAK\n",
        encoding="utf-8",
    )
    registry_import(path=path, dry_run=True)
    suket.refresh_from_db()
    assert suket.revoked_at is None


def test_printing_at_the_counter_revokes_once_naming_the_blank(election, personas):
    suket = issue(election)
    blank_receive(office=personas.bdl_office, count=1, batch="B-1")
    card_print(resident=suket.resident, card_serial="KTP0000009", acting_user=personas.bdl_operator)
    suket.refresh_from_db()
    assert "KTP0000009" in suket.revoked_reason
    entry = AuditEntry.objects.get(action="suket.revoke", object_id=str(suket.pk))
    assert entry.actor == personas.bdl_operator
