"""A small WhatsApp Cloud API on 127.0.0.1: ``/{version}/{phone_number_id}/messages`` and
``/media``, with the real API's request checks and error bodies."""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from .server import Answer, FakeServer, Recorded

_ERRORS = {
    400: (
        131026,
        "Message undeliverable",
        "Unable to deliver message: the number is not on WhatsApp.",
    ),
    429: (130429, "Rate limit hit", "Cloud API message throughput has been reached."),
    500: (1, "An unknown error has occurred.", ""),
}


def error_body(code: int, message: str, details: str = "") -> dict[str, Any]:
    body: dict[str, Any] = {
        "message": f"(#{code}) {message}",
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "AbCdEfFake",
    }
    if details:
        body["error_data"] = {"messaging_product": "whatsapp", "details": details}
    return {"error": body}


@dataclass
class Media:
    id: str
    filename: str
    mime: str
    content: bytes


class FakeWhatsApp(FakeServer):
    def __init__(
        self,
        *,
        token: str = "fake-token",
        phone_number_id: str = "1098765",
        api_version: str = "v23.0",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.token = token
        self.phone_number_id = phone_number_id
        self.api_version = api_version
        self.sent: list[dict[str, Any]] = []  # accepted message payloads, with "wamid"
        self.media: dict[str, Media] = {}
        self._ids = itertools.count(1)

    def check_auth(self, request: Recorded) -> Answer | None:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return Answer(401, error_body(190, "Invalid OAuth access token."))
        if not request.path.startswith(f"/{self.api_version}/{self.phone_number_id}/"):
            return Answer(400, error_body(100, "Unsupported post request."))
        return None

    def error(self, request: Recorded, status: int) -> Answer:
        code, message, details = _ERRORS[status]
        return Answer(status, error_body(code, message, details))

    def accept(self, request: Recorded) -> Answer:
        if self.endpoint(request) == "media":
            return self._upload(request)
        if self.endpoint(request) == "messages":
            return self._message(request)
        return Answer(404, error_body(100, "Unknown path."))

    def _upload(self, request: Recorded) -> Answer:
        head = f"Content-Type: {request.headers.get('content-type', '')}\r\n\r\n".encode()
        parsed = BytesParser(policy=HTTP).parsebytes(head + request.body)
        fields: dict[str, str] = {}
        upload: Media | None = None
        for part in parsed.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            data = payload if isinstance(payload, bytes) else b""
            if name == "file":
                upload = Media("", part.get_filename() or "", part.get_content_type(), data)
            elif isinstance(name, str):
                fields[name] = data.decode()
        if fields.get("messaging_product") != "whatsapp" or upload is None or not upload.content:
            return Answer(400, error_body(100, "Invalid parameter", "file and messaging_product"))
        with self.lock:
            upload.id = f"media-{next(self._ids)}"
            self.media[upload.id] = upload
        return Answer(200, {"id": upload.id})

    def _message(self, request: Recorded) -> Answer:
        try:
            body = request.json()
        except ValueError:
            return Answer(400, error_body(100, "Invalid JSON"))
        to = str(body.get("to", ""))
        if body.get("messaging_product") != "whatsapp" or not to.isdigit():
            return Answer(400, error_body(100, "Invalid parameter", "messaging_product and to"))
        kind = body.get("type")
        if kind == "template":
            template = body.get("template") or {}
            if not template.get("name") or not (template.get("language") or {}).get("code"):
                return Answer(400, error_body(132000, "Template name or language missing"))
            for component in template.get("components", []):
                for param in component.get("parameters", []):
                    document = param.get("document")
                    if document is not None and document.get("id") not in self.media:
                        return Answer(400, error_body(131053, "Media upload error", "unknown id"))
                    if param.get("type") == "text" and not param.get("text"):
                        return Answer(400, error_body(132000, "Empty parameter"))
        elif kind == "text":
            if not (body.get("text") or {}).get("body"):
                return Answer(400, error_body(100, "Invalid parameter", "text.body"))
        else:
            return Answer(400, error_body(100, "Invalid parameter", "type"))
        with self.lock:
            wamid = f"wamid.FAKE{next(self._ids):06d}"
            self.sent.append(dict(body, wamid=wamid))
        return Answer(
            200,
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": to}],
                "messages": [{"id": wamid}],
            },
        )

    def keys_sent(self) -> Counter[str]:
        """How often each message (by its idempotency key) was accepted."""
        with self.lock:
            return Counter(str(m.get("biz_opaque_callback_data", "")) for m in self.sent)

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {"requests": len(self.requests), "sent": len(self.sent)}
