"""What the province dashboard reads: figures kept up to date by the events that change them.

Counting the registry or the voter list afresh for every page would take seconds at province
scale (9.1 M residents, 3.9 M voters). So each reconciliation sets the voters' counts per
village and KTP-el state, and every record move (``records_moved``) shifts them: the pages add
up a few thousand rows.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from rekam.elections.models import Election
from rekam.regions.models import Region
from rekam.voters.models import Voter


class VoterStateCount(models.Model):
    """Voters of an election's current list per village and their record's state now.

    ``ktp_state`` is ``""`` for voters matched to no resident (not in the registry, NIK
    invalid). Set from the latest reconciliation's counts, then moved by every record move.
    """

    election = models.ForeignKey(
        Election, on_delete=models.CASCADE, db_constraint=False, db_index=False, related_name="+"
    )
    regency = models.ForeignKey(
        Region, on_delete=models.PROTECT, db_constraint=False, db_index=False, related_name="+"
    )
    district = models.ForeignKey(
        Region, on_delete=models.PROTECT, db_constraint=False, db_index=False, related_name="+"
    )
    village = models.ForeignKey(
        Region, on_delete=models.PROTECT, db_constraint=False, db_index=False, related_name="+"
    )
    ktp_state = models.CharField(max_length=20, blank=True)
    voters = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["election", "village", "ktp_state"], name="voter_state_count_once"
            )
        ]
        indexes = [
            models.Index(fields=["election", "regency", "district"], name="voter_state_region")
        ]

    def __str__(self) -> str:
        return f"{self.village_id} {self.ktp_state or '-'}: {self.voters}"


class TallyLock(models.Model):
    """One row per election that every change of its counts locks first.

    Record moves of many residents shift many count rows; taking this one lock before them
    puts every writer of an election's counts in one queue, so two transactions can never
    wait for each other's rows (a deadlock), and a reconciliation's reset cannot interleave
    with a move.
    """

    election = models.OneToOneField(
        Election, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )

    def __str__(self) -> str:
        return str(self.election_id)


class VoterMove(models.Model):
    """A voter whose record moved since their election's latest reconciliation, and the
    state it is in now (the reconciliation's own verdict holds the state it saw)."""

    voter = models.OneToOneField(
        Voter, primary_key=True, on_delete=models.CASCADE, db_constraint=False, related_name="+"
    )
    election = models.ForeignKey(
        Election, on_delete=models.CASCADE, db_constraint=False, db_index=False, related_name="+"
    )
    regency = models.ForeignKey(
        Region, on_delete=models.PROTECT, db_constraint=False, db_index=False, related_name="+"
    )
    ktp_state = models.CharField(max_length=20)
    # When Rekam learnt of the move (not the moment the move carries).
    moved_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["election", "regency"], name="voter_move_region")]

    def __str__(self) -> str:
        return f"{self.voter_id}: {self.ktp_state}"


class VoterDay(models.Model):
    """Voters whose record was captured (first recording) or whose card was printed, per day
    and village: the progress chart."""

    election = models.ForeignKey(
        Election, on_delete=models.CASCADE, db_constraint=False, db_index=False, related_name="+"
    )
    regency = models.ForeignKey(
        Region, on_delete=models.PROTECT, db_constraint=False, db_index=False, related_name="+"
    )
    district = models.ForeignKey(
        Region, on_delete=models.PROTECT, db_constraint=False, db_index=False, related_name="+"
    )
    village = models.ForeignKey(
        Region, on_delete=models.PROTECT, db_constraint=False, db_index=False, related_name="+"
    )
    day = models.DateField()
    recorded = models.IntegerField(default=0)
    printed = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["election", "village", "day"], name="voter_day_once")
        ]
        indexes = [models.Index(fields=["election", "regency", "day"], name="voter_day_region")]

    def __str__(self) -> str:
        return f"{self.village_id} {self.day}: +{self.recorded} rec, +{self.printed} printed"


class DailyReport(models.Model):
    """The daily report (PDF) of an election for the province or one regency/city, stored once
    it is made so that what was sent can be shown again."""

    election = models.ForeignKey(Election, on_delete=models.CASCADE, related_name="+")
    # "" for the province, else a regency/city code.
    region_code = models.CharField(max_length=13, blank=True)
    day = models.DateField(_("report date"))
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # "schedule" or "on demand".
    trigger = models.CharField(max_length=10)
    pdf = models.BinaryField()
    pdf_sha256 = models.CharField(max_length=64)
    pages = models.PositiveSmallIntegerField(default=1)

    class Meta:
        ordering = ["-day", "region_code", "-created_at"]
        indexes = [models.Index(fields=["election", "region_code", "day"], name="report_place")]
        verbose_name = _("daily report")
        verbose_name_plural = _("daily reports")

    def __str__(self) -> str:
        return f"{self.election_id} {self.region_code or 'provinsi'} {self.day}"
