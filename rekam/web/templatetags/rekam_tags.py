"""Small template helpers for the staff pages."""

from __future__ import annotations

from django import template

from rekam.residents.states import (
    AWAITING_CENTRAL_STATES,
    NEEDS_RECORDING_AGAIN,
    KtpState,
)

register = template.Library()


@register.filter
def state_tone(state: str) -> str:
    """A CSS modifier that groups states by what the office has to do next."""
    if state == KtpState.BELUM_REKAM:
        return "todo"
    if state in NEEDS_RECORDING_AGAIN or state == KtpState.DUPLICATE_RECORD:
        return "fail"
    if state in AWAITING_CENTRAL_STATES:
        return "wait"
    if state == KtpState.PRINT_READY_RECORD:
        return "ready"
    if state == KtpState.CARD_PRINTED:
        return "done"
    return "wait"


@register.filter
def state_label(state: str) -> str:
    return str(KtpState(state).label) if state in KtpState.values else state


@register.filter
def nik_groups(nik: str) -> str:
    """``1871015705900001`` as ``18 71 01 570590 0001`` (easier to read aloud and compare)."""
    if len(nik) != 16:
        return nik
    return f"{nik[:2]} {nik[2:4]} {nik[4:6]} {nik[6:12]} {nik[12:]}"


@register.filter
def get_count(counts: dict[str, int], key: str) -> int:
    return counts.get(key, 0)
