"""What every channel module has in common: the shape of a channel and of a send result.

A channel has a ``name``, a ``rate`` (messages per second its provider accepts; 0 for no
limit), ``unusable(message)`` (why it cannot carry this message, or ``None``), ``send(message)``
and ``close()``. Channels never touch the outbox row: the worker records what they return.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import httpx
from django.conf import settings

from ..models import Attempt
from ..phones import phone_is_mobile

if TYPE_CHECKING:
    from ..models import Message

Outcome = Attempt.Outcome


@dataclass
class Result:
    outcome: str
    detail: str = ""
    status_code: int | None = None
    provider_message_id: str = ""
    # Seconds the provider asked us to wait (Retry-After), for temporary failures.
    retry_after: float | None = None
    # WhatsApp media uploaded for this message: kept so a retry does not upload again.
    media_id: str = ""


class ChannelImpl(Protocol):
    name: str
    rate: int

    def unusable(self, message: Message) -> str | None: ...

    def send(self, message: Message) -> Result: ...

    def close(self) -> None: ...


def timeout_seconds() -> float:
    return settings.NOTIFICATIONS_HTTP_TIMEOUT_MS / 1000


def phone_problem(message: Message) -> str | None:
    if not message.phone:
        return "Tidak ada nomor telepon yang valid."
    if not phone_is_mobile(message.phone):
        return f"Nomor {message.phone} bukan nomor seluler."
    return None


def attachment_path(message: Message) -> Path:
    """Where the message's attachment is stored (relative paths are under MEDIA_ROOT)."""
    path = Path(message.attachment)
    return path if path.is_absolute() else Path(settings.MEDIA_ROOT) / path


def retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def transport_failure(exc: httpx.HTTPError) -> Result:
    """Timeouts and connection errors: the provider may come back, so try again later."""
    if isinstance(exc, httpx.TimeoutException):
        return Result(Outcome.TEMPORARY, f"Waktu tunggu habis ({type(exc).__name__}).")
    return Result(Outcome.TEMPORARY, f"Gangguan koneksi: {type(exc).__name__}: {exc}"[:500])


def is_temporary_status(status: int) -> bool:
    return status in (408, 425, 429) or status >= 500


def short(text: str, limit: int = 500) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
