"""The outbox: every message to a resident or contact is a row, with every attempt to send it.

A message names its fallback order (``channels``) and where it is in it (``channel_index``).
Workers claim a row by a conditional UPDATE on its ``version``; a claim is a lease
(``lease_until``): a message whose worker died is claimed again once the lease has passed.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from rekam.regions.models import Region


class Channel(models.TextChoices):
    WHATSAPP = "whatsapp", "WhatsApp"
    SMS = "sms", "SMS"
    EMAIL = "email", _("E-mail")
    LETTER = "letter", _("Letter")


class State(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    READ = "read", _("Read")
    FAILED = "failed", _("Failed")


# How far a message has got: webhooks only ever move it forward.
STATE_RANK = {State.SENT: 1, State.DELIVERED: 2, State.READ: 3}


class Contact(models.Model):
    """Someone Rekam writes to besides a registry entry: a resident's e-mail address given at
    the counter, a village official, a family member who takes the letters."""

    name = models.CharField(_("name"), max_length=150)
    phone = models.CharField(_("phone (E.164)"), max_length=16, blank=True, db_index=True)
    email = models.EmailField(_("e-mail"), blank=True)
    village = models.ForeignKey(
        Region, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    regency = models.ForeignKey(
        Region, null=True, blank=True, on_delete=models.PROTECT, related_name="+", editable=False
    )
    resident = models.ForeignKey(
        "residents.Resident",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notification_contacts",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")

    def __str__(self) -> str:
        return self.name


class Consent(models.Model):
    """A person's yes or no to one channel, with where it came from and when.

    WhatsApp needs a yes (the business may only start conversations with people who opted in);
    SMS, e-mail and letters are service notices, sent unless the person said no.
    """

    resident = models.ForeignKey(
        "residents.Resident",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notification_consents",
    )
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="consents"
    )
    channel = models.CharField(max_length=10, choices=Channel.choices)
    granted = models.BooleanField()
    source = models.CharField(_("source"), max_length=60)
    at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(resident__isnull=False, contact__isnull=True)
                | Q(resident__isnull=True, contact__isnull=False),
                name="consent_one_subject",
            ),
            models.UniqueConstraint(
                fields=["resident", "channel"],
                condition=Q(resident__isnull=False),
                name="consent_one_per_resident_channel",
            ),
            models.UniqueConstraint(
                fields=["contact", "channel"],
                condition=Q(contact__isnull=False),
                name="consent_one_per_contact_channel",
            ),
        ]
        verbose_name = _("consent")
        verbose_name_plural = _("consents")

    def __str__(self) -> str:
        who = self.resident_id or self.contact_id
        return f"{who} {self.channel}: {'yes' if self.granted else 'no'} ({self.source})"


class LetterBatch(models.Model):
    """Letters for one village, printed together and handed out by the village officials."""

    village = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    regency = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    letters = models.PositiveIntegerField(default=0)
    pdf_path = models.CharField(max_length=500, blank=True)
    printed_at = models.DateTimeField(null=True, blank=True)
    printed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("letter batch")
        verbose_name_plural = _("letter batches")

    def __str__(self) -> str:
        return f"{self.village_id} #{self.pk}"


class Message(models.Model):
    idempotency_key = models.CharField(max_length=150, unique=True)
    template = models.CharField(_("message type"), max_length=40)
    language = models.CharField(max_length=5, default="id")
    data = models.JSONField(default=dict, blank=True)
    # A stored file (e.g. the issued Suket PDF); sent as the WhatsApp document header,
    # an e-mail attachment, and listed with the letter for printing.
    attachment = models.CharField(max_length=500, blank=True)
    attachment_name = models.CharField(max_length=150, blank=True)

    resident = models.ForeignKey(
        "residents.Resident",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="messages",
    )
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.PROTECT, related_name="messages"
    )
    recipient_name = models.CharField(max_length=150)
    # A yes to the opt-in channels (WhatsApp) given for this message alone, and where it came
    # from (an online booking's box): the person's standing consent is not changed by it.
    consent_source = models.CharField(max_length=60, blank=True)
    phone = models.CharField(max_length=16, blank=True)
    email = models.EmailField(blank=True)
    village = models.ForeignKey(
        Region, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Jurisdiction: staff see the messages to people of their regency/city.
    regency = models.ForeignKey(
        Region, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    channels = models.JSONField(default=list)
    channel_index = models.PositiveSmallIntegerField(default=0)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    # Attempts on the current channel (temporary failures count up to the limit).
    attempts = models.PositiveSmallIntegerField(default=0)
    # When a worker may take it next; NULL while a letter waits for its batch.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=0)
    claimed_by = models.CharField(max_length=80, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    provider_message_id = models.CharField(max_length=200, blank=True, db_index=True)
    media_id = models.CharField(max_length=200, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    failure_reason = models.CharField(max_length=1000, blank=True)
    letter_batch = models.ForeignKey(
        LetterBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"]),
            models.Index(fields=["state", "lease_until"]),
            models.Index(fields=["regency", "created_at"]),
            models.Index(fields=["village", "channel", "state"]),
            # The dashboard's check for messages of a kind sent too late (e.g. invitations).
            models.Index(fields=["template", "sent_at"], name="message_template_sent"),
        ]
        verbose_name = _("message")
        verbose_name_plural = _("messages")

    def __str__(self) -> str:
        return f"{self.template} to {self.recipient_name} ({self.state})"

    @property
    def is_waiting_for_letter(self) -> bool:
        return (
            self.state == State.QUEUED
            and self.channel == Channel.LETTER
            and self.next_attempt_at is None
        )


class Attempt(models.Model):
    class Outcome(models.TextChoices):
        SENT = "sent", _("Sent")
        HELD = "held", _("Waiting for the letter batch")
        TEMPORARY = "temporary", _("Temporary failure")
        PERMANENT = "permanent", _("Permanent failure")
        REFUSED = "refused", _("No consent")
        SKIPPED = "skipped", _("Channel not usable")
        LOST = "lost", _("Worker stopped, outcome unknown")

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attempt_log")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    number = models.PositiveSmallIntegerField(default=1)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    worker = models.CharField(max_length=80, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    detail = models.CharField(max_length=500, blank=True)
    provider_message_id = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["started_at", "id"]
        verbose_name = _("send attempt")
        verbose_name_plural = _("send attempts")

    def __str__(self) -> str:
        return f"{self.message_id} {self.channel} #{self.number}: {self.outcome}"


class InboundMessage(models.Model):
    """A message a resident sent us on WhatsApp: it opens the 24-hour window for free text."""

    wa_message_id = models.CharField(max_length=200, unique=True)
    phone = models.CharField(max_length=16, db_index=True)
    text = models.TextField(blank=True)
    kind = models.CharField(max_length=20, default="text")
    received_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-received_at"]
        verbose_name = _("incoming message")
        verbose_name_plural = _("incoming messages")

    def __str__(self) -> str:
        return f"{self.phone} {self.received_at:%Y-%m-%d %H:%M}"


class RateWindow(models.Model):
    """Messages handed to one provider in one second, shared by every worker on every machine."""

    channel = models.CharField(max_length=10, choices=Channel.choices)
    second = models.BigIntegerField()  # Unix time
    used = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "second"], name="rate_window_unique")
        ]

    def __str__(self) -> str:
        return f"{self.channel}@{self.second}: {self.used}"
