"""Kemendagri regions: province, regency/city, kecamatan, village (desa/kelurahan).

Codes are Kemendagri codes with dots (``18``, ``18.71``, ``18.71.01``, ``18.71.01.1001``),
the same codes a NIK carries; BPS codes are never stored here.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Level(models.TextChoices):
    PROVINCE = "province", _("Province")
    REGENCY = "regency", _("Regency/city")
    DISTRICT = "district", _("Kecamatan")
    VILLAGE = "village", _("Village")


class Region(models.Model):
    code = models.CharField(max_length=13, primary_key=True)
    level = models.CharField(max_length=8, choices=Level.choices, db_index=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    name = models.CharField(max_length=100)
    # "kabupaten"/"kota" for regencies, "desa"/"kelurahan" for villages.
    kind = models.CharField(max_length=12, blank=True)
    official_name = models.CharField(max_length=120, blank=True)
    lat = models.FloatField(null=True, blank=True)
    lon = models.FloatField(null=True, blank=True)
    area_km2 = models.FloatField(null=True, blank=True)
    population = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("region")
        verbose_name_plural = _("regions")

    def __str__(self) -> str:
        return f"{self.code} {self.display_name}"

    @property
    def display_name(self) -> str:
        return self.official_name or self.name

    @property
    def digits(self) -> str:
        return self.code.replace(".", "")

    @property
    def province_code(self) -> str:
        return self.code[:2]

    @property
    def regency_code(self) -> str | None:
        return self.code[:5] if len(self.code) >= 5 else None


class Boundary(models.Model):
    """A simplified outline (GeoJSON geometry) for maps; not for surveying."""

    region = models.OneToOneField(Region, primary_key=True, on_delete=models.CASCADE)
    geometry = models.JSONField()

    class Meta:
        verbose_name = _("boundary")
        verbose_name_plural = _("boundaries")

    def __str__(self) -> str:
        return str(self.region_id)
