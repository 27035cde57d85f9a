"""Signed invitation tokens: one to check in at the gate (the letter's QR), one to reschedule,
one to download the calendar file.

A token is ``django.core.signing`` over the invitation's reference, its purpose and when it
expires; the secret is the project's ``SECRET_KEY`` with a salt per purpose, so a check-in token
never reschedules. Tokens hold no personal data. Single use is kept where the token is spent:
the queue's ticket for a check-in (one ticket per reference, checked in once), the invitation's
own row for a reschedule. The calendar token only reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core import signing
from django.utils import timezone

CHECKIN, RESCHEDULE, CALENDAR = "in", "rs", "ic"
_SALT = "rekam.invitations."
# Text in front of a check-in token in a QR, so the gate scanner knows what it reads.
QR_PREFIX = "UND:"
# A check-in token stays valid this long after its session ends (a late arrival is still seen).
CHECKIN_GRACE = timedelta(hours=2)


class TokenRefused(ValueError):
    """Why a token is not accepted, in Indonesian."""


@dataclass(frozen=True)
class Token:
    reference: str
    purpose: str
    expires_at: datetime


def make(reference: str, purpose: str, expires_at: datetime) -> str:
    payload = {"r": reference, "x": int(expires_at.timestamp())}
    return signing.dumps(payload, salt=_SALT + purpose, compress=True)


def read(text: str, purpose: str, *, now: datetime | None = None) -> Token:
    """The token's contents once its signature and expiry are checked."""
    text = text.strip()
    if purpose == CHECKIN and text.upper().startswith(QR_PREFIX):
        text = text[len(QR_PREFIX) :]
    try:
        payload = signing.loads(text, salt=_SALT + purpose)
    except signing.BadSignature:
        raise TokenRefused("Kode undangan tidak sah.") from None
    if not isinstance(payload, dict) or "r" not in payload or "x" not in payload:
        raise TokenRefused("Kode undangan tidak sah.")
    expires = datetime.fromtimestamp(int(payload["x"]), tz=timezone.get_current_timezone())
    if (now or timezone.now()) > expires:
        raise TokenRefused("Kode undangan sudah kedaluwarsa.")
    return Token(reference=str(payload["r"]), purpose=purpose, expires_at=expires)
