"""The province dashboard: figures per region with drill-down, pictures and exports.

Everything on the page comes from one :func:`figures.dashboard` call, so the table, the map, the
bars, the chart and the exports show the same numbers. Who may see what is decided in
``rekam.accounts.access`` (through ``figures``).
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rekam.accounts import access
from rekam.accounts.access import Action
from rekam.elections.models import Election
from rekam.regions.models import Region

from . import figures, pictures
from .exports import table_response
from .figures import Dashboard

# ?wilayah= takes a regency/city or kecamatan code.
_WITHIN = re.compile(r"^\d{2}\.\d{2}(\.\d{2})?$")


def _election(slug: str) -> Election:
    return get_object_or_404(Election, slug=slug)


def _within(request: HttpRequest) -> str | None:
    raw = request.GET.get("wilayah", "").strip()
    if not raw:
        return None
    if not _WITHIN.match(raw):
        raise Http404(_("Unknown region."))
    return raw


@login_required
def dashboard_home(request: HttpRequest) -> HttpResponse:
    """The dashboard of the next election (or the latest one when all are past)."""
    access.require(request.user, Action.VIEW_REPORTS)
    today = timezone.localdate()
    chosen = request.GET.get("pemilihan", "")  # the election picker (works without script)
    election = (
        Election.objects.filter(slug=chosen).first()
        or Election.objects.filter(polling_day__gte=today).order_by("polling_day").first()
        or Election.objects.order_by("-polling_day").first()
    )
    if election is None:
        return render(request, "reporting/no_election.html", {"nav": "dashboard"})
    return redirect("dashboard_election", slug=election.slug)


def _link(slug: str, code: str) -> str:
    return f"{reverse('dashboard_election', kwargs={'slug': slug})}?wilayah={code}"


# The bars split each region's voters by where their record is now.
BAR_SERIES = (
    ("printed", gettext_lazy("Card printed"), "#1b7837"),
    ("waiting", gettext_lazy("Recorded, no card yet"), "#a6dba0"),
    ("unrecorded_now", gettext_lazy("Not recorded"), "#c2a5cf"),
    ("unmatched", gettext_lazy("Not in the registry or NIK invalid"), "#bababa"),
)


def _bar_values(row: figures.Row) -> dict[str, int]:
    return {
        "printed": row.printed,
        "waiting": row.without_card - row.unrecorded_now,
        "unrecorded_now": row.unrecorded_now,
        "unmatched": row.unmatched,
    }


def _pictures(dash: Dashboard, slug: str) -> dict[str, str]:
    electing = [r.code for r in dash.rows] if dash.level == "regency" else [dash.within[:5]]
    shares = (
        {r.code: (r.unrecorded_now, r.voters) for r in dash.rows}
        if dash.level == "district"
        else figures.district_shares(dash.election, dash.within, electing)
    )
    names = dict(Region.objects.filter(code__in=list(shares)).values_list("code", "name"))
    district_links = {code: _link(slug, code) for code in shares}
    row_links = {r.code: _link(slug, r.code) for r in dash.rows} if dash.level != "village" else {}
    return {
        "map": pictures.district_map(
            shares,
            names=names,
            links=district_links,
            highlight=dash.within if dash.level == "village" else "",
        ),
        "bars": pictures.region_bars(
            [(r.code, r.name, _bar_values(r)) for r in dash.rows],
            series=[(key, str(label), colour) for key, label, colour in BAR_SERIES],
            links=row_links,
        ),
        "progress": pictures.progress_chart(
            [(p.day, p.recorded, p.printed) for p in dash.progress],
            needed_recorded=dash.needed_recorded_per_day,
            needed_printed=dash.needed_printed_per_day,
        ),
    }


@login_required
def dashboard_page(request: HttpRequest, slug: str) -> HttpResponse:
    election = _election(slug)
    dash = figures.dashboard(election, request.user, within=_within(request))
    columns = figures.columns_for(dash)
    groups = [
        (group, label, [c for c in columns if c.group == group])
        for group, label in (
            ("voters", _("Recording and cards")),
            ("sukets", _("Sukets and invitations")),
            ("offices", _("Offices: stock, service points and queues")),
        )
    ]
    groups = [g for g in groups if g[2]]
    table = [(row, {c.key: figures.column_value(row, c) for c in columns}) for row in dash.rows]
    total = {c.key: figures.column_value(dash.total, c) for c in columns}
    elections = Election.objects.order_by("-polling_day")
    return render(
        request,
        "reporting/dashboard.html",
        {
            "nav": "dashboard",
            "election": election,
            "elections": elections,
            "dash": dash,
            "groups": groups,
            "table": table,
            "total": total,
            "drill": dash.level != "village",
            "pictures": _pictures(dash, slug),
            "crumbs": _crumbs(slug, dash, request.user),
        },
    )


def _crumbs(slug: str, dash: Dashboard, user: Any) -> list[tuple[str, str]]:
    """The levels above the page the user may open: (address, name)."""
    crumbs = []
    if dash.within and access.sees_province(user):
        crumbs.append((reverse("dashboard_election", kwargs={"slug": slug}), _("Province")))
    crumbs += [(_link(slug, code), name) for code, name in dash.trail]
    return crumbs


@login_required
def dashboard_export(request: HttpRequest, slug: str, fmt: str) -> HttpResponse:
    election = _election(slug)
    dash = figures.dashboard(election, request.user, within=_within(request))
    columns = figures.columns_for(dash)
    header = [
        _("Code"),
        _("Region"),
        *[f"{c.label} (%)" if c.kind == "share" else str(c.label) for c in columns],
    ]

    def values(row: figures.Row) -> list[Any]:
        cells = [figures.column_value(row, c) for c in columns]
        # Shares as percentages with one decimal, as the page shows them.
        return [
            round(100 * v, 1) if c.kind == "share" and v is not None else v
            for c, v in zip(columns, cells, strict=True)
        ]

    rows = [[r.code, r.name, *values(r)] for r in dash.rows]
    rows.append(["", _("Total"), *values(dash.total)])
    place = dash.within.replace(".", "") or "provinsi"
    name = f"dasbor-{election.slug}-{place}-{dash.today:%Y%m%d}"
    return table_response(fmt, name, header, rows)
