"""Uploading a registry, SIAK state export or DPT file, and following its import."""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods

from rekam.lib.tabular import REJECTED
from rekam.regions.models import Region
from rekam.web.background import redirect_then_start

from .forms import UploadForm
from .models import Upload
from .services import (
    STAGE_APPLYING,
    STAGE_READING,
    UploadRefused,
    elections_for,
    may_upload,
    report_file,
    upload_mark_stale,
    upload_start,
    uploads_for,
)
from .tasks import run_upload

COUNT_LABELS = {
    "rows_read": _("Rows read"),
    "accepted": _("Accepted"),
    "created": _("New residents"),
    "added": _("Added to the list"),
    "updated": _("Updated"),
    "changed": _("Changed"),
    "moved": _("KTP-el states moved"),
    "moves": _("KTP-el states moved"),
    "unchanged": _("Unchanged"),
    "stale": _("Older than the state on record (ignored)"),
    "removed": _("Removed from the list"),
    "outside": _("Kept: their TPS is not in the file"),
    "rejected": _("Rejected"),
    "outside_jurisdiction": _("Of these, outside your jurisdiction"),
    "duplicates": _("NIK listed twice"),
    "warnings": _("Warnings"),
}
# Stages as stored (codes, or the DPT import's own Indonesian texts), named in the reader's
# language; a text not listed here is shown as it is.
STAGE_LABELS = {
    STAGE_READING: _("Reading and checking the rows"),
    STAGE_APPLYING: _("Applying the states"),
    "membaca berkas": _("Reading the file"),
    "memeriksa baris": _("Checking the rows"),
    "membandingkan dengan daftar saat ini": _("Comparing with the current list"),
    "menyimpan": _("Saving"),
}
RECENT = 20


def stage_label(upload: Upload) -> str:
    """The stage of a running import for the page: none once it has finished (the status
    says it all), nor one that only repeats the status."""
    if upload.finished or not upload.stage:
        return ""
    label = str(STAGE_LABELS.get(upload.stage, upload.stage))
    return "" if label.casefold() == str(upload.get_status_display()).casefold() else label


def _kinds(request: HttpRequest) -> list[str]:
    kinds = may_upload(request.user)
    if not kinds:
        raise PermissionDenied("Hanya admin dinas yang boleh mengunggah berkas impor.")
    return kinds


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def index(request: HttpRequest) -> HttpResponse:
    user = request.user
    kinds = _kinds(request)
    elections = elections_for(user).order_by("-polling_day")
    form = UploadForm(request.POST or None, request.FILES or None, kinds=kinds, elections=elections)
    if request.method == "POST" and form.is_valid():
        try:
            upload = upload_start(
                kind=form.cleaned_data["kind"],
                file=form.cleaned_data["file"],
                election=form.cleaned_data["election"],
                acting_user=user,
            )
        except UploadRefused as exc:
            form.add_error(None, exc.message)
        else:
            url = reverse("upload", kwargs={"pk": upload.pk})
            return redirect_then_start(url, lambda: run_upload.enqueue(upload.pk))
    recent = uploads_for(user).select_related("election", "acting_user")[:RECENT]
    return render(
        request,
        "uploads/index.html",
        {"nav": "uploads", "form": form, "recent": recent},
        status=400 if form.errors else 200,
    )


def _upload_for(request: HttpRequest, pk: int) -> Upload:
    _kinds(request)
    upload = get_object_or_404(
        uploads_for(request.user).select_related("election", "acting_user", "dpt_import"), pk=pk
    )
    return upload_mark_stale(upload)


@login_required
@require_GET
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    upload = _upload_for(request, pk)
    counts = [(COUNT_LABELS.get(k, k), n) for k, n in upload.counts.items()]
    issues = [
        {"line": line, "nik": nik, "rejected": level == REJECTED, "reason": reason}
        for line, nik, level, reason in upload.issues
    ]
    rejected_shown = sum(i["rejected"] for i in issues)
    warnings_shown = len(issues) - rejected_shown
    # The page holds the first of each; the counts say how many there are (a status import
    # counts its warnings as stale updates).
    rejected_total = max(upload.counts.get("rejected", 0), rejected_shown)
    warnings_total = max(
        upload.counts.get("warnings", upload.counts.get("stale", 0)), warnings_shown
    )
    regencies = upload.dpt_import.regencies if upload.dpt_import else []
    return render(
        request,
        "uploads/detail.html",
        {
            "nav": "uploads",
            "upload": upload,
            "stage": stage_label(upload),
            "counts": counts,
            "regencies": [
                r.display_name for r in Region.objects.filter(code__in=regencies).order_by("code")
            ],
            "issues": issues,
            "rejected_shown": rejected_shown,
            "rejected_total": rejected_total,
            "warnings_shown": warnings_shown,
            "warnings_total": warnings_total,
            "more_issues": rejected_total + warnings_total > len(issues),
            "has_report": report_file(upload, "laporan") is not None,
            "has_changes": report_file(upload, "perubahan") is not None,
        },
    )


@login_required
@require_GET
def status(request: HttpRequest, pk: int) -> JsonResponse:
    upload = _upload_for(request, pk)
    return JsonResponse(
        {
            "status": upload.status,
            "status_label": upload.get_status_display(),
            "stage": stage_label(upload),
            "done": upload.done,
            "total": upload.total,
            "percent": upload.percent,
            "error": upload.error,
            "finished": upload.finished,
            "updated_at": timezone.localtime(upload.updated_at).strftime("%H:%M:%S"),
        }
    )


@login_required
@require_GET
def report(request: HttpRequest, pk: int, which: str) -> FileResponse:
    upload = _upload_for(request, pk)
    path = report_file(upload, which)
    if path is None:
        raise Http404("Laporan tidak ada.")
    name = f"{Path(upload.file_name).stem}-{which}.csv"
    return FileResponse(path.open("rb"), as_attachment=True, filename=name)
