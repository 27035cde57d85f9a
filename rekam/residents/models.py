"""The population registry and each resident's KTP-el record."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from rekam.lib.nik import mask_nik
from rekam.regions.models import Region

from .states import KtpState, MoveSource


class Sex(models.TextChoices):
    MALE = "L", _("Male")
    FEMALE = "P", _("Female")


class MaritalStatus(models.TextChoices):
    SINGLE = "BELUM KAWIN", _("Not married")
    MARRIED = "KAWIN", _("Married")
    DIVORCED = "CERAI HIDUP", _("Divorced")
    WIDOWED = "CERAI MATI", _("Widowed")


class Religion(models.TextChoices):
    ISLAM = "ISLAM", "Islam"
    KRISTEN = "KRISTEN", "Kristen"
    KATOLIK = "KATOLIK", "Katolik"
    HINDU = "HINDU", "Hindu"
    BUDDHA = "BUDDHA", "Buddha"
    KONGHUCU = "KONGHUCU", "Khonghucu"
    KEPERCAYAAN = "KEPERCAYAAN", _("Belief in God Almighty")


class Citizenship(models.TextChoices):
    WNI = "WNI", _("Indonesian citizen")
    WNA = "WNA", _("Foreign national")


class ImportBatch(models.Model):
    """One run of an import: what was read, what was kept, and the report of rejected rows."""

    class Kind(models.TextChoices):
        REGISTRY = "registry", _("Population registry")
        STATUSES = "statuses", _("Central statuses")

    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    file_name = models.CharField(_("file name"), max_length=255)
    sha256 = models.CharField(_("SHA-256"), max_length=64, db_index=True)
    started_at = models.DateTimeField(_("started at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    acting_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("imported by"),
    )
    rows_read = models.PositiveIntegerField(_("rows read"), default=0)
    created = models.PositiveIntegerField(_("created"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    unchanged = models.PositiveIntegerField(_("unchanged"), default=0)
    rejected = models.PositiveIntegerField(_("rejected"), default=0)
    warnings = models.PositiveIntegerField(_("warnings"), default=0)
    report_path = models.CharField(_("report file"), max_length=500, blank=True)

    class Meta:
        ordering = ["-started_at"]
        verbose_name = _("import")
        verbose_name_plural = _("imports")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.file_name} ({self.started_at:%Y-%m-%d %H:%M})"

    @property
    def accepted(self) -> int:
        return self.created + self.updated + self.unchanged


class Resident(models.Model):
    nik = models.CharField("NIK", max_length=16, unique=True)
    kk_number = models.CharField(_("family card number"), max_length=16, blank=True, db_index=True)
    name = models.CharField(_("name"), max_length=150)
    # Upper-case name with single spaces: what searches and matching compare.
    name_key = models.CharField(max_length=150, db_index=True, editable=False)
    birth_place = models.CharField(_("place of birth"), max_length=100, blank=True)
    birth_date = models.DateField(_("date of birth"))
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices)
    religion = models.CharField(_("religion"), max_length=12, choices=Religion.choices, blank=True)
    marital_status = models.CharField(
        _("marital status"),
        max_length=12,
        choices=MaritalStatus.choices,
        default=MaritalStatus.SINGLE,
    )
    occupation = models.CharField(_("occupation"), max_length=100, blank=True)
    citizenship = models.CharField(
        _("citizenship"), max_length=3, choices=Citizenship.choices, default=Citizenship.WNI
    )
    # Both are indexed by the (regency, ktp_state) and (village, ktp_state) indexes below,
    # which lead with them; a second index of their own would only slow imports down.
    village = models.ForeignKey(
        Region,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("village"),
        db_index=False,
    )
    # The village's regency/city, kept beside it so jurisdiction filters use one indexed column.
    regency = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="+", editable=False, db_index=False
    )
    rt = models.CharField("RT", max_length=3, blank=True)
    rw = models.CharField("RW", max_length=3, blank=True)
    street = models.CharField(_("street address"), max_length=200, blank=True)
    phone = models.CharField(_("phone (E.164)"), max_length=16, blank=True)
    whatsapp_consent = models.BooleanField(_("agrees to WhatsApp messages"), default=False)
    whatsapp_consent_at = models.DateTimeField(null=True, blank=True)
    whatsapp_consent_source = models.CharField(max_length=60, blank=True)

    ktp_state = models.CharField(
        _("KTP-el state"), max_length=20, choices=KtpState.choices, default=KtpState.BELUM_REKAM
    )
    ktp_state_at = models.DateTimeField(_("state since"), null=True, blank=True)

    import_batch = models.ForeignKey(
        ImportBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name_key"]
        indexes = [
            models.Index(fields=["regency", "ktp_state"]),
            models.Index(fields=["village", "ktp_state"]),
        ]
        verbose_name = _("resident")
        verbose_name_plural = _("residents")

    def __str__(self) -> str:
        return f"{self.name} ({self.masked_nik})"

    @property
    def masked_nik(self) -> str:
        return mask_nik(self.nik)


def name_key(name: str) -> str:
    return " ".join(name.upper().split())


class RecordEvent(models.Model):
    """One move of a resident's KTP-el record: the timeline, reports and audits read these."""

    # Indexed by (resident, to_state, at) below, which also serves the timeline.
    resident = models.ForeignKey(
        Resident, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    from_state = models.CharField(
        _("from state"), max_length=20, choices=KtpState.choices, blank=True
    )
    to_state = models.CharField(_("to state"), max_length=20, choices=KtpState.choices)
    # When it happened (for central moves: the central system's timestamp).
    at = models.DateTimeField(_("at"), db_index=True)
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    source = models.CharField(_("source"), max_length=8, choices=MoveSource.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("actor"),
    )
    actor_label = models.CharField(_("by"), max_length=120, blank=True)
    reason = models.CharField(_("reason"), max_length=300, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["to_state", "at"]),
            # "Had this resident reached a state before then?" (the dashboard's R2 check).
            models.Index(fields=["resident", "to_state", "at"], name="event_resident_state_at"),
        ]
        verbose_name = _("KTP-el record event")
        verbose_name_plural = _("KTP-el record events")

    def __str__(self) -> str:
        return f"{self.resident_id}: {self.from_state or '-'} -> {self.to_state} ({self.at})"
