"""Staff pages (stock, print list, decision and issuance, Suket list) and the public verifier.

Who may see or do what is decided in ``rekam.accounts.access``; every change goes through the
services in ``stock.py`` and ``services.py``.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Sum
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from rekam.accounts import access
from rekam.accounts.access import Action
from rekam.accounts.models import Office
from rekam.elections.models import Election
from rekam.lib.nik import NikError, clean_nik
from rekam.lib.qr import qr_read
from rekam.notifications.models import Channel
from rekam.residents.models import Resident
from rekam.residents.services import MoveRefused
from rekam.residents.states import KtpState
from rekam.web.ratelimit import limit_per_ip

from . import forms
from .delivery import suket_deliver
from .keys import published_keys
from .models import BlankMovement, BlankStock, CardPrint, Outcome, Printer, Suket, SuketDecision
from .services import (
    LiveRevocations,
    SuketError,
    duplicate_approve,
    revocation_list_published,
    suket_decide,
    suket_issue,
    suket_pdf,
)
from .stock import (
    USE_WINDOW_DAYS,
    StockError,
    StockSummary,
    blank_receive,
    blank_spoil,
    blank_transfer,
    card_hand_over,
    card_print,
    print_list,
    printer_set_status,
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


def _stock_summaries(offices: list[Office], today: date) -> list[StockSummary]:
    """``stock_summary`` of many regency/city offices in three grouped queries (balances, recent
    use, PRR backlog) instead of three per office; the figures are computed the same way."""
    ids = [o.pk for o in offices]
    balances = dict(
        BlankStock.objects.filter(office_id__in=ids).values_list("office_id", "balance")
    )
    since = timezone.make_aware(
        datetime.combine(today - timedelta(days=USE_WINDOW_DAYS - 1), datetime.min.time())
    )
    used = dict(
        BlankMovement.objects.filter(
            office_id__in=ids,
            kind__in=[BlankMovement.Kind.CONSUMED, BlankMovement.Kind.SPOILED],
            at__gte=since,
        )
        .order_by()
        .values("office_id")
        .annotate(n=Sum("quantity"))
        .values_list("office_id", "n")
    )
    backlog = dict(
        Resident.objects.filter(
            regency_id__in=[o.region_id for o in offices],
            ktp_state=KtpState.PRINT_READY_RECORD,
        )
        .order_by()
        .values("regency_id")
        .annotate(n=Count("pk"))
        .values_list("regency_id", "n")
    )
    summaries = []
    for office in offices:
        balance = balances.get(office.pk, 0)
        daily = -(used.get(office.pk) or 0) / USE_WINDOW_DAYS
        waiting = backlog.get(office.region_id, 0)
        summaries.append(
            StockSummary(
                office=office,
                balance=balance,
                daily_use=daily,
                days_left=balance / daily if daily > 0 else None,
                prr_backlog=waiting,
                shortfall=max(waiting - balance, 0),
            )
        )
    return summaries


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
                    blank_receive(
                        office=office,
                        count=d["count"],
                        batch=d["batch"],
                        serial_from=d["serial_from"],
                        serial_to=d["serial_to"],
                        received_on=d["received_on"],
                        acting_user=user,
                    )
                    messages.success(request, _("Receipt recorded."))
                    return redirect(f"{request.path}?kantor={office.code}")
            elif action == "transfer":
                transfer = forms.TransferForm(request.POST, prefix="t", user=user)
                if transfer.is_valid():
                    d = transfer.cleaned_data
                    blank_transfer(
                        from_office=d["from_office"],
                        to_office=d["to_office"],
                        count=d["count"],
                        reason=d["reason"],
                        acting_user=user,
                    )
                    messages.success(request, _("Transfer recorded."))
                    return redirect(f"{request.path}?kantor={office.code}")
            elif action == "spoil":
                spoil = forms.SpoilForm(request.POST, prefix="s")
                if spoil.is_valid():
                    d = spoil.cleaned_data
                    blank_spoil(
                        office=office,
                        count=d["count"],
                        reason=d["reason"],
                        card_serial=d["card_serial"],
                        acting_user=user,
                    )
                    messages.success(request, _("Spoiled blanks recorded."))
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
    summaries = _stock_summaries(regencies, today) if len(regencies) > 1 else []
    ledger = BlankMovement.objects.filter(office=office).select_related("counterpart__region")[:50]
    return render(
        request,
        "suket/stock.html",
        {
            "nav": "stock",
            "office": office,
            "summary": stock_summary(office, today),
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


def _elections_for(resident: Resident) -> Any:
    return Election.objects.filter(regions=resident.regency_id).order_by("-polling_day")


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def decision_page(request: HttpRequest, nik: str) -> HttpResponse:
    """Decide for a resident and election; issue the Suket or print the card from here."""
    user = request.user
    access.require(user, Action.VIEW_RESIDENT)
    resident = access.get_resident_for_user(user, nik)
    elections = _elections_for(resident)
    if not elections.exists():
        return render(
            request,
            "suket/decision.html",
            {"nav": "residents", "resident": resident, "no_election": True, "today": None},
        )
    # The election whose Suket window is still open comes chosen (the nearest one).
    upcoming = (
        elections.filter(suket_issue_until__gte=timezone.localdate())
        .order_by("suket_issue_until")
        .first()
    )
    form = forms.ElectionForm(
        request.POST or request.GET or None,
        elections=elections,
        initial={"election": upcoming.pk} if upcoming else None,
    )
    result = None
    if request.method == "POST" and form.is_valid():
        election = form.cleaned_data["election"]
        action = request.POST.get("action")
        recorded = False  # the refused issue below has stored its decision already
        try:
            if action == "issue":
                issued = suket_issue(resident=resident, election=election, acting_user=user)
                if issued.suket is not None:
                    messages.success(
                        request, _("Suket %(number)s issued.") % {"number": issued.suket.number}
                    )
                    return redirect(f"{request.path}?election={election.pk}")
                # Refused: the decision stays on the page with what can be done next (print
                # here, or a supervisor's approval for a duplicate record).
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
                return redirect(f"{request.path}?election={election.pk}")
            if action == "approve":
                af = forms.ApproveForm(request.POST)
                if af.is_valid():
                    duplicate_approve(
                        resident=resident,
                        election=election,
                        reason=af.cleaned_data["reason"],
                        acting_user=user,
                    )
                    messages.success(request, _("Approval recorded."))
                return redirect(f"{request.path}?election={election.pk}")
            result = suket_decide(
                resident=resident, election=election, acting_user=user, record=not recorded
            )
        except (SuketError, StockError, MoveRefused, PermissionDenied) as exc:
            _error(request, exc)
            if action == "print":
                return redirect(f"{request.path}?election={election.pk}")
    past = SuketDecision.objects.filter(resident=resident).select_related("election", "actor")[:20]
    sukets = Suket.objects.filter(resident=resident).select_related("election")
    return render(
        request,
        "suket/decision.html",
        {
            "nav": "residents",
            "resident": resident,
            "form": form,
            "result": result,
            "past": past,
            "sukets": sukets,
            "outcome": Outcome,
            "may_issue": access.can(user, Action.ISSUE_SUKET, resident.regency_id),
            "may_approve": access.can(user, Action.APPROVE, resident.regency_id),
            "may_print": access.can(user, Action.PRINT_CARD, resident.regency_id),
            "today": timezone.localdate(),
        },
    )


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
    state = request.GET.get("status")
    if state == "aktif":
        rows = rows.filter(revoked_at__isnull=True, valid_until__gte=today)
    elif state == "kedaluwarsa":
        rows = rows.filter(revoked_at__isnull=True, valid_until__lt=today)
    elif state == "dicabut":
        rows = rows.filter(revoked_at__isnull=False)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "suket/list.html",
        {
            "nav": "suket",
            "page": page,
            "status": state,
            "today": today,
            "may_download": access.can(user, Action.ISSUE_SUKET),
        },
    )


@login_required
def suket_download(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    access.require(user, Action.VIEW_RESIDENT)
    suket = get_object_or_404(access.sukets_for(user).select_related("resident"), pk=pk)
    # The document carries the holder's full data: for those who issue and hand it over.
    access.require(user, Action.ISSUE_SUKET, suket.resident.regency_id)
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


# Public verification ---------------------------------------------------------------------


@require_GET
def verify_page(request: HttpRequest) -> HttpResponse:
    """The offline verifier. Its language switch is a plain link (``?bahasa=en``): the page is
    kept by a service worker, so a form with a CSRF token would go stale on it."""
    chosen = request.GET.get("bahasa", "")
    if chosen in dict(settings.LANGUAGES):
        translation.activate(chosen)
        request.LANGUAGE_CODE = chosen
    response = render(
        request,
        "suket/verify.html",
        {"verify_url": settings.SUKET_VERIFY_URL, "texts": verifier_texts()},
    )
    if chosen in dict(settings.LANGUAGES):
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, chosen, samesite="Lax")
    return response


@require_GET
@cache_control(max_age=300, public=True)
def keys_json(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"version": 1, "keys": published_keys()})


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
    return JsonResponse(verify_online(text[:4000]).as_json())
