"""The daily reports' pages: the list of reports a user may see, making one now, and the PDF.

A province user sees every report of an election; a regency/city user only their own
regency/city's. Who may see what is decided in ``rekam.accounts.access`` (through ``report``).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models.functions import Length
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from rekam.accounts import access
from rekam.accounts.access import Action
from rekam.elections.models import Election
from rekam.regions.models import Region

from . import report as daily
from .figures import default_within

PAGE_SIZE = 50


def _election(slug: str) -> Election:
    return get_object_or_404(Election, slug=slug)


@login_required
def report_list(request: HttpRequest, slug: str) -> HttpResponse:
    access.require(request.user, Action.VIEW_REPORTS)
    election = _election(slug)
    reports = (
        daily.reports_for(request.user, election)
        .defer("pdf")
        .annotate(size=Length("pdf"))
        .select_related("created_by")
        .order_by("-created_at", "-pk")
    )
    page = Paginator(reports, PAGE_SIZE).get_page(request.GET.get("page"))
    codes = {r.region_code for r in page.object_list if r.region_code}
    names = {
        code: official or name
        for code, official, name in Region.objects.filter(code__in=codes).values_list(
            "code", "official_name", "name"
        )
    }
    within = default_within(request.user)
    return render(
        request,
        "reporting/reports.html",
        {
            "nav": "dashboard",
            "election": election,
            "page": page,
            "rows": [(r, names.get(r.region_code, "")) for r in page.object_list],
            "own_place": names.get(within) or _own_place_name(within),
            "today": timezone.localdate(),
            "schedule": daily.SCHEDULE,
        },
    )


def _own_place_name(within: str) -> str:
    if not within:
        return _("Province")
    region = Region.objects.filter(code=within).first()
    return region.display_name if region else within


@login_required
@require_POST
def report_make(request: HttpRequest, slug: str) -> HttpResponse:
    """Make the report of the user's own jurisdiction now (the province, or their
    regency/city)."""
    election = _election(slug)
    try:
        report = daily.report_make(
            election=election,
            within=default_within(request.user),
            day=timezone.localdate(),
            acting_user=request.user,
            trigger=daily.ON_DEMAND,
        )
    except daily.ReportRefused as exc:
        messages.error(request, exc.message)
    else:
        made = ngettext(
            "The report was made: %(pages)d page.",
            "The report was made: %(pages)d pages.",
            report.pages,
        )
        messages.success(request, made % {"pages": report.pages})
    return redirect("dashboard_reports", slug=election.slug)


@login_required
def report_pdf(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    access.require(request.user, Action.VIEW_REPORTS)
    report = get_object_or_404(
        daily.reports_for(request.user, _election(slug)).select_related("election"), pk=pk
    )
    response = HttpResponse(bytes(report.pdf), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{daily.report_file_name(report)}"'
    return response
