"""Phone numbers: everything Rekam stores or sends to is E.164 (``+628123456789``)."""

from __future__ import annotations

import phonenumbers
from phonenumbers import PhoneNumberType


class PhoneError(ValueError):
    """A number that cannot be used; ``message`` is for the person."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


_MOBILE = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}


def phone_e164(raw: str) -> str:
    """``raw`` as written by people (``0812-3456-789``, ``62812...``, ``+62 812 ...``) in E.164.

    Numbers without a country code are Indonesian.
    """
    text = (raw or "").strip()
    if not text:
        raise PhoneError("Nomor telepon kosong.")
    # A number with the country code but no plus, as WhatsApp reports it (628123...).
    if text.isdigit() and text.startswith("62") and len(text) > 10:
        text = "+" + text
    try:
        number = phonenumbers.parse(text, "ID")
    except phonenumbers.NumberParseException:
        raise PhoneError(f"Nomor telepon {raw!r} tidak dapat dibaca.") from None
    if not phonenumbers.is_valid_number(number):
        raise PhoneError(f"Nomor telepon {raw!r} tidak valid.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_or_blank(raw: str) -> str:
    """E.164, or ``""`` when ``raw`` is empty or not a valid number."""
    try:
        return phone_e164(raw)
    except PhoneError:
        return ""


def phone_is_mobile(e164: str) -> bool:
    """Whether WhatsApp and SMS can reach the number (a landline cannot)."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.number_type(number) in _MOBILE
