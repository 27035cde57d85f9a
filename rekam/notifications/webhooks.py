"""The WhatsApp webhook: the verify-token handshake (GET) and signed events (POST).

Every POST must carry ``X-Hub-Signature-256: sha256=<HMAC-SHA256 of the raw body with the
app secret>``; anything else is refused before the body is read as JSON, and changes nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json

from django.conf import settings
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseForbidden,
    JsonResponse,
)
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from .services import whatsapp_webhook_apply


def signature(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_valid(body: bytes, header: str) -> bool:
    secret = settings.NOTIFICATIONS_WHATSAPP_APP_SECRET
    if not secret or not header:
        return False
    return hmac.compare_digest(signature(body, secret).encode(), header.strip().encode())


@csrf_exempt
@require_http_methods(["GET", "POST"])
def whatsapp_webhook(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        expected = settings.NOTIFICATIONS_WHATSAPP_VERIFY_TOKEN
        token = request.GET.get("hub.verify_token", "")
        if (
            request.GET.get("hub.mode") == "subscribe"
            and expected
            and hmac.compare_digest(token.encode(), expected.encode())
        ):
            return HttpResponse(request.GET.get("hub.challenge", ""), content_type="text/plain")
        return HttpResponseForbidden("Token verifikasi tidak cocok.")
    if not signature_valid(request.body, request.headers.get("X-Hub-Signature-256", "")):
        return HttpResponseForbidden("Tanda tangan webhook tidak sah.")
    try:
        payload = json.loads(request.body)
    except ValueError:
        return HttpResponseBadRequest("Isi webhook bukan JSON yang valid.")
    if not isinstance(payload, dict):
        return HttpResponseBadRequest("Isi webhook bukan objek JSON.")
    return JsonResponse(whatsapp_webhook_apply(payload=payload))
