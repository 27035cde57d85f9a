"""Central (SIAK) status exports: rekam import_statuses, FileCentralSystem and apply_updates."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from django.core.management import call_command
from django.utils import timezone

from rekam.residents.central import FileCentralSystem, apply_updates
from rekam.residents.importers import statuses_import
from rekam.residents.models import ImportBatch, RecordEvent
from rekam.residents.states import KtpState

from .factories import make_resident
from .test_record_moves import announcements

DATA = Path(__file__).parent / "data"
WIB = ZoneInfo("Asia/Jakarta")
SITI = "1871015705900001"
BUDI = "1871012001850002"


def siti(state: str = KtpState.BIO_CAPTURED, at: datetime | None = None):
    return make_resident(nik=SITI, ktp_state=state, ktp_state_at=at)


def budi(state: str = KtpState.BIO_CAPTURED, at: datetime | None = None):
    return make_resident(
        nik=BUDI,
        name="Budi Santoso",
        birth_date=date(1985, 1, 20),
        sex="L",
        ktp_state=state,
        ktp_state_at=at,
    )


def export(tmp_path: Path, *lines: str, name: str = "siak.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(["NIK,STATUS,TANGGAL", *lines]) + "\n", encoding="utf-8")
    return path


def reasons(result, level: str = "ditolak") -> dict[int, str]:
    return {i.line: i.reason for i in result.issues if i.level == level}


def test_a_move_is_applied_with_an_event_and_the_central_timestamp(lampung, tmp_path):
    r = siti()
    result = statuses_import(path=export(tmp_path, f"{SITI},PRR,03-12-2020 10:15"))
    assert result.moved == 1
    r.refresh_from_db()
    assert r.ktp_state == KtpState.PRINT_READY_RECORD
    assert r.ktp_state_at == datetime(2020, 12, 3, 10, 15, tzinfo=WIB)
    event = RecordEvent.objects.get(resident=r)
    assert (event.from_state, event.to_state, event.source, event.actor_label) == (
        KtpState.BIO_CAPTURED,
        KtpState.PRINT_READY_RECORD,
        "central",
        "import:siak.csv",
    )


def test_a_forbidden_move_is_reported_and_not_made(lampung, tmp_path):
    r = siti(KtpState.PRINT_READY_RECORD)
    result = statuses_import(path=export(tmp_path, f"{SITI},BELUM_REKAM,04-12-2020 09:00"))
    assert (
        reasons(result)[2]
        == "Perpindahan status dari Siap cetak (PRR) ke Belum rekam tidak diizinkan."
    )
    r.refresh_from_db()
    assert r.ktp_state == KtpState.PRINT_READY_RECORD
    assert not RecordEvent.objects.exists()


def test_an_office_move_is_refused_to_the_central_system(lampung, tmp_path):
    siti(KtpState.ENROLL_FAILURE)
    result = statuses_import(path=export(tmp_path, f"{SITI},BIO_CAPTURED,04-12-2020 09:00"))
    assert "kantor pelayanan" in reasons(result)[2]


def test_an_unknown_nik_is_rejected(lampung, tmp_path):
    result = statuses_import(path=export(tmp_path, "1871010101800009,PRR,02-12-2020 09:00"))
    assert reasons(result) == {2: "NIK tidak terdaftar di data penduduk"}


def test_the_same_state_is_unchanged_and_a_re_run_changes_nothing(lampung, tmp_path):
    siti()
    budi()
    path = export(
        tmp_path,
        f"{SITI},SENT_FOR_ENROLLMENT,01-12-2020 08:00",
        f"{SITI},PRINT_READY_RECORD,03-12-2020 10:15",
        f"{BUDI},BIO_CAPTURED,01-12-2020 08:00",
    )
    first = statuses_import(path=path)
    assert (first.moved, first.unchanged) == (2, 1)
    events = RecordEvent.objects.count()
    again = statuses_import(path=path)
    assert (again.moved, again.unchanged, again.stale, again.rejected) == (0, 3, 0, 0)
    assert RecordEvent.objects.count() == events
    assert not again.issues


def test_an_update_older_than_the_current_state_is_ignored_as_stale(lampung, tmp_path):
    r = siti(KtpState.RECEIVED_AT_CENTRAL, at=datetime(2020, 12, 3, tzinfo=WIB))
    result = statuses_import(path=export(tmp_path, f"{SITI},PRR,02-12-2020 09:00"))
    assert (result.moved, result.stale) == (0, 1)
    assert "lebih lama dari status saat ini" in reasons(result, "peringatan")[2]
    r.refresh_from_db()
    assert r.ktp_state == KtpState.RECEIVED_AT_CENTRAL


def test_several_updates_for_one_nik_apply_in_timestamp_order(lampung, tmp_path):
    r = siti()
    path = export(
        tmp_path,
        f"{SITI},PRINT_READY_RECORD,2020-12-05 10:00",
        f"{SITI},RECEIVED_AT_CENTRAL,2020-12-03 10:00",
        f"{SITI},SENT_FOR_ENROLLMENT,2020-12-01 10:00",
    )
    result = statuses_import(path=path)
    assert (result.moved, result.rejected) == (3, 0)
    assert list(RecordEvent.objects.filter(resident=r).values_list("to_state", flat=True)) == [
        KtpState.SENT_FOR_ENROLLMENT,
        KtpState.RECEIVED_AT_CENTRAL,
        KtpState.PRINT_READY_RECORD,
    ]


def test_unreadable_rows_are_rejected_with_their_line(lampung, tmp_path):
    siti()
    path = export(
        tmp_path,
        f"{SITI},TERBANG,02-12-2020 09:00",
        f"{SITI},PRR,31-11-2020 09:00",
        "1.87101E+15,PRR,02-12-2020 09:00",
    )
    result = statuses_import(path=path)
    found = reasons(result)
    assert "status tidak dikenali (TERBANG)" in found[2]
    assert "tidak ada di kalender" in found[3]
    assert "notasi ilmiah" in found[4]
    assert result.rows_read == 3 and result.rejected == 3


def test_the_messy_sample_export(lampung):
    siti()
    budi()
    result = statuses_import(path=DATA / "statuses_messy.csv")
    assert result.rows_read == 7
    assert (result.moved, result.rejected) == (3, 4)
    assert set(reasons(result)) == {8, 9, 10, 11}


def test_the_run_is_an_import_batch_and_the_report_lists_issues(lampung, tmp_path):
    siti()
    result = statuses_import(
        path=export(tmp_path, f"{SITI},PRR,02-12-2020 09:00", "1871010101800009,PRR,2020-12-02"),
        report_path=tmp_path / "laporan.csv",
    )
    batch = ImportBatch.objects.get(pk=result.batch.pk)
    assert (batch.kind, batch.rows_read, batch.updated, batch.rejected) == ("statuses", 2, 1, 1)
    assert "NIK tidak terdaftar" in (tmp_path / "laporan.csv").read_text(encoding="utf-8-sig")


def test_a_regency_admin_cannot_move_residents_of_another_regency(personas, tmp_path):
    make_resident("18.01.04.2001", nik="1801045705900001", ktp_state=KtpState.BIO_CAPTURED)
    path = export(tmp_path, "1801045705900001,PRR,02-12-2020 09:00")
    result = statuses_import(path=path, acting_user=personas.bdl_admin)
    assert "luar wilayah" in reasons(result)[2]


def test_file_central_system_yields_updates_with_lines(tmp_path):
    system = FileCentralSystem(export(tmp_path, f"'{SITI},siap cetak,2020-12-02T09:00:00+07:00"))
    (update,) = list(system.updates())
    assert (update.nik, update.state, update.line) == (SITI, KtpState.PRINT_READY_RECORD, 2)
    assert update.at == datetime(2020, 12, 2, 9, tzinfo=WIB)


def test_apply_updates_takes_any_central_system(lampung, tmp_path):
    siti()
    result = apply_updates(FileCentralSystem(export(tmp_path, f"{SITI},PRR,2020-12-02 09:00")))
    assert result.moved == 1


def test_the_command_prints_issues_and_a_summary(lampung, tmp_path, capsys):
    siti(KtpState.PRINT_READY_RECORD)
    path = export(tmp_path, f"{SITI},BELUM_REKAM,04-12-2020 09:00")
    call_command("import_statuses", str(path), "--no-progress")
    out = capsys.readouterr().out
    assert "baris 2: ditolak: Perpindahan status dari Siap cetak (PRR) ke Belum rekam" in out
    assert "Laporan:" in out


def stamp(moment: datetime) -> str:
    return f"{timezone.localtime(moment):%d-%m-%Y %H:%M}"


def test_an_update_timestamped_in_the_future_is_rejected_and_does_not_freeze_the_record(
    lampung, tmp_path
):
    r = siti()
    ahead = timezone.now() + timedelta(days=2)
    first = statuses_import(path=export(tmp_path, f"{SITI},SENT_FOR_ENROLLMENT,{stamp(ahead)}"))
    assert first.rejected == 1 and "waktu status di masa depan" in reasons(first)[2]
    assert not RecordEvent.objects.exists()
    # The real update that follows is applied, not ignored as older than a future state.
    then = timezone.now() - timedelta(hours=1)
    second = statuses_import(path=export(tmp_path, f"{SITI},PRR,{stamp(then)}", name="b.csv"))
    assert (second.moved, second.stale) == (1, 0)
    r.refresh_from_db()
    assert r.ktp_state == KtpState.PRINT_READY_RECORD


def test_a_timestamp_a_few_minutes_ahead_is_clock_skew_and_accepted(lampung, tmp_path):
    siti()
    ahead = timezone.now() + timedelta(minutes=5)
    result = statuses_import(path=export(tmp_path, f"{SITI},PRR,{stamp(ahead)}"))
    assert (result.moved, result.rejected) == (1, 0)


def test_a_batch_is_announced_once_per_new_state_and_day_inside_its_transaction(lampung, tmp_path):
    s, b = siti(), budi()
    c = make_resident(
        name="Cetak", birth_date=date(1980, 1, 1), ktp_state=KtpState.PRINT_READY_RECORD
    )
    d = make_resident(
        name="Dewi", birth_date=date(1981, 1, 1), ktp_state=KtpState.RECEIVED_AT_CENTRAL
    )
    path = export(
        tmp_path,
        f"{SITI},PRR,02-12-2020 09:00",
        f"{BUDI},PRR,03-12-2020 09:00",
        f"{c.nik},CARD_PRINTED,04-12-2020 09:00",
        f"{d.nik},PRR,02-12-2020 15:00",
        "1871010101800009,PRR,02-12-2020 09:00",
    )
    with announcements() as sent:
        statuses_import(path=path)
    # Per day, so that receivers counting per day (the dashboard) see each move on its day.
    assert sent == [
        (KtpState.CARD_PRINTED, [c.pk], datetime(2020, 12, 4, 9, tzinfo=WIB), "import:siak.csv"),
        (
            KtpState.PRINT_READY_RECORD,
            sorted([s.pk, d.pk]),
            datetime(2020, 12, 2, 15, tzinfo=WIB),
            "import:siak.csv",
        ),
        (
            KtpState.PRINT_READY_RECORD,
            [b.pk],
            datetime(2020, 12, 3, 9, tzinfo=WIB),
            "import:siak.csv",
        ),
    ]


def test_a_run_that_moves_nothing_announces_nothing(lampung, tmp_path):
    siti(KtpState.PRINT_READY_RECORD)
    with announcements() as sent:
        statuses_import(path=export(tmp_path, f"{SITI},PRR,02-12-2020 09:00"))
    assert sent == []


def test_reasons_name_the_states_by_their_labels_not_their_codes(lampung, tmp_path):
    siti(KtpState.RECEIVED_AT_CENTRAL, at=datetime(2020, 12, 3, tzinfo=WIB))
    budi(KtpState.BELUM_REKAM)
    path = export(
        tmp_path,
        f"{SITI},SENT_FOR_ENROLLMENT,02-12-2020 09:00",  # older than the state on record
        f"{BUDI},CARD_PRINTED,02-12-2020 09:00",  # never recorded: never printed
    )
    result = statuses_import(path=path)
    stale, refused = reasons(result, "peringatan")[2], reasons(result)[3]
    assert stale == (
        "diabaikan: pembaruan ke Dikirim ke pusat data (02-12-2020 09:00) "
        "lebih lama dari status saat ini"
    )
    assert refused.startswith("Perpindahan status dari Belum rekam ke ")
    codes = [s.value for s in KtpState]
    assert not [code for code in codes if code in stale or code in refused]
