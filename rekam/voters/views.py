"""Staff pages of the voter list: the election page, worklists with drill-down and exports,
reconciliation runs with their progress, candidate matches, imports.

Who may see or do what is decided in ``rekam.accounts.access`` (through ``worklists`` and
the services); views stay thin.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, NamedTuple

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import (
    FileResponse,
    HttpRequest,
    HttpResponse,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from rekam.accounts import access
from rekam.accounts.access import Action
from rekam.elections.models import Election
from rekam.regions.models import Region
from rekam.residents.models import Sex
from rekam.uploads.services import elections_for
from rekam.web.background import redirect_then_start

from . import worklists
from .importer import parse_tps
from .models import CandidateMatch, DptImport, ReconciliationRun, Voter, VoterClass
from .reconcile import ReconcileRefused, reconciliation_start
from .services import CandidateError, candidate_confirm, candidate_reject, listed_as
from .tasks import reconcile_election

PAGE_SIZE = 50
_CHILD_LEVEL = {"": "regency", "regency": "district", "district": "village", "village": "tps"}
_LEVEL_OF_PARTS = {1: "", 2: "regency", 3: "district", 4: "village"}


def _election(slug: str) -> Election:
    return get_object_or_404(Election, slug=slug)


def _home_region(user: Any) -> str:
    """Where a user's worklist starts: their regency/city, or everywhere for the province."""
    scope = access.region_scope(user) or ""
    return scope if scope.count(".") >= 1 else ""


@login_required
def election_list(request: HttpRequest) -> HttpResponse:
    access.require(request.user, Action.VIEW_REPORTS)
    return render(
        request,
        "voters/election_list.html",
        {"nav": "voters", "elections": worklists.elections_with_lists()},
    )


@login_required
def election_page(request: HttpRequest, slug: str) -> HttpResponse:
    user = request.user
    election = _election(slug)
    home = _home_region(user)
    level = _CHILD_LEVEL[_LEVEL_OF_PARTS.get(home.count(".") + 1 if home else 1, "")]
    total = worklists.worklist_total(election, user, within=home or None)
    rows = worklists.worklist_counts(election, user, level, within=home or None)
    status = worklists.election_status(election, user)
    # A file's counts span its regencies/cities: listed to those who cover them all.
    imports = [
        batch
        for batch in DptImport.objects.filter(election=election, finished_at__isnull=False)[:50]
        if access.can_all(request.user, Action.VIEW_RESIDENT, batch.regencies)
    ][:5]
    proposed = CandidateMatch.objects.filter(
        access.scope_filter(user, "voter__regency"),
        election=election,
        status=CandidateMatch.Status.PROPOSED,
        voter__removed_in__isnull=True,
    ).count()
    return render(
        request,
        "voters/election.html",
        {
            "nav": "voters",
            "election": election,
            "total": total,
            "rows": rows,
            "level": level,
            "home": home,
            "status": status,
            "imports": imports,
            "proposed": proposed,
            "classes": VoterClass.choices,
            "may_reconcile": access.can(user, Action.RECONCILE),
            # With no list yet, the upload page is offered to whoever may import this one.
            "may_upload": status.last_import is None
            and elections_for(user).filter(pk=election.pk).exists(),
        },
    )


def _flag(value: str | None) -> bool | None:
    return {"1": True, "0": False}.get(value or "")


def _worklist_params(request: HttpRequest) -> dict[str, Any]:
    klass = request.GET.get("kelas") or None
    if klass not in VoterClass.values:
        klass = None
    tps, _ = parse_tps(request.GET.get("tps") or "")  # "1" and "TPS 01" both mean "001"
    return {
        "within": (request.GET.get("kode") or "").strip() or None,
        "tps": tps,
        "klass": klass,
        "first_time": _flag(request.GET.get("pemula")),
        "suket_expiring": _flag(request.GET.get("suket")),
        "still": request.GET.get("masih") == "1",
    }


@login_required
def worklist_page(request: HttpRequest, slug: str) -> HttpResponse:
    user = request.user
    election = _election(slug)
    params = _worklist_params(request)
    within = params["within"] or _home_region(user) or None
    region = Region.objects.filter(code=within).select_related("parent").first() if within else None
    if within and region is None:
        raise PermissionDenied(access.OUTSIDE_JURISDICTION)
    here = _LEVEL_OF_PARTS.get(within.count(".") + 1, "") if within else ""
    level = _CHILD_LEVEL.get(here, "tps")
    counts = {k: params[k] for k in ("klass", "first_time", "suket_expiring")}
    rows = worklists.worklist_counts(election, user, level, within=within, **counts)
    total = worklists.worklist_total(election, user, within=within, **counts)
    status = worklists.election_status(election, user, within)
    page = None
    show_people = here in {"district", "village"} or params["tps"]
    if show_people and access.can(user, Action.VIEW_RESIDENT):
        voters = worklists.worklist_voters(
            election, user, within=within, tps=params["tps"], still=params["still"], **counts
        )
        page = Paginator(voters, PAGE_SIZE).get_page(request.GET.get("page"))
    # What the counts table says of the people listed (at the last reconciliation): the list
    # may be narrowed to those still in their class now, which counting live at province scale
    # would cost a join of every voter with the registry.
    reconciled_count = (
        sum(row.voters for row in rows if row.tps == params["tps"])
        if params["tps"]
        else total.voters
    )
    crumbs: list[Region] = []
    node = region
    while node is not None and node.level != "province":
        crumbs.insert(0, node)
        node = node.parent
    query = request.GET.copy()
    query.pop("page", None)
    # The filters the region links carry on: not the region itself, its TPS or the page.
    filters = query.copy()
    for key in ("kode", "tps"):
        filters.pop(key, None)
    return render(
        request,
        "voters/worklist.html",
        {
            "nav": "voters",
            "election": election,
            "region": region,
            "crumbs": crumbs,
            "rows": rows,
            "level": level,
            "total": total,
            "page": page,
            "params": params,
            "within": within or "",
            "status": status,
            "reconciled": status.last_run,
            "reconciled_count": reconciled_count,
            "classes": VoterClass.choices,
            "query": query.urlencode(),
            "filters": filters.urlencode(),
            "may_export": access.can(user, Action.VIEW_RESIDENT),
        },
    )


def _export_voters(request: HttpRequest, slug: str) -> tuple[Election, Any, str]:
    user = request.user
    election = _election(slug)
    params = _worklist_params(request)
    within = params.pop("within") or _home_region(user) or None
    voters = worklists.worklist_voters(election, user, within=within, **params)
    return election, voters, _export_stem(election, within, params)


def _export_stem(election: Election, within: str | None, params: dict[str, Any]) -> str:
    """The export's file name (without extension): every filter in it, so that two exports of
    the same place with different filters are told apart."""
    parts = [f"dpt-{election.slug}", within or "semua"]
    if params["tps"]:
        parts.append(f"tps{params['tps']}")
    if params["klass"]:
        parts.append(params["klass"].lower())
    if params["first_time"] is not None:
        parts.append("pemula" if params["first_time"] else "bukan-pemula")
    if params["suket_expiring"] is not None:
        parts.append("suket-habis" if params["suket_expiring"] else "tanpa-suket-habis")
    if params["still"]:
        parts.append("masih")
    return "-".join(part for part in parts if part)


@login_required
def worklist_csv(request: HttpRequest, slug: str) -> StreamingHttpResponse:
    _election_obj, voters, stem = _export_voters(request, slug)
    response = StreamingHttpResponse(
        worklists.export_csv_chunks(voters), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{stem}.csv"'
    return response


@login_required
def worklist_xlsx(request: HttpRequest, slug: str) -> FileResponse:
    _election_obj, voters, stem = _export_voters(request, slug)
    # Written to an unnamed file that streams out and is gone once the response is closed: a
    # province's workbook is not held in memory (the rows hold full NIKs: no name on disk).
    work = Path(settings.VOTERS_WORK_DIR)
    work.mkdir(parents=True, exist_ok=True)
    out = tempfile.TemporaryFile(dir=work)  # noqa: SIM115 (the response closes it)
    try:
        worklists.export_xlsx(voters, out)
        out.seek(0)
    except BaseException:
        out.close()
        raise
    return FileResponse(
        out,
        as_attachment=True,
        filename=f"{stem}.xlsx",
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


@login_required
@require_POST
def reconcile_start(request: HttpRequest, slug: str) -> HttpResponse:
    election = _election(slug)
    try:
        run = reconciliation_start(election=election, acting_user=request.user)
    except ReconcileRefused as exc:
        messages.error(request, exc.message)
        return redirect("voters_election", slug=election.slug)
    url = reverse("voters_run", kwargs={"slug": election.slug, "pk": run.pk})
    return redirect_then_start(url, lambda: reconcile_election.enqueue(run.pk))


def _run_for_user(request: HttpRequest, slug: str, pk: int) -> ReconciliationRun:
    access.require(request.user, Action.VIEW_REPORTS)
    run = get_object_or_404(ReconciliationRun, pk=pk, election__slug=slug)
    # Its totals span every regency/city it covered.
    if not access.can_all(request.user, Action.VIEW_REPORTS, run.regencies):
        raise PermissionDenied(access.OUTSIDE_JURISDICTION)
    return run


@login_required
def run_page(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    run = _run_for_user(request, slug, pk)
    return render(
        request,
        "voters/run.html",
        {
            "nav": "voters",
            "run": run,
            "election": run.election,
            "class_totals": [
                (label, run.totals.get(code, 0)) for code, label in VoterClass.choices
            ],
        },
    )


@login_required
def run_status(request: HttpRequest, slug: str, pk: int) -> JsonResponse:
    run = _run_for_user(request, slug, pk)
    return JsonResponse(
        {
            "status": run.status,
            "status_label": run.get_status_display(),
            "stage": run.stage,
            "done": run.done,
            "total": run.total,
            "percent": run.percent,
            "error": run.error,
            "finished": run.status
            in {ReconciliationRun.Status.DONE, ReconciliationRun.Status.FAILED},
            "updated_at": timezone.localtime(run.updated_at).strftime("%H:%M:%S"),
        }
    )


@login_required
def candidate_list(request: HttpRequest, slug: str) -> HttpResponse:
    user = request.user
    access.require(user, Action.VIEW_RESIDENT)
    election = _election(slug)
    candidates = (
        CandidateMatch.objects.filter(
            access.scope_filter(user, "voter__regency"),
            election=election,
            status=CandidateMatch.Status.PROPOSED,
            voter__removed_in__isnull=True,
        )
        .select_related("voter", "voter__village", "resident", "resident__village")
        .order_by("voter__village_id", "voter__tps", "voter__name_key", "id")
    )
    decided = (
        CandidateMatch.objects.filter(
            access.scope_filter(user, "voter__regency"), election=election
        )
        .exclude(status=CandidateMatch.Status.PROPOSED)
        .select_related("voter", "resident", "decided_by")
        .order_by("-decided_at")[:20]
    )
    page = Paginator(candidates, PAGE_SIZE).get_page(request.GET.get("page"))
    # Each proposal with the voter already on the list as its resident, if any, and the two
    # side by side.
    listed = listed_as(list(page))
    rows = [(candidate, listed.get(candidate.pk), _compared(candidate)) for candidate in page]
    return render(
        request,
        "voters/candidates.html",
        {
            "nav": "voters",
            "election": election,
            "page": page,
            "rows": rows,
            "decided": decided,
            "may_decide": access.can(user, Action.CONFIRM_MATCH),
        },
    )


class Compared(NamedTuple):
    """One line of a candidate set beside its voter; ``differs`` when the two disagree."""

    field: str
    label: str
    voter: str
    resident: str
    differs: bool
    # What is wrong with the voter's value, when the import said (a NIK that is not valid).
    note: str = ""


def _same(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Whether two values (in parts, like RT and RW) say the same as a person reads them, case
    and spacing aside; a part missing on one side is no difference."""
    return all(
        not x or not y or " ".join(x.split()).casefold() == " ".join(y.split()).casefold()
        for x, y in zip(a, b, strict=True)
    )


def _compared(candidate: CandidateMatch) -> list[Compared]:
    """What the person deciding compares, the voter's as KPU listed it and the resident's as
    the registry holds it (read from the rows the page has already loaded)."""
    voter, resident = candidate.voter, candidate.resident
    sexes = dict(Sex.choices)
    pairs = [
        (
            "birth_date",
            _("Date of birth"),
            (f"{voter.birth_date:%d-%m-%Y}",),
            (f"{resident.birth_date:%d-%m-%Y}",),
        ),
        ("birth_place", _("Place of birth"), (voter.birth_place,), (resident.birth_place,)),
        (
            "sex",
            _("Sex"),
            (str(sexes.get(voter.sex, voter.sex)),),
            (str(sexes.get(resident.sex, resident.sex)),),
        ),
        ("kk_number", _("Family card number"), (voter.kk_number,), (resident.kk_number,)),
        ("street", _("Address"), (voter.street,), (resident.street,)),
        ("rt_rw", "RT/RW", (voter.rt, voter.rw), (resident.rt, resident.rw)),
        ("village", _("Village"), (voter.village.name,), (resident.village.name,)),
    ]
    return [
        Compared(
            "nik", "NIK", voter.nik, resident.nik, voter.nik != resident.nik, _nik_note(voter)
        ),
        *(
            Compared(field, label, _shown(a), _shown(b), not _same(a, b))
            for field, label, a, b in pairs
        ),
    ]


def _nik_note(voter: Voter) -> str:
    """The import's verdict on the voter's NIK, without repeating the NIK shown beside it."""
    return voter.nik_problem.removesuffix(f" ({voter.nik})")


def _shown(parts: tuple[str, ...]) -> str:
    """A value as shown ("" when unknown); RT/RW as ``001/002``, a missing part as ``-``."""
    return "/".join(part or "-" for part in parts) if any(parts) else ""


@login_required
@require_POST
def candidate_decide(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    user = request.user
    access.require(user, Action.VIEW_RESIDENT)
    candidate = get_object_or_404(
        CandidateMatch.objects.filter(access.scope_filter(user, "voter__regency")).select_related(
            "voter"
        ),
        pk=pk,
        election__slug=slug,
    )
    decision = request.POST.get("keputusan")
    reason = (request.POST.get("alasan") or "").strip()
    try:
        if decision == "konfirmasi":
            match = candidate_confirm(candidate=candidate, acting_user=user, reason=reason)
            messages.success(
                request,
                _("Match confirmed: voter %(voter)s is %(resident)s (NIK %(nik)s).") % _who(match),
            )
        elif decision == "tolak":
            match = candidate_reject(candidate=candidate, acting_user=user, reason=reason)
            messages.success(
                request,
                _("Match rejected: voter %(voter)s is not %(resident)s (NIK %(nik)s).")
                % _who(match),
            )
        else:
            messages.error(request, _("Choose confirm or reject."))
    except CandidateError as exc:
        messages.error(request, exc.message)
    return redirect("voters_candidates", slug=slug)


def _who(match: CandidateMatch) -> dict[str, str]:
    """The two people a decision was about, for its message (the NIK masked: a message may
    travel in a cookie)."""
    return {
        "voter": match.voter.name,
        "resident": match.resident.name,
        "nik": match.resident.masked_nik,
    }


@login_required
def import_page(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    user = request.user
    access.require(user, Action.VIEW_RESIDENT)
    batch = get_object_or_404(DptImport, pk=pk, election__slug=slug)
    # A file with no accepted row covers no regency/city: its (empty) page is anyone's.
    mine = [code for code in batch.regencies if access.can(user, Action.VIEW_RESIDENT, code)]
    if batch.regencies and not mine:
        raise PermissionDenied(access.OUTSIDE_JURISDICTION)
    # With the election, so that the (election, village, tps) index narrows the scan.
    voters = Voter.objects.filter(
        access.scope_filter(user, "regency"), election_id=batch.election_id
    ).select_related("village")
    added = voters.filter(added_in=batch)
    removed = voters.filter(removed_in=batch)
    return render(
        request,
        "voters/import.html",
        {
            "nav": "voters",
            "election": batch.election,
            "batch": batch,
            # The file's own counts span its regencies/cities; the lists are the user's own.
            "whole_file": access.can_all(user, Action.VIEW_RESIDENT, batch.regencies),
            "added": added[:PAGE_SIZE],
            "added_count": added.count(),
            "removed": removed[:PAGE_SIZE],
            "removed_count": removed.count(),
        },
    )
