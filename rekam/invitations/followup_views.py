"""The follow-up page: per village of the user's jurisdiction, people invited, attended, missed,
re-invited and to visit at home; the home-visit list a mobile unit works from; both as CSV or
XLSX; and a button that runs the follow-up now in the background, with a progress page
(``rekam invitations_follow_up`` runs it on a schedule)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import F, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from rekam.accounts import access
from rekam.accounts.access import Action
from rekam.elections.models import Election
from rekam.regions.models import Region
from rekam.reporting.exports import table_response
from rekam.web.background import redirect_then_start

from .followup_runs import (
    FollowUpRefused,
    follow_up_jurisdiction,
    follow_up_run_create,
    follow_up_run_mark_stale,
    follow_up_run_summary,
)
from .invites import COUNTS, counts_by_village, home_visits, typed_code
from .models import FollowUpRun, Invitation
from .public_views import public_base
from .tasks import follow_up_invitations
from .views import region_title

PAGE_SIZE = 50
VILLAGE_HEADER = (
    "Kode desa/kelurahan",
    "Desa/Kelurahan",
    "Kecamatan",
    "Diundang",
    "Hadir",
    "Tidak hadir",
    "Diundang ulang",
    "Kunjungan rumah",
)
HOME_VISIT_HEADER = (
    "Kode desa/kelurahan",
    "Desa/Kelurahan",
    "Kecamatan",
    "RW",
    "RT",
    "NIK",
    "Nama",
    "Alamat",
    "Telepon",
    "Layanan",
    "Undangan terakhir",
    "Kode undangan",
)


@dataclass
class Scope:
    election: Election
    region: str  # "" for every region the user sees


def _election(slug: str) -> Election:
    """The election named, else the next one to poll, else the latest."""
    if slug:
        found = Election.objects.filter(slug=slug).first()
        if found is None:
            raise Http404("Pemilihan tidak ditemukan.")
        return found
    today = timezone.localdate()
    upcoming = Election.objects.filter(polling_day__gte=today).order_by("polling_day").first()
    latest = upcoming or Election.objects.order_by("-polling_day").first()
    if latest is None:
        raise Http404("Belum ada pemilihan.")
    return latest


def _scope(request: HttpRequest, data: Any, action: Action = Action.VIEW_REPORTS) -> Scope:
    """The election and region asked for (``pemilihan``, ``wilayah``; default the user's whole
    jurisdiction), refused outside it."""
    user = request.user
    region = str(data.get("wilayah", "")).strip() or (access.region_scope(user) or "")
    access.require(user, action, region or None)
    if region and not Region.objects.filter(code=region).exists():
        raise Http404("Wilayah tidak dikenal.")
    return Scope(_election(str(data.get("pemilihan", "")).strip()), region)


def _village_rows(scope: Scope) -> list[dict[str, Any]]:
    counts = counts_by_village(scope.election, scope.region)
    names = {
        r.code: r for r in Region.objects.filter(code__in=list(counts)).select_related("parent")
    }
    rows = []
    for code, figures in counts.items():
        village = names.get(code)
        rows.append(
            {
                "code": code,
                "name": village.name if village else "",
                "district": village.parent.name if village and village.parent else "",
                **figures,
            }
        )
    return rows


def _visits(scope: Scope) -> QuerySet[Invitation]:
    # The registry's phone number of the invitee, for the mobile unit to call ahead.
    return (
        home_visits(scope.election, scope.region)
        .select_related("voter", "village", "village__parent")
        .annotate(phone=F("voter__verdict__resident__phone"))
    )


def _query(scope: Scope) -> str:
    return f"pemilihan={scope.election.slug}&wilayah={scope.region}"


@login_required
def follow_up_page(request: HttpRequest) -> HttpResponse:
    scope = _scope(request, request.GET)
    rows = _village_rows(scope)
    totals = {k: sum(r[k] for r in rows) for k in COUNTS}
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "invitations/follow_up.html",
        {
            "nav": "invitations",
            "scope": scope,
            "elections": Election.objects.all(),
            "regions": access.regions_for(request.user).filter(level__in=["province", "regency"]),
            "page": page,
            "totals": totals,
            "query": _query(scope),
            "can_run": access.can(request.user, Action.PLAN_INVITATIONS, scope.region or None),
            "may_see_names": access.can(request.user, Action.VIEW_RESIDENT, scope.region or None),
            # The last follow-up started from this page for the same election and region.
            "last_run": FollowUpRun.objects.filter(
                election=scope.election, region_code=scope.region
            ).first(),
        },
    )


@login_required
def home_visits_page(request: HttpRequest) -> HttpResponse:
    scope = _scope(request, request.GET)
    access.require(request.user, Action.VIEW_RESIDENT, scope.region or None)
    page = Paginator(_visits(scope), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "invitations/home_visits.html",
        {"nav": "invitations", "scope": scope, "page": page, "query": _query(scope)},
    )


def _stem(kind: str, scope: Scope) -> str:
    return f"{kind}-{scope.election.slug}-{scope.region or 'semua'}"


@login_required
def villages_export(request: HttpRequest, fmt: str) -> HttpResponse:
    scope = _scope(request, request.GET)
    rows = (
        [r["code"], r["name"], r["district"], *(r[k] for k in COUNTS)] for r in _village_rows(scope)
    )
    return table_response(fmt, _stem("tindak-lanjut-undangan", scope), VILLAGE_HEADER, rows)


def _visit_rows(visits: QuerySet[Invitation]) -> Iterator[list[Any]]:
    for inv in visits.iterator(chunk_size=2_000):
        village = inv.village
        yield [
            inv.village_id,
            village.name,
            village.parent.name if village.parent else "",
            inv.rw,
            inv.rt,
            inv.voter.nik,
            inv.voter.name,
            inv.voter.street,
            getattr(inv, "phone", None) or "",  # annotated by _visits
            inv.get_service_display(),
            inv.starts_at,
            typed_code(inv),
        ]


@login_required
def home_visits_export(request: HttpRequest, fmt: str) -> HttpResponse:
    scope = _scope(request, request.GET)
    access.require(request.user, Action.VIEW_RESIDENT, scope.region or None)
    rows = _visit_rows(_visits(scope))
    return table_response(fmt, _stem("kunjungan-rumah", scope), HOME_VISIT_HEADER, rows)


@login_required
@require_POST
def follow_up_run(request: HttpRequest) -> HttpResponse:
    """Start a follow-up of every invitation whose session is over now, in the background: the
    browser goes to its progress page at once (the command does it on a schedule)."""
    scope = _scope(request, request.POST, Action.PLAN_INVITATIONS)
    try:
        run = follow_up_run_create(
            election=scope.election,
            region_code=scope.region,
            acting_user=request.user,
            public_url=public_base(request),
        )
    except (PermissionDenied, FollowUpRefused) as exc:
        messages.error(request, str(exc))
        return redirect(reverse("invitations_follow_up") + "?" + _query(scope))
    url = reverse("invitations_follow_up_progress", kwargs={"pk": run.pk})
    return redirect_then_start(url, lambda: follow_up_invitations.enqueue(run.pk))


def _run_for(request: HttpRequest, pk: int) -> FollowUpRun:
    """The run ``pk`` if the user may see its region's reports (refused outside it)."""
    run = get_object_or_404(FollowUpRun.objects.select_related("election", "created_by"), pk=pk)
    access.require(request.user, Action.VIEW_REPORTS, follow_up_jurisdiction(run) or None)
    return follow_up_run_mark_stale(run)


@login_required
@require_GET
def follow_up_progress(request: HttpRequest, pk: int) -> HttpResponse:
    run = _run_for(request, pk)
    return render(
        request,
        "invitations/follow_up_run.html",
        {
            "nav": "invitations",
            "run": run,
            "region_title": region_title(run.election, run.region_code),
            "summary": follow_up_run_summary(run) if run.status == FollowUpRun.Status.DONE else "",
            "back": reverse("invitations_follow_up")
            + f"?pemilihan={run.election.slug}&wilayah={run.region_code}",
        },
    )


@login_required
@require_GET
def follow_up_status(request: HttpRequest, pk: int) -> JsonResponse:
    run = _run_for(request, pk)
    done = run.status == FollowUpRun.Status.DONE
    return JsonResponse(
        {
            "status": run.status,
            "status_label": run.get_status_display(),
            "stage": run.step,
            "percent": run.progress,
            "error": run.error,
            "finished": run.finished,
            "updated_at": timezone.localtime(run.updated_at).strftime("%H:%M:%S"),
            "counts": run.counts if done else {},
            "summary": follow_up_run_summary(run) if done else "",
        }
    )
