"""SMS through a generic HTTP gateway: URL, Authorization header, body format (JSON or form)
and field names are settings. The message's idempotency key goes in a header (by default
``Idempotency-Key``) so a gateway that honours it never sends the same SMS twice."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .. import texts
from ..models import Channel
from .base import (
    Outcome,
    Result,
    is_temporary_status,
    phone_problem,
    retry_after,
    short,
    timeout_seconds,
    transport_failure,
)

if TYPE_CHECKING:
    from ..models import Message

FIELDS = ("to", "text", "sender")


def parse_fields(spec: str) -> dict[str, str]:
    """``"to=msisdn,text=message"`` as ``{"to": "msisdn", "text": "message", "sender": ...}``;
    a field mapped to nothing is left out of the request."""
    names = {"to": "to", "text": "text", "sender": "from"}
    for pair in spec.split(","):
        ours, sep, theirs = pair.partition("=")
        ours = ours.strip()
        if not ours:
            continue
        if ours not in FIELDS or not sep:
            raise ImproperlyConfigured(
                f"NOTIFICATIONS_SMS_FIELDS: {pair!r} must be one of {FIELDS} = name"
            )
        names[ours] = theirs.strip()
    return names


def error_detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return short(f"HTTP {response.status_code}: {response.text}")
    reason: Any = body
    if isinstance(body, dict):
        reason = body.get("error") or body.get("message") or body.get("detail") or body
        if isinstance(reason, dict):
            reason = reason.get("message") or reason
    return short(f"HTTP {response.status_code}: {reason}")


class SmsChannel:
    name = Channel.SMS.value

    def __init__(
        self,
        *,
        url: str,
        auth: str,
        body: str,
        fields: dict[str, str],
        sender: str,
        id_field: str,
        idempotency_header: str,
        timeout: float,
        rate: int,
    ) -> None:
        if body not in ("json", "form"):
            raise ImproperlyConfigured("NOTIFICATIONS_SMS_BODY must be 'json' or 'form'.")
        self.url = url
        self.body = body
        self.fields = fields
        self.sender = sender
        self.id_field = id_field
        self.idempotency_header = idempotency_header
        self.rate = rate
        headers = {"User-Agent": "Rekam"}
        if auth:
            headers["Authorization"] = auth
        self.client = httpx.Client(timeout=timeout, headers=headers)

    @classmethod
    def from_settings(cls) -> SmsChannel:
        return cls(
            url=settings.NOTIFICATIONS_SMS_URL,
            auth=settings.NOTIFICATIONS_SMS_AUTH,
            body=settings.NOTIFICATIONS_SMS_BODY,
            fields=parse_fields(settings.NOTIFICATIONS_SMS_FIELDS),
            sender=settings.NOTIFICATIONS_SMS_SENDER,
            id_field=settings.NOTIFICATIONS_SMS_ID_FIELD,
            idempotency_header=settings.NOTIFICATIONS_SMS_IDEMPOTENCY_HEADER,
            timeout=timeout_seconds(),
            rate=settings.NOTIFICATIONS_SMS_RATE,
        )

    def close(self) -> None:
        self.client.close()

    def unusable(self, message: Message) -> str | None:
        if not self.url:
            return "Gerbang SMS belum dikonfigurasi."
        return phone_problem(message)

    def request_body(self, message: Message) -> dict[str, str]:
        text = texts.render(texts.family(message.template), "sms", message.language, message.data)
        values = {"to": message.phone, "text": text, "sender": self.sender}
        return {self.fields[k]: v for k, v in values.items() if self.fields.get(k) and v}

    def send(self, message: Message) -> Result:
        body = self.request_body(message)
        headers = {}
        if self.idempotency_header:
            headers[self.idempotency_header] = message.idempotency_key
        try:
            if self.body == "json":
                response = self.client.post(self.url, json=body, headers=headers)
            else:
                response = self.client.post(self.url, data=body, headers=headers)
        except httpx.HTTPError as exc:
            return transport_failure(exc)
        status = response.status_code
        if 200 <= status < 300:
            provider_id = ""
            try:
                payload = response.json()
                if isinstance(payload, dict):
                    provider_id = str(payload.get(self.id_field) or "")
            except ValueError:
                pass
            return Result(Outcome.SENT, status_code=status, provider_message_id=provider_id[:200])
        if is_temporary_status(status):
            return Result(
                Outcome.TEMPORARY, error_detail(response), status, retry_after=retry_after(response)
            )
        return Result(Outcome.PERMANENT, error_detail(response), status)
