"""Read-only JSON API for staff (session authentication), scoped like the pages."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from rekam.accounts import access
from rekam.accounts.access import Action
from rekam.lib.nik import NikError, clean_nik
from rekam.regions.models import Region
from rekam.residents.models import RecordEvent, Resident
from rekam.residents.states import KtpState

from .search import resident_search, result_page
from .summary import SUMMARY_CODES, SUMMARY_STATES, SummaryRow, state_summary

View = Callable[..., HttpResponse]


def api_view(view: View) -> View:
    """GET only, session login required, refusals as JSON with the reason."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return JsonResponse({"error": _("Please log in first.")}, status=401)
        try:
            return view(request, *args, **kwargs)
        except PermissionDenied as exc:
            return JsonResponse({"error": str(exc) or _("Access denied.")}, status=403)
        except Http404 as exc:
            return JsonResponse({"error": str(exc) or _("Not found.")}, status=404)

    return require_GET(wrapper)


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if hasattr(value, "tzinfo"):
        return timezone.localtime(value).isoformat()
    return str(value.isoformat())


def _region(region: Region | None) -> dict[str, str] | None:
    if region is None:
        return None
    return {"code": region.code, "name": region.display_name}


def _state(code: str) -> dict[str, str]:
    label = str(KtpState(code).label) if code in KtpState.values else code
    return {"code": code, "label": label}


def resident_brief(r: Resident) -> dict[str, Any]:
    return {
        "nik": r.nik,
        "name": r.name,
        "birth_date": _iso(r.birth_date),
        "sex": r.sex,
        "village": _region(r.village),
        "district": _region(r.village.parent),
        "regency": _region(r.regency),
        "ktp_state": _state(r.ktp_state),
        "ktp_state_at": _iso(r.ktp_state_at),
    }


def resident_full(r: Resident) -> dict[str, Any]:
    return {
        **resident_brief(r),
        "kk_number": r.kk_number,
        "birth_place": r.birth_place,
        "religion": r.religion,
        "marital_status": r.marital_status,
        "occupation": r.occupation,
        "citizenship": r.citizenship,
        "rt": r.rt,
        "rw": r.rw,
        "street": r.street,
        "phone": r.phone,
        "whatsapp_consent": r.whatsapp_consent,
    }


def event_json(e: RecordEvent) -> dict[str, Any]:
    return {
        "at": _iso(e.at),
        "from_state": _state(e.from_state) if e.from_state else None,
        "to_state": _state(e.to_state),
        "source": e.source,
        "by": e.actor_label or (e.actor.get_username() if e.actor else ""),
        "reason": e.reason,
    }


@api_view
def resident_search_api(request: HttpRequest) -> HttpResponse:
    outcome = resident_search(request.user, request.GET.get("q", ""))
    if outcome.error:
        return JsonResponse({"query": outcome.query, "error": outcome.error}, status=400)
    page = result_page(outcome.residents, request.GET.get("page"))
    return JsonResponse(
        {
            "query": outcome.query,
            "mode": outcome.mode,
            # Exact up to count_cap; null when more matched (no COUNT over millions of rows).
            "count": page.count,
            "count_cap": page.cap,
            "page": page.number,
            "has_next": page.has_next,
            "results": [resident_brief(r) for r in page.object_list],
        }
    )


@api_view
def resident_detail_api(request: HttpRequest, nik: str) -> HttpResponse:
    access.require(request.user, Action.VIEW_RESIDENT)
    try:
        digits = clean_nik(nik)
    except NikError as exc:
        return JsonResponse({"error": exc.message}, status=400)
    resident = access.get_resident_for_user(request.user, digits)
    resident = Resident.objects.select_related("village__parent", "regency").get(pk=resident.pk)
    events = RecordEvent.objects.filter(resident=resident).select_related("actor")
    return JsonResponse({**resident_full(resident), "timeline": [event_json(e) for e in events]})


def _row(row: SummaryRow) -> dict[str, Any]:
    return {"counts": {s: row.counts.get(s, 0) for s in SUMMARY_CODES}, "total": row.total}


@api_view
def summary_api(request: HttpRequest) -> HttpResponse:
    access.require(request.user, Action.VIEW_REPORTS)
    summary = state_summary(request.user)
    office = getattr(request.user, "office", None)
    return JsonResponse(
        {
            "office": {"code": office.code, "name": office.name} if office else None,
            "generated_at": _iso(timezone.now()),
            "states": [{"code": c, "label": str(label)} for c, label in SUMMARY_STATES],
            "regencies": [{"code": r.code, "name": r.name, **_row(r)} for r in summary.rows],
            "total": _row(summary.total),
        }
    )
