"""WhatsApp Cloud API: approved template messages (with the Suket PDF as a document header,
uploaded first), and free text only inside the 24-hour window the resident opened.

The Cloud API has no idempotency key. The message's key goes in ``biz_opaque_callback_data``,
which WhatsApp echoes in every status webhook: a message whose worker died after handing it
over is recognised by its key when the status arrives, before its lease runs out.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import httpx
from django.conf import settings
from django.utils import timezone

from .. import texts
from ..models import Channel, InboundMessage
from .base import (
    Outcome,
    Result,
    attachment_path,
    is_temporary_status,
    phone_problem,
    retry_after,
    short,
    timeout_seconds,
    transport_failure,
)

if TYPE_CHECKING:
    from ..models import Message

WINDOW = timedelta(hours=24)
# Cloud API error codes that mean "later" even when the HTTP status is a 4xx: rate limits,
# throughput and pair limits, and the service being briefly unavailable.
TEMPORARY_CODES = {1, 2, 4, 17, 341, 80007, 130429, 131000, 131016, 131048, 131056, 133004}
# WhatsApp's language codes for Rekam's languages.
LANGUAGE_CODES = {"id": "id", "en": "en"}


def window_open(phone: str) -> bool:
    """Has the person written to us on WhatsApp in the last 24 hours?"""
    since = timezone.now() - WINDOW
    return InboundMessage.objects.filter(phone=phone, received_at__gte=since).exists()


def whatsapp_problem(message: Message) -> str | None:
    """Why WhatsApp cannot carry this message, whoever the provider (also for the demo files)."""
    problem = phone_problem(message)
    if problem:
        return problem
    fam = texts.family(message.template)
    if fam.whatsapp_kind == "text" and not window_open(message.phone):
        return (
            "Pesan bebas WhatsApp hanya boleh dikirim dalam 24 jam setelah pesan terakhir "
            "dari penerima."
        )
    if fam.needs_attachment and not message.attachment:
        return "Templat WhatsApp ini memerlukan lampiran dokumen."
    return None


def error_detail(response: httpx.Response) -> tuple[str, int | None]:
    """The Cloud API's reason (``(#131026) Message undeliverable: ...``) and its code."""
    try:
        error = response.json().get("error") or {}
    except ValueError:
        return short(f"HTTP {response.status_code}: {response.text}"), None
    code = error.get("code")
    details = (error.get("error_data") or {}).get("details", "")
    text = f"(#{code}) {error.get('message', '')}" + (f": {details}" if details else "")
    return short(f"HTTP {response.status_code} {text}"), code if isinstance(code, int) else None


def classify(response: httpx.Response) -> Result:
    status = response.status_code
    if 200 <= status < 300:
        try:
            wamid = str(response.json()["messages"][0]["id"])
        except (ValueError, KeyError, IndexError, TypeError):
            return Result(
                Outcome.PERMANENT, short(f"Jawaban tidak dikenal: {response.text}"), status
            )
        return Result(Outcome.SENT, status_code=status, provider_message_id=wamid)
    detail, code = error_detail(response)
    if is_temporary_status(status) or code in TEMPORARY_CODES:
        return Result(Outcome.TEMPORARY, detail, status, retry_after=retry_after(response))
    return Result(Outcome.PERMANENT, detail, status)


class WhatsAppChannel:
    name = Channel.WHATSAPP.value

    def __init__(
        self,
        *,
        base_url: str,
        api_version: str,
        phone_number_id: str,
        token: str,
        timeout: float,
        rate: int,
    ) -> None:
        self.phone_number_id = phone_number_id
        self.rate = rate
        self.configured = bool(phone_number_id and token)
        self.client = httpx.Client(
            base_url=f"{base_url.rstrip('/')}/{api_version}/{phone_number_id}",
            timeout=timeout,
            headers={"Authorization": f"Bearer {token}", "User-Agent": "Rekam"},
        )

    @classmethod
    def from_settings(cls) -> WhatsAppChannel:
        return cls(
            base_url=settings.NOTIFICATIONS_WHATSAPP_BASE_URL,
            api_version=settings.NOTIFICATIONS_WHATSAPP_API_VERSION,
            phone_number_id=settings.NOTIFICATIONS_WHATSAPP_PHONE_NUMBER_ID,
            token=settings.NOTIFICATIONS_WHATSAPP_TOKEN,
            timeout=timeout_seconds(),
            rate=settings.NOTIFICATIONS_WHATSAPP_RATE,
        )

    def close(self) -> None:
        self.client.close()

    def unusable(self, message: Message) -> str | None:
        if not self.configured:
            return "WhatsApp belum dikonfigurasi (nomor pengirim dan token)."
        return whatsapp_problem(message)

    def upload_media(self, message: Message) -> Result:
        """Upload the attachment; the result's ``media_id`` goes into the template header."""
        path = attachment_path(message)
        try:
            content = path.read_bytes()
        except OSError:
            return Result(Outcome.PERMANENT, f"Lampiran {message.attachment_name} tidak ditemukan.")
        name = message.attachment_name or path.name
        mime = "application/pdf" if name.lower().endswith(".pdf") else "application/octet-stream"
        try:
            response = self.client.post(
                "/media",
                data={"messaging_product": "whatsapp", "type": mime},
                files={"file": (name, content, mime)},
            )
        except httpx.HTTPError as exc:
            return transport_failure(exc)
        if 200 <= response.status_code < 300:
            try:
                return Result(Outcome.SENT, media_id=str(response.json()["id"]))
            except (ValueError, KeyError, TypeError):
                return Result(Outcome.PERMANENT, short(f"Jawaban unggah: {response.text}"))
        result = classify(response)
        result.detail = f"Unggah lampiran: {result.detail}"
        return result

    def payload(self, message: Message, media_id: str = "") -> dict[str, Any]:
        fam = texts.family(message.template)
        body: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": message.phone.lstrip("+"),
            "biz_opaque_callback_data": message.idempotency_key,
        }
        if fam.whatsapp_kind == "text":
            text = texts.render(fam, "whatsapp", message.language, message.data)
            body |= {"type": "text", "text": {"preview_url": False, "body": text}}
            return body
        components: list[dict[str, Any]] = []
        if fam.needs_attachment:
            document = {"id": media_id, "filename": message.attachment_name or "dokumen.pdf"}
            components.append(
                {"type": "header", "parameters": [{"type": "document", "document": document}]}
            )
        params = texts.whatsapp_parameters(fam, message.language, message.data)
        if params:
            components.append(
                {"type": "body", "parameters": [{"type": "text", "text": p} for p in params]}
            )
        for index, field in enumerate(fam.whatsapp_url_buttons):
            # A message queued without the value gets no button: the provider refuses it and
            # the next channel takes over.
            if suffix := str(message.data.get(field) or ""):
                components.append(
                    {
                        "type": "button",
                        "sub_type": "url",
                        "index": str(index),
                        "parameters": [{"type": "text", "text": suffix}],
                    }
                )
        body |= {
            "type": "template",
            "template": {
                "name": texts.whatsapp_template_name(fam),
                "language": {"code": LANGUAGE_CODES.get(message.language, "id")},
                "components": components,
            },
        }
        return body

    def send(self, message: Message) -> Result:
        fam = texts.family(message.template)
        media_id = message.media_id
        if fam.needs_attachment and fam.whatsapp_kind == "template" and not media_id:
            uploaded = self.upload_media(message)
            if uploaded.outcome != Outcome.SENT:
                return uploaded
            media_id = uploaded.media_id
        try:
            response = self.client.post("/messages", json=self.payload(message, media_id))
        except httpx.HTTPError as exc:
            result = transport_failure(exc)
        else:
            result = classify(response)
        if media_id != message.media_id:
            result.media_id = media_id
        return result
