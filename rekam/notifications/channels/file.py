"""The embedded default: messages are written to files instead of going to a provider.

Each message becomes ``DATA_DIR/outbox/<channel>/<date>/<id>.txt`` holding exactly what the
channel would send; the staff "sent messages" page shows it. The demo needs no account anywhere.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils import timezone

from .. import texts
from ..models import Channel
from .base import Outcome, Result, phone_problem
from .whatsapp import whatsapp_problem

if TYPE_CHECKING:
    from ..models import Message

PREFIX = "file:"


def outbox_dir() -> Path:
    return Path(settings.NOTIFICATIONS_OUTBOX_DIR)


def message_text(channel: str, message: Message) -> str:
    """What ``channel`` would carry for ``message``: the text a person reads."""
    fam = texts.family(message.template)
    if channel == Channel.EMAIL:
        subject = texts.render(fam, "email_subject", message.language, message.data)
        body = texts.render(fam, "email_body", message.language, message.data)
        return f"Subject: {' '.join(subject.split())}\n\n{body}"
    part = "whatsapp" if channel == Channel.WHATSAPP else channel
    return texts.render(fam, part, message.language, message.data)


class FileChannel:
    rate = 0

    def __init__(self, name: str) -> None:
        self.name = name

    def close(self) -> None:
        pass

    def unusable(self, message: Message) -> str | None:
        if self.name == Channel.WHATSAPP:
            return whatsapp_problem(message)
        if self.name == Channel.SMS:
            return phone_problem(message)
        if self.name == Channel.EMAIL and not message.email:
            return "Tidak ada alamat surel."
        return None

    def path_for(self, message: Message) -> Path:
        day = timezone.localtime(message.created_at).date().isoformat()
        return outbox_dir() / self.name / day / f"{message.pk:08d}.txt"

    def send(self, message: Message) -> Result:
        path = self.path_for(message)
        address = message.email if self.name == Channel.EMAIL else message.phone
        fam = texts.family(message.template)
        header = [
            f"Saluran: {Channel(self.name).label}",
            f"Kepada: {message.recipient_name} <{address}>",
            f"Jenis pesan: {message.template}"
            + (
                f" (templat WhatsApp {texts.whatsapp_template_name(fam)})"
                if self.name == Channel.WHATSAPP and fam.whatsapp_kind == "template"
                else ""
            ),
            f"Kunci: {message.idempotency_key}",
        ]
        if message.attachment and self.name in (Channel.WHATSAPP, Channel.EMAIL):
            header.append(f"Lampiran: {message.attachment_name}")
        content = "\n".join(header) + "\n\n" + message_text(self.name, message) + "\n"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Written under a temporary name, then renamed: a reader never sees half a file.
            tmp = path.with_suffix(".tmp")
            tmp.write_text(content, encoding="utf-8")
            tmp.replace(path)
        except OSError as exc:
            return Result(Outcome.TEMPORARY, f"Berkas tidak dapat ditulis: {exc}")
        relative = path.relative_to(outbox_dir()).as_posix()
        return Result(Outcome.SENT, provider_message_id=PREFIX + relative)
