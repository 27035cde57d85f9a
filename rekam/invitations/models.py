"""Invitation plans and the invitations they write.

A :class:`PlanRun` is one planning of an election for a region (a regency/city, or the whole
province): its settings, progress and the comparison against the by-hand baseline. A plan made
on the planning page is a preview (``dry_run``) until someone other than its maker (a supervisor
or another admin) approves it; sending then plans again against the seats and invitations of
that moment, writes the invitations and puts their messages in the outbox, and the run is no
longer a dry run. Each :class:`Invitation` asks one voter to one queue session; its check-in
and reschedule tokens are signed and name the invitation's ``reference``, and each may be used
once. A :class:`FollowUpRun` is one follow-up started from the follow-up page, run in the
background.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from rekam.antrean.models import Session
from rekam.elections.models import Election
from rekam.regions.models import Region
from rekam.servicepoints.models import ServicePoint
from rekam.voters.models import Voter


class PlanRun(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Preview ready")
        APPROVED = "approved", _("Approved, waiting to be sent")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    election = models.ForeignKey(Election, on_delete=models.CASCADE, related_name="+")
    # "" for the whole province, else a regency/city code.
    region_code = models.CharField(max_length=13, blank=True)
    # Nothing written (yet): a preview. Its invitations exist only once it is sent.
    dry_run = models.BooleanField(default=False)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)  # percent
    step = models.CharField(max_length=200, blank=True)
    options = models.JSONField(default=dict)
    # The comparison: {"plan": {...}, "baseline": {...}, "shortfall": {...}}.
    summary = models.JSONField(default=dict)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Who approved sending it (empty with a time: the system, e.g. the command), and when.
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    # When its invitations were written and their messages put in the outbox.
    sent_at = models.DateTimeField(null=True, blank=True)
    # The summary of the preview that was approved (``summary`` is then what was sent).
    preview = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("invitation plan")
        verbose_name_plural = _("invitation plans")

    def __str__(self) -> str:
        return f"{self.election_id} {self.region_code or '-'} {self.status}"


class Invitation(models.Model):
    class State(models.TextChoices):
        PLANNED = "planned", _("Planned")
        ATTENDED = "attended", _("Attended")
        NO_SHOW = "no_show", _("Did not come")
        RESCHEDULED = "rescheduled", _("Rescheduled")
        CANCELLED = "cancelled", _("Cancelled")

    class Service(models.TextChoices):
        RECORDING = "recording", _("KTP-el recording")
        PRINTING = "printing", _("Card printing and pick-up")

    # Invitations are written a million at a time, like the voter list, so the database checks
    # none of their keys (the writer takes them from rows it has just read; deletes cascade or
    # are refused by Django): on PostgreSQL each checked key costs a trigger per row at commit,
    # which for 1.5 million invitations took longer than everything else.
    run = models.ForeignKey(
        PlanRun, on_delete=models.CASCADE, db_constraint=False, related_name="invitations"
    )
    election = models.ForeignKey(
        Election, on_delete=models.CASCADE, db_constraint=False, related_name="+"
    )
    voter = models.ForeignKey(
        Voter, on_delete=models.CASCADE, db_constraint=False, related_name="+"
    )
    village = models.ForeignKey(
        Region, on_delete=models.PROTECT, db_constraint=False, related_name="+"
    )
    rt = models.CharField("RT", max_length=3, blank=True)
    rw = models.CharField("RW", max_length=3, blank=True)
    service = models.CharField(max_length=10, choices=Service.choices)
    # 0 first-time voters, 1 holders of a Suket (earliest expiry first), 2 everyone else.
    rank = models.PositiveSmallIntegerField(default=2)
    service_point = models.ForeignKey(
        ServicePoint, on_delete=models.PROTECT, db_constraint=False, related_name="+"
    )
    session = models.ForeignKey(
        Session, on_delete=models.PROTECT, db_constraint=False, related_name="+"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    km = models.FloatField()
    state = models.CharField(max_length=12, choices=State.choices, default=State.PLANNED)
    # Names the invitation in its tokens and in the queue's ticket (``invitation_ref``).
    reference = models.CharField(max_length=32, unique=True)
    checked_in_at = models.DateTimeField(null=True, blank=True)
    rescheduled_at = models.DateTimeField(null=True, blank=True)
    # The invitation this one replaces (a reschedule or a re-invitation after a no-show).
    replaces = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replaced_by"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["village", "rw", "rt", "id"]
        indexes = [
            # Per village and state: the follow-up's and the dashboard's counts, a village's
            # letters (also serves what the former (election, village) index did).
            models.Index(fields=["election", "village", "state"], name="invitation_village_state"),
            models.Index(fields=["session", "state"], name="invitation_session"),
        ]
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")

    def __str__(self) -> str:
        return self.reference


class FollowUpRun(models.Model):
    """One follow-up of an election's invitations for a region, started from the follow-up page
    and run in the background (the command runs it without one). Its ``progress`` and ``step``
    are written as it goes, for the progress page; ``counts`` holds the outcome."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Finished")
        FAILED = "failed", _("Failed")

    election = models.ForeignKey(Election, on_delete=models.CASCADE, related_name="+")
    # "" for every region of the election, else the region followed up (a regency/city).
    region_code = models.CharField(max_length=13, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)  # percent
    step = models.CharField(max_length=200, blank=True)
    # The follow-up's figures (``invites.FollowUp``) once done.
    counts = models.JSONField(default=dict)
    error = models.CharField(max_length=500, blank=True)
    # Where the links of re-invitations' messages start (the page's address).
    public_url = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["election", "status"], name="follow_up_run_status")]
        verbose_name = _("invitation follow-up")
        verbose_name_plural = _("invitation follow-ups")

    def __str__(self) -> str:
        return f"{self.election_id} {self.region_code or '-'} {self.status}"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)
