"""The daily report: the PDF's figures from a small hand-built province, its length, the
schedule (idempotent, and its loop on a fake clock), who may see which report, its language
(always Indonesian) and the short transaction that stores it."""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import translation
from pypdf import PdfReader

from rekam.audit.models import AuditEntry
from rekam.elections.models import Election
from rekam.reporting.figures import Dashboard, DayProgress, OfficeFigures, Row
from rekam.reporting.flags import Flag, flags_for
from rekam.reporting.models import DailyReport
from rekam.reporting.report import (
    ON_DEMAND,
    SCHEDULE,
    TREND_TITLE,
    ReportContent,
    ReportRefused,
    _build,
    decimal_id,
    number_id,
    percent_id,
    render_content,
    report_content,
    report_make,
    report_render,
    reports_due,
    worst_first,
)
from rekam.residents.services import record_move
from rekam.residents.states import KtpState
from rekam.suket.services import suket_issue
from rekam.suket.stock import card_print

from .test_reporting_support import build_province
from .test_suket_support import JAKARTA, jakarta, ready_office

# Saturday 5 December 2020: four days before polling day (Wednesday 9 December).
TODAY = date(2020, 12, 5)
MADE_AT = datetime(2020, 12, 5, 6, 0, tzinfo=JAKARTA)


@pytest.fixture
def province(tmp_path, personas):
    """The province of :func:`build_province`; then Bandar Lampung prints the PRR card (3 Dec),
    records voter 1 (4 Dec) and issues them a Suket."""
    election, people = build_province(tmp_path)
    ready_office(personas.bdl_office, blanks=5)
    card_print(
        resident=people[4],
        card_serial="KTP-0001",
        acting_user=personas.bdl_operator,
        at=jakarta(2020, 12, 3),
    )
    record_move(
        resident=people[1],
        to_state=KtpState.BIO_CAPTURED,
        acting_user=personas.bdl_operator,
        at=jakarta(2020, 12, 4),
    )
    issued = suket_issue(
        resident=people[1],
        election=election,
        acting_user=personas.bdl_operator,
        at=jakarta(2020, 12, 4, 11),
    )
    assert issued.suket is not None
    return election


def pdf_text(data: bytes) -> tuple[int, str]:
    """Pages and the text of a PDF, whitespace folded to single spaces."""
    reader = PdfReader(io.BytesIO(data))
    text = " ".join(page.extract_text() for page in reader.pages)
    return len(reader.pages), re.sub(r"\s+", " ", text)


def test_numbers_are_written_the_indonesian_way():
    assert number_id(1234567) == "1.234.567"
    assert decimal_id(1234.56) == "1.234,6"
    assert decimal_id(0.5) == "0,5"
    assert decimal_id(0.25) == "0,3"  # half up, as the dashboard's pages round
    assert decimal_id(2 / 3) == "0,7"
    assert percent_id(1 / 8) == "12,5 %"
    assert percent_id(None) == "—"


def test_the_province_report_holds_the_figures(province):
    pdf, pages = report_render(province, within="", day=TODAY, generated_at=MADE_AT)
    read_pages, text = pdf_text(pdf)
    assert pdf.startswith(b"%PDF") and pages == read_pages and 1 <= pages <= 2
    assert "DINAS KEPENDUDUKAN DAN PENCATATAN SIPIL PROVINSI LAMPUNG" in text
    assert "Laporan Harian Perekaman KTP-el dan Suket — Pilkada Uji" in text
    assert "Sabtu, 5 Desember 2020" in text
    # The dashboard's words: "pencocokan", not "rekonsiliasi".
    assert "Pencocokan DPT terakhir: " in text and "ekonsiliasi" not in text
    assert "H-4: 4 hari lagi menuju hari pemungutan suara (Rabu, 9 Desember 2020)" in text
    # Key totals: 8 voters; 3 unrecorded at the reconciliation, 2 now (25 %), 1 recorded since;
    # 2 at the data centre, none PRR, 3 printed, 1 not in the registry; 1 Suket; 4 blanks left,
    # 1 card printed in 7 days, so 28 days of stock in Bandar Lampung; Lampung Selatan has no
    # blank, 0 days, and the province counts the fewest days of its offices.
    for label, value in [
        ("DPT (hasil pencocokan)", "8"),
        ("Belum rekam saat pencocokan", "3"),
        ("Belum rekam sekarang", "2"),
        ("Bagian belum rekam sekarang", "25,0 %"),
        ("Rekam sejak pencocokan", "1"),
        ("Menunggu penunggalan", "2"),
        ("Data ganda", "0"),
        ("PRR belum cetak", "0"),
        ("Sudah cetak", "3"),
        ("Tidak ditemukan / NIK tidak valid", "1"),
        ("Suket terbit", "1"),
        ("Suket berlaku", "1"),
        ("Suket dicabut", "0"),
        ("Suket kedaluwarsa sebelum hari H", "0"),
        ("Undangan", "0"),
        ("Blangko tersedia", "4"),
        ("Hari stok blangko terpendek", "0"),
        ("Blangko kantor terpakai/hari (7 hari)", "0,1"),
    ]:
        assert f"{label} {value} " in text, label
    # One row per regency/city: name, DPT, unrecorded at the run and now, share, waiting for
    # deduplication, PRR, printed, valid Sukets, blanks, days of stock.
    assert "Kabupaten Lampung Selatan 2 1 1 50,0 % 0 0 1 0 0 0" in text
    assert "Kota Bandar Lampung 6 2 1 16,7 % 2 0 2 1 4 28" in text
    # The province's days of stock are its offices' fewest, and say so.
    assert "Jumlah 8 3 2 25,0 % 2 0 3 1 4 0 terpendek" in text
    assert "wilayah lain" not in text
    # Neither regency's office opens on polling day (no service point): R1 flagged twice.
    closed = next(
        f for f in flags_for(province, None, today=TODAY) if f.kind == "closed_polling_day"
    )
    assert closed.count == 2
    assert closed.title in text
    # The last 7 days (29 Nov to 5 Dec): voter 1 recorded on the 4th, the card printed on the
    # 3rd; to finish by polling day 2 recordings and 4 cards are needed in 5 days: 0,4 and 0,8
    # a day, with one decimal as the dashboard shows them.
    assert "29/11 30/11 01/12 02/12 03/12 04/12 05/12 Rata-rata Dibutuhkan per hari" in text
    assert "Direkam 0 0 0 0 0 1 0 0,1 0,4 " in text
    # Voters' cards printed, from any source (a SIAK status report too): not the office's blanks.
    assert "Kartu tercetak (termasuk laporan SIAK) 0 0 0 0 1 0 0 0,1 0,8 " in text
    assert "dibagi 5 hari layanan tersisa sampai hari pemungutan suara" in text
    assert "Dibuat 5 Desember 2020 pukul 06.00 WIB" in text
    assert f"Halaman 1 dari {pages}" in text


def test_a_regency_report_shows_its_kecamatan_under_its_office(province):
    pdf, pages = report_render(province, within="18.71", day=TODAY, generated_at=MADE_AT)
    read_pages, text = pdf_text(pdf)
    assert pages == read_pages and 1 <= pages <= 2
    assert "DINAS KEPENDUDUKAN DAN PENCATATAN SIPIL KOTA BANDAR LAMPUNG" in text
    assert "Kota Bandar Lampung · Sabtu, 5 Desember 2020" in text
    # Kedaton holds all six voters; the city's other kecamatan have none.
    assert "Kedaton 6 2 1 16,7 % 2 0 2 1 0 0" in text
    assert "Jumlah 6 2 1 16,7 % 2 0 2 1 0 0" in text
    assert "Lampung Selatan" not in text
    assert "Blangko tersedia 4 " in text and "Hari stok blangko 28 " in text
    assert "terpendek" not in text  # one office: its own days of stock


def test_the_same_figures_give_the_same_bytes(province):
    first = report_render(province, within="18.71", day=TODAY, generated_at=MADE_AT)
    again = report_render(province, within="18.71", day=TODAY, generated_at=MADE_AT)
    assert first == again


def test_a_regency_not_holding_the_election_gets_no_report(province):
    with pytest.raises(ReportRefused):
        report_render(province, within="18.02", day=TODAY)


def _content(regions: int) -> ReportContent:
    """A made-up province with ``regions`` rows; row n has n % 50 of its 1000 voters
    unrecorded."""
    election = Election(
        name="Pilkada Uji",
        slug="uji",
        polling_day=date(2020, 12, 9),
        suket_issue_until=date(2020, 12, 9),
        suket_valid_until=date(2020, 12, 31),
    )
    rows = [
        Row(
            code=f"99.{n:03d}",
            name=f"Wilayah {n:03d}",
            voters=1000,
            unrecorded_at_run=50,
            unrecorded_now=n % 50,
            office=OfficeFigures(blanks=10),
        )
        for n in range(regions)
    ]
    total = Row(code="", name="", office=OfficeFigures(office_open_polling_day=True))
    for row in rows:
        total.add(row)
    progress = [DayProgress(TODAY - timedelta(days=13 - n), n, n) for n in range(14)]
    dash = Dashboard(
        election=election,
        within="",
        within_name="Provinsi",
        level="regency",
        rows=rows,
        total=total,
        today=TODAY,
        last_run=None,
        progress=progress,
    )
    return ReportContent(
        dash=dash,
        office_name="Dinas Kependudukan dan Pencatatan Sipil Provinsi Uji",
        office_address="",
        area="Provinsi Uji",
        stock=total.office or OfficeFigures(),
        flags=[Flag("k", "Catatan uji", "R1", "Penjelasan.", 3)],
        generated_at=MADE_AT,
        row_names={},
    )


def test_too_many_regions_show_the_worst_first_on_two_pages():
    pdf, pages = render_content(_content(200))
    read_pages, text = pdf_text(pdf)
    assert pages == read_pages == 2
    shown = [int(n) for n in re.findall(r"Wilayah (\d{3}) ", text)]
    hidden = int(re.search(r"… dan (\d+) wilayah lain", text)[1])  # type: ignore[index]
    assert 20 < len(shown) < 200 and len(shown) + hidden == 200
    # The worst (49 of 1000 unrecorded: rows 49, 99, 149, 199) come first.
    assert shown[:4] == [49, 99, 149, 199]
    shares = [n % 50 for n in shown]
    assert shares == sorted(shares, reverse=True)
    # The total still counts every region.
    assert f"Jumlah {number_id(200_000)} {number_id(10_000)} " in text
    assert "Halaman 2 dari 2" in text


def test_tighter_margins_that_still_leave_too_many_pages_give_way_to_the_cut():
    """120 regions take four pages, three with the tighter margins: still more than two, so
    the worst regions are shown on two pages and the rest counted."""
    content = _content(120)
    rows = content.dash.rows
    assert (_build(content, rows, 0)[1], _build(content, rows, 0, tight=True)[1]) == (4, 3)
    pdf, pages = render_content(content)
    read_pages, text = pdf_text(pdf)
    assert pages == read_pages == 2
    shown = len(re.findall(r"Wilayah (\d{3}) ", text))
    hidden = int(re.search(r"… dan (\d+) wilayah lain", text)[1])  # type: ignore[index]
    assert hidden and shown + hidden == 120
    # The tighter margins show regions the normal ones could not fit on two pages.
    ranked = worst_first(rows)
    assert _build(content, ranked[:shown], hidden)[1] > 2


def test_a_small_province_fits_without_hiding_any_region():
    content = _content(5)
    pdf, pages = render_content(content)
    _, text = pdf_text(pdf)
    assert pages == 1 and "wilayah lain" not in text
    assert re.findall(r"Wilayah (\d{3}) ", text) == ["000", "001", "002", "003", "004"]
    # The flag and its count.
    assert "Catatan uji Penjelasan. R1 3" in text
    assert render_content(replace(content, flags=[]))[1] == 1


def test_the_last_section_is_never_split_from_its_note_or_rows():
    """However many regions, the 7-day table, its rows and its note stay on one page: a report
    that would spill only the note onto a second page is drawn on one."""
    one_page = 0
    for regions in range(8, 40):
        pdf, pages = render_content(_content(regions))
        texts = [re.sub(r"\s+", " ", p.extract_text()) for p in PdfReader(io.BytesIO(pdf)).pages]
        assert len(texts) == pages
        one_page += pages == 1
        (holding,) = [t for t in texts if "Dibutuhkan per hari:" in t]
        assert TREND_TITLE in holding and "Kartu tercetak (termasuk laporan SIAK) " in holding
    assert one_page
    # 22 regions once spilled the note alone onto a second page: tighter margins keep it on one.
    assert render_content(_content(22))[1] == 1


def test_a_report_is_kept_with_its_hash_and_audited(province, personas):
    report = report_make(
        election=province,
        within="",
        day=TODAY,
        acting_user=personas.province_admin,
        trigger=ON_DEMAND,
    )
    report.refresh_from_db()
    pages, _ = pdf_text(bytes(report.pdf))
    assert report.pages == pages and report.created_by == personas.province_admin
    assert report.pdf_sha256 == hashlib.sha256(bytes(report.pdf)).hexdigest()
    entry = AuditEntry.objects.get(action="daily_report.make", object_id=str(report.pk))
    assert entry.actor == personas.province_admin and entry.changes["trigger"] == [None, ON_DEMAND]
    # A second one the same day is a new report; the first stays as it was.
    second = report_make(
        election=province,
        within="",
        day=TODAY,
        acting_user=personas.province_admin,
        trigger=ON_DEMAND,
    )
    assert second.pk != report.pk and DailyReport.objects.filter(region_code="").count() == 2


def test_a_regency_user_cannot_make_the_province_or_another_regencys_report(province, personas):
    with pytest.raises(PermissionDenied):
        report_make(
            election=province,
            within="",
            day=TODAY,
            acting_user=personas.bdl_admin,
            trigger=ON_DEMAND,
        )
    with pytest.raises(PermissionDenied):
        report_make(
            election=province,
            within="18.71",
            day=TODAY,
            acting_user=personas.lamsel_operator,
            trigger=ON_DEMAND,
        )
    assert not DailyReport.objects.exists()


def test_the_schedule_makes_each_report_once(province):
    # An election long over (polling day and Suket validity past) gets no report.
    Election.objects.create(
        name="Pilkada Lama",
        slug="lama",
        polling_day=date(2020, 10, 1),
        suket_issue_until=date(2020, 10, 1),
        suket_valid_until=date(2020, 11, 30),
    )
    made = reports_due(day=TODAY)
    assert sorted((r.election.slug, r.region_code) for r in made) == [
        ("pilkada-uji", ""),
        ("pilkada-uji", "18.01"),
        ("pilkada-uji", "18.71"),
    ]
    assert all(r.trigger == SCHEDULE and r.created_by is None for r in made)
    assert reports_due(day=TODAY) == []
    assert DailyReport.objects.count() == 3
    # An on-demand report does not stand in for the scheduled one of the next day.
    report_make(
        election=province,
        within="",
        day=TODAY + timedelta(days=1),
        acting_user=None,
        trigger=ON_DEMAND,
    )
    assert len(reports_due(day=TODAY + timedelta(days=1))) == 3


def test_the_command_makes_the_due_reports_and_writes_them(province, tmp_path):
    out = io.StringIO()
    call_command("daily_report", day="2020-12-05", out=str(tmp_path), stdout=out)
    files = sorted(p.name for p in tmp_path.glob("*.pdf"))
    assert len(files) == 3 and all(f.startswith("laporan-harian-pilkada-uji-") for f in files)
    assert out.getvalue().count("halaman") == 3
    for path in tmp_path.glob("*.pdf"):
        pages, _ = pdf_text(path.read_bytes())
        assert 1 <= pages <= 2
    call_command("daily_report", day="2020-12-05", stdout=out)
    assert "Tidak ada laporan baru untuk 2020-12-05." in out.getvalue()
    assert DailyReport.objects.count() == 3


def test_the_command_makes_one_on_demand(province):
    out = io.StringIO()
    call_command(
        "daily_report", election="pilkada-uji", region="18.01", day="2020-12-05", stdout=out
    )
    report = DailyReport.objects.get()
    assert (report.region_code, report.trigger, report.day) == ("18.01", ON_DEMAND, TODAY)
    assert f"#{report.pk}" in out.getvalue()


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.now_at = start
        self.slept = 0.0

    def now(self) -> datetime:
        return self.now_at

    def sleep(self, seconds: float) -> None:
        self.slept += seconds
        self.now_at += timedelta(seconds=seconds)


def test_the_loop_waits_for_the_report_time(province, settings):
    settings.REPORT_DAILY_AT = "06:00"
    clock = FakeClock(datetime(2020, 12, 5, 5, 0, tzinfo=JAKARTA))
    out = io.StringIO()
    call_command(
        "daily_report", loop=True, max_runs=1, clock=clock.now, sleep=clock.sleep, stdout=out
    )
    assert clock.slept == 3600
    assert sorted(DailyReport.objects.values_list("day", "region_code", "trigger")) == [
        (TODAY, "", SCHEDULE),
        (TODAY, "18.01", SCHEDULE),
        (TODAY, "18.71", SCHEDULE),
    ]


def test_the_loop_catches_up_then_runs_next_morning(province):
    # Started at 09:30, after the day's time: today's reports at once, then tomorrow's at 07:15.
    clock = FakeClock(datetime(2020, 12, 5, 9, 30, tzinfo=JAKARTA))
    call_command(
        "daily_report",
        loop=True,
        at="07:15",
        max_runs=2,
        clock=clock.now,
        sleep=clock.sleep,
        stdout=io.StringIO(),
    )
    assert clock.now_at == datetime(2020, 12, 6, 7, 15, tzinfo=JAKARTA)
    days = sorted(DailyReport.objects.values_list("day", flat=True))
    assert days == [TODAY] * 3 + [TODAY + timedelta(days=1)] * 3


def test_a_regency_user_sees_only_its_own_reports(client, province, personas):
    made = {r.region_code: r for r in reports_due(day=TODAY)}
    client.force_login(personas.bdl_operator)
    page = client.get(reverse("dashboard_reports", kwargs={"slug": province.slug}))
    assert page.status_code == 200
    listed = [int(pk) for pk in re.findall(r'data-report="(\d+)"', page.content.decode())]
    assert listed == [made["18.71"].pk]

    def pdf(report: DailyReport):
        return client.get(
            reverse("dashboard_report_pdf", kwargs={"slug": province.slug, "pk": report.pk})
        )

    own = pdf(made["18.71"])
    assert own.status_code == 200 and own["Content-Type"] == "application/pdf"
    assert own.content == bytes(made["18.71"].pdf)
    assert own["Content-Disposition"].startswith("inline;")
    assert pdf(made[""]).status_code == 404
    assert pdf(made["18.01"]).status_code == 404
    client.force_login(personas.lamsel_operator)
    assert pdf(made["18.71"]).status_code == 404
    assert pdf(made["18.01"]).status_code == 200
    client.force_login(personas.province_admin)
    page = client.get(reverse("dashboard_reports", kwargs={"slug": province.slug}))
    listed = [int(pk) for pk in re.findall(r'data-report="(\d+)"', page.content.decode())]
    assert sorted(listed) == sorted(r.pk for r in made.values())
    assert pdf(made["18.01"]).status_code == 200


def test_the_button_makes_the_report_of_ones_own_regency(client, province, personas):
    client.force_login(personas.bdl_admin)
    url = reverse("dashboard_reports", kwargs={"slug": province.slug})
    make = reverse("dashboard_report_make", kwargs={"slug": province.slug})
    assert f'action="{make}"' in client.get(url).content.decode()
    assert client.get(make).status_code == 405
    response = client.post(make)
    assert response.status_code == 302 and response["Location"] == url
    report = DailyReport.objects.get()
    assert (report.region_code, report.trigger, report.created_by) == (
        "18.71",
        ON_DEMAND,
        personas.bdl_admin,
    )
    page = client.get(url).content.decode()
    assert f'data-report="{report.pk}"' in page
    client.force_login(personas.province_admin)
    client.post(make)
    assert (
        DailyReport.objects.filter(region_code="", created_by=personas.province_admin).count() == 1
    )


def test_the_pages_refuse_who_may_not_see_reports(client, province, django_user_model):
    outsider = django_user_model.objects.create_user(username="tamu", password="x")
    client.force_login(outsider)
    url = reverse("dashboard_reports", kwargs={"slug": province.slug})
    assert client.get(url).status_code == 403
    assert (
        client.post(reverse("dashboard_report_make", kwargs={"slug": province.slug})).status_code
        == 403
    )
    assert not DailyReport.objects.exists()


def test_after_polling_day_the_report_says_so_and_leaves_the_needs_out(province):
    day = date(2020, 12, 10)  # the day after polling day
    pdf, _pages = report_render(province, within="", day=day, generated_at=MADE_AT)
    _, text = pdf_text(pdf)
    assert "04/12 05/12 06/12 07/12 08/12 09/12 10/12 Rata-rata Direkam 1 0 0 0 0 0 0 0,1 " in text
    assert "Kartu tercetak (termasuk laporan SIAK) 0 0 0 0 0 0 0 0,0 " in text
    assert (
        "Hari pemungutan suara telah lewat (9 Desember 2020): tidak ada lagi angka yang "
        "dibutuhkan per hari." in text
    )
    assert "Dibutuhkan per hari" not in text and "hari layanan tersisa" not in text


# Language


def test_the_report_is_indonesian_whatever_the_language_asked_in(province):
    indonesian = report_render(province, within="18.71", day=TODAY, generated_at=MADE_AT)
    with translation.override("en"):
        content = report_content(province, within="18.71", day=TODAY, generated_at=MADE_AT)
        assert translation.get_language() == "en"
        english = render_content(content)
    assert english == indonesian
    closed = next(f for f in content.flags if f.kind == "closed_polling_day")
    assert closed.title == "Layanan perekaman kantor dinas tutup pada hari pemungutan suara"


def test_a_report_asked_for_in_english_is_made_in_indonesian_and_kept(client, province, personas):
    client.force_login(personas.province_admin)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.post(
        reverse("dashboard_report_make", kwargs={"slug": province.slug}), follow=True
    )
    report = DailyReport.objects.get()
    assert (report.region_code, report.trigger, report.created_by) == (
        "",
        ON_DEMAND,
        personas.province_admin,
    )
    assert AuditEntry.objects.filter(action="daily_report.make", object_id=str(report.pk)).exists()
    # The page speaks English ...
    page = response.content.decode()
    assert "The report was made:" in page and f'data-report="{report.pk}"' in page
    # ... the report Indonesian.
    _, text = pdf_text(bytes(report.pdf))
    assert "Laporan Harian Perekaman KTP-el dan Suket — Pilkada Uji" in text
    assert "Layanan perekaman kantor dinas tutup pada hari pemungutan suara" in text
    assert "Kantor dinas kabupaten/kota yang menyelenggarakan pemilihan" in text
    assert "closed on polling day" not in text and "Daily report" not in text


# Transactions: the figures and the drawing run outside any; storing takes a short one.


def _statements(action) -> list[tuple[bool, str]]:
    """(inside a transaction?, verb) of every statement ``action`` sends to the database."""
    seen: list[tuple[bool, str]] = []

    def watch(execute, sql, params, many, context):
        seen.append((context["connection"].in_atomic_block, sql.split(None, 1)[0].upper()))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(watch):
        action()
    return seen


@pytest.mark.django_db(transaction=True)
def test_making_a_report_holds_no_transaction_while_it_computes_and_draws(province, personas):
    seen = _statements(
        lambda: report_make(
            election=province,
            within="",
            day=TODAY,
            acting_user=personas.province_admin,
            trigger=ON_DEMAND,
        )
    )
    outside = [verb for inside, verb in seen if not inside]
    assert outside.count("SELECT") > 20  # the figures
    # Inside: the report and its audit entry, nothing else.
    assert [verb for inside, verb in seen if inside] == ["INSERT", "INSERT"]
    assert DailyReport.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_schedule_locks_only_to_store_and_still_makes_each_report_once(province):
    seen = _statements(lambda: reports_due(day=TODAY))
    inside = [verb for inside, verb in seen if inside]
    # Per report: lock the election, look again for a scheduled report, store it and its audit.
    assert inside == ["SELECT", "SELECT", "INSERT", "INSERT"] * 3
    assert [verb for inside, verb in seen if not inside].count("SELECT") > 60
    assert DailyReport.objects.filter(trigger=SCHEDULE).count() == 3
    again = _statements(lambda: reports_due(day=TODAY))
    assert not [verb for inside, verb in again if inside]  # nothing drawn, nothing locked
    assert DailyReport.objects.count() == 3
