"""Printable letter batches: a handover list for the village officials, then one letter a page."""

from __future__ import annotations

import io
from collections.abc import Sequence
from xml.sax.saxutils import escape

from django.utils import dateformat, timezone, translation
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import (
    HRFlowable,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from rekam.accounts.models import Office
from rekam.regions.models import Region

from . import texts
from .models import LetterBatch, Message

_styles = getSampleStyleSheet()
BODY = ParagraphStyle("body", parent=_styles["Normal"], fontSize=11, leading=15, spaceAfter=7)
SMALL = ParagraphStyle("small", parent=BODY, fontSize=9, leading=11, spaceAfter=0)
HEAD = ParagraphStyle("head", parent=BODY, alignment=TA_CENTER, fontName="Helvetica-Bold")
TITLE = ParagraphStyle("title", parent=HEAD, fontSize=13, leading=17)


def _p(text: str, style: ParagraphStyle = BODY) -> Paragraph:
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def _letterhead(regency: Region, office: Office | None) -> list:
    government = f"PEMERINTAH {regency.display_name.upper()}"
    lines = [
        Paragraph(escape(government), HEAD),
        Paragraph("DINAS KEPENDUDUKAN DAN PENCATATAN SIPIL", TITLE),
    ]
    if office is not None and office.address:
        lines.append(
            Paragraph(
                escape(office.address), ParagraphStyle("a", parent=SMALL, alignment=TA_CENTER)
            )
        )
    lines += [Spacer(1, 2 * mm), HRFlowable(width="100%", thickness=1.2, color=colors.black)]
    return lines


def _address(message: Message) -> str:
    lines = []
    resident = message.resident
    if resident is not None:
        if resident.street:
            lines.append(resident.street)
        if resident.rt or resident.rw:
            lines.append(f"RT {resident.rt or '-'} / RW {resident.rw or '-'}")
    village = message.village
    if village is not None:
        district = village.parent
        lines.append(f"{village.display_name}, Kec. {district.display_name if district else ''}")
    return "\n".join(lines)


def render_batch_pdf(batch: LetterBatch, messages: Sequence[Message]) -> bytes:
    village = batch.village
    regency = batch.regency
    district = village.parent
    office = Office.objects.filter(region=regency).first()
    today = timezone.localdate()
    with translation.override("id"):
        today_text = dateformat.format(today, "j F Y")
    story: list = _letterhead(regency, office)
    story += [
        Spacer(1, 5 * mm),
        Paragraph("DAFTAR SURAT UNTUK DIANTARKAN", TITLE),
        _p(
            f"Desa/Kelurahan {village.display_name}, Kecamatan "
            f"{district.display_name if district else '-'}. Batch #{batch.pk}, "
            f"{len(messages)} surat, dibuat {today_text}.",
            ParagraphStyle("c", parent=BODY, alignment=TA_CENTER),
        ),
        Spacer(1, 3 * mm),
    ]
    rows: list[list] = [["No", "Nama", "Alamat", "Perihal", "Lampiran", "Tanda terima"]]
    for number, message in enumerate(messages, 1):
        fam = texts.family(message.template)
        rows.append(
            [
                str(number),
                _p(message.recipient_name, SMALL),
                _p(_address(message), SMALL),
                _p(fam.title("id"), SMALL),
                _p(message.attachment_name or "-", SMALL),
                "",
            ]
        )
    table = Table(
        rows, colWidths=[9 * mm, 38 * mm, 45 * mm, 35 * mm, 28 * mm, 25 * mm], repeatRows=1
    )
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("FONTSIZE", (0, 0), (-1, -1), 9),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f2f2f2")]),
            ]
        )
    )
    story += [
        table,
        Spacer(1, 10 * mm),
        Table(
            [
                ["Diserahkan oleh (petugas Disdukcapil)", "Diterima oleh (aparat desa/kelurahan)"],
                [
                    "\n\n\n( ............................ )",
                    "\n\n\n( ............................ )",
                ],
            ],
            colWidths=[90 * mm, 90 * mm],
        ),
    ]
    for message in messages:
        fam = texts.family(message.template)
        story.append(PageBreak())
        story += _letterhead(regency, office)
        story += [
            Spacer(1, 4 * mm),
            _p(f"{regency.name}, {today_text}", ParagraphStyle("r", parent=BODY, alignment=2)),
            _p(f"Perihal: {fam.title(message.language)}"),
            Spacer(1, 2 * mm),
            _p("Kepada Yth.\n" + message.recipient_name + "\n" + _address(message)),
            Spacer(1, 4 * mm),
        ]
        body = texts.render(fam, "letter", message.language, message.data)
        story += [_p(paragraph.strip()) for paragraph in body.split("\n\n") if paragraph.strip()]
        if message.attachment_name:
            story.append(_p(f"Lampiran: {message.attachment_name}"))
        signer = office.head_name if office is not None and office.head_name else ""
        story += [
            Spacer(1, 8 * mm),
            _p(
                "Kepala Dinas Kependudukan dan Pencatatan Sipil\n"
                f"{regency.display_name}\n\n\n\n{signer or '( ............................ )'}",
                ParagraphStyle("s", parent=BODY, leftIndent=95 * mm),
            ),
        ]
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=f"Surat {village.display_name} #{batch.pk}",
        author=office.name if office is not None else "Disdukcapil",
    )
    doc.build(story)
    return buffer.getvalue()
