"""Printable letter batches: a handover list for the village officials, then each letter,
followed by the pages of its attachment (a Suket goes out on paper with the letter that says it
is enclosed).

ReportLab renders the list and the letters; pypdf then copies each attached PDF's pages in right
after its letter, so a stored Suket is printed exactly as issued, never re-rendered.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from xml.sax.saxutils import escape

from django.utils import dateformat, timezone, translation
from pypdf import PdfReader, PdfWriter
from pypdf.errors import PyPdfError
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import (
    Flowable,
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
from .channels.base import attachment_path
from .models import LetterBatch, Message

_styles = getSampleStyleSheet()
BODY = ParagraphStyle("body", parent=_styles["Normal"], fontSize=11, leading=15, spaceAfter=7)
SMALL = ParagraphStyle("small", parent=BODY, fontSize=9, leading=11, spaceAfter=0)
LIST_SMALL = ParagraphStyle("list_small", parent=SMALL, fontSize=8, leading=10)
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


class _PageMark(Flowable):
    """Takes no room; notes the page it lands on (where a letter starts)."""

    def __init__(self, pages: list[int]) -> None:
        super().__init__()
        self.pages = pages

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        return (0, 0)

    def draw(self) -> None:
        self.pages.append(self.canv.getPageNumber())


def attachment_label(message: Message) -> str:
    """How the letter names its attachment: a Suket by its number, anything else by file."""
    number = (message.data or {}).get("suket_number")
    if number:
        return f"Suket nomor {number}"
    return message.attachment_name


def _attachment(message: Message) -> PdfReader | None:
    """The attached PDF, or ``None`` when there is none or it cannot be read."""
    if not message.attachment:
        return None
    try:
        reader = PdfReader(attachment_path(message))
        if len(reader.pages) == 0:
            return None
    except (OSError, PyPdfError):
        return None
    return reader


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
    attached = [_attachment(m) for m in messages]
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
    for number, (message, reader) in enumerate(zip(messages, attached, strict=True), 1):
        fam = texts.family(message.template)
        # The number on a line of its own, small enough not to break inside it.
        enclosed = "-"
        if message.attachment:
            enclosed = attachment_label(message).replace(" nomor ", " nomor\n")
        if message.attachment and reader is None:
            enclosed += "\n(berkas tidak ditemukan)"
        rows.append(
            [
                str(number),
                _p(message.recipient_name, SMALL),
                _p(_address(message), SMALL),
                _p(fam.title("id"), SMALL),
                _p(enclosed, LIST_SMALL),
                "",
            ]
        )
    table = Table(
        rows, colWidths=[8 * mm, 31 * mm, 37 * mm, 28 * mm, 46 * mm, 24 * mm], repeatRows=1
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
    starts: list[int] = []  # the page each letter starts on (1-based)
    for message, reader in zip(messages, attached, strict=True):
        fam = texts.family(message.template)
        story += [PageBreak(), _PageMark(starts)]
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
        if message.attachment:
            if reader is not None:
                story.append(_p(f"Lampiran: {attachment_label(message)} (halaman berikut)."))
            else:
                # Print it from the Suket page and add it by hand; the list says so too.
                story.append(_p(f"Lampiran: {attachment_label(message)} (berkas tidak ditemukan)."))
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
    title = f"Surat {village.display_name} #{batch.pk}"
    author = office.name if office is not None else "Disdukcapil"
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=title,
        author=author,
    )
    doc.build(story)
    if not any(attached):
        return buffer.getvalue()
    return _with_attachments(buffer.getvalue(), starts, messages, attached, title, author)


def _with_attachments(
    letters: bytes,
    starts: list[int],
    messages: Sequence[Message],
    attached: Sequence[PdfReader | None],
    title: str,
    author: str,
) -> bytes:
    """The batch with each attachment's pages right after its letter, and a bookmark each."""
    rendered = PdfReader(io.BytesIO(letters))
    ends = [start - 1 for start in starts[1:]] + [len(rendered.pages)]
    writer = PdfWriter()
    for page in rendered.pages[: starts[0] - 1]:  # the handover list
        writer.add_page(page)
    for message, reader, start, end in zip(messages, attached, starts, ends, strict=True):
        first = len(writer.pages)
        for page in rendered.pages[start - 1 : end]:
            writer.add_page(page)
        writer.add_outline_item(title=message.recipient_name, page_number=first)
        if reader is not None:
            enclosed = len(writer.pages)
            for page in reader.pages:
                writer.add_page(page)
            writer.add_outline_item(title=attachment_label(message), page_number=enclosed)
    writer.add_metadata({"/Title": title, "/Author": author})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
