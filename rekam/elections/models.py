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
    regions = models.ManyToManyField(Region, related_name="elections", verbose_name=_("regions"))
    suket_issue_until = models.DateField(_("Suket issued until"))
    suket_valid_until = models.DateField(_("Suket valid until"))

    class Meta:
        ordering = ["-polling_day"]
        verbose_name = _("election")
        verbose_name_plural = _("elections")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.suket_issue_until and self.polling_day and self.suket_issue_until > self.polling_day:
            raise ValidationError(
                {"suket_issue_until": "Batas penerbitan Suket tidak boleh setelah hari pemungutan suara."}
            )
        if self.suket_valid_until and self.suket_issue_until and (
            self.suket_valid_until < self.suket_issue_until
        ):
            raise ValidationError(
                {"suket_valid_until": "Masa berlaku Suket harus sampai setelah batas penerbitan."}
            )

    def days_to_polling(self, today: date) -> int:
        return (self.polling_day - today).days

    def covers(self, regency_code: str) -> bool:
        return self.regions.filter(code=regency_code).exists()
