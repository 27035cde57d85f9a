"""Invitation letters: PDF, one A4 page per invitee, batched per village and sorted by RW/RT so
village officials can hand them out street by street.

Drawn on the ReportLab canvas with the standard fonts and the QRs (check-in; the reschedule link
when the site's public address is known) as vector rectangles (the same approach as the
project's certificates), deterministic for the same input.
"""

from __future__ import annotations

import io
from collections.abc import Iterable

from django.utils import translation
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from rekam.lib.qr import qr_matrix

from .invites import (
    WHAT_TO_BRING,
    checkin_token,
    invitation_place,
    public_links,
    typed_code,
    when_id,
)
from .models import Invitation

FONT, BOLD = "Helvetica", "Helvetica-Bold"
LEFT, RIGHT = 25 * mm, A4[0] - 20 * mm
TITLE: dict[str, str] = {
    Invitation.Service.RECORDING: "UNDANGAN PEREKAMAN KTP-EL",
    Invitation.Service.PRINTING: "UNDANGAN PENGAMBILAN KTP-EL",
}
WHAT: dict[str, str] = {
    Invitation.Service.RECORDING: "perekaman KTP-el",
    Invitation.Service.PRINTING: "pengambilan KTP-el yang sudah siap cetak",
}


def _qr(c: Canvas, text: str, x: float, y: float, side: float) -> None:
    matrix = qr_matrix(text)
    module = side / matrix.size
    rects = " ".join(f"{col} {row} {length} 1 re" for row, col, length in matrix.dark_runs())
    c.saveState()
    c.transform(module, 0, 0, -module, x, y + side)
    c.addLiteral(f"{rects} f")
    c.restoreState()


def _lines(text: str, font: str, size: float, width: float) -> list[str]:
    """``text`` wrapped at spaces to ``width``, a word longer than the line (a link) broken
    where it reaches the edge."""
    out: list[str] = []
    for line in simpleSplit(text, font, size, width):
        if stringWidth(line, font, size) <= width:
            out.append(line)
            continue
        # Standard fonts have no kerning: a string's width is the sum of its characters'.
        start, used = 0, 0.0
        for i, ch in enumerate(line):
            w = stringWidth(ch, font, size)
            if used + w > width and i > start:
                out.append(line[start:i])
                start, used = i, 0.0
            used += w
        out.append(line[start:])
    return out


def _page(c: Canvas, inv: Invitation, office: str, public_url: str) -> None:
    voter = inv.voter
    place, address = invitation_place(inv)
    top = A4[1] - 20 * mm
    c.setFont(BOLD, 13)
    c.drawCentredString(A4[0] / 2, top, office.upper())
    c.setLineWidth(1.5)
    c.line(LEFT, top - 8, RIGHT, top - 8)
    c.setFont(BOLD, 12)
    c.drawCentredString(A4[0] / 2, top - 34, TITLE[inv.service])
    y = top - 64
    c.setFont(FONT, 11)
    c.drawString(LEFT, y, "Kepada Yth.")
    for line in (
        voter.name,
        f"{voter.street} RT {inv.rt or '-'} / RW {inv.rw or '-'}".strip(),
        f"{voter.village.name}",
    ):
        y -= 15
        c.drawString(LEFT + 8 * mm, y, line)
    y -= 28
    day, hours = when_id(inv.starts_at, inv.ends_at)
    for text in simpleSplit(
        f"Dengan hormat, Saudara kami undang untuk {WHAT[inv.service]} pada:",
        FONT,
        11,
        RIGHT - LEFT,
    ):
        c.drawString(LEFT, y, text)
        y -= 15
    y -= 4
    for label, value in (
        ("Hari, tanggal", day),
        ("Pukul", hours),
        ("Tempat", place),
        ("Alamat", address),
        ("Membawa", str(WHAT_TO_BRING[inv.service])),
    ):
        c.drawString(LEFT + 8 * mm, y, label)
        c.drawString(LEFT + 40 * mm, y, ":")
        for line in simpleSplit(value, FONT, 11, RIGHT - LEFT - 44 * mm) or [""]:
            c.drawString(LEFT + 44 * mm, y, line)
            y -= 15
    y -= 10
    notes = [
        "Tunjukkan kode QR di bawah kepada petugas di pintu masuk. Kode ini hanya berlaku satu "
        "kali. Datanglah sesuai jam di atas agar ruang tunggu tidak penuh.",
    ]
    links = public_links(inv, public_url)
    if links:
        notes.append(
            "Jika berhalangan, pilih jadwal lain paling lambat hari pemungutan suara: pindai "
            f"kode QR kanan bawah dengan ponsel, atau buka {links['reschedule_url']}"
        )
    for note in notes:
        for line in _lines(note, FONT, 10, RIGHT - LEFT):
            c.setFont(FONT, 10)
            c.drawString(LEFT, y, line)
            y -= 13
        y -= 6
    side = 45 * mm
    _qr(c, checkin_token(inv), LEFT, y - side - 6, side)
    c.setFont(FONT, 8)
    c.drawString(LEFT, y - side - 16, "Untuk petugas di pintu masuk")
    # The code the gate accepts typed, when the QR cannot be read.
    c.drawString(LEFT + side + 6 * mm, y - 20, f"Kode undangan: {typed_code(inv)}")
    if links:
        # A printed link this long cannot be typed: its own QR, for the invitee's phone.
        small = 32 * mm
        _qr(c, links["reschedule_url"], RIGHT - small, y - small - 6, small)
        c.drawRightString(RIGHT, y - small - 16, "Ganti jadwal (pindai dengan ponsel)")


def render_letters(
    invitations: Iterable[Invitation], *, office: str, public_url: str = ""
) -> bytes:
    """One page per invitation, in the order given (see :func:`letters_for_village`), with
    the reschedule link under ``public_url`` when there is one."""
    out = io.BytesIO()
    c = Canvas(out, pagesize=A4, invariant=True, pageCompression=1)
    c.setTitle("Undangan")
    with translation.override("id"):  # an official letter, whatever the page's language
        for inv in invitations:
            _page(c, inv, office, public_url)
            c.showPage()
    c.save()
    return out.getvalue()


def letters_for_village(
    election_id: int, village: str, *, run_id: int | None = None
) -> list[Invitation]:
    """A village's invitations still to be honoured (of one plan when ``run_id`` is given:
    re-invitations and reschedules keep their plan), by RW, RT and name: the order officials
    walk in."""
    invitations = Invitation.objects.filter(
        election_id=election_id, village_id=village, state=Invitation.State.PLANNED
    )
    if run_id is not None:
        invitations = invitations.filter(run_id=run_id)
    return list(
        invitations.select_related(
            "voter", "voter__village", "service_point", "session__visit"
        ).order_by("rw", "rt", "voter__name_key", "id")
    )
