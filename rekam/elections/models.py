"""An election: every date the rules depend on is a setting of an election, never a constant."""

from __future__ import annotations

from datetime import date, time

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from rekam.regions.models import Region


class Election(models.Model):
    name = models.CharField(_("name"), max_length=150)
    slug = models.SlugField(unique=True)
    polling_day = models.DateField(_("polling day"))
    polls_close = models.TimeField(_("polls close"), default=time(13, 0))
    # Regencies/cities that hold this election; only their residents may get its Suket.
    regions = models.ManyToManyField(
        Region, through="ElectionRegion", related_name="elections", verbose_name=_("regions")
    )
    suket_issue_until = models.DateField(_("Suket issued until"))
    suket_valid_until = models.DateField(_("Suket valid until"))

    class Meta:
        ordering = ["-polling_day"]
        verbose_name = _("election")
        verbose_name_plural = _("elections")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if (
            self.suket_issue_until
            and self.polling_day
            and self.suket_issue_until > self.polling_day
        ):
            raise ValidationError(
                {
                    "suket_issue_until": "Batas penerbitan Suket tidak boleh setelah hari "
                    "pemungutan suara."
                }
            )
        if (
            self.suket_valid_until
            and self.suket_issue_until
            and (self.suket_valid_until < self.suket_issue_until)
        ):
            raise ValidationError(
                {"suket_valid_until": "Masa berlaku Suket harus sampai setelah batas penerbitan."}
            )

    def days_to_polling(self, today: date) -> int:
        return (self.polling_day - today).days

    def covers(self, regency_code: str) -> bool:
        return self.regions.filter(code=regency_code).exists()


class ElectionRegion(models.Model):
    """A regency/city holding an election, with the voter figures the KPU published for it.

    The dashboard compares the registry against these: DP4 (potential voters from Kemendagri),
    DPT (final voter list) and how many DPT voters had not recorded their KTP-el.
    """

    election = models.ForeignKey(Election, on_delete=models.CASCADE, related_name="region_rows")
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    dp4 = models.PositiveIntegerField("DP4", null=True, blank=True)
    dpt = models.PositiveIntegerField("DPT", null=True, blank=True)
    dpt_unrecorded = models.PositiveIntegerField(
        _("DPT voters not recorded"), null=True, blank=True
    )

    class Meta:
        ordering = ["election", "region"]
        constraints = [
            models.UniqueConstraint(fields=["election", "region"], name="election_region_once")
        ]
        verbose_name = _("region holding an election")
        verbose_name_plural = _("regions holding an election")

    def __str__(self) -> str:
        return f"{self.election} – {self.region}"

    @property
    def unrecorded_share(self) -> float | None:
        """Share of DPT voters who had not recorded, as the KPU reported it."""
        if not self.dpt or self.dpt_unrecorded is None:
            return None
        return self.dpt_unrecorded / self.dpt
