"""A small generic SMS gateway on 127.0.0.1: JSON or form body, an Authorization header, and an
``Idempotency-Key`` it honours (a repeated key gets the first answer and sends nothing)."""

from __future__ import annotations

import itertools
from collections import Counter
from typing import Any

from .server import Answer, FakeServer, Recorded

_ERRORS = {
    400: "invalid destination number",
    429: "too many requests",
    500: "upstream SMSC unavailable",
}


class FakeSmsGateway(FakeServer):
    def __init__(self, *, auth: str = "Bearer sms-secret", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.auth = auth
        self.sent: list[dict[str, str]] = []  # accepted SMS, with "id" and "key"
        self.answers: dict[str, Answer] = {}  # idempotency key -> first answer
        self.duplicates: Counter[str] = Counter()
        self._ids = itertools.count(1)

    def check_auth(self, request: Recorded) -> Answer | None:
        if self.auth and request.headers.get("authorization") != self.auth:
            return Answer(401, {"error": "unauthorized"})
        return None

    def error(self, request: Recorded, status: int) -> Answer:
        headers = {"Retry-After": "0"} if status == 429 else {}
        return Answer(status, {"error": {"message": _ERRORS[status]}}, headers)

    def accept(self, request: Recorded) -> Answer:
        content_type = request.headers.get("content-type", "")
        try:
            fields = request.json() if "json" in content_type else request.form()
        except ValueError:
            return Answer(400, {"error": {"message": "unreadable body"}})
        if not isinstance(fields, dict) or not fields.get("to") or not fields.get("text"):
            return Answer(400, {"error": {"message": "to and text are required"}})
        key = request.headers.get("idempotency-key", "")
        with self.lock:
            if key and key in self.answers:
                self.duplicates[key] += 1
                return self.answers[key]
            sms_id = f"sms-{next(self._ids)}"
            self.sent.append(dict(fields, id=sms_id, key=key))
            answer = Answer(200, {"id": sms_id, "status": "accepted"})
            if key:
                self.answers[key] = answer
        return answer

    def keys_sent(self) -> Counter[str]:
        with self.lock:
            return Counter(m["key"] for m in self.sent)

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {"requests": len(self.requests), "sent": len(self.sent)}
