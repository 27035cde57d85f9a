"""Helpers shared by the residents app's commands."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError

from rekam.accounts.models import User


def acting_user(username: str | None) -> Any:
    """The user a command acts for (``--user``), or None for an operator at the console."""
    if not username:
        return None
    try:
        return User.objects.select_related("office").get(username=username, is_active=True)
    except User.DoesNotExist:
        raise CommandError(f"Pengguna aktif '{username}' tidak ditemukan.") from None
