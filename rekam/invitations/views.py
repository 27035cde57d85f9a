"""The planning page: choose election, region, first day, over-booking and mobile units; preview
the plan; follow the run's progress; see the comparison and the map; approve and send; letters
per village."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from rekam.accounts import access
from rekam.accounts.access import Action
from rekam.accounts.models import Office
from rekam.antrean import clock
from rekam.elections.models import Election
from rekam.regions.models import Region
from rekam.suket.forms import EMPTY_LABEL
from rekam.suket.stock import stock_balance
from rekam.web.background import redirect_then_start

from .letters import letters_for_village, render_letters
from .models import Invitation, PlanRun
from .public_views import public_base
from .services import (
    MOBILE_PER_DAY,
    MOBILE_UNITS,
    SELF_APPROVAL_REFUSED,
    PlanRefused,
    check_region,
    check_start,
    made_by,
    plan_invitees,
    plan_jurisdiction,
    plan_run_approve,
    plan_run_create,
)
from .svgmap import plan_map
from .tasks import plan_invitations, send_invitations


class PlanForm(forms.Form):
    election = forms.ModelChoiceField(
        Election.objects.all(), to_field_name="slug", label=_("Election"), empty_label=EMPTY_LABEL
    )
    region = forms.ChoiceField(
        required=False,
        label=_("Regency/city"),
        error_messages={
            "invalid_choice": "Kode kabupaten/kota %(value)s tidak dikenal atau di luar "
            "wilayah kerja Anda."
        },
    )
    start = forms.DateField(
        label=_("First day of sessions"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    no_show_percent = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=90,
        label=_("Expected no-shows, % (invite that many more)"),
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

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        regencies = access.regions_for(user, Action.VIEW_REPORTS).filter(level="regency")
        choices = [(r.code, f"{r.code} {r.display_name}") for r in regencies.order_by("code")]
        if not _home_region(user):
            choices.insert(0, ("", gettext("Every region holding the election")))
        region = self.fields["region"]
        assert isinstance(region, forms.ChoiceField)
        region.choices = choices
        self.fields["start"].help_text = gettext(
            "Sessions starting less than %(hours)d hours from now (or from sending) are left "
            "out: letters and messages need time to reach people."
        ) % {"hours": settings.INVITATIONS_LEAD_HOURS}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("election") and data.get("region"):
            try:
                check_region(data["region"], data["election"])
            except PlanRefused as exc:
                self.add_error("region", str(exc))
        if data.get("election") and data.get("start"):
            try:
                check_start(data["election"], data["start"])
            except PlanRefused as exc:
                self.add_error("start", str(exc))
        return data


def _home_region(user: Any) -> str:
    scope = access.region_scope(user) or ""
    return scope if scope.count(".") >= 1 else ""


def _run_for(request: HttpRequest, pk: int) -> PlanRun:
    run = get_object_or_404(PlanRun.objects.select_related("election", "approved_by"), pk=pk)
    access.require(
        request.user, Action.VIEW_REPORTS, plan_jurisdiction(run.election, run.region_code) or None
    )
    return run


def region_title(election: Election, region_code: str) -> str:
    """A plan's region by name: its regency/city, else "Provinsi ..." of the election."""
    code = plan_jurisdiction(election, region_code)
    region = Region.objects.filter(code=code).first() if code else None
    if region is None:
        return region_code
    name = region.display_name
    if region.level == "province" and not name.lower().startswith("provinsi"):
        name = f"Provinsi {name}"
    return name


def _plan_page(request: HttpRequest, form: PlanForm) -> HttpResponse:
    scope = access.region_scope(request.user) or ""
    runs = PlanRun.objects.select_related("election")
    if scope:
        inside = Q(region_code__startswith=scope)
        if "." not in scope:
            # A province's own plans (region ""): those of elections held in the province.
            inside |= Q(region_code="", election__regions__code__startswith=scope + ".")
        runs = runs.filter(inside).distinct()
    recent = [(run, region_title(run.election, run.region_code)) for run in runs[:20]]
    return render(
        request,
        "invitations/plan.html",
        {
            "nav": "invitations",
            "form": form,
            "runs": recent,
            # Admins plan, supervisors approve: the others see the plans without the form.
            "may_plan": access.can(request.user, Action.PLAN_INVITATIONS),
        },
    )


@login_required
def plan_page(request: HttpRequest) -> HttpResponse:
    access.require(request.user, Action.VIEW_REPORTS)
    tomorrow = clock.today() + timedelta(days=1)
    return _plan_page(
        request,
        PlanForm(
            initial={"region": _home_region(request.user), "start": tomorrow}, user=request.user
        ),
    )


@login_required
@require_POST
def plan_start(request: HttpRequest) -> HttpResponse:
    """Start a preview (admins plan): nothing is written until a supervisor approves it. A
    wrong entry shows the form again with what is wrong beside each field."""
    access.require(request.user, Action.PLAN_INVITATIONS)
    form = PlanForm(request.POST, user=request.user)
    if not form.is_valid():
        return _plan_page(request, form)
    data = form.cleaned_data
    region = data["region"]
    try:
        run = plan_run_create(
            election=data["election"],
            region_code=region,
            acting_user=request.user,
            dry_run=True,
            start=data["start"],
            no_show_rate=(
                None if data["no_show_percent"] is None else data["no_show_percent"] / 100
            ),
            mobile_units=data["mobile_units"],
            mobile_per_day=data["mobile_per_day"],
        )
    except (PermissionDenied, PlanRefused) as exc:
        messages.error(request, str(exc))
        return redirect("invitations_plan")
    url = reverse("invitations_run", kwargs={"pk": run.pk})
    return redirect_then_start(url, lambda: _enqueue_on_commit(plan_invitations, run.pk))


@login_required
@require_POST
def plan_approve(request: HttpRequest, pk: int) -> HttpResponse:
    """Approve a finished preview; it is sent in the background."""
    run = _run_for(request, pk)
    try:
        plan_run_approve(run=run, acting_user=request.user, public_url=public_base(request))
    except PlanRefused as exc:
        messages.error(request, str(exc))
        return redirect("invitations_run", pk=run.pk)
    messages.success(request, "Rencana undangan disetujui; undangan sedang dikirim.")
    url = reverse("invitations_run", kwargs={"pk": run.pk})
    return redirect_then_start(url, lambda: _enqueue_on_commit(send_invitations, run.pk))


def _enqueue_on_commit(task: Any, run_id: int) -> None:
    """Enqueue once the run's rows are committed (at once when no transaction is open)."""
    transaction.on_commit(lambda: task.enqueue(run_id))


LABELS = {"recording": _("Not recorded: recording"), "printing": _("Print ready: card pick-up")}
FINISHED = (PlanRun.Status.DONE, PlanRun.Status.SENT, PlanRun.Status.FAILED)


def _mobile(part: dict[str, Any], plan: dict[str, Any]) -> dict[str, Any] | None:
    mobile = part.get("mobile")
    if not mobile:
        return None
    return mobile | {
        "method_label": gettext("MIP (%(solver)s through OR-Tools)")
        % {"solver": mobile.get("solver", "")},
        "gap_percent": round(100 * mobile.get("gap", 0.0), 4),
        "km_saved": round(plan["total_km"] - mobile["plan"]["total_km"], 1),
        "served_more": mobile["plan"]["served"] - plan["served"],
        "visits": [
            v | {"day": date.fromisoformat(v["day"])} if isinstance(v.get("day"), str) else v
            for v in mobile.get("visits", [])
        ],
    }


def _load_table(load: dict[str, Any]) -> dict[str, Any]:
    """Invitations per service point (rows) and day (columns), with totals."""
    days = [date.fromisoformat(d) for d in load.get("days", [])]
    rows = load.get("rows", [])
    return {
        "days": days,
        "rows": [r | {"total": sum(r["counts"])} for r in rows],
        "totals": [sum(col) for col in zip(*(r["counts"] for r in rows), strict=True)],
        "total": sum(sum(r["counts"]) for r in rows),
    }


def _letter_villages(codes: list[str]) -> list[dict[str, Any]]:
    """The villages with letters, by kecamatan (each named), in code order."""
    regions = (
        Region.objects.filter(code__in=codes).select_related("parent").in_bulk(field_name="code")
    )
    districts: dict[str, dict[str, Any]] = {}
    for code in sorted(codes):
        village = regions.get(code)
        parent = village.parent if village else None
        key = parent.code if parent else code.rsplit(".", 1)[0]
        group = districts.setdefault(
            key, {"code": key, "name": parent.display_name if parent else "", "villages": []}
        )
        group["villages"].append({"code": code, "name": village.display_name if village else ""})
    return list(districts.values())


def _blanks_short(part: dict[str, Any]) -> list[dict[str, Any]]:
    """Per regency/city office, card pick-up invitees beyond its blank stock: they will be
    given a Suket (out of blanks, rule R6) unless blanks arrive first."""
    invited: dict[str, int] = {}
    for village, (total, unserved) in part.get("villages", {}).items():
        regency = village[:5]
        invited[regency] = invited.get(regency, 0) + total - unserved
    short = []
    for regency, count in sorted(invited.items()):
        office = Office.objects.filter(region_id=regency).first()
        blanks = stock_balance(office) if office is not None else 0
        if count > blanks:
            short.append({"office": office, "invited": count, "blanks": blanks})
    return short


def _start_day(text: Any) -> date | None:
    try:
        return date.fromisoformat(str(text))
    except ValueError:
        return None


@login_required
def run_page(request: HttpRequest, pk: int) -> HttpResponse:
    run = _run_for(request, pk)
    parts = []
    # In the lists' order (PostgreSQL's jsonb keeps keys sorted, not as written).
    order = {service: n for n, service in enumerate(LABELS)}
    for service, part in sorted(run.summary.items(), key=lambda item: order.get(item[0], 9)):
        plan, base = part["plan"], part["baseline"]
        # The saving of the best plan shown: with the mobile units when there are any.
        best = (part.get("mobile") or part)["plan"]
        parts.append(
            {
                "label": LABELS.get(service, service),
                "plan": plan,
                "baseline": base,
                "mobile": _mobile(part, plan),
                "km_saved": round(base["total_km"] - best["total_km"], 1),
                "load": _load_table(part.get("load", {})),
                "gap_percent": round(100 * plan.get("gap", 0.0), 5),
                "shortfall": part.get("shortfall", {}),
                "blanks_short": _blanks_short(part)
                if service == Invitation.Service.PRINTING
                else [],
                "sessions_to_close_gap": part.get("sessions_to_close_gap", 0),
                "written": part.get("written"),
                "messages": part.get("messages"),
                "districts": _letter_villages(list(part.get("villages", {})))
                if part.get("written")
                else [],
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
    awaiting = (
        run.status == PlanRun.Status.DONE
        and run.dry_run
        and run.approved_at is None
        and plan_invitees(run.summary) > 0
    )
    # Four eyes: its maker sees why the button is not there (admins may approve others' plans).
    own_plan = awaiting and made_by(run, request.user)
    return render(
        request,
        "invitations/run.html",
        {
            "nav": "invitations",
            "run": run,
            "region_title": region_title(run.election, run.region_code),
            "start_day": _start_day(run.options.get("start")),
            "parts": parts,
            "finished": run.status in FINISHED,
            "nobody_invited": run.status == PlanRun.Status.DONE and not plan_invitees(run.summary),
            "can_approve": awaiting
            and not own_plan
            and access.can(request.user, Action.APPROVE, where),
            "own_plan_refusal": SELF_APPROVAL_REFUSED if own_plan else "",
        },
    )


@login_required
def letters_pdf(request: HttpRequest, pk: int, village: str) -> HttpResponse:
    run = _run_for(request, pk)
    access.require(request.user, Action.VIEW_RESIDENT, village)
    invitations = letters_for_village(run.election_id, village, run_id=run.pk)
    office = getattr(getattr(request.user, "office", None), "name", "") or "Disdukcapil"
    pdf = render_letters(invitations, office=office, public_url=public_base(request))
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="undangan-{village}.pdf"'
    return response
