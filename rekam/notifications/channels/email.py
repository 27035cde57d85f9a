"""E-mail through Django's default mailer (``MAILERS``: SMTP in production, memory in tests)."""

from __future__ import annotations

import hashlib
import smtplib
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.mail import EmailMessage, mailers

from .. import texts
from ..models import Channel
from .base import Outcome, Result, attachment_path, short

if TYPE_CHECKING:
    from ..models import Message


def message_id_header(key: str) -> str:
    """The same Message-ID for every try of one message, so mail clients show it once."""
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@rekam>"


def smtp_failure(exc: Exception) -> Result:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        reasons = "; ".join(
            f"{addr}: {code} {msg.decode(errors='replace') if isinstance(msg, bytes) else msg}"
            for addr, (code, msg) in exc.recipients.items()
        )
        return Result(Outcome.PERMANENT, short(f"Alamat ditolak: {reasons}"))
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        # A configuration problem of ours, not of the recipient: keep trying.
        return Result(Outcome.TEMPORARY, short(f"Login SMTP gagal: {exc}"))
    if isinstance(exc, smtplib.SMTPResponseException):
        outcome = Outcome.PERMANENT if exc.smtp_code >= 500 else Outcome.TEMPORARY
        error = exc.smtp_error
        text = error.decode(errors="replace") if isinstance(error, bytes) else str(error)
        return Result(outcome, short(f"SMTP {exc.smtp_code}: {text}"), exc.smtp_code)
    return Result(Outcome.TEMPORARY, short(f"Gangguan surel: {type(exc).__name__}: {exc}"))


class EmailChannel:
    name = Channel.EMAIL.value

    def __init__(self, *, from_address: str, rate: int) -> None:
        self.from_address = from_address
        self.rate = rate
        self.mailer = mailers.default

    @classmethod
    def from_settings(cls) -> EmailChannel:
        return cls(
            from_address=settings.NOTIFICATIONS_EMAIL_FROM, rate=settings.NOTIFICATIONS_EMAIL_RATE
        )

    def close(self) -> None:
        self.mailer.close()

    def unusable(self, message: Message) -> str | None:
        return None if message.email else "Tidak ada alamat surel."

    def send(self, message: Message) -> Result:
        fam = texts.family(message.template)
        subject = texts.render(fam, "email_subject", message.language, message.data)
        email = EmailMessage(
            subject=" ".join(subject.split()),
            body=texts.render(fam, "email_body", message.language, message.data),
            from_email=self.from_address,
            to=[message.email],
            headers={"Message-ID": message_id_header(message.idempotency_key)},
        )
        if message.attachment:
            try:
                content = attachment_path(message).read_bytes()
            except OSError:
                return Result(
                    Outcome.PERMANENT, f"Lampiran {message.attachment_name} tidak ditemukan."
                )
            email.attach(message.attachment_name or "lampiran.pdf", content, "application/pdf")
        try:
            self.mailer.send_messages([email])
        except (OSError, smtplib.SMTPException) as exc:
            return smtp_failure(exc)
        return Result(Outcome.SENT, provider_message_id=email.extra_headers["Message-ID"])
