"""Pointing Rekam's notification settings at the fake providers, for tests and benchmarks."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path
from typing import Any

from .sms import FakeSmsGateway
from .whatsapp import FakeWhatsApp

SMS_AUTH = "Bearer sms-secret"
APP_SECRET = "uji-rahasia-aplikasi"
VERIFY_TOKEN = "uji-token-verifikasi"

# A tiny but well-formed PDF: what the Suket issue stores and hands to the outbox.
PDF_BYTES = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def notification_values(
    data_dir: Path,
    *,
    whatsapp: FakeWhatsApp | None = None,
    sms: FakeSmsGateway | None = None,
    timeout_ms: int = 400,
) -> dict[str, Any]:
    """Settings for sending to the fakes, with short timeouts and backoff; files in ``data_dir``."""
    values: dict[str, Any] = {
        "NOTIFICATIONS_OUTBOX_DIR": data_dir / "outbox",
        "NOTIFICATIONS_LETTER_DIR": data_dir / "letters",
        "MEDIA_ROOT": data_dir / "media",
        "NOTIFICATIONS_BACKEND": "live",
        "NOTIFICATIONS_HTTP_TIMEOUT_MS": timeout_ms,
        "NOTIFICATIONS_BACKOFF_BASE_MS": 10,
        "NOTIFICATIONS_BACKOFF_MAX_MS": 80,
        "NOTIFICATIONS_MAX_ATTEMPTS": 4,
        "NOTIFICATIONS_WORKER_POLL_MS": 20,
        "NOTIFICATIONS_WHATSAPP_RATE": 0,
        "NOTIFICATIONS_SMS_RATE": 0,
        "NOTIFICATIONS_EMAIL_RATE": 0,
        "NOTIFICATIONS_WHATSAPP_APP_SECRET": APP_SECRET,
        "NOTIFICATIONS_WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN,
        "NOTIFICATIONS_WHATSAPP_PHONE_NUMBER_ID": "",
        "NOTIFICATIONS_WHATSAPP_TOKEN": "",
        "NOTIFICATIONS_SMS_URL": "",
        "MAILERS": {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}},
    }
    if whatsapp is not None:
        values |= {
            "NOTIFICATIONS_WHATSAPP_BASE_URL": whatsapp.url,
            "NOTIFICATIONS_WHATSAPP_API_VERSION": whatsapp.api_version,
            "NOTIFICATIONS_WHATSAPP_PHONE_NUMBER_ID": whatsapp.phone_number_id,
            "NOTIFICATIONS_WHATSAPP_TOKEN": whatsapp.token,
        }
    if sms is not None:
        values |= {
            "NOTIFICATIONS_SMS_URL": sms.url + "/send",
            "NOTIFICATIONS_SMS_AUTH": sms.auth,
            "NOTIFICATIONS_SMS_BODY": "json",
            "NOTIFICATIONS_SMS_FIELDS": "to=to,text=text,sender=from",
        }
    return values


def use_fakes(settings: Any, data_dir: Path, **kwargs: Any) -> None:
    """Apply :func:`notification_values` to pytest-django's ``settings`` fixture."""
    for name, value in notification_values(data_dir, **kwargs).items():
        setattr(settings, name, value)


def as_environment(values: dict[str, Any]) -> dict[str, str]:
    """The same settings as environment variables, for worker processes."""
    env = {}
    for name, value in values.items():
        if name in ("NOTIFICATIONS_OUTBOX_DIR", "NOTIFICATIONS_LETTER_DIR", "MEDIA_ROOT"):
            continue  # derived from REKAM_DATA_DIR in the worker
        if name == "MAILERS":
            env["EMAIL_BACKEND"] = value["default"]["BACKEND"]
            continue
        env[name] = str(value)
    return env


def stored_pdf(media_root: Path, name: str = "suket-0123.pdf") -> Path:
    path = Path(media_root) / "suket" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(PDF_BYTES)
    return path


def make_worker(worker_id: str = "test-worker", **kwargs: Any) -> Any:
    """A worker built from the current settings, with a seeded random source (reproducible
    jitter)."""
    from rekam.notifications.worker import Worker

    return Worker(worker_id=worker_id, rng=random.Random(7), **kwargs)


def later(seconds: float) -> Any:
    """A clock ``seconds`` ahead of now (to reach a retry's time without sleeping)."""
    from django.utils import timezone

    return lambda: timezone.now() + timedelta(seconds=seconds)
