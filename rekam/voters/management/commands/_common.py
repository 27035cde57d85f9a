"""Helpers shared by the voter list's commands."""

from __future__ import annotations

from django.core.management.base import CommandError

from rekam.elections.models import Election


def election_by_slug(slug: str) -> Election:
    try:
        return Election.objects.get(slug=slug)
    except Election.DoesNotExist:
        known = ", ".join(Election.objects.values_list("slug", flat=True)) or "-"
        raise CommandError(f"Pemilihan '{slug}' tidak ada (yang ada: {known}).") from None
