"""Files staff upload from the web for one of the imports (registry, SIAK states, DPT).

An upload is carried out in the background by the import it names (the same code the
commands run); its row holds what the progress page shows while it runs and the result
afterwards. The file and the import's reports stay under ``UPLOAD_DIR``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from rekam.accounts.models import Office
from rekam.elections.models import Election
from rekam.lib.tabular import (
    ALL_OUTSIDE_JURISDICTION,
    ALL_REJECTED,
    NO_DATA_ROWS,
    nothing_accepted,
)
from rekam.voters.models import DptImport

# What the page says of an import that kept no row (rekam.lib.tabular.nothing_accepted).
NOTHING_ACCEPTED = {
    NO_DATA_ROWS: _("The file holds no data rows."),
    ALL_OUTSIDE_JURISDICTION: _("No row was accepted: every row is outside your jurisdiction."),
    ALL_REJECTED: _("No row was accepted: every row was rejected."),
}


class Upload(models.Model):
    class Kind(models.TextChoices):
        REGISTRY = "registry", _("Population registry")
        STATUSES = "statuses", _("KTP-el states from SIAK")
        DPT = "dpt", _("Voter list (DPT)")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    election = models.ForeignKey(
        Election, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The uploader's office: who else may follow the upload (access.offices_for).
    office = models.ForeignKey(Office, null=True, on_delete=models.PROTECT, related_name="+")
    acting_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    file_name = models.CharField(_("file"), max_length=255)
    path = models.CharField(max_length=500, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    stage = models.CharField(max_length=200, blank=True)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    # Rows read, accepted, rejected, … as the import counted them.
    counts = models.JSONField(default=dict)
    # The first rejected rows and warnings (line, NIK, level, reason); all are in the report.
    issues = models.JSONField(default=list)
    report_path = models.CharField(max_length=500, blank=True)
    changes_path = models.CharField(max_length=500, blank=True)
    dpt_import = models.ForeignKey(
        DptImport, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("upload")
        verbose_name_plural = _("uploads")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.file_name}"

    @property
    def finished(self) -> bool:
        return self.status in {self.Status.DONE, self.Status.FAILED}

    @property
    def nothing_accepted(self) -> str:
        """Why a finished import kept no row, in the reader's language, or ``""``."""
        if self.status != self.Status.DONE:
            return ""
        counts = self.counts
        read = counts.get("rows_read", 0)
        problem = nothing_accepted(
            rows_read=read,
            accepted=counts.get("accepted", read - counts.get("rejected", 0)),
            outside_jurisdiction=counts.get("outside_jurisdiction", 0),
        )
        return str(NOTHING_ACCEPTED[problem]) if problem else ""

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return min(99, round(100 * self.done / self.total)) if self.total else 0
