"""System checks for a deployment (``rekam check --deploy``), with stable ids.

The embedded demo runs on public defaults (a demo SECRET_KEY, a relative verifier address);
these checks make sure none of them reaches a real office. Django's own deploy checks cover the
HTTPS settings (``security.W004`` and friends), which are environment-driven in settings.py.

- ``rekam.E001``: SECRET_KEY is the demo key.
- ``rekam.E002``: SECRET_KEY is too short or too plain.
- ``rekam.E003``: SUKET_KEY_SECRET is the demo key.
- ``rekam.E004``: SUKET_KEY_SECRET is too short or too plain.
- ``rekam.W001``: SUKET_KEY_SECRET is the same as SECRET_KEY.
- ``rekam.E005``: SUKET_VERIFY_URL is not an absolute http(s) address.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register

# Django's own rule for SECRET_KEY (security.W009): at least 50 characters, 5 different ones.
MIN_SECRET_LENGTH = 50
MIN_SECRET_UNIQUE = 5
# The Suket key secret derives an AES key; 32 random characters carry enough entropy.
MIN_SUKET_SECRET_LENGTH = 32


def _weak(value: str, length: int) -> bool:
    return len(value) < length or len(set(value)) < MIN_SECRET_UNIQUE


@register(Tags.security, deploy=True)
def check_secrets(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    if settings.DEBUG:
        return []
    demo = settings.DEMO_SECRET_KEY
    secret = str(settings.SECRET_KEY)
    suket = str(settings.SUKET_KEY_SECRET)
    found: list[CheckMessage] = []
    if secret == demo:
        found.append(
            Error(
                "SECRET_KEY is the public demo key.",
                hint="Set SECRET_KEY in the environment to a long random value.",
                id="rekam.E001",
            )
        )
    elif _weak(secret, MIN_SECRET_LENGTH):
        found.append(
            Error(
                f"SECRET_KEY is shorter than {MIN_SECRET_LENGTH} characters or has fewer than "
                f"{MIN_SECRET_UNIQUE} different characters.",
                hint="Generate one: python -c 'import secrets; print(secrets.token_urlsafe(50))'",
                id="rekam.E002",
            )
        )
    if suket == demo:
        found.append(
            Error(
                "SUKET_KEY_SECRET is the public demo key (it defaults to SECRET_KEY).",
                hint="Set SUKET_KEY_SECRET in the environment to a long random value of its own.",
                id="rekam.E003",
            )
        )
    elif _weak(suket, MIN_SUKET_SECRET_LENGTH):
        found.append(
            Error(
                f"SUKET_KEY_SECRET is shorter than {MIN_SUKET_SECRET_LENGTH} characters or has "
                f"fewer than {MIN_SECRET_UNIQUE} different characters.",
                id="rekam.E004",
            )
        )
    elif suket == secret:
        found.append(
            Warning(
                "SUKET_KEY_SECRET is the same as SECRET_KEY: rotating SECRET_KEY would make the "
                "offices' sealed signing keys unreadable.",
                hint="Set SUKET_KEY_SECRET to its own value.",
                id="rekam.W001",
            )
        )
    return found


@register(Tags.security, deploy=True)
def check_verify_url(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """The verifier's address is printed on every Suket: a relative one helps nobody on paper."""
    url = str(settings.SUKET_VERIFY_URL)
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.netloc:
        return []
    return [
        Error(
            f"SUKET_VERIFY_URL is {url!r}, not an absolute http(s) address; it is printed on "
            "every Suket.",
            hint="Set SUKET_VERIFY_URL, e.g. https://rekam.example.go.id/verifikasi",
            id="rekam.E005",
        )
    ]
