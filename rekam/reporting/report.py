"""The daily report: one election's dashboard for the province or one regency/city as a PDF of one
or two A4 pages in Indonesian (whatever the language of who asks), for the head of the region, KPU
and Bawaslu.

The figures come from :func:`figures.dashboard` and :func:`flags.flags_for`, so the report says
what the pages say. A report is stored once made (:class:`DailyReport`) and never overwritten: what
was sent on a day can be shown again. The schedule (``rekam daily_report --loop``) calls
:func:`reports_due`, which makes each day's set once however often it runs. A report is computed
and drawn outside any transaction; only storing it takes one, short (on SQLite a transaction
holds the write lock from its start).
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from xml.sax.saxutils import escape

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone, translation
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from rekam.accounts import access
from rekam.accounts.access import Action
from rekam.accounts.models import Office
from rekam.audit.services import audit_record
from rekam.elections.models import Election
from rekam.invitations.invites import DAYS_ID
from rekam.lib.pdf import BOLD, FONT, date_id
from rekam.regions.models import Region
from rekam.suket.stock import USE_WINDOW_DAYS

from . import figures
from .figures import Dashboard, OfficeFigures, Row
from .flags import Flag, flags_for
from .models import DailyReport
from .pictures import half_up

SCHEDULE = "schedule"
ON_DEMAND = "on demand"
TRIGGERS = (SCHEDULE, ON_DEMAND)
MAX_PAGES = 2
TREND_DAYS = 7
# Beyond a year, days of stock mean "plenty": the exact figure would only suggest precision.
STOCK_DAYS_SHOWN = 365

MARGIN = 15 * mm
# Top and bottom margins; the tighter ones are used when they save a page within MAX_PAGES (a
# report that spills only a line or two), or show more regions on MAX_PAGES pages.
TOP_MARGIN, BOTTOM_MARGIN = 12 * mm, 16 * mm
TIGHT_TOP_MARGIN, TIGHT_BOTTOM_MARGIN = 7 * mm, 14 * mm
NUMBER_COLUMN = 15 * mm
WIDTH = A4[0] - 2 * MARGIN
GRID = colors.HexColor("#9a9a9a")
SHADE = colors.HexColor("#eeeeee")


class ReportRefused(Exception):
    """A report that cannot be made; ``message`` is for the person."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# Numbers as Indonesian readers write them: 1.234 and 12,5 %. Decimals are rounded half up, as
# the dashboard's pages round them.
REPORT_LANGUAGE = "id"


def number_id(n: int) -> str:
    return f"{n:,}".replace(",", ".")


def decimal_id(x: float, places: int = 1) -> str:
    rounded = half_up(x, places)
    return f"{rounded:,.{places}f}".replace(",", " ").replace(".", ",").replace(" ", ".")


def percent_id(share: float | None) -> str:
    return "—" if share is None else f"{decimal_id(100 * share)} %"


def stock_days_id(days: float | None) -> str:
    """Days the blank cards last; "—" when nothing was printed lately."""
    if days is None:
        return "—"
    if days > STOCK_DAYS_SHOWN:
        return f"> {STOCK_DAYS_SHOWN}"
    return number_id(round(days))


@dataclass
class ReportContent:
    """Everything one report shows, gathered before drawing (tests draw made-up content)."""

    dash: Dashboard
    office_name: str
    office_address: str
    area: str  # "Provinsi Lampung", "Kota Bandar Lampung"
    stock: OfficeFigures  # of the whole area
    flags: Sequence[Flag]
    generated_at: datetime
    row_names: dict[str, str]  # display names of the rows' regions, where they have one


def _place_check(election: Election, within: str) -> None:
    if within and not election.regions.filter(code=within, level="regency").exists():
        raise ReportRefused(
            f"Wilayah {within} tidak mengikuti {election.name}; laporan harian dibuat untuk "
            "provinsi dan kabupaten/kota yang mengikuti pemilihan."
        )


def _province_office(election: Election) -> Office | None:
    codes = list(election.regions.values_list("code", flat=True)[:1])
    offices = Office.objects.filter(kind=Office.Kind.PROVINCE)
    if codes:
        offices = offices.filter(region_id=codes[0].split(".")[0])
    return offices.order_by("code").first()


def report_content(
    election: Election, *, within: str, day: date, generated_at: datetime | None = None
) -> ReportContent:
    """What the report of ``election`` for the province (``within=""``) or one regency/city
    holding it says on ``day``, in Indonesian (flag titles and explanations too)."""
    with translation.override(REPORT_LANGUAGE):
        return _content(election, within=within, day=day, generated_at=generated_at)


def _content(
    election: Election, *, within: str, day: date, generated_at: datetime | None
) -> ReportContent:
    _place_check(election, within)
    # Rekam itself reads the figures: who may see the report is checked where it is made/shown.
    dash = figures.dashboard(election, None, within=within, today=day)
    if within:
        office = Office.objects.filter(region_id=within).first()
        # The dashboard already has the office's figures when the regency/city holds the
        # election.
        stock = dash.office or figures.office_figures(election, [within], day)[within]
        region = Region.objects.get(code=within)
        area = region.display_name
    else:
        office = _province_office(election)
        stock = dash.total.office or OfficeFigures()
        province = office.region if office is not None else None
        area = f"Provinsi {province.name}" if province is not None else "Provinsi"
    codes = [r.code for r in dash.rows]
    names = dict(
        Region.objects.filter(code__in=codes)
        .exclude(official_name="")
        .values_list("code", "official_name")
    )
    return ReportContent(
        dash=dash,
        office_name=office.name if office else "Dinas Kependudukan dan Pencatatan Sipil",
        office_address=office.address if office else "",
        area=area,
        stock=stock,
        flags=flags_for(election, None, within=within, today=day),
        generated_at=generated_at or timezone.now(),
        row_names=names,
    )


def report_render(
    election: Election, *, within: str, day: date, generated_at: datetime | None = None
) -> tuple[bytes, int]:
    """The PDF of the day's report and its number of pages (one or two).

    The same figures and ``generated_at`` give the same bytes."""
    return render_content(
        report_content(election, within=within, day=day, generated_at=generated_at)
    )


# Drawing.

_BASE = ParagraphStyle("report", fontName=FONT, fontSize=8.5, leading=10.5)
OFFICE = ParagraphStyle(
    "office", parent=_BASE, fontName=BOLD, fontSize=11, leading=14, alignment=TA_CENTER
)
ADDRESS = ParagraphStyle("address", parent=_BASE, fontSize=8, alignment=TA_CENTER)
TITLE = ParagraphStyle(
    "title",
    parent=_BASE,
    fontName=BOLD,
    fontSize=12.5,
    leading=16,
    alignment=TA_CENTER,
    spaceBefore=6,
)
SUBTITLE = ParagraphStyle("subtitle", parent=_BASE, alignment=TA_CENTER, spaceAfter=2)
SECTION = ParagraphStyle(
    "section", parent=_BASE, fontName=BOLD, fontSize=10, leading=13, spaceBefore=8, spaceAfter=3
)
CELL = ParagraphStyle("cell", parent=_BASE, fontSize=7.5, leading=9)
HEAD_CELL = ParagraphStyle(
    "head_cell", parent=CELL, fontName=BOLD, fontSize=6.2, leading=7.5, alignment=TA_CENTER
)
NOTE = ParagraphStyle(
    "note", parent=_BASE, fontSize=7, leading=8.5, textColor=colors.HexColor("#444444")
)
NUMBER = ParagraphStyle("number", parent=CELL, alignment=TA_RIGHT)
TOTAL_NUMBER = ParagraphStyle("total_number", parent=NUMBER, fontName=BOLD)


def _p(text: str, style: ParagraphStyle = _BASE) -> Paragraph:
    return Paragraph(escape(text), style)


def _countdown(dash: Dashboard) -> str:
    election = dash.election
    polling = f"{DAYS_ID[election.polling_day.weekday()]}, {date_id(election.polling_day)}"
    if dash.today < election.polling_day:
        days = dash.days_left
        return f"H-{days}: {days} hari lagi menuju hari pemungutan suara ({polling})"
    if dash.today == election.polling_day:
        return f"Hari ini hari pemungutan suara ({polling})"
    return (
        f"Hari pemungutan suara telah lewat ({polling}); Suket berlaku sampai "
        f"{date_id(election.suket_valid_until)}"
    )


def _heading(content: ReportContent) -> list[Flowable]:
    dash = content.dash
    day = dash.today
    story: list[Flowable] = [_p(content.office_name.upper(), OFFICE)]
    if content.office_address:
        story.append(_p(content.office_address, ADDRESS))
    story.append(Spacer(1, 2))
    story.append(_Rule())
    story.append(_p(f"Laporan Harian Perekaman KTP-el dan Suket — {dash.election.name}", TITLE))
    story.append(_p(f"{content.area} · {DAYS_ID[day.weekday()]}, {date_id(day)}", SUBTITLE))
    story.append(_p(_countdown(dash), SUBTITLE))
    run = dash.last_run
    if run is not None and run.finished_at is not None:
        finished = timezone.localtime(run.finished_at)
        reconciled = (
            f"Pencocokan DPT terakhir: {date_id(finished.date())} pukul {finished:%H.%M} WIB"
        )
    else:
        reconciled = "DPT belum dicocokkan dengan data kependudukan"
    story.append(_p(reconciled + ". Ditujukan kepada Kepala Daerah, KPU dan Bawaslu.", SUBTITLE))
    return story


class _Rule(Flowable):
    """The double rule under a letterhead."""

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        self.width = availWidth
        return (availWidth, 5)

    def draw(self) -> None:
        self.canv.setLineWidth(1.6)
        self.canv.line(0, 4, self.width, 4)
        self.canv.setLineWidth(0.5)
        self.canv.line(0, 1.5, self.width, 1.5)


# Two figures that differ and must not be read as one: cards of the DPT's voters printed, from
# every source (a SIAK status import included), against the office's own blank cards used.
TREND_TITLE = f"Perekaman dan pencetakan KTP-el pemilih {TREND_DAYS} hari terakhir"
PRINTED_LABEL = "Kartu tercetak (termasuk laporan SIAK)"

# Added up over several offices, the days of stock left are the fewest of any office.
SHORTEST = "terpendek"
STOCK_DAYS_COLUMN = "Hari stok"


def blanks_used_label() -> str:
    """The office's blank cards used a day, over the window the rate is measured in."""
    return f"Blangko kantor terpakai/hari ({USE_WINDOW_DAYS} hari)"


def _stock_days_label(stock: OfficeFigures) -> str:
    return f"Hari stok blangko {SHORTEST}" if stock.is_sum else "Hari stok blangko"


def key_figures(content: ReportContent) -> list[list[tuple[str, str]]]:
    """The report's key totals, label and value, in the three columns they are printed in."""
    t, stock = content.dash.total, content.stock
    return [
        [
            ("DPT (hasil pencocokan)", number_id(t.voters)),
            ("Belum rekam saat pencocokan", number_id(t.unrecorded_at_run)),
            ("Belum rekam sekarang", number_id(t.unrecorded_now)),
            ("Bagian belum rekam sekarang", percent_id(t.unrecorded_share)),
            ("Rekam sejak pencocokan", number_id(t.recorded_since)),
            ("Menunggu penunggalan", number_id(t.dedup_waiting)),
            ("Perlu rekam ulang", number_id(t.record_again)),
            ("Data ganda", number_id(t.duplicates)),
        ],
        [
            ("PRR belum cetak", number_id(t.prr)),
            ("Sudah cetak", number_id(t.printed)),
            ("Tidak ditemukan / NIK tidak valid", number_id(t.unmatched)),
            ("Suket terbit", number_id(t.sukets_issued)),
            ("Suket berlaku", number_id(t.sukets_valid)),
            ("Suket dicabut", number_id(t.sukets_revoked)),
            ("Suket kedaluwarsa sebelum hari H", number_id(t.sukets_expiring)),
        ],
        [
            ("Undangan", number_id(t.invited)),
            ("Undangan hadir", number_id(t.attended)),
            ("Undangan tidak hadir", number_id(t.no_shows)),
            ("Blangko tersedia", number_id(stock.blanks)),
            (_stock_days_label(stock), stock_days_id(stock.stock_days)),
            ("Kekurangan blangko untuk PRR", number_id(stock.stock_short)),
            (blanks_used_label(), decimal_id(stock.blanks_used_per_day)),
        ],
    ]


def _summary(content: ReportContent) -> list[Flowable]:
    columns = key_figures(content)
    data = []
    for n in range(max(len(c) for c in columns)):
        line: list[Any] = []
        for column in columns:
            label, value = column[n] if n < len(column) else ("", "")
            line += [_p(label, CELL), _p(value, NUMBER)]
        data.append(line)
    table = Table(data, colWidths=[45 * mm, 15 * mm] * 3)
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, GRID),
                ("LEFTPADDING", (0, 0), (-1, -1), 2),
                ("RIGHTPADDING", (0, 0), (-1, -1), 3),
                ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
            ]
        )
    )
    return [_p("Ringkasan", SECTION), table]


def _region_columns(level: str) -> list[tuple[str, Callable[[Row], str]]]:
    columns: list[tuple[str, Callable[[Row], str]]] = [
        ("DPT", lambda r: number_id(r.voters)),
        ("Belum rekam saat pencocokan", lambda r: number_id(r.unrecorded_at_run)),
        ("Belum rekam kini", lambda r: number_id(r.unrecorded_now)),
        ("% belum rekam", lambda r: percent_id(r.unrecorded_share)),
        ("Menunggu penunggalan", lambda r: number_id(r.dedup_waiting)),
        ("PRR belum cetak", lambda r: number_id(r.prr)),
        ("Sudah cetak", lambda r: number_id(r.printed)),
        ("Suket berlaku", lambda r: number_id(r.sukets_valid)),
    ]
    if level == "regency":
        columns += [
            ("Blangko", lambda r: number_id(r.office.blanks if r.office else 0)),
            (
                STOCK_DAYS_COLUMN,
                lambda r: stock_days_id(r.office.stock_days if r.office else None),
            ),
        ]
    else:
        columns += [
            ("Undangan", lambda r: number_id(r.invited)),
            ("Hadir", lambda r: number_id(r.attended)),
        ]
    return columns


def worst_first(rows: Sequence[Row]) -> list[Row]:
    """Rows by share of voters unrecorded, highest first (rows without voters last)."""
    return sorted(rows, key=lambda r: (r.unrecorded_share is None, -(r.unrecorded_share or 0)))


def _regions(content: ReportContent, rows: Sequence[Row], hidden: int) -> list[Flowable]:
    dash = content.dash
    level_name = "Kabupaten/Kota" if dash.level == "regency" else "Kecamatan"
    columns = _region_columns(dash.level)
    data: list[list[Any]] = [
        [_p(level_name, HEAD_CELL), *(_p(title, HEAD_CELL) for title, _ in columns)]
    ]
    for row in rows:
        name = content.row_names.get(row.code, row.name)
        data.append([_p(name, CELL), *(value(row) for _, value in columns)])
    if hidden:
        data.append([_p(f"… dan {number_id(hidden)} wilayah lain", CELL)] + [""] * len(columns))
    totals: list[Any] = [value(dash.total) for _, value in columns]
    titles = [title for title, _ in columns]
    if STOCK_DAYS_COLUMN in titles and dash.total.office is not None and dash.total.office.is_sum:
        days = titles.index(STOCK_DAYS_COLUMN)
        totals[days] = Paragraph(
            f"{escape(totals[days])}<br/><font size=5.5>{SHORTEST}</font>", TOTAL_NUMBER
        )
    data.append([_p("Jumlah", CELL), *totals])
    table = Table(
        data,
        colWidths=[WIDTH - NUMBER_COLUMN * len(columns), *[NUMBER_COLUMN] * len(columns)],
        repeatRows=1,
    )
    style = [
        ("GRID", (0, 0), (-1, -1), 0.25, GRID),
        ("BACKGROUND", (0, 0), (-1, 0), SHADE),
        ("BACKGROUND", (0, -1), (-1, -1), SHADE),
        ("FONTNAME", (1, 1), (-1, -1), FONT),
        ("FONTNAME", (1, -1), (-1, -1), BOLD),
        ("FONTSIZE", (1, 1), (-1, -1), 7.5),
        ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LEFTPADDING", (0, 0), (-1, -1), 2),
        ("RIGHTPADDING", (0, 0), (-1, -1), 2),
        ("LEFTPADDING", (0, 0), (-1, 0), 1.5),
        ("RIGHTPADDING", (0, 0), (-1, 0), 1.5),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
    ]
    if hidden:
        style.append(("SPAN", (0, -2), (-1, -2)))
    table.setStyle(TableStyle(style))
    title = f"Per {level_name.lower()}"
    if hidden:
        title += " (urut dari bagian belum rekam terbesar)"
    return [_p(title, SECTION), table]


def _flags(content: ReportContent) -> list[Flowable]:
    story: list[Flowable] = [_p("Catatan kepatuhan", SECTION)]
    if not content.flags:
        return [*story, _p("Tidak ada catatan kepatuhan.", CELL)]
    data: list[list[Any]] = [
        [_p("Catatan", HEAD_CELL), _p("Aturan", HEAD_CELL), _p("Jumlah", HEAD_CELL)]
    ]
    for flag in content.flags:
        described = Paragraph(f"<b>{escape(flag.title)}</b><br/>{escape(flag.explanation)}", CELL)
        data.append([described, _p(flag.rule, CELL), number_id(flag.count)])
    table = Table(data, colWidths=[WIDTH - 34 * mm, 16 * mm, 18 * mm], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.25, GRID),
                ("BACKGROUND", (0, 0), (-1, 0), SHADE),
                ("FONTNAME", (2, 1), (2, -1), BOLD),
                ("FONTSIZE", (2, 1), (2, -1), 8),
                ("ALIGN", (2, 1), (2, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 2),
                ("RIGHTPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return [*story, table]


def _trend(content: ReportContent) -> list[Flowable]:
    dash = content.dash
    days = dash.progress[-TREND_DAYS:]
    polling_day = dash.election.polling_day
    # Once polling day has passed nothing is needed "per day until polling day" any more.
    passed = dash.polling_passed
    needed_title = [] if passed else ["Dibutuhkan per hari"]
    header: list[Any] = [""] + [f"{d.day:%d/%m}" for d in days] + ["Rata-rata", *needed_title]

    def line(label: str, counts: list[int], needed: float | None) -> list[Any]:
        return [
            _p(label, CELL),
            *(number_id(n) for n in counts),
            decimal_id(sum(counts) / len(days)) if days else "—",
            *([] if passed else [_needed_id(needed)]),
        ]

    data: list[list[Any]] = [
        [_p(h, HEAD_CELL) if h else "" for h in header],
        line("Direkam", [d.recorded for d in days], dash.needed_recorded_per_day),
        line(PRINTED_LABEL, [d.printed for d in days], dash.needed_printed_per_day),
    ]
    first, last = 50 * mm, [17 * mm] * (1 + len(needed_title))
    day_width = (WIDTH - first - sum(last)) / max(len(days), 1)
    table = Table(data, colWidths=[first, *[day_width] * len(days), *last])
    style = [
        ("GRID", (0, 0), (-1, -1), 0.25, GRID),
        ("BACKGROUND", (0, 0), (-1, 0), SHADE),
        ("FONTNAME", (1, 1), (-1, -1), FONT),
        ("FONTSIZE", (1, 1), (-1, -1), 7.5),
        ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LEFTPADDING", (0, 0), (-1, -1), 2),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]
    if not passed:  # the needed figures stand out
        style += [("BACKGROUND", (-1, 1), (-1, -1), SHADE), ("FONTNAME", (-1, 1), (-1, -1), BOLD)]
    table.setStyle(TableStyle(style))
    if passed:
        note = (
            f"Hari pemungutan suara telah lewat ({date_id(polling_day)}): tidak ada lagi angka "
            "yang dibutuhkan per hari."
        )
    else:
        note = (
            "Dibutuhkan per hari: pemilih yang belum rekam dan yang belum memegang KTP-el, "
            f"dibagi {number_id(dash.service_days_left)} hari layanan tersisa sampai hari "
            "pemungutan suara (termasuk hari H)."
        )
    # Kept on one page: a table split from its rows or its note reads wrong.
    return [
        KeepTogether(
            [
                _p(TREND_TITLE, SECTION),
                table,
                Spacer(1, 2),
                _p(note, NOTE),
            ]
        )
    ]


def _needed_id(x: float | None) -> str:
    """A daily need with one decimal, as the dashboard shows it (0,7 a day)."""
    return "—" if x is None else decimal_id(x)


def _story(content: ReportContent, rows: Sequence[Row], hidden: int) -> list[Flowable]:
    return [
        *_heading(content),
        *_summary(content),
        *_regions(content, rows, hidden),
        *_flags(content),
        *_trend(content),
    ]


def _footed_canvas(made_text: str) -> type[Canvas]:
    """A canvas that holds its pages until the end, then writes each one's footer: the
    generation time and "Halaman n dari N" (the total is known only once all are laid out)."""

    class FootedCanvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._held: list[dict[str, Any]] = []

        def showPage(self) -> None:
            self._held.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._held)
            for state in self._held:
                self.__dict__.update(state)
                self._footer(total)
                super().showPage()
            super().save()

        def _footer(self, total: int) -> None:
            self.saveState()
            self.setLineWidth(0.4)
            self.line(MARGIN, 12 * mm, A4[0] - MARGIN, 12 * mm)
            self.setFont(FONT, 7.5)
            self.drawString(MARGIN, 8.5 * mm, made_text)
            number = f"Halaman {self.getPageNumber()} dari {total}"
            self.drawRightString(A4[0] - MARGIN, 8.5 * mm, number)
            self.restoreState()

    return FootedCanvas


def _build(
    content: ReportContent, rows: Sequence[Row], hidden: int, *, tight: bool = False
) -> tuple[bytes, int]:
    out = io.BytesIO()
    made = timezone.localtime(content.generated_at)
    made_text = f"Dibuat {date_id(made.date())} pukul {made:%H.%M} WIB oleh Rekam KTP-el"
    election = content.dash.election
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=TIGHT_TOP_MARGIN if tight else TOP_MARGIN,
        bottomMargin=TIGHT_BOTTOM_MARGIN if tight else BOTTOM_MARGIN,
        title=f"Laporan Harian {election.name} — {content.area} — {date_id(content.dash.today)}",
        author=content.office_name,
        subject="Laporan Harian Perekaman KTP-el dan Suket",
        creator="Rekam KTP-el",
        lang="id",
        invariant=1,
        pageCompression=1,
    )
    doc.build(_story(content, rows, hidden), canvasmaker=_footed_canvas(made_text))
    return out.getvalue(), doc.page


def render_content(content: ReportContent) -> tuple[bytes, int]:
    """Draw the report; when the regions do not fit on two pages, the worst (by share of voters
    unrecorded) are shown and the rest counted."""
    rows = list(content.dash.rows)
    drawn = _build(content, rows, 0)
    if drawn[1] == 1:
        return drawn
    # A page spilled by a line or two (the last section's note): tighter margins may save it,
    # but only a report that then fits is drawn whole.
    tight = _build(content, rows, 0, tight=True)
    if tight[1] < drawn[1] and tight[1] <= MAX_PAGES:
        return tight
    if drawn[1] <= MAX_PAGES:
        return drawn
    ranked = worst_first(rows)
    shown, fitting = _most_rows_tight(content, ranked)
    # The tighter margins only where they show more regions than the normal ones.
    normal = _build(content, ranked[:shown], len(ranked) - shown)
    return normal if normal[1] <= MAX_PAGES else fitting


def _most_rows_tight(
    content: ReportContent, ranked: Sequence[Row]
) -> tuple[int, tuple[bytes, int]]:
    """How many of ``ranked`` fit on :data:`MAX_PAGES` pages with the tighter margins (the rest
    counted), and that drawing."""
    # Pages only grow with rows, so bisect.
    low, high = 0, len(ranked) - 1
    fitting: tuple[bytes, int] | None = None
    while low < high:
        middle = (low + high + 1) // 2
        attempt = _build(content, ranked[:middle], len(ranked) - middle, tight=True)
        if attempt[1] <= MAX_PAGES:
            low, fitting = middle, attempt
        else:
            high = middle - 1
    if fitting is None:
        fitting = _build(content, ranked[:low], len(ranked) - low, tight=True)
    return low, fitting


# Making, keeping and showing reports.


def _require_place(user: Any, within: str) -> None:
    """The province's report is for those who see the province; a regency's for its own."""
    access.require(user, Action.VIEW_REPORTS, within or None)
    if not within and not access.sees_province(user):
        raise PermissionDenied(access.OUTSIDE_JURISDICTION)


def report_make(
    *, election: Election, within: str, day: date, acting_user: Any, trigger: str
) -> DailyReport:
    """Render and keep the report of ``election`` for the province (``within=""``) or one
    regency/city on ``day``. Every call keeps a new report; none is ever overwritten.

    ``acting_user=None`` is Rekam itself (the schedule)."""
    if trigger not in TRIGGERS:
        raise ValueError(f"unknown trigger {trigger!r}")
    if acting_user is not None:
        _require_place(acting_user, within)
    pdf, pages = report_render(election, within=within, day=day)
    with transaction.atomic():
        return _store(
            election=election,
            within=within,
            day=day,
            acting_user=acting_user,
            trigger=trigger,
            pdf=pdf,
            pages=pages,
        )


def _store(
    *,
    election: Election,
    within: str,
    day: date,
    acting_user: Any,
    trigger: str,
    pdf: bytes,
    pages: int,
) -> DailyReport:
    """Keep a rendered report and its audit entry (inside the caller's transaction)."""
    digest = hashlib.sha256(pdf).hexdigest()
    report = DailyReport.objects.create(
        election=election,
        region_code=within,
        day=day,
        created_by=acting_user if getattr(acting_user, "pk", None) else None,
        trigger=trigger,
        pdf=pdf,
        pdf_sha256=digest,
        pages=pages,
    )
    audit_record(
        acting_user=acting_user,
        action="daily_report.make",
        obj=report,
        changes={
            "election": [None, election.slug],
            "region_code": [None, within],
            "day": [None, day.isoformat()],
            "trigger": [None, trigger],
            "pages": [None, pages],
            "pdf_sha256": [None, digest],
        },
    )
    return report


def elections_reported(day: date) -> QuerySet[Election]:
    """Elections that get a daily report on ``day``: polling day not past, or Sukets still valid."""
    return Election.objects.filter(
        Q(polling_day__gte=day) | Q(suket_valid_until__gte=day)
    ).order_by("polling_day", "pk")


def _scheduled(election: Election, within: str, day: date) -> bool:
    return DailyReport.objects.filter(
        election=election, region_code=within, day=day, trigger=SCHEDULE
    ).exists()


def reports_due(*, day: date, acting_user: Any = None) -> list[DailyReport]:
    """Make the scheduled reports of ``day`` not made yet: for each election still reported, the
    province's and one per regency/city holding it. Running it again makes nothing new."""
    made = []
    for election in elections_reported(day):
        places = ["", *election.regions.order_by("code").values_list("code", flat=True)]
        for within in places:
            if _scheduled(election, within, day):
                continue
            if acting_user is not None:
                _require_place(acting_user, within)
            pdf, pages = report_render(election, within=within, day=day)
            with transaction.atomic():
                # Two schedulers running at once wait for each other here and look again, so
                # each report is kept once (the later one's drawing is dropped).
                Election.objects.select_for_update().only("pk").get(pk=election.pk)
                if _scheduled(election, within, day):
                    continue
                made.append(
                    _store(
                        election=election,
                        within=within,
                        day=day,
                        acting_user=acting_user,
                        trigger=SCHEDULE,
                        pdf=pdf,
                        pages=pages,
                    )
                )
    return made


def reports_for(user: Any, election: Election) -> QuerySet[DailyReport]:
    """The reports of ``election`` the user may see: all for the province, else their own
    regency/city's."""
    if not access.can(user, Action.VIEW_REPORTS):
        return DailyReport.objects.none()
    mine = Q(region_code__in=access.regions_for(user).filter(level="regency").values("code"))
    if access.sees_province(user):
        mine |= Q(region_code="")
    return DailyReport.objects.filter(mine, election=election)


def report_file_name(report: DailyReport) -> str:
    place = report.region_code.replace(".", "") or "provinsi"
    return f"laporan-harian-{report.election.slug}-{place}-{report.day:%Y%m%d}-{report.pk}.pdf"
