"""Blank-card stock, card printing, issuance decisions, Sukets and the office signing keys."""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from rekam.accounts.models import Office
from rekam.elections.models import Election
from rekam.regions.models import Region
from rekam.residents.models import Resident


class BlankStock(models.Model):
    """An office's current number of blank cards: the row every movement locks and updates."""

    office = models.OneToOneField(Office, on_delete=models.PROTECT, related_name="blank_stock")
    balance = models.IntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(balance__gte=0), name="blank_stock_never_negative"
            )
        ]
        verbose_name = _("blank-card stock")
        verbose_name_plural = _("blank-card stocks")

    def __str__(self) -> str:
        return f"{self.office}: {self.balance}"


class BlankMovement(models.Model):
    """One line of an office's blank-card ledger; ``quantity`` is signed (+in, -out)."""

    class Kind(models.TextChoices):
        RECEIPT = "receipt", _("Received from Ditjen Dukcapil")
        TRANSFER_IN = "transfer_in", _("Transferred in")
        TRANSFER_OUT = "transfer_out", _("Transferred out")
        CONSUMED = "consumed", _("Printed card")
        SPOILED = "spoiled", _("Spoiled")

    office = models.ForeignKey(Office, on_delete=models.PROTECT, related_name="blank_movements")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    quantity = models.IntegerField()
    balance_after = models.IntegerField()
    at = models.DateTimeField(db_index=True)
    batch = models.CharField(_("batch"), max_length=60, blank=True)
    serial_from = models.CharField(_("first serial"), max_length=30, blank=True)
    serial_to = models.CharField(_("last serial"), max_length=30, blank=True)
    received_on = models.DateField(_("date received"), null=True, blank=True)
    counterpart = models.ForeignKey(
        Office, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    card_serial = models.CharField(max_length=30, blank=True)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        # (office, at, id): an office's balance at a moment is its latest line before it, one
        # step of the index back (the id breaks ties between lines of the same moment).
        indexes = [
            models.Index(fields=["office", "kind", "at"]),
            models.Index(fields=["office", "at", "id"]),
            # A spoiled blank's serial, looked up in every office: is it used already, and
            # which serials of a range are (``stock.blank_serial_next``).
            models.Index(fields=["kind", "card_serial"], name="blank_movement_kind_serial"),
        ]
        verbose_name = _("blank-card movement")
        verbose_name_plural = _("blank-card movements")

    def __str__(self) -> str:
        return f"{self.office_id} {self.kind} {self.quantity:+d}"


class Printer(models.Model):
    """A card printer of an office; a broken one is the ``KENDALA_TEKNIS`` of the rules."""

    office = models.ForeignKey(Office, on_delete=models.PROTECT, related_name="printers")
    name = models.CharField(_("name"), max_length=100)
    is_working = models.BooleanField(_("working"), default=True)
    problem = models.CharField(_("problem"), max_length=300, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["office", "name"]
        verbose_name = _("card printer")
        verbose_name_plural = _("card printers")

    def __str__(self) -> str:
        return f"{self.office_id} {self.name}"


class CardPrint(models.Model):
    """A KTP-el printed on a blank card, and its hand-over to the resident."""

    resident = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="card_prints")
    office = models.ForeignKey(Office, on_delete=models.PROTECT, related_name="card_prints")
    card_serial = models.CharField(_("card serial"), max_length=30, unique=True)
    printed_at = models.DateTimeField(db_index=True)
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    operator_label = models.CharField(max_length=120, blank=True)
    handed_over_at = models.DateTimeField(null=True, blank=True)
    handed_over_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    received_by = models.CharField(_("received by"), max_length=150, blank=True)

    class Meta:
        ordering = ["-printed_at"]
        verbose_name = _("printed card")
        verbose_name_plural = _("printed cards")

    def __str__(self) -> str:
        return f"{self.card_serial} ({self.resident_id})"


class Outcome(models.TextChoices):
    PRINT = "PRINT", _("Print the card")
    SUKET = "SUKET", _("Suket allowed")
    REFUSE = "REFUSE", _("Refused")


class DuplicateApproval(models.Model):
    """A supervisor's approval of a Suket for a resident whose record is a duplicate."""

    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="+")
    election = models.ForeignKey(Election, on_delete=models.CASCADE, related_name="+")
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField()
    reason = models.CharField(_("reason"), max_length=300)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["resident", "election"], name="duplicate_approval_once")
        ]
        verbose_name = _("duplicate-record approval")
        verbose_name_plural = _("duplicate-record approvals")

    def __str__(self) -> str:
        return f"{self.resident_id} / {self.election_id}"


class SuketDecision(models.Model):
    """One answer of the issuance decision, with everything it was based on."""

    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="+")
    election = models.ForeignKey(Election, on_delete=models.CASCADE, related_name="+")
    office = models.ForeignKey(Office, on_delete=models.PROTECT, related_name="+")
    moment = models.DateTimeField(_("moment decided for"))
    decided_at = models.DateTimeField(auto_now_add=True, db_index=True)
    outcome = models.CharField(max_length=6, choices=Outcome.choices)
    reason = models.CharField(max_length=30, blank=True)
    message = models.CharField(max_length=300)
    inputs = models.JSONField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["-decided_at", "-id"]
        verbose_name = _("Suket decision")
        verbose_name_plural = _("Suket decisions")

    def __str__(self) -> str:
        return f"{self.resident_id} {self.outcome} {self.reason}"


class NumberCounter(models.Model):
    """The last Suket number an office used in a year (locked while taking the next)."""

    office = models.ForeignKey(Office, on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["office", "year"], name="suket_counter_once")
        ]

    def __str__(self) -> str:
        return f"{self.office_id}/{self.year}: {self.last}"


class OfficeKey(models.Model):
    """An office's Ed25519 signing key.

    A retired key stays published, and verifiers accept it only for Sukets issued on or before
    its retirement day. A compromised key is retired and withdrawn from the published set:
    nothing it signed verifies any more.
    """

    office = models.ForeignKey(Office, on_delete=models.PROTECT, related_name="signing_keys")
    kid = models.CharField(_("key id"), max_length=16, unique=True)
    public_key = models.BinaryField(max_length=32)
    # The private key, encrypted (AES-GCM) with a key derived from SUKET_KEY_SECRET.
    private_key_sealed = models.BinaryField()
    created_at = models.DateTimeField()
    retired_at = models.DateTimeField(null=True, blank=True)
    compromised_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["office", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["office"],
                condition=models.Q(retired_at__isnull=True),
                name="one_active_key_per_office",
            )
        ]
        verbose_name = _("office signing key")
        verbose_name_plural = _("office signing keys")

    def __str__(self) -> str:
        return f"{self.office_id} {self.kid}"


class Suket(models.Model):
    """An issued Suket: numbered, signed, rendered once and stored; revoked by a printed card."""

    uid = models.CharField(max_length=16, unique=True)  # 8 random bytes, hex; carried by the QR
    office = models.ForeignKey(Office, on_delete=models.PROTECT, related_name="sukets")
    year = models.PositiveSmallIntegerField()
    seq = models.PositiveIntegerField()
    number = models.CharField(_("number"), max_length=60, unique=True)
    resident = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="sukets")
    # The resident's village and regency/city, copied here (and kept when the resident moves)
    # so the dashboard counts Sukets per region without joining the registry.
    village = models.ForeignKey(
        Region, null=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    regency = models.ForeignKey(
        Region, null=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    election = models.ForeignKey(Election, on_delete=models.PROTECT, related_name="sukets")
    decision = models.OneToOneField(SuketDecision, on_delete=models.PROTECT, related_name="suket")
    reason = models.CharField(max_length=30)
    holder = models.JSONField()  # the holder's data exactly as printed
    issued_at = models.DateTimeField(db_index=True)
    valid_from = models.DateField()
    valid_until = models.DateField()
    signer_name = models.CharField(max_length=150)
    signer_nip = models.CharField(max_length=18)
    key = models.ForeignKey(OfficeKey, on_delete=models.PROTECT, related_name="+")
    qr_text = models.TextField()
    pdf = models.BinaryField()
    pdf_sha256 = models.CharField(max_length=64)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    issued_by_label = models.CharField(max_length=120, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True, db_index=True)
    revoked_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-issued_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["office", "year", "seq"], name="suket_number_once"),
        ]
        indexes = [
            models.Index(fields=["resident", "election"]),
            models.Index(fields=["election", "regency", "village"]),
        ]
        verbose_name = _("Suket")
        verbose_name_plural = _("Sukets")

    def __str__(self) -> str:
        return self.number

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def has_expired(self, on: date | None = None) -> bool:
        """Whether the validity ended before ``on`` (default: today in Asia/Jakarta)."""
        return (on or timezone.localdate()) > self.valid_until

    @property
    def is_expired(self) -> bool:
        """Validity ended (the last valid day was before today): show it as *kedaluwarsa*."""
        return self.has_expired()

    @property
    def status(self) -> str:
        """``dicabut``, ``kedaluwarsa`` or ``berlaku``: a revoked Suket is shown as revoked
        even after it would have expired."""
        if self.is_revoked:
            return "dicabut"
        return "kedaluwarsa" if self.is_expired else "berlaku"
