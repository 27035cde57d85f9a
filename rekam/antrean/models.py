"""The queue: sessions with their capacity, the day's number counters, tickets and their events.

A service point's day is cut into sessions (hourly by default). A session's capacity and the part
of it kept for invitations are fixed when the day's sessions are made; every channel (online,
the gate, invitations) takes a seat with one conditional UPDATE of the session row, so the
database itself keeps the count within capacity (a check constraint backs it up). Numbers come
from the point's counter row for that day, one sequence per service, in the same statement or
transaction.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from rekam.residents.models import Resident
from rekam.servicepoints.models import MobileVisit, Service, ServicePoint


class DayCounter(models.Model):
    """The last number handed out per service at a point on a day."""

    service_point = models.ForeignKey(ServicePoint, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    seq_recording = models.PositiveIntegerField(default=0)
    seq_printing = models.PositiveIntegerField(default=0)
    seq_suket = models.PositiveIntegerField(default=0)
    seq_other = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["service_point", "day"], name="day_counter_once")
        ]

    def __str__(self) -> str:
        return f"{self.service_point_id} {self.day}"


class Session(models.Model):
    """One arrival window at a point (e.g. 09:00-10:00) and the seats it has."""

    service_point = models.ForeignKey(
        ServicePoint, on_delete=models.CASCADE, related_name="queue_sessions"
    )
    day_counter = models.ForeignKey(DayCounter, on_delete=models.CASCADE, related_name="sessions")
    day = models.DateField()
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    capacity = models.PositiveIntegerField()
    # Seats only invitations may take; invitations may also take free public seats.
    invitation_capacity = models.PositiveIntegerField(default=0)
    public_taken = models.PositiveIntegerField(default=0)
    invitation_taken = models.PositiveIntegerField(default=0)
    visit = models.ForeignKey(
        MobileVisit, null=True, blank=True, on_delete=models.PROTECT, related_name="sessions"
    )
    # The point closed the day after numbers or invitations were given out for it: the
    # session stays for them but takes nobody new.
    closed = models.BooleanField(default=False)

    class Meta:
        ordering = ["service_point", "starts_at"]
        constraints = [
            models.UniqueConstraint(fields=["service_point", "starts_at"], name="session_once"),
            models.CheckConstraint(
                condition=Q(public_taken__lte=F("capacity") - F("invitation_taken")),
                name="session_within_capacity",
            ),
            models.CheckConstraint(
                condition=Q(invitation_capacity__lte=F("capacity")),
                name="session_invitation_share",
            ),
        ]
        indexes = [models.Index(fields=["service_point", "day"])]
        verbose_name = _("queue session")
        verbose_name_plural = _("queue sessions")

    def __str__(self) -> str:
        return f"{self.service_point_id} {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def taken(self) -> int:
        return self.public_taken + self.invitation_taken

    @property
    def public_room(self) -> int:
        """Seats the online and gate channels may still take (none once closed)."""
        if self.closed:
            return 0
        held = max(self.invitation_taken, self.invitation_capacity)
        return max(0, self.capacity - self.public_taken - held)

    @property
    def invitation_room(self) -> int:
        return 0 if self.closed else max(0, self.capacity - self.taken)


class Channel(models.TextChoices):
    ONLINE = "online", _("Online")
    GATE = "gate", _("At the gate")
    INVITATION = "invitation", _("Invitation")


class State(models.TextChoices):
    BOOKED = "booked", _("Booked, not yet arrived")
    WAITING = "waiting", _("Waiting")
    CALLED = "called", _("Called")
    DONE = "done", _("Served")
    NO_SHOW = "no_show", _("Did not come")
    CANCELLED = "cancelled", _("Cancelled")


ACTIVE_STATES = (State.BOOKED, State.WAITING, State.CALLED)
# Inside the building: checked in at the gate and not yet finished.
INSIDE_STATES = (State.WAITING, State.CALLED)


class Priority(models.TextChoices):
    NONE = "", _("None")
    ELDERLY = "elderly", _("Elderly")
    DISABILITY = "disability", _("Person with a disability")
    PREGNANT = "pregnant", _("Pregnant woman")


class Outcome(models.TextChoices):
    RECORDED = "recorded", _("Recorded")
    PRINTED = "printed", _("Card printed")
    SUKET = "suket", _("Suket issued")
    OTHER = "other", _("Other")


class Ticket(models.Model):
    session = models.ForeignKey(Session, on_delete=models.PROTECT, related_name="tickets")
    # Copied from the session so the busy queries read one table.
    service_point = models.ForeignKey(ServicePoint, on_delete=models.PROTECT, related_name="+")
    day = models.DateField()
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()

    service = models.CharField(_("service"), max_length=10, choices=Service.choices)
    label = models.CharField(_("number"), max_length=8)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    state = models.CharField(_("state"), max_length=10, choices=State.choices)
    priority = models.CharField(_("priority"), max_length=10, choices=Priority.choices, blank=True)
    nik = models.CharField("NIK", max_length=16, blank=True)
    resident = models.ForeignKey(
        Resident, null=True, blank=True, on_delete=models.SET_NULL, related_name="queue_tickets"
    )
    # What the QR code and the status page's address carry: unguessable, not the number.
    public_code = models.CharField(max_length=16, unique=True)
    invitation_ref = models.CharField(max_length=64, blank=True)

    estimated_at = models.DateTimeField(_("estimated call"))
    issued_at = models.DateTimeField()
    checked_in_at = models.DateTimeField(null=True, blank=True)
    called_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    counter = models.PositiveSmallIntegerField(_("counter"), null=True, blank=True)
    calls = models.PositiveSmallIntegerField(default=0)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # An online number whose confirmation is not yet in the outbox.
    confirm_due = models.BooleanField(default=False)
    # The booker asked for this number's messages on WhatsApp: a yes for them alone, with where
    # it came from; the registry's consent (``Resident.whatsapp_consent``) stays as it was.
    whatsapp_consent_source = models.CharField(max_length=60, blank=True)

    class Meta:
        ordering = ["window_start", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["service_point", "day", "label"], name="ticket_number_once"
            ),
            models.UniqueConstraint(
                fields=["day", "nik"],
                condition=~Q(nik="") & Q(state__in=ACTIVE_STATES),
                name="ticket_one_active_per_nik",
            ),
            models.UniqueConstraint(
                fields=["invitation_ref"],
                condition=~Q(invitation_ref=""),
                name="ticket_invitation_once",
            ),
            models.UniqueConstraint(
                fields=["service_point", "day", "counter"],
                condition=Q(state=State.CALLED),
                name="ticket_one_call_per_counter",
            ),
        ]
        indexes = [
            models.Index(fields=["service_point", "day", "state"]),
            models.Index(fields=["id"], condition=Q(confirm_due=True), name="ticket_confirm_due"),
        ]
        verbose_name = _("queue number")
        verbose_name_plural = _("queue numbers")

    def __str__(self) -> str:
        return f"{self.label} {self.day}"

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES


class TicketEvent(models.Model):
    class Kind(models.TextChoices):
        CHECKED_IN = "checked_in", _("Checked in")
        CALLED = "called", _("Called")
        RECALLED = "recalled", _("Called again")
        NO_SHOW = "no_show", _("Did not come")
        TRANSFERRED = "transferred", _("Transferred")
        CLOSED = "closed", _("Closed")
        CANCELLED = "cancelled", _("Cancelled")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    service_point = models.ForeignKey(ServicePoint, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    at = models.DateTimeField()
    counter = models.PositiveSmallIntegerField(null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    detail = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["service_point", "at"])]
        verbose_name = _("queue event")
        verbose_name_plural = _("queue events")

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.kind} {self.at}"
