"""Offices (province, regency/city) and the staff who work for them."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from rekam.regions.models import Region


class Office(models.Model):
    """A Disdukcapil office: the province's, or one regency/city's.

    Its jurisdiction is its region: a regency office serves the residents whose address lies in
    its regency/city; the province office sees all of its regencies.
    """

    class Kind(models.TextChoices):
        PROVINCE = "province", _("Province office")
        REGENCY = "regency", _("Regency/city office")

    code = models.CharField(max_length=13, unique=True)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    name = models.CharField(max_length=150)
    region = models.OneToOneField(Region, on_delete=models.PROTECT, related_name="office")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    address = models.CharField(max_length=200, blank=True)
    head_name = models.CharField(_("head of office"), max_length=120, blank=True)
    head_nip = models.CharField(_("head's NIP"), max_length=18, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("office")
        verbose_name_plural = _("offices")

    def __str__(self) -> str:
        return self.name

    @property
    def region_prefix(self) -> str:
        """Region codes in this office's jurisdiction start with this."""
        return self.region.code


class Role(models.TextChoices):
    PROVINCE_ADMIN = "province_admin", _("Province admin")
    REGENCY_ADMIN = "regency_admin", _("Regency/city admin")
    SUPERVISOR = "supervisor", _("Supervisor")
    OPERATOR = "operator", _("Operator")
    QUEUE_OFFICER = "queue_officer", _("Queue officer")


class User(AbstractUser):
    role = models.CharField(max_length=16, choices=Role.choices, blank=True)
    office = models.ForeignKey(
        Office, null=True, blank=True, on_delete=models.PROTECT, related_name="staff"
    )
    service_point = models.ForeignKey(
        "servicepoints.ServicePoint",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="staff",
    )
    # Set when someone else chose the password (a new account, a reset in the admin), so
    # that only the person knows the password they go on using.
    must_change_password = models.BooleanField(
        _("must change password at next login"), default=False
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.get_full_name() or self.username
