"""The planning page: choose election, region, first day, over-booking and mobile units; preview
the plan; follow the run's progress; see the comparison and the map; approve and send; letters
per village."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from rekam.accounts import access
from rekam.accounts.access import Action
from rekam.elections.models import Election
from rekam.regions.models import Region

from .letters import letters_for_village, render_letters
from .models import PlanRun
from .public_views import public_base
from .services import (
    MOBILE_PER_DAY,
    MOBILE_UNITS,
    PlanRefused,
    plan_jurisdiction,
    plan_run_approve,
    plan_run_create,
)
from .svgmap import plan_map
from .tasks import plan_invitations, send_invitations


class PlanForm(forms.Form):
    election = forms.ModelChoiceField(
        Election.objects.all(), to_field_name="slug", label=_("Election")
    )
    region = forms.CharField(required=False, max_length=13, label=_("Regency/city code"))
    start = forms.DateField(label=_("First day of sessions"))
    no_show_rate = forms.FloatField(
        required=False, min_value=0, max_value=0.9, label=_("No-show rate (over-booking)")
    )
    mobile_units = forms.IntegerField(
        min_value=0,
        max_value=50,
        initial=MOBILE_UNITS,
        label=_("Mobile units per regency/city (0: none)"),
    )
    mobile_per_day = forms.IntegerField(
        min_value=1,
        max_value=1000,
        initial=MOBILE_PER_DAY,
        label=_("People a mobile unit serves a day"),
    )


def _home_region(user: Any) -> str:
    scope = access.region_scope(user) or ""
    return scope if scope.count(".") >= 1 else ""


def _run_for(request: HttpRequest, pk: int) -> PlanRun:
    run = get_object_or_404(PlanRun.objects.select_related("election", "approved_by"), pk=pk)
    access.require(
        request.user, Action.VIEW_REPORTS, plan_jurisdiction(run.election, run.region_code) or None
    )
    return run


@login_required
def plan_page(request: HttpRequest) -> HttpResponse:
    access.require(request.user, Action.VIEW_REPORTS)
    scope = access.region_scope(request.user) or ""
    runs = PlanRun.objects.select_related("election")
    if scope:
        runs = runs.filter(region_code__startswith=scope)
    form = PlanForm(initial={"region": _home_region(request.user)})
    return render(
        request,
        "invitations/plan.html",
        {"nav": "invitations", "form": form, "runs": runs[:20]},
    )


@login_required
@require_POST
def plan_start(request: HttpRequest) -> HttpResponse:
    """Start a preview: nothing is written until a supervisor approves it."""
    form = PlanForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Isian rencana undangan belum benar.")
        return redirect("invitations_plan")
    data = form.cleaned_data
    region = (data["region"] or "").strip()
    if region and not Region.objects.filter(code=region, level="regency").exists():
        messages.error(request, f"Kode kabupaten/kota {region} tidak dikenal.")
        return redirect("invitations_plan")
    try:
        run = plan_run_create(
            election=data["election"],
            region_code=region,
            acting_user=request.user,
            dry_run=True,
            start=data["start"],
            no_show_rate=data["no_show_rate"],
            mobile_units=data["mobile_units"],
            mobile_per_day=data["mobile_per_day"],
        )
    except PermissionDenied as exc:
        messages.error(request, str(exc))
        return redirect("invitations_plan")
    transaction.on_commit(lambda: plan_invitations.enqueue(run.pk))
    return redirect("invitations_run", pk=run.pk)


@login_required
@require_POST
def plan_approve(request: HttpRequest, pk: int) -> HttpResponse:
    """Approve a finished preview; it is sent in the background."""
    run = _run_for(request, pk)
    try:
        plan_run_approve(run=run, acting_user=request.user)
    except PlanRefused as exc:
        messages.error(request, str(exc))
        return redirect("invitations_run", pk=run.pk)
    transaction.on_commit(lambda: send_invitations.enqueue(run.pk))
    messages.success(request, "Rencana undangan disetujui; undangan sedang dikirim.")
    return redirect("invitations_run", pk=run.pk)


LABELS = {"recording": _("Not recorded: recording"), "printing": _("Print ready: card pick-up")}
FINISHED = (PlanRun.Status.DONE, PlanRun.Status.SENT, PlanRun.Status.FAILED)


def _mobile(part: dict[str, Any], plan: dict[str, Any]) -> dict[str, Any] | None:
    mobile = part.get("mobile")
    if not mobile:
        return None
    return mobile | {
        "gap_percent": round(100 * mobile.get("gap", 0.0), 4),
        "km_saved": round(plan["total_km"] - mobile["plan"]["total_km"], 1),
        "served_more": mobile["plan"]["served"] - plan["served"],
    }


@login_required
def run_page(request: HttpRequest, pk: int) -> HttpResponse:
    run = _run_for(request, pk)
    parts = []
    for service, part in run.summary.items():
        plan, base = part["plan"], part["baseline"]
        parts.append(
            {
                "label": LABELS.get(service, service),
                "plan": plan,
                "baseline": base,
                "mobile": _mobile(part, plan),
                "km_saved": round(base["total_km"] - plan["total_km"], 1),
                "gap_percent": round(100 * plan.get("gap", 0.0), 5),
                "shortfall": part.get("shortfall", {}),
                "sessions_to_close_gap": part.get("sessions_to_close_gap", 0),
                "written": part.get("written"),
                "messages": part.get("messages"),
                "villages": sorted(part.get("villages", {}))[:2000],
                "map": mark_safe(  # built from numbers and escaped names only
                    plan_map(
                        run.region_code,
                        part.get("villages", {}),
                        part.get("points", []),
                        visited=[v["village"] for v in part.get("mobile", {}).get("visits", [])],
                    )
                ),
            }
        )
    where = plan_jurisdiction(run.election, run.region_code) or None
    return render(
        request,
        "invitations/run.html",
        {
            "nav": "invitations",
            "run": run,
            "parts": parts,
            "finished": run.status in FINISHED,
            "can_approve": run.status == PlanRun.Status.DONE
            and run.dry_run
            and run.approved_at is None
            and access.can(request.user, Action.APPROVE, where),
        },
    )


@login_required
def letters_pdf(request: HttpRequest, pk: int, village: str) -> HttpResponse:
    run = _run_for(request, pk)
    access.require(request.user, Action.VIEW_RESIDENT, village)
    invitations = letters_for_village(run.election_id, village)
    office = getattr(getattr(request.user, "office", None), "name", "") or "Disdukcapil"
    pdf = render_letters(invitations, office=office, public_url=public_base(request))
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="undangan-{village}.pdf"'
    return response
