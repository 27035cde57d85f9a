"""The compliance flags of an election: the list with counts, each flag's records, downloads.

What a user may see is decided in ``rekam.accounts.access`` (through ``flags``); ``?wilayah=``
narrows to one regency/city.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import formats, timezone

from rekam.elections.models import Election

from .exports import FORMATS, table_response
from .figures import default_within
from .flags import flag_view

PER_PAGE = 50
# ?wilayah= takes a regency/city code.
_WITHIN = re.compile(r"^\d{2}\.\d{2}$")


def _election(slug: str) -> Election:
    return get_object_or_404(Election, slug=slug)


def _within(request: HttpRequest) -> str:
    raw = request.GET.get("wilayah", "").strip()
    if raw and not _WITHIN.match(raw):
        raise Http404("Wilayah tidak dikenal.")
    return raw


def _shown(value: Any) -> str:
    """A cell as the page shows it (times in Asia/Jakarta, as in the downloads)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return timezone.localtime(value).strftime("%d-%m-%Y %H.%M")
    if isinstance(value, date):
        return value.strftime("%d-%m-%Y")
    if isinstance(value, float):
        return str(formats.number_format(value, 1))
    return str(value)


@login_required
def flag_list(request: HttpRequest, slug: str) -> HttpResponse:
    election = _election(slug)
    within = _within(request)
    view = flag_view(election, request.user, within=within)
    flags, regions = view.flags(), view.regions()
    return render(
        request,
        "reporting/flags.html",
        {
            "nav": "dashboard",
            "election": election,
            "flags": flags,
            "within": within,
            "within_name": dict(regions).get(within, within),
            "regions": regions,
        },
    )


@login_required
def flag_detail(request: HttpRequest, slug: str, kind: str) -> HttpResponse:
    election = _election(slug)
    within = _within(request)
    view = flag_view(election, request.user, within=within)
    table = view.table(kind)
    page = Paginator(table, PER_PAGE).get_page(request.GET.get("page"))
    rows = [([_shown(cell) for cell in cells], link) for cells, link in page.object_list]
    regions = dict(view.regions())
    return render(
        request,
        "reporting/flag_detail.html",
        {
            "nav": "dashboard",
            "election": election,
            "flag": table,
            "header": table.header,
            "page": page,
            "rows": rows,
            "within": within,
            "within_name": regions.get(within, within),
        },
    )


@login_required
def flag_export(request: HttpRequest, slug: str, kind: str, fmt: str) -> HttpResponse:
    if fmt not in FORMATS:
        raise Http404("Format unduhan tidak dikenal.")
    election = _election(slug)
    within = _within(request)
    header, rows, _links = flag_view(election, request.user, within=within).table(kind).records()
    # Named after what it holds: the region asked for, else the user's whole jurisdiction.
    place = (within or default_within(request.user)).replace(".", "") or "provinsi"
    return table_response(fmt, f"kepatuhan-{election.slug}-{kind}-{place}", header, rows)
