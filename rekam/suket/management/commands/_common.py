"""Argument helpers shared by the Suket commands."""

from __future__ import annotations

from datetime import datetime

from django.core.management.base import CommandError
from django.utils import timezone

from rekam.elections.models import Election
from rekam.lib.nik import NikError, clean_nik
from rekam.residents.models import Resident


def election_arg(slug: str) -> Election:
    try:
        return Election.objects.get(slug=slug)
    except Election.DoesNotExist:
        raise CommandError(f"Pemilihan '{slug}' tidak ditemukan.") from None


def resident_arg(raw: str) -> Resident:
    try:
        nik = clean_nik(raw)
    except NikError as exc:
        raise CommandError(exc.message) from None
    try:
        return Resident.objects.select_related("village", "village__parent").get(nik=nik)
    except Resident.DoesNotExist:
        raise CommandError(f"Penduduk dengan NIK {nik} tidak ditemukan.") from None


def moment_arg(raw: str | None) -> datetime:
    if not raw:
        return timezone.now()
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise CommandError(
            f"--at harus waktu ISO (mis. 2020-12-05T10:00), bukan {raw!r}."
        ) from None
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value
