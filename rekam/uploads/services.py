"""Uploads from the web: a file stored and recorded, then handed to its import in the
background (:mod:`rekam.uploads.tasks`), with progress the page follows."""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone, translation
from django.utils.text import get_valid_filename

from rekam.accounts.access import Action, can, offices_for, regions_for, require, single_regency
from rekam.audit.services import audit_record
from rekam.elections.models import Election
from rekam.lib.tabular import REJECTED, RowIssue, TabularError
from rekam.residents.importers import registry_import, statuses_import
from rekam.voters.importer import dpt_import

from .models import Upload

log = logging.getLogger(__name__)

ACTIONS = {
    Upload.Kind.REGISTRY: Action.IMPORT_REGISTRY,
    Upload.Kind.STATUSES: Action.IMPORT_STATUSES,
    Upload.Kind.DPT: Action.IMPORT_DPT,
}
SUFFIXES = (".csv", ".txt", ".xlsx")
# Rejected rows and warnings kept on the upload for its page (rejected rows first); the
# report holds them all.
ISSUES_SHOWN = 200
# Stages of the registry and status imports, stored as these codes and named on the page in
# the reader's language (rekam.uploads.views.STAGE_LABELS, with the DPT import's stages).
STAGE_READING = "reading"
STAGE_APPLYING = "applying"
# The DPT import's stages (its ``on_stage`` texts), for its progress.
DPT_STAGES = 4
# Progress is written at most this often (seconds); the registry import reports every
# PROGRESS_ROWS rows, so a large file's page moves about every second.
PROGRESS_EVERY = 1.0
# An upload that has not reported progress for this long is taken to have died (the process
# that ran it stopped: a restart or a deploy).
STALE_AFTER = timedelta(minutes=30)


class UploadRefused(Exception):
    """An upload that cannot be taken or run; ``message`` is for the person, in Indonesian."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def may_upload(user: Any) -> list[str]:
    """The kinds of file ``user`` may upload."""
    return [kind for kind, action in ACTIONS.items() if can(user, action)]


def uploads_for(user: Any) -> QuerySet[Upload]:
    """Uploads ``user`` may follow: those of the offices in their jurisdiction, per kind."""
    visible = Q(pk__in=[])
    for kind, action in ACTIONS.items():
        if can(user, action):
            visible |= Q(kind=kind, office__in=offices_for(user, action))
    if getattr(user, "is_superuser", False):
        visible |= Q(office__isnull=True)
    return Upload.objects.filter(visible)


def elections_for(user: Any) -> QuerySet[Election]:
    """Elections with a regency/city in the user's jurisdiction (a DPT may be uploaded)."""
    return Election.objects.filter(regions__in=regions_for(user, Action.IMPORT_DPT)).distinct()


def upload_start(
    *, kind: str, file: UploadedFile, acting_user: Any, election: Election | None = None
) -> Upload:
    """Store ``file`` and record the upload, to be carried out by :func:`upload_run`."""
    if kind not in ACTIONS:
        raise UploadRefused("Pilih jenis berkas.")
    require(acting_user, ACTIONS[Upload.Kind(kind)])
    name = Path(file.name or "").name
    if not name.lower().endswith(SUFFIXES):
        raise UploadRefused("Berkas harus CSV atau XLSX.")
    if not file.size:
        raise UploadRefused("Berkas kosong.")
    if kind == Upload.Kind.DPT:
        if election is None:
            raise UploadRefused("Pilih pemilihan untuk DPT ini.")
        if not elections_for(acting_user).filter(pk=election.pk).exists():
            raise PermissionDenied(f"{election.name} tidak diadakan di wilayah kerja Anda.")
    with transaction.atomic():
        upload = Upload.objects.create(
            kind=kind,
            election=election if kind == Upload.Kind.DPT else None,
            office=getattr(acting_user, "office", None),
            acting_user=acting_user,
            file_name=name[:255],
            size=file.size,
        )
        # The file in a folder of its own: its name, whatever it is, never meets a report's.
        folder = Path(settings.UPLOAD_DIR) / str(upload.pk) / "berkas"
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / (get_valid_filename(name) or f"berkas{Path(name).suffix}")
        with target.open("wb") as out:
            for part in file.chunks():
                out.write(part)
        upload.path = str(target)
        upload.save(update_fields=["path"])
        audit_record(
            acting_user=acting_user,
            action="upload.start",
            obj=upload,
            changes={"file": [None, upload.file_name]},
            reason=str(upload.get_kind_display()),
        )
    return upload


class _Progress:
    """Writes an upload's progress, at most every :data:`PROGRESS_EVERY` seconds."""

    def __init__(self, upload: Upload) -> None:
        self.upload = upload
        self.written = 0.0
        self.stages = 0

    def write(self, *, force: bool = False, **fields: Any) -> None:
        for name, value in fields.items():
            setattr(self.upload, name, value)
        now = time.monotonic()
        if not force and now - self.written < PROGRESS_EVERY:
            return
        self.written = now
        fields["updated_at"] = timezone.now()
        Upload.objects.filter(pk=self.upload.pk).update(**fields)

    def rows(self, done: int, total: int | None) -> None:
        self.write(done=done, total=max(total or 0, done) or None)

    def stage(self, text: str) -> None:
        """The DPT import's next stage: its progress is counted in stages."""
        self.stages += 1
        self.write(force=True, stage=text, done=self.stages - 1, total=DPT_STAGES)


def _issues(issues: list[RowIssue]) -> list[list[Any]]:
    """The issues the page shows: rejected rows first (a flood of warnings must not hide
    them), then warnings, each by line, :data:`ISSUES_SHOWN` in all."""
    rejected = sorted((i for i in issues if i.level == REJECTED), key=lambda i: i.line)
    shown = rejected[:ISSUES_SHOWN]
    if len(shown) < ISSUES_SHOWN:
        warnings = sorted((i for i in issues if i.level != REJECTED), key=lambda i: i.line)
        shown += warnings[: ISSUES_SHOWN - len(shown)]
    return [[i.line, i.key, i.level, i.reason] for i in shown]


def _outside(count: int) -> dict[str, int]:
    """The count of rows rejected as outside the jurisdiction, when there are any."""
    return {"outside_jurisdiction": count} if count else {}


def _carry_out(upload: Upload, progress: _Progress) -> dict[str, Any]:
    user, path = upload.acting_user, Path(upload.path)
    report = path.parent.parent / "laporan.csv"
    if upload.kind == Upload.Kind.REGISTRY:
        progress.write(force=True, stage=STAGE_READING)
        # Never the forked reader here: a web process has threads.
        imported = registry_import(
            path=path,
            acting_user=user,
            report_path=report,
            parallel=False,
            on_progress=progress.rows,
        )
        return {
            "counts": {
                "rows_read": imported.rows_read,
                "accepted": imported.accepted,
                "created": imported.created,
                "updated": imported.updated,
                "unchanged": imported.unchanged,
                "rejected": imported.rejected,
                **_outside(imported.outside_jurisdiction),
                "warnings": imported.warnings,
                "moves": imported.moves,
            },
            "issues": _issues(imported.issues),
            "report_path": str(imported.report_path),
        }
    if upload.kind == Upload.Kind.STATUSES:
        progress.write(force=True, stage=STAGE_APPLYING)
        applied = statuses_import(
            path=path, acting_user=user, report_path=report, on_progress=progress.rows
        )
        return {
            "counts": {
                "rows_read": applied.rows_read,
                "moved": applied.moved,
                "unchanged": applied.unchanged,
                "stale": applied.stale,
                "rejected": applied.rejected,
                **_outside(applied.outside_jurisdiction),
            },
            "issues": _issues(applied.issues),
            "report_path": str(applied.report_path),
        }
    assert upload.election is not None
    listed = dpt_import(
        path=path,
        election=upload.election,
        acting_user=user,
        # A file without a KABUPATEN/KOTA column is the uploader's own regency/city's.
        regency=single_regency(user),
        report_path=report,
        on_stage=progress.stage,
    )
    return {
        "counts": {
            "rows_read": listed.rows_read,
            "accepted": listed.accepted,
            "added": listed.added,
            "changed": listed.changed,
            "unchanged": listed.unchanged,
            "removed": listed.removed,
            "outside": listed.outside,
            "rejected": listed.rejected,
            "duplicates": listed.duplicates,
            "warnings": listed.warnings,
        },
        "issues": _issues(listed.issues),
        "report_path": str(listed.report_path),
        "changes_path": str(listed.changes_path),
        "dpt_import": listed.batch,
    }


def upload_run(*, upload: Upload) -> Upload:
    """Carry out a recorded upload with its import; the outcome is kept on ``upload``.

    The uploaded file is removed afterwards, whatever the outcome (its SHA-256 stays on the
    import's batch; the reports stay for the page)."""
    claimed = Upload.objects.filter(pk=upload.pk, status=Upload.Status.QUEUED).update(
        status=Upload.Status.RUNNING, updated_at=timezone.now()
    )
    if not claimed:
        upload.refresh_from_db()
        if upload.finished:  # e.g. marked failed while it waited: its file goes too
            Path(upload.path).unlink(missing_ok=True)
        raise UploadRefused(f"Unggahan #{upload.pk} sudah dijalankan.")
    upload.status = Upload.Status.RUNNING
    progress = _Progress(upload)
    try:
        # Reports are in Indonesian, whatever language the uploader's page was in.
        with translation.override(settings.LANGUAGE_CODE):
            outcome = _carry_out(upload, progress)
    except (TabularError, UploadRefused, PermissionDenied) as exc:
        reason = getattr(exc, "message", None) or str(exc)
        progress.write(
            force=True,
            status=Upload.Status.FAILED,
            stage="",
            error=f"Berkas tidak dapat diimpor: {reason}"[:500],
            finished_at=timezone.now(),
        )
        return upload
    except Exception:
        log.exception("upload %s failed", upload.pk)
        progress.write(
            force=True,
            status=Upload.Status.FAILED,
            stage="",
            error="Impor gagal karena kesalahan sistem; hubungi admin sistem (rinciannya ada "
            "di log server). Mengimpor berkas yang sama lagi aman: baris yang sudah tersimpan "
            "tidak berubah.",
            finished_at=timezone.now(),
        )
        raise
    finally:
        Path(upload.path).unlink(missing_ok=True)
    progress.write(
        force=True,
        status=Upload.Status.DONE,
        stage="",
        finished_at=timezone.now(),
        **outcome,
    )
    return upload


def upload_mark_stale(upload: Upload) -> Upload:
    """An upload whose import stopped reporting (:data:`STALE_AFTER`) is marked failed, so that
    its page stops waiting and says to upload again."""
    if upload.finished or upload.updated_at > timezone.now() - STALE_AFTER:
        return upload
    error = "Impor terhenti sebelum selesai (layanan dimulai ulang?); unggah berkasnya lagi."
    marked = Upload.objects.filter(pk=upload.pk, status=upload.status).update(
        status=Upload.Status.FAILED, stage="", error=error, finished_at=timezone.now()
    )
    if marked:
        Path(upload.path).unlink(missing_ok=True)  # it holds full NIKs and will not be read
        upload.status, upload.stage, upload.error = Upload.Status.FAILED, "", error
    return upload


def report_file(upload: Upload, which: str) -> Path | None:
    """The upload's row report (``"laporan"``) or, for a DPT, its change report."""
    path = {"laporan": upload.report_path, "perubahan": upload.changes_path}.get(which, "")
    if not path or not Path(path).is_file():
        return None
    return Path(path)
