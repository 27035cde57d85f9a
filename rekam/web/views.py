"""Staff pages: home, resident search, resident page, KTP-el moves and data corrections.

Views stay thin: who may see or do what is decided in ``rekam.accounts.access``; every change
goes through ``rekam.residents.services``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from rekam.accounts import access
from rekam.accounts.access import Action
from rekam.audit.models import AuditEntry
from rekam.lib.nik import NikError, parse_nik
from rekam.notifications.models import Channel
from rekam.notifications.services import consent_record
from rekam.residents.models import RecordEvent, Resident
from rekam.residents.services import (
    MoveRefused,
    record_move,
    recording_refusal,
    resident_update,
)
from rekam.residents.states import RECORDED_STATES, KtpState, office_moves

from .forms import MoveForm, ResidentEditForm, SearchForm, WhatsAppConsentForm
from .search import resident_search, result_page
from .summary import SUMMARY_STATES, state_summary

# The resident page lists this many of the latest messages to the resident.
RESIDENT_MESSAGES_SHOWN = 20


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    context: dict[str, Any] = {"nav": "home", "states": SUMMARY_STATES}
    if access.can(user, Action.VIEW_REPORTS):
        context["summary"] = state_summary(user)
        context["by_regency"] = access.sees_province(user)
    return render(request, "web/home.html", context)


@login_required
def resident_search_page(request: HttpRequest) -> HttpResponse:
    form = SearchForm(request.GET or None)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    outcome = resident_search(request.user, query)
    page = result_page(outcome.residents, request.GET.get("page"))
    return render(
        request,
        "web/resident_search.html",
        {"nav": "residents", "form": form, "outcome": outcome, "page": page},
    )


# What the button for an office move says (the target state decides).
def _move_label(from_state: str, to_state: str) -> str:
    if to_state == KtpState.BIO_CAPTURED:
        if from_state == KtpState.BELUM_REKAM:
            return _("Record biometrics")
        return _("Record biometrics again")
    if to_state == KtpState.CARD_PRINTED:
        return _("Record card printed")
    return _("Move to: %(state)s") % {"state": KtpState(to_state).label}


# Changes recorded on a resident that are not a field of theirs.
OTHER_CHANGES = {"approved": gettext_lazy("Suket approved despite a duplicate record")}


def _field_label(name: str) -> str:
    if name in OTHER_CHANGES:
        return str(OTHER_CHANGES[name])
    try:
        return str(getattr(Resident._meta.get_field(name), "verbose_name", name))
    except FieldDoesNotExist:  # a field removed since the change was recorded
        return name


def _display_value(name: str, value: Any) -> str:
    if value in (None, ""):
        return "—"
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    try:
        field = Resident._meta.get_field(name)
    except FieldDoesNotExist:
        return str(value)
    choices = dict(getattr(field, "choices", None) or [])
    return str(choices.get(value, value))


def _audit_rows(resident: Resident) -> list[dict[str, Any]]:
    entries = AuditEntry.objects.filter(
        object_type=Resident._meta.label_lower, object_id=str(resident.pk)
    ).select_related("actor")
    rows = []
    for entry in entries:
        changes = [
            {
                "field": _field_label(name),
                "old": _display_value(name, pair[0] if pair else None),
                "new": _display_value(name, pair[1] if len(pair) > 1 else None),
            }
            for name, pair in (entry.changes or {}).items()
        ]
        rows.append({"entry": entry, "changes": changes})
    return rows


@login_required
def resident_detail(request: HttpRequest, nik: str) -> HttpResponse:
    user = request.user
    access.require(user, Action.VIEW_RESIDENT)
    resident = access.get_resident_for_user(user, nik)
    may_move = access.can(user, Action.RECORD_BIOMETRICS, resident.regency_id)
    too_young = recording_refusal(resident) if resident.ktp_state == KtpState.BELUM_REKAM else ""
    moves = [
        {"to_state": to, "label": _move_label(resident.ktp_state, to)}
        for to in office_moves(resident.ktp_state)
        if not (too_young and to == KtpState.BIO_CAPTURED)
    ]
    try:
        nik_info = parse_nik(resident.nik, birth_date=resident.birth_date, sex=resident.sex)
        nik_lines, nik_error = nik_info.explain(), ""
    except NikError as exc:
        nik_lines, nik_error = [], exc.message
    events = RecordEvent.objects.filter(resident=resident).select_related("actor")
    sukets = (
        access.sukets_for(user)
        .filter(resident=resident)
        .select_related("election")
        .defer("pdf", "holder", "qr_text")
    )
    sent = access.messages_for(user).filter(resident=resident)[:RESIDENT_MESSAGES_SHOWN]
    return render(
        request,
        "web/resident_detail.html",
        {
            "nav": "residents",
            "resident": resident,
            "moves": moves if may_move else [],
            "recording_refusal": too_young if may_move else "",
            "may_edit": access.can(user, Action.EDIT_RESIDENT, resident.regency_id),
            "may_print_or_issue": resident.ktp_state in RECORDED_STATES
            and (
                access.can(user, Action.PRINT_CARD, resident.regency_id)
                or access.can(user, Action.ISSUE_SUKET, resident.regency_id)
            ),
            "nik_lines": nik_lines,
            "nik_error": nik_error,
            "events": events,
            "audit_rows": _audit_rows(resident),
            "sukets": sukets,
            "may_download_suket": access.can(user, Action.ISSUE_SUKET, resident.regency_id),
            "sent_messages": sent,
            "today": timezone.localdate(),
        },
    )


@login_required
@require_POST
def resident_move(request: HttpRequest, nik: str) -> HttpResponse:
    user = request.user
    access.require(user, Action.VIEW_RESIDENT)
    # 404 outside the jurisdiction, 403 with the reason for a role that may not record.
    resident = access.get_resident_for_user(user, nik, Action.RECORD_BIOMETRICS)
    form = MoveForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The requested status is not known."))
        return redirect("resident_detail", nik=resident.nik)
    to_state = form.cleaned_data["to_state"]
    try:
        record_move(
            resident=resident,
            to_state=to_state,
            acting_user=user,
            reason=form.cleaned_data["reason"],
        )
    except (MoveRefused, PermissionDenied) as exc:
        messages.error(request, getattr(exc, "message", None) or str(exc))
    else:
        messages.success(
            request, _("KTP-el status is now: %(state)s") % {"state": KtpState(to_state).label}
        )
    return redirect("resident_detail", nik=resident.nik)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def resident_edit(request: HttpRequest, nik: str) -> HttpResponse:
    user = request.user
    access.require(user, Action.VIEW_RESIDENT)
    resident = access.get_resident_for_user(user, nik, Action.EDIT_RESIDENT)
    if request.method == "POST" and request.POST.get("action") == "consent":
        return _consent_save(request, resident)
    # The form works on its own copy: resident_update compares against the untouched record.
    form_copy = Resident.objects.get(pk=resident.pk)
    form = ResidentEditForm(request.POST or None, instance=form_copy, user=user)
    if request.method == "POST" and form.is_valid():
        try:
            change = resident_update(
                resident=resident,
                acting_user=user,
                reason=form.cleaned_data["reason"],
                **form.changed_values(),
            )
        except PermissionDenied as exc:
            messages.error(request, str(exc))
        else:
            if change.changes:
                messages.success(request, _("The resident's data was saved."))
            else:
                messages.info(request, _("Nothing was changed."))
            return redirect("resident_detail", nik=resident.nik)
    return render(
        request,
        "web/resident_edit.html",
        {
            "nav": "residents",
            "resident": resident,
            "form": form,
            "consent_form": WhatsAppConsentForm(resident=resident, prefix="c"),
        },
    )


def _consent_save(request: HttpRequest, resident: Resident) -> HttpResponse:
    """The WhatsApp consent part of the edit page, recorded by the notifications service."""
    form = WhatsAppConsentForm(request.POST, resident=resident, prefix="c")
    if not form.is_valid():
        form_copy = Resident.objects.get(pk=resident.pk)
        return render(
            request,
            "web/resident_edit.html",
            {
                "nav": "residents",
                "resident": resident,
                "form": ResidentEditForm(instance=form_copy, user=request.user),
                "consent_form": form,
            },
        )
    granted = form.cleaned_data["granted"]
    if granted == resident.whatsapp_consent:
        messages.info(request, _("Nothing was changed."))
        return redirect("resident_detail", nik=resident.nik)
    try:
        consent_record(
            channel=Channel.WHATSAPP,
            granted=granted,
            source=form.cleaned_data["source"],
            resident=resident,
            acting_user=request.user,
        )
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    else:
        if granted:
            messages.success(request, _("The resident's consent to WhatsApp messages was saved."))
        else:
            messages.success(request, _("WhatsApp messages are now off for this resident."))
    return redirect("resident_detail", nik=resident.nik)
