"""The planning page: choose election, region, first day and over-booking; preview (dry run) or
plan and write; follow the run's progress; see the comparison and the map; letters per village."""

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
from .services import plan_run_create
from .svgmap import plan_map
from .tasks import plan_invitations


class PlanForm(forms.Form):
    election = forms.ModelChoiceField(
        Election.objects.all(), to_field_name="slug", label=_("Election")
    )
    region = forms.CharField(required=False, max_length=13, label=_("Regency/city code"))
    start = forms.DateField(label=_("First day of sessions"))
    no_show_rate = forms.FloatField(
        required=False, min_value=0, max_value=0.9, label=_("No-show rate (over-booking)")
    )
    dry_run = forms.BooleanField(required=False, initial=True, label=_("Preview only"))


def _home_region(user: Any) -> str:
    scope = access.region_scope(user) or ""
    return scope if scope.count(".") >= 1 else ""


def _run_for(request: HttpRequest, pk: int) -> PlanRun:
    run = get_object_or_404(PlanRun.objects.select_related("election"), pk=pk)
    access.require(request.user, Action.VIEW_REPORTS, run.region_code or None)
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
            dry_run=data["dry_run"],
            start=data["start"],
            no_show_rate=data["no_show_rate"],
        )
    except PermissionDenied as exc:
        messages.error(request, str(exc))
        return redirect("invitations_plan")
    transaction.on_commit(lambda: plan_invitations.enqueue(run.pk))
    return redirect("invitations_run", pk=run.pk)


LABELS = {"recording": _("Not recorded: recording"), "printing": _("Print ready: card pick-up")}


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
                "km_saved": round(base["total_km"] - plan["total_km"], 1),
                "gap_percent": round(100 * plan.get("gap", 0.0), 5),
                "shortfall": part.get("shortfall", {}),
                "sessions_to_close_gap": part.get("sessions_to_close_gap", 0),
                "written": part.get("written"),
                "villages": sorted(part.get("villages", {}))[:2000],
                "map": mark_safe(  # built from numbers and escaped names only
                    plan_map(run.region_code, part.get("villages", {}), part.get("points", []))
                ),
            }
        )
    return render(
        request,
        "invitations/run.html",
        {
            "nav": "invitations",
            "run": run,
            "parts": parts,
            "finished": run.status in (PlanRun.Status.DONE, PlanRun.Status.FAILED),
        },
    )


@login_required
def letters_pdf(request: HttpRequest, pk: int, village: str) -> HttpResponse:
    run = _run_for(request, pk)
    access.require(request.user, Action.VIEW_RESIDENT, village)
    invitations = letters_for_village(run.election_id, village)
    office = getattr(getattr(request.user, "office", None), "name", "") or "Disdukcapil"
    pdf = render_letters(invitations, office=office)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="undangan-{village}.pdf"'
    return response
