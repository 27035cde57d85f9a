"""The voter list (DPT) of an election, its imports, and the reconciliation against the registry.

``Voter`` and ``VoterCheck`` hold millions of rows and are written only by the bulk path
(``importer.py``, ``reconcile.py``: COPY on PostgreSQL, ``executemany`` on SQLite). Their
foreign keys are not enforced by the database: one constraint check per row and key costs
about as much as the row itself on PostgreSQL, and the bulk path takes every key it writes
from the referenced table itself (region codes from the region table, resident ids from the
registry it has just read).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from rekam.elections.models import Election
from rekam.lib.nik import mask_nik
from rekam.regions.models import Region
from rekam.residents.models import Resident


class VoterClass(models.TextChoices):
    CARD_PRINTED = "CARD_PRINTED", _("Card printed")
    PRR_NOT_PRINTED = "PRR_NOT_PRINTED", _("Print ready, card not printed")
    RECORDED_NOT_PRR = "RECORDED_NOT_PRR", _("Recorded, not yet print ready")
    NOT_RECORDED = "NOT_RECORDED", _("Not recorded")
    NOT_IN_REGISTRY = "NOT_IN_REGISTRY", _("Not in the registry")
    NIK_INVALID = "NIK_INVALID", _("NIK invalid")


# Classes of voters who still have to come to a service point (recorded or not).
NEEDS_WORK = (
    VoterClass.NOT_RECORDED,
    VoterClass.RECORDED_NOT_PRR,
    VoterClass.PRR_NOT_PRINTED,
    VoterClass.NOT_IN_REGISTRY,
    VoterClass.NIK_INVALID,
)


class Marital(models.TextChoices):
    """KPU's codes: belum kawin, sudah kawin, pernah kawin."""

    NOT_MARRIED = "B", _("Not married")
    MARRIED = "S", _("Married")
    PREVIOUSLY = "P", _("Previously married")


class DptImport(models.Model):
    """One run of ``import_dpt``: a version of (part of) an election's voter list."""

    election = models.ForeignKey(Election, on_delete=models.CASCADE, related_name="dpt_imports")
    file_name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    acting_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Regency/city codes this version covers: their voters missing from the file are removed.
    regencies = models.JSONField(default=list)
    rows_read = models.PositiveIntegerField(default=0)
    accepted = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    warnings = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    added = models.PositiveIntegerField(default=0)
    removed = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    report_path = models.CharField(max_length=500, blank=True)
    changes_path = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("voter list import")
        verbose_name_plural = _("voter list imports")

    def __str__(self) -> str:
        return f"{self.election} {self.file_name} ({self.started_at:%Y-%m-%d %H:%M})"


class Voter(models.Model):
    """A row of the DPT as KPU listed it (cleaned), while on the current version of the list."""

    election = models.ForeignKey(
        Election, on_delete=models.CASCADE, db_index=False, db_constraint=False, related_name="+"
    )
    added_in = models.ForeignKey(
        DptImport, on_delete=models.CASCADE, db_index=False, db_constraint=False, related_name="+"
    )
    removed_in = models.ForeignKey(
        DptImport,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        db_index=False,
        db_constraint=False,
        related_name="+",
    )
    # Identity across versions: the NIK when it has 16 digits, else name + birth date + village.
    key = models.CharField(max_length=220)
    nik = models.CharField("NIK", max_length=40)
    # Why the NIK is not a valid NIK ('' when it is): such voters are NIK_INVALID.
    nik_problem = models.CharField(max_length=200, blank=True)
    kk_number = models.CharField(_("family card number"), max_length=16, blank=True)
    name = models.CharField(_("name"), max_length=150)
    name_key = models.CharField(max_length=150)
    birth_place = models.CharField(_("place of birth"), max_length=100, blank=True)
    birth_date = models.DateField(_("date of birth"))
    sex = models.CharField(_("sex"), max_length=1)
    marital = models.CharField(
        _("marital status"), max_length=1, choices=Marital.choices, blank=True
    )
    street = models.CharField(_("street address"), max_length=200, blank=True)
    rt = models.CharField("RT", max_length=3, blank=True)
    rw = models.CharField("RW", max_length=3, blank=True)
    tps = models.CharField("TPS", max_length=3)
    regency = models.ForeignKey(
        Region, on_delete=models.PROTECT, db_index=False, db_constraint=False, related_name="+"
    )
    district = models.ForeignKey(
        Region, on_delete=models.PROTECT, db_index=False, db_constraint=False, related_name="+"
    )
    village = models.ForeignKey(
        Region, on_delete=models.PROTECT, db_index=False, db_constraint=False, related_name="+"
    )

    class Meta:
        ordering = ["village", "tps", "name_key"]
        # The one index the pages need (drill-down to a village and TPS); each more costs the
        # bulk import about a microsecond per voter on PostgreSQL.
        indexes = [
            models.Index(fields=["election", "village", "tps"], name="voter_election_place"),
        ]
        verbose_name = _("voter")
        verbose_name_plural = _("voters")

    def __str__(self) -> str:
        return f"{self.name} ({self.masked_nik})"

    @property
    def masked_nik(self) -> str:
        return mask_nik(self.nik)


class ReconciliationRun(models.Model):
    """One reconciliation of an election's voters (some or all of its regencies/cities).

    Its ``stage``, ``done`` and ``total`` are written as it goes, in their own transactions,
    so that the progress page shows where a run started from the web has got to.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Finished")
        FAILED = "failed", _("Failed")

    election = models.ForeignKey(Election, on_delete=models.CASCADE, related_name="+")
    regencies = models.JSONField(default=list)
    acting_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    stage = models.CharField(max_length=120, blank=True)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    error = models.CharField(max_length=500, blank=True)
    voters = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0)
    candidates = models.PositiveIntegerField(default=0)
    # {class: voters, "first_time": n, "suket_expiring": n} over the run's regencies.
    totals = models.JSONField(default=dict)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["election", "status", "finished_at"])]
        verbose_name = _("reconciliation")
        verbose_name_plural = _("reconciliations")

    def __str__(self) -> str:
        return f"{self.election_id} #{self.pk} {self.status}"

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return min(99, round(100 * self.done / self.total)) if self.total else 0


class VoterCheck(models.Model):
    """The latest reconciliation's verdict on one voter."""

    voter = models.OneToOneField(
        Voter,
        primary_key=True,
        on_delete=models.CASCADE,
        db_constraint=False,
        related_name="verdict",
    )
    election = models.ForeignKey(
        Election, on_delete=models.CASCADE, db_index=False, db_constraint=False, related_name="+"
    )
    run = models.ForeignKey(
        ReconciliationRun,
        on_delete=models.CASCADE,
        db_index=False,
        db_constraint=False,
        related_name="+",
    )
    klass = models.CharField(_("class"), max_length=16, choices=VoterClass.choices)
    # The matched resident's central state (for RECORDED_NOT_PRR: which one).
    ktp_state = models.CharField(_("KTP-el state"), max_length=20, blank=True)
    resident = models.ForeignKey(
        Resident,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        db_index=False,
        db_constraint=False,
        related_name="+",
    )
    # Matched through a candidate match a person confirmed, not by NIK.
    via_match = models.BooleanField(default=False)
    first_time = models.BooleanField(_("first-time voter"), default=False)
    # The last day the resident's newest valid Suket can be used, when before polling day.
    suket_until = models.DateField(null=True, blank=True)

    # One secondary index, for what a record move needs: which voters a resident is. Pages count
    # from WorklistCount and reach verdicts through their voter; each more index would cost every
    # run's bulk write about a microsecond per voter.
    class Meta:
        indexes = [
            models.Index(
                fields=["resident"],
                condition=models.Q(resident__isnull=False),
                name="votercheck_resident",
            )
        ]
        verbose_name = _("voter check")
        verbose_name_plural = _("voter checks")

    def __str__(self) -> str:
        return f"{self.voter_id}: {self.klass}"


class WorklistCount(models.Model):
    """Voters per TPS, class and flags after the latest reconciliation (what pages count)."""

    election = models.ForeignKey(
        Election, on_delete=models.CASCADE, db_index=False, db_constraint=False, related_name="+"
    )
    run = models.ForeignKey(
        ReconciliationRun,
        on_delete=models.CASCADE,
        db_index=False,
        db_constraint=False,
        related_name="+",
    )
    regency = models.ForeignKey(
        Region, on_delete=models.PROTECT, db_index=False, db_constraint=False, related_name="+"
    )
    district = models.ForeignKey(
        Region, on_delete=models.PROTECT, db_index=False, db_constraint=False, related_name="+"
    )
    village = models.ForeignKey(
        Region, on_delete=models.PROTECT, db_index=False, db_constraint=False, related_name="+"
    )
    tps = models.CharField(max_length=3)
    klass = models.CharField(max_length=16, choices=VoterClass.choices)
    # The matched residents' KTP-el state at the reconciliation ("" for voters not matched).
    ktp_state = models.CharField(max_length=20, blank=True)
    first_time = models.BooleanField(default=False)
    suket_expiring = models.BooleanField(default=False)
    voters = models.PositiveIntegerField()

    class Meta:
        indexes = [
            models.Index(
                fields=["election", "regency", "district"], name="worklist_election_region"
            )
        ]

    def __str__(self) -> str:
        return f"{self.village_id}/{self.tps} {self.klass}: {self.voters}"


class CandidateMatch(models.Model):
    """A resident who may be the voter the DPT lists without a matching NIK.

    Proposed by the reconciliation (same normalised name, birth date and village); never
    applied until a person confirms it.
    """

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        CONFIRMED = "confirmed", _("Confirmed")
        REJECTED = "rejected", _("Rejected")

    election = models.ForeignKey(Election, on_delete=models.CASCADE, related_name="+")
    voter = models.ForeignKey(Voter, on_delete=models.CASCADE, related_name="candidates")
    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="+")
    found_in = models.ForeignKey(
        ReconciliationRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PROPOSED)
    created_at = models.DateTimeField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=300, blank=True)

    class Meta:
        ordering = ["voter_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["voter", "resident"], name="candidate_once"),
            # A voter is one resident: at most one confirmed match.
            models.UniqueConstraint(
                fields=["voter"],
                condition=models.Q(status="confirmed"),
                name="candidate_one_confirmed",
            ),
        ]
        indexes = [models.Index(fields=["election", "status"], name="candidate_election_status")]
        verbose_name = _("candidate match")
        verbose_name_plural = _("candidate matches")

    def __str__(self) -> str:
        return f"{self.voter_id} ~ {self.resident_id} ({self.status})"
