"""Handing an issued Suket to the resident: the PDF as a WhatsApp document through the outbox.

Issuance calls :func:`suket_deliver` in its own transaction for every holder the outbox can
reach; staff call it again to resend, which returns the same message (same idempotency key).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from django.conf import settings

from rekam.notifications.models import Message
from rekam.notifications.services import message_send

from .models import Suket
from .services import SuketError, suket_pdf, suket_verify_url


def suket_file(suket: Suket) -> Path:
    """The stored PDF, written once under MEDIA_ROOT for the outbox to attach."""
    path = Path(settings.MEDIA_ROOT) / "suket" / f"{suket.uid}.pdf"
    data = suket_pdf(suket)
    if not (path.exists() and hashlib.sha256(path.read_bytes()).hexdigest() == suket.pdf_sha256):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    return path


def suket_deliver(*, suket: Suket, acting_user: Any = None) -> Message:
    """Queue the Suket PDF for its holder (WhatsApp document message, then the outbox's
    fallbacks); sending the same Suket again returns the message already queued."""
    if suket.revoked_at is not None:
        raise SuketError(f"Suket {suket.number} sudah dicabut; tidak dikirim.")
    return message_send(
        recipient=suket.resident,
        template="suket_issued",
        data={
            "name": suket.holder.get("name", suket.resident.name),
            "suket_number": suket.number,
            "valid_until": suket.valid_until.isoformat(),
            "office": suket.office.name,
            "verify_url": suket_verify_url(),
        },
        idempotency_key=f"suket:{suket.number}",
        attachment=suket_file(suket),
        acting_user=acting_user,
    )
