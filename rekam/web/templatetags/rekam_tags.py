"""Small template helpers for the staff pages."""

from __future__ import annotations

from datetime import date

from django import template
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy, ngettext
from django.utils.translation import gettext as _

from rekam.accounts import access
from rekam.accounts.access import Action
from rekam.notifications import texts
from rekam.residents.states import (
    AWAITING_CENTRAL_STATES,
    NEEDS_RECORDING_AGAIN,
    KtpState,
)
from rekam.suket.models import Outcome, Suket
from rekam.suket.rules import Reason

register = template.Library()


@register.filter
def state_tone(state: str) -> str:
    """A CSS modifier that groups states by what the office has to do next."""
    if state == KtpState.BELUM_REKAM:
        return "todo"
    if state == "NOT_YET_REQUIRED":  # web.summary's count of the under-17s
        return "muted"
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


@register.simple_tag(takes_context=True)
def can(context: template.Context, action: str) -> bool:
    """``{% can "issue_suket" as may_issue %}``: what ``access.can`` says for the current user."""
    return access.can(context.get("user"), Action(action))


@register.filter
def outcome_label(code: str) -> str:
    """PRINT / SUKET / REFUSE as the people at the counter say it."""
    return str(Outcome(code).label) if code in Outcome.values else code


@register.filter
def reason_label(code: str) -> str:
    """A decision's reason code (``BLANKO_HABIS``) as its Indonesian description."""
    return str(Reason(code).label) if code in Reason.values else code


@register.filter
def actor_name(label: str) -> str:
    """Who made a change; the word the services record for unattended work reads "System"."""
    if not label:
        return "—"
    return _("System") if label == "system" else label


# Beyond a year a forecast means "plenty"; the exact figure would only suggest precision.
DAYS_LEFT_SHOWN = 365


@register.filter
def days_left(value: float | None) -> str:
    """Days of blank-card stock left, in whole days; "—" when nothing was used lately."""
    if value is None:
        return "—"
    if value > DAYS_LEFT_SHOWN:
        return _("more than %(n)d days") % {"n": DAYS_LEFT_SHOWN}
    days = round(value)
    return ngettext("%(n)d day", "%(n)d days", days) % {"n": days}


def suket_state(suket: Suket, today: date | None = None) -> str:
    """``revoked`` (a printed card or an officer withdrew it), ``expired`` or ``valid``."""
    if suket.revoked_at is not None:
        return "revoked"
    if suket.valid_until < (today or timezone.localdate()):
        return "expired"
    return "valid"


_SUKET_STATE_LABELS = {
    "revoked": gettext_lazy("revoked"),
    "expired": gettext_lazy("expired"),
    "valid": gettext_lazy("valid"),
}


@register.filter
def suket_status(suket: Suket, today: date | None = None) -> str:
    return suket_state(suket, today)


@register.filter
def suket_status_label(suket: Suket, today: date | None = None) -> str:
    return str(_SUKET_STATE_LABELS[suket_state(suket, today)])


@register.filter
def message_type_label(name: str) -> str:
    """A message family's title in the page's language (``suket_issued`` → "Suket terbit")."""
    try:
        return texts.family(name).title(get_language() or "id")
    except texts.UnknownTemplate:
        return name
