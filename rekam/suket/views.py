"""Staff pages (stock, print list, decision and issuance, Suket list) and the public verifier.

Who may see or do what is decided in ``rekam.accounts.access``; every change goes through the
services in ``stock.py`` and ``services.py``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Case, DateField, F, Q, QuerySet, Value, When
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from rekam.accounts import access
from rekam.accounts.access import Action
from rekam.accounts.models import Office
from rekam.elections.models import Election
from rekam.invitations.invites import LIVE as LIVE_INVITATION
from rekam.invitations.invites import invitation_place
from rekam.invitations.models import Invitation
from rekam.lib.nik import NikError, clean_nik
from rekam.lib.qr import qr_read
from rekam.notifications.models import Channel
from rekam.regions.models import Region
from rekam.residents.models import MaritalStatus, Resident
from rekam.residents.services import MoveRefused
from rekam.residents.states import KtpState
from rekam.web.ratelimit import limit_per_ip
from rekam.web.search import resident_search
from rekam.web.templatetags.rekam_tags import actor_name, outcome_label, reason_label

from . import forms
from .delivery import suket_deliver
from .keys import published_keys
from .models import CardPrint, DuplicateApproval, OfficeKey, Outcome, Printer, Suket, SuketDecision
from .rules import Reason
from .services import (
    LiveRevocations,
    SuketError,
    approval_requests,
    duplicate_approve,
    revocation_list_published,
    suket_decide,
    suket_issue,
    suket_pdf,
    suket_revoke,
)
from .stock import (
    USE_WINDOW_DAYS,
    StockError,
    blank_receive,
    blank_spoil,
    blank_transfer,
    card_hand_over,
    card_print,
    ledger_lines,
    print_list,
    printer_set_status,
    stock_summaries,
    stock_summary,
)
from .verify import TIDAK_SAH, KeySet, Verdict, verifier_texts, verify_qr_text

MAX_UPLOAD = 5 * 1024 * 1024


def _offices_for(user: Any) -> list[Office]:
    return list(access.offices_for(user).select_related("region"))


def _chosen_office(request: HttpRequest) -> Office:
    """The office a staff page works on: the user's own, or one the province picks."""
    offices = _offices_for(request.user)
    if not offices:
        raise PermissionDenied(access.OUTSIDE_JURISDICTION)
    wanted = request.GET.get("kantor") or request.POST.get("kantor")
    own = getattr(request.user, "office", None)
    for office in offices:
        if office.code == wanted:
            return office
    if own is not None and own.kind == Office.Kind.REGENCY:
        return own
    regencies = [o for o in offices if o.kind == Office.Kind.REGENCY]
    return (regencies or offices)[0]


def _error(request: HttpRequest, exc: Exception) -> None:
    messages.error(request, getattr(exc, "message", None) or str(exc))


def _number(n: int) -> str:
    """A count grouped as the pages show it (1.000 in Indonesian)."""
    return str(number_format(n, force_grouping=True))


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def stock_page(request: HttpRequest) -> HttpResponse:
    user = request.user
    access.require(user, Action.VIEW_REPORTS)
    office = _chosen_office(request)
    access.require(user, Action.VIEW_REPORTS, office.region_id)
    receive = forms.ReceiveForm(prefix="r")
    transfer = forms.TransferForm(prefix="t", user=user)
    spoil = forms.SpoilForm(prefix="s")
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "receive":
                receive = forms.ReceiveForm(request.POST, prefix="r")
                if receive.is_valid():
                    d = receive.cleaned_data
                    received = blank_receive(
                        office=office,
                        count=d["count"],
                        batch=d["batch"],
                        serial_from=d["serial_from"],
                        serial_to=d["serial_to"],
                        received_on=d["received_on"],
                        acting_user=user,
                    )
                    messages.success(
                        request,
                        ngettext(
                            "%(count)s blank received at %(office)s (batch %(batch)s); "
                            "%(balance)s in stock now.",
                            "%(count)s blanks received at %(office)s (batch %(batch)s); "
                            "%(balance)s in stock now.",
                            d["count"],
                        )
                        % {
                            "count": _number(d["count"]),
                            "office": office.region.display_name,
                            "batch": received.batch,
                            "balance": _number(received.balance_after),
                        },
                    )
                    return redirect(f"{request.path}?kantor={office.code}")
            elif action == "transfer":
                transfer = forms.TransferForm(request.POST, prefix="t", user=user)
                if transfer.is_valid():
                    d = transfer.cleaned_data
                    out, into = blank_transfer(
                        from_office=d["from_office"],
                        to_office=d["to_office"],
                        count=d["count"],
                        reason=d["reason"],
                        acting_user=user,
                    )
                    messages.success(
                        request,
                        ngettext(
                            "%(count)s blank moved from %(from)s to %(to)s; stock now "
                            "%(from_balance)s at %(from)s and %(to_balance)s at %(to)s.",
                            "%(count)s blanks moved from %(from)s to %(to)s; stock now "
                            "%(from_balance)s at %(from)s and %(to_balance)s at %(to)s.",
                            d["count"],
                        )
                        % {
                            "count": _number(d["count"]),
                            "from": d["from_office"].region.display_name,
                            "to": d["to_office"].region.display_name,
                            "from_balance": _number(out.balance_after),
                            "to_balance": _number(into.balance_after),
                        },
                    )
                    return redirect(f"{request.path}?kantor={office.code}")
            elif action == "spoil":
                spoil = forms.SpoilForm(request.POST, prefix="s")
                if spoil.is_valid():
                    d = spoil.cleaned_data
                    spoiled = blank_spoil(
                        office=office,
                        count=d["count"],
                        reason=d["reason"],
                        card_serial=d["card_serial"],
                        acting_user=user,
                    )
                    messages.success(
                        request,
                        ngettext(
                            "%(count)s spoiled blank recorded at %(office)s; "
                            "%(balance)s in stock now.",
                            "%(count)s spoiled blanks recorded at %(office)s; "
                            "%(balance)s in stock now.",
                            d["count"],
                        )
                        % {
                            "count": _number(d["count"]),
                            "office": office.region.display_name,
                            "balance": _number(spoiled.balance_after),
                        },
                    )
                    return redirect(f"{request.path}?kantor={office.code}")
            elif action == "printer":
                pf = forms.PrinterForm(request.POST)
                if pf.is_valid():
                    printer = get_object_or_404(
                        Printer, pk=pf.cleaned_data["printer"], office=office
                    )
                    printer_set_status(
                        printer=printer,
                        working=pf.cleaned_data["working"],
                        problem=pf.cleaned_data["problem"],
                        acting_user=user,
                    )
                    messages.success(request, _("Printer status saved."))
                    return redirect(f"{request.path}?kantor={office.code}")
        except (StockError, PermissionDenied) as exc:
            _error(request, exc)
    today = timezone.localdate()
    regencies = [o for o in _offices_for(user) if o.kind == Office.Kind.REGENCY]
    summaries = stock_summaries(regencies, today) if len(regencies) > 1 else []
    ledger = ledger_lines(office)
    return render(
        request,
        "suket/stock.html",
        {
            "nav": "stock",
            "office": office,
            "summary": stock_summary(office, today),
            "use_window_days": USE_WINDOW_DAYS,
            "summaries": summaries,
            "ledger": ledger,
            "printers": Printer.objects.filter(office=office),
            "receive": receive,
            "transfer": transfer,
            "spoil": spoil,
            "may_receive": access.can(user, Action.RECEIVE_STOCK, office.region_id),
            "may_transfer": access.can(user, Action.TRANSFER_STOCK, office.region_id),
            "may_operate": access.can(user, Action.PRINT_CARD, office.region_id),
        },
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def print_list_page(request: HttpRequest) -> HttpResponse:
    user = request.user
    access.require(user, Action.VIEW_RESIDENT)
    office = _chosen_office(request)
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "print":
                pf = forms.PrintForm(request.POST)
                if pf.is_valid():
                    resident = access.get_resident_for_user(
                        user, pf.cleaned_data["nik"], Action.PRINT_CARD
                    )
                    card = card_print(
                        resident=resident,
                        card_serial=pf.cleaned_data["card_serial"],
                        acting_user=user,
                    )
                    messages.success(
                        request,
                        _("Card %(serial)s printed for %(name)s.")
                        % {"serial": card.card_serial, "name": resident.name},
                    )
            elif action == "handover":
                hf = forms.HandOverForm(request.POST)
                if hf.is_valid():
                    card = get_object_or_404(
                        CardPrint.objects.filter(access.scope_filter(user, "resident__regency")),
                        pk=hf.cleaned_data["card"],
                    )
                    card_hand_over(
                        card=card, received_by=hf.cleaned_data["received_by"], acting_user=user
                    )
                    messages.success(request, _("Hand-over recorded."))
        except (StockError, MoveRefused, PermissionDenied) as exc:
            _error(request, exc)
        return redirect(f"{request.path}?kantor={office.code}")
    today = timezone.localdate()
    rows = print_list(office, today)
    search = forms.PrintListSearchForm(request.GET or None)
    nik, nik_error = "", ""
    if search.is_valid() and search.cleaned_data["nik"]:
        try:
            nik = clean_nik(search.cleaned_data["nik"])
        except NikError as exc:
            nik_error = exc.message
            rows = rows.none()
        else:
            rows = rows.filter(nik=nik)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    printed = CardPrint.objects.filter(office=office, handed_over_at__isnull=True).select_related(
        "resident"
    )[:50]
    return render(
        request,
        "suket/print_list.html",
        {
            "nav": "print",
            "office": office,
            "offices": _offices_for(user),
            "page": page,
            "search": search,
            "nik": nik,
            "nik_error": nik_error,
            "summary": stock_summary(office, today),
            "awaiting_handover": printed,
            "may_print": access.can(user, Action.PRINT_CARD, office.region_id),
        },
    )


def _elections_for(resident: Resident, today: date) -> QuerySet[Election]:
    """The elections of the resident's regency/city: those still issuing Sukets first (the
    nearest deadline first), then the closed ones, latest first."""
    issuing = Q(suket_issue_until__gte=today)
    return (
        Election.objects.filter(regions=resident.regency_id)
        .annotate(
            closed=Case(When(issuing, then=Value(0)), default=Value(1)),
            open_until=Case(When(issuing, then=F("suket_issue_until")), output_field=DateField()),
        )
        .order_by("closed", F("open_until").asc(nulls_last=True), "-polling_day")
    )


# A decision waiting for a supervisor is not shown as refused: it says what it waits for.
NEEDS_APPROVAL = gettext_lazy("Waiting for a supervisor's approval")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# The decision's inputs (``DecisionInputs``) as the page names them.
BASIS_LABELS = {
    "ktp_state": gettext_lazy("KTP-el state"),
    "resident_regency": gettext_lazy("Regency/city"),
    "election": gettext_lazy("Election"),
    "election_regencies": gettext_lazy("Regencies/cities holding the election"),
    "issue_until": gettext_lazy("Suket issued until"),
    "valid_until": gettext_lazy("Suket valid until"),
    "today": gettext_lazy("Date of the decision"),
    "birth_date": gettext_lazy("Date of birth"),
    "marital_status": gettext_lazy("Marital status"),
    "polling_day": gettext_lazy("Polling day"),
    "blanks": gettext_lazy("Blanks in stock"),
    "printer_working": gettext_lazy("Card printer working"),
    "duplicate_approved": gettext_lazy("Suket approved for a duplicate record"),
    "active_suket": gettext_lazy("Valid Suket already issued"),
}


def decision_basis(inputs: dict[str, Any], election: Election) -> list[tuple[str, str]]:
    """What a decision was based on (its stored inputs), as labels and readable values."""
    codes = [str(inputs.get("resident_regency", "")), *inputs.get("election_regencies", [])]
    names = {r.code: r.display_name for r in Region.objects.filter(code__in=codes)}
    choices = {"ktp_state": KtpState, "marital_status": MaritalStatus}

    def readable(key: str, value: Any) -> str:
        if isinstance(value, bool):
            return _("yes") if value else _("no")
        if key in choices:
            return str(choices[key](value).label) if value in choices[key].values else value
        if key == "resident_regency":
            return names.get(value, value)
        if key == "election_regencies":
            return ", ".join(names.get(code, code) for code in value)
        if key == "election":
            return election.name if value == election.slug else str(value)
        if key == "blanks":
            return _number(int(value))
        if isinstance(value, str) and _ISO_DATE.fullmatch(value):
            return f"{date.fromisoformat(value):%d-%m-%Y}"
        return str(value) if value not in ("", None) else "—"

    return [
        (str(BASIS_LABELS.get(key, key)), readable(key, value)) for key, value in inputs.items()
    ]


@dataclass(frozen=True)
class HistoryEntry:
    """A line of the resident's Suket history: a decision, or a supervisor's approval."""

    at: datetime
    election: str
    kind: str  # "decision" or "approval"
    title: str
    reason: str
    by: str


def _person(actor: Any, label: str) -> str:
    """Who acted: the person's full name (``User.__str__`` falls back to the username)."""
    return str(actor) if actor is not None else actor_name(label)


def _history(resident: Resident, limit: int = 20) -> list[HistoryEntry]:
    """The resident's latest decisions and duplicate-record approvals, newest first."""
    decisions = SuketDecision.objects.filter(resident=resident).select_related("election", "actor")
    approvals = DuplicateApproval.objects.filter(resident=resident).select_related(
        "election", "approved_by"
    )
    entries = [
        HistoryEntry(
            at=d.decided_at,
            election=d.election.name,
            kind="decision",
            title=(
                str(NEEDS_APPROVAL)
                if d.reason == Reason.PERLU_PERSETUJUAN
                else outcome_label(d.outcome)
            ),
            reason=reason_label(d.reason),
            by=_person(d.actor, d.actor_label),
        )
        for d in decisions[:limit]
    ] + [
        HistoryEntry(
            at=a.approved_at,
            election=a.election.name,
            kind="approval",
            title=_("Approved by a supervisor"),
            reason=a.reason,
            by=_person(a.approved_by, ""),
        )
        for a in approvals
    ]
    return sorted(entries, key=lambda e: e.at, reverse=True)[:limit]


def _upcoming_invitation(resident: Resident, election: Election) -> dict[str, Any] | None:
    """The resident's invitation to this election's recording that is still to come: day, time
    and place (the invitation names a voter; the reconciliation matched it to the resident)."""
    invitation = (
        Invitation.objects.filter(
            election=election,
            voter__verdict__resident=resident,
            service=Invitation.Service.RECORDING,
            state__in=LIVE_INVITATION,
            ends_at__gte=timezone.now(),
        )
        .select_related("session__visit", "service_point")
        .order_by("starts_at")
        .first()
    )
    if invitation is None:
        return None
    place, address = invitation_place(invitation)
    return {
        "starts_at": timezone.localtime(invitation.starts_at),
        "ends_at": timezone.localtime(invitation.ends_at),
        "place": place,
        "address": address if address != place else "",
    }


def _approval_context(
    resident: Resident, election: Election | None, sukets: list[Suket], today: date
) -> dict[str, Any]:
    """Where a duplicate record's Suket stands for the chosen election: ``pending`` (a stored
    request waits on the supervisors' list, :func:`approval_requests`: the page says so, and
    offers the approval to those who may give it), ``unrequested`` (it needs an approval nobody
    was asked for: the page offers the check that stores the request), or the ``approval``
    given, with ``issuable`` when the Suket can now be issued."""
    context: dict[str, Any] = {
        "pending": False,
        "unrequested": False,
        "approval": None,
        "issuable": False,
    }
    if election is None or resident.ktp_state != KtpState.DUPLICATE_RECORD:
        return context
    approval = (
        DuplicateApproval.objects.filter(resident=resident, election=election)
        .select_related("approved_by")
        .first()
    )
    issuing = election.suket_issue_until >= today
    issued = any(s.election_id == election.pk and s.revoked_at is None for s in sukets)
    if approval is not None:
        return {**context, "approval": approval, "issuable": issuing and not issued}
    if not issuing or issued:
        return context
    requested = approval_requests(Q(resident=resident, election=election), today).exists()
    return {**context, "pending": requested, "unrequested": not requested}


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def decision_page(request: HttpRequest, nik: str) -> HttpResponse:
    """Decide for a resident and election; issue the Suket, print the card or approve a Suket
    for a duplicate record from here."""
    user = request.user
    access.require(user, Action.VIEW_RESIDENT)
    resident = access.get_resident_for_user(user, nik)
    today = timezone.localdate()
    elections = _elections_for(resident, today)
    if not elections.exists():
        return render(
            request,
            "suket/decision.html",
            {"nav": "suket", "resident": resident, "no_election": True, "today": None},
        )
    # The election whose Suket window is still open comes chosen (the nearest one).
    upcoming = elections.filter(suket_issue_until__gte=today).first()
    form = forms.ElectionForm(
        request.POST or request.GET or None,
        elections=elections,
        today=today,
        initial={"election": upcoming.pk} if upcoming else None,
    )
    chosen = form.cleaned_data["election"] if form.is_bound and form.is_valid() else upcoming
    result = None
    if request.method == "POST" and form.is_valid():
        election = form.cleaned_data["election"]
        here = f"{request.path}?election={election.pk}"
        action = request.POST.get("action")
        recorded = False  # the refused issue below has stored its decision already
        try:
            if action == "issue":
                issued = suket_issue(resident=resident, election=election, acting_user=user)
                if issued.suket is not None:
                    messages.success(
                        request, _("Suket %(number)s issued.") % {"number": issued.suket.number}
                    )
                    return redirect(here)
                # Refused: the decision stays on the page with what can be done next (print
                # here, or a supervisor's approval for a duplicate record).
                if issued.decision.reason != Reason.PERLU_PERSETUJUAN:
                    messages.error(request, issued.decision.message)
                action, recorded = "decide", True
            if action == "print":
                cf = forms.CardSerialForm(request.POST)
                if cf.is_valid():
                    card = card_print(
                        resident=resident,
                        card_serial=cf.cleaned_data["card_serial"],
                        acting_user=user,
                    )
                    messages.success(
                        request,
                        _("Card %(serial)s printed for %(name)s.")
                        % {"serial": card.card_serial, "name": resident.name},
                    )
                    return redirect("resident_detail", nik=resident.nik)
                messages.error(request, _("Type the serial number of the blank card."))
                return redirect(here)
            if action == "approve":
                af = forms.ApproveForm(request.POST)
                duplicate_approve(
                    resident=resident,
                    election=election,
                    reason=af.cleaned_data["reason"] if af.is_valid() else "",
                    acting_user=user,
                )
                messages.success(
                    request,
                    _(
                        "Approval recorded: a Suket may now be issued to %(name)s for "
                        "%(election)s. The operator issues it with “Issue Suket if allowed”."
                    )
                    % {"name": resident.name, "election": election.name},
                )
                return redirect(here)
            result = suket_decide(
                resident=resident, election=election, acting_user=user, record=not recorded
            )
        except (SuketError, StockError, MoveRefused, PermissionDenied) as exc:
            _error(request, exc)
            if action == "print":
                return redirect(here)
    sukets = list(Suket.objects.filter(resident=resident).select_related("election", "office"))
    return render(
        request,
        "suket/decision.html",
        {
            "nav": "suket",
            "resident": resident,
            "form": form,
            "chosen": chosen,
            "result": result,
            **_approval_context(resident, chosen, sukets, today),
            "basis": decision_basis(result.inputs.as_json(), chosen) if result and chosen else [],
            "invitation": (
                _upcoming_invitation(resident, chosen)
                if result and chosen and result.decision.reason == Reason.BELUM_REKAM
                else None
            ),
            "history": _history(resident),
            "sukets": sukets,
            "outcome": Outcome,
            "may_issue": access.can(user, Action.ISSUE_SUKET, resident.regency_id),
            "may_approve": access.can(user, Action.APPROVE, resident.regency_id),
            "may_print": access.can(user, Action.PRINT_CARD, resident.regency_id),
            "revocable": _revocable(user, sukets),
            "today": today,
        },
    )


# Approval requests the Suket page lists (oldest first); the heading counts them all.
APPROVAL_REQUESTS_SHOWN = 50


@login_required
def suket_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    access.require(user, Action.VIEW_RESIDENT)
    rows = (
        access.sukets_for(user)
        .select_related("resident", "election", "office")
        .defer("pdf", "holder", "qr_text")
    )
    today = timezone.localdate()
    filters = forms.SuketListFilterForm(request.GET or None, user=user)
    search_error = ""
    # A choice outside the lists (another regency/city) is reported and left out; the other
    # filters still apply, and the jurisdiction bounds the rows whatever was asked.
    filters.is_valid()
    chosen = getattr(filters, "cleaned_data", {})
    state = chosen.get("status")
    if state == "aktif":
        rows = rows.filter(revoked_at__isnull=True, valid_until__gte=today)
    elif state == "kedaluwarsa":
        rows = rows.filter(revoked_at__isnull=True, valid_until__lt=today)
    elif state == "dicabut":
        rows = rows.filter(revoked_at__isnull=False)
    if chosen.get("election") is not None:
        rows = rows.filter(election=chosen["election"])
    if chosen.get("regency") is not None:
        rows = rows.filter(regency=chosen["regency"])
    if chosen.get("q", "").strip():
        # The staff search's own reading of a NIK or a name, within the jurisdiction.
        found = resident_search(user, chosen["q"])
        search_error = found.error
        rows = rows.filter(resident__in=found.residents.order_by().values("pk"))
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    # Requests waiting for a supervisor: those who may approve see them first.
    requests = (
        approval_requests(access.scope_filter(user, "resident__regency"), today)
        if access.can(user, Action.APPROVE)
        else SuketDecision.objects.none()
    )
    return render(
        request,
        "suket/list.html",
        {
            "nav": "suket",
            "may_approve": access.can(user, Action.APPROVE),
            "approval_requests": requests[:APPROVAL_REQUESTS_SHOWN],
            "approval_count": requests.count(),
            "page": page,
            "filters": filters,
            "search_error": search_error,
            "today": today,
            "may_download": access.can(user, Action.ISSUE_SUKET),
            "revocable": _revocable(user, page),
        },
    )


def _revocable(user: Any, sukets: Any) -> set[int]:
    """Ids of the unrevoked ``sukets`` (their offices selected) ``user`` may revoke."""
    return {
        s.pk
        for s in sukets
        if s.revoked_at is None and access.can(user, Action.REVOKE_SUKET, s.office.region_id)
    }


@login_required
def suket_download(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    access.require(user, Action.VIEW_RESIDENT)
    suket = get_object_or_404(access.sukets_for(user).select_related("resident"), pk=pk)
    # The document carries the holder's full data: for those who issue and hand it over.
    access.require(user, Action.ISSUE_SUKET, suket.resident.regency_id)
    if suket.is_revoked:
        # A revoked Suket printed again would be handed out as if it still counted.
        raise PermissionDenied(
            f"Suket {suket.number} sudah dicabut; tidak dapat diunduh atau dicetak lagi."
        )
    try:
        data = suket_pdf(suket)
    except SuketError as exc:
        raise Http404(exc.message) from exc
    name = "suket-" + suket.number.replace("/", "-") + ".pdf"
    inline = request.GET.get("cetak") == "1"
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'{"inline" if inline else "attachment"}; filename="{name}"'
    return response


@login_required
@require_POST
def suket_send(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    access.require(user, Action.VIEW_RESIDENT)
    suket = get_object_or_404(access.sukets_for(user), pk=pk)
    try:
        access.require(user, Action.ISSUE_SUKET, suket.resident.regency_id)
        message = suket_deliver(suket=suket, acting_user=user)
    except (SuketError, PermissionDenied) as exc:
        _error(request, exc)
    else:
        # The outbox takes the first channel the holder can receive (a resident without a
        # phone or WhatsApp consent gets the next one, down to a letter): name them all.
        order = ", ".join(str(Channel(c).label) for c in message.channels)
        messages.success(
            request,
            _(
                "The Suket was queued for sending, by the first of these the holder can receive: "
                "%(channels)s."
            )
            % {"channels": order},
        )
    return redirect("suket_decision", nik=suket.resident.nik)


@login_required
@require_POST
def suket_revoke_page(request: HttpRequest, pk: int) -> HttpResponse:
    """Revoke one Suket, with the reason; a refusal of the role or jurisdiction is a 403.

    The issuing office answers for its Sukets (the compliance flags hold them to it), so its
    staff find a Suket whose holder moved away, as the holder's new office does; the right to
    revoke stays with the issuing office's jurisdiction."""
    user = request.user
    access.require(user, Action.VIEW_RESIDENT)
    visible = access.sukets_for(user) | access.sukets_issued_by_offices_for(user)
    suket = get_object_or_404(visible.select_related("office", "resident"), pk=pk)
    access.require(user, Action.REVOKE_SUKET, suket.office.region_id)
    form = forms.RevokeForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        suket_revoke(suket=suket, reason=reason, acting_user=user)
    except SuketError as exc:
        _error(request, exc)
    else:
        messages.success(
            request,
            _(
                "Suket %(number)s revoked (%(reason)s). It is on the revocation list now: its QR "
                "code no longer verifies, online at once and offline once the verifier is updated."
            )
            % {"number": suket.number, "reason": suket.revoked_reason},
        )
    if not access.can(user, Action.VIEW_RESIDENT, suket.resident.regency_id):
        return redirect("suket_list")  # the holder moved out of the user's jurisdiction
    url = reverse("suket_decision", kwargs={"nik": suket.resident.nik})
    return redirect(f"{url}#suket-{suket.pk}")


# Public verification ---------------------------------------------------------------------


def _language_chosen(request: HttpRequest) -> str:
    """The language named by ``?bahasa=``; "" if none or unknown."""
    chosen = request.GET.get("bahasa", "")
    return chosen if chosen in dict(settings.LANGUAGES) else ""


@require_GET
def verify_page(request: HttpRequest) -> HttpResponse:
    """The offline verifier. Its language switch is a plain link (``?bahasa=en``): the page is
    kept by a service worker, so a form with a CSRF token would go stale on it. The worker
    keeps one copy per language, fetched without cookies so that it leaves the choice alone."""
    chosen = _language_chosen(request)
    # override, not activate: the choice must not outlive this request in its thread.
    with translation.override(chosen or translation.get_language()):
        request.LANGUAGE_CODE = translation.get_language()
        response = render(
            request,
            "suket/verify.html",
            {"verify_url": settings.SUKET_VERIFY_URL, "texts": verifier_texts()},
        )
    if chosen:
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, chosen, samesite="Lax")
    return response


@require_GET
@cache_control(max_age=300, public=True)
def keys_json(request: HttpRequest) -> JsonResponse:
    """The public keys, dated: a verifier holding a saved copy tells a key made after it (it
    cannot decide) from one that never existed. Compromised keys are named by id only, so
    that what they signed is refused outright even by a copy saved before they leaked."""
    withdrawn = OfficeKey.objects.filter(compromised_at__isnull=False).order_by("kid")
    return JsonResponse(
        {
            "version": 1,
            "generated_at": timezone.now().isoformat(),
            "keys": published_keys(),
            "withdrawn": [
                {"kid": k.kid, "withdrawn_at": k.compromised_at.isoformat()}
                for k in withdrawn
                if k.compromised_at is not None
            ],
        }
    )


@require_GET
@cache_control(max_age=300, public=True)
def revocations_json(request: HttpRequest) -> JsonResponse:
    return JsonResponse(revocation_list_published())


@require_GET
@cache_control(no_cache=True)
def service_worker(request: HttpRequest) -> HttpResponse:
    """The verifier's service worker, served from the root so it may control ``/verifikasi``."""
    path = finders.find("suket/sw.js")
    if not path or isinstance(path, list):
        raise Http404
    response = HttpResponse(Path(path).read_bytes(), content_type="application/javascript")
    response["Service-Worker-Allowed"] = "/"
    return response


def verify_online(text: str) -> Verdict:
    """The online check: the live key set and the database's current revocation state."""
    keys = KeySet.from_published(published_keys())
    verdict = verify_qr_text(text, keys=keys, revoked=LiveRevocations(), now=timezone.now())
    if verdict.status != TIDAK_SAH:
        uid = verdict.payload.get("id")
        if not isinstance(uid, bytes) or not Suket.objects.filter(uid=uid.hex()).exists():
            return Verdict(TIDAK_SAH, "Suket tidak terdaftar di Disdukcapil", verdict.payload)
    return verdict


@csrf_exempt  # public, read-only check; carries no session and changes nothing
@never_cache
@require_http_methods(["GET", "POST"])
@limit_per_ip(
    "verify", setting="RATELIMIT_VERIFY_PER_MINUTE", methods=("GET", "POST"), as_json=True
)
def verify_json(request: HttpRequest) -> JsonResponse:
    """The online check, for anyone: the offline verifier asks it when this device cannot
    decide. It answers only what the offline verdict shows (the NIK masked)."""
    text = request.GET.get("qr", "")
    if request.method == "POST":
        upload = request.FILES.get("gambar")
        if upload is not None:
            if upload.size and upload.size > MAX_UPLOAD:
                return JsonResponse({"error": "Gambar terlalu besar (maks. 5 MB)."}, status=400)
            try:
                found = qr_read(upload.read())
            except ValueError as exc:
                return JsonResponse({"error": str(exc)}, status=400)
            if not found:
                return JsonResponse({"error": "Kode QR tidak ditemukan pada gambar."}, status=400)
            text = found[0]
        elif request.content_type == "application/json":
            try:
                text = str(json.loads(request.body or b"{}").get("qr", ""))
            except (ValueError, AttributeError):
                return JsonResponse({"error": "Permintaan tidak sah."}, status=400)
        else:
            text = request.POST.get("qr", "")
    if not text.strip():
        return JsonResponse({"error": "Isi teks kode QR atau unggah gambarnya."}, status=400)
    # The verdict's reason in the page's language (the page sends ``?bahasa=``).
    with translation.override(_language_chosen(request) or translation.get_language()):
        return JsonResponse(verify_online(text[:4000]).as_json())
