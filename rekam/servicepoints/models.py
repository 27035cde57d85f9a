"""Service points: where residents are recorded, cards printed and Sukets issued."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from rekam.accounts.models import Office
from rekam.regions.models import Region


class ServicePoint(models.Model):
    class Kind(models.TextChoices):
        OFFICE = "office", _("Regency/city office")
        UPT = "upt", _("Technical unit (UPT)")
        KECAMATAN = "kecamatan", _("Kecamatan office")
        MOBILE = "mobile", _("Mobile unit (jemput bola)")

    office = models.ForeignKey(Office, on_delete=models.PROTECT, related_name="service_points")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    code = models.CharField(max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=150)
    village = models.ForeignKey(
        Region,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("village"),
    )
    address = models.CharField(_("address"), max_length=200, blank=True)
    lat = models.FloatField(null=True, blank=True)
    lon = models.FloatField(null=True, blank=True)
    counters = models.PositiveSmallIntegerField(_("counters"), default=1)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["office__code", "kind", "name"]
        verbose_name = _("service point")
        verbose_name_plural = _("service points")

    def __str__(self) -> str:
        return self.name
