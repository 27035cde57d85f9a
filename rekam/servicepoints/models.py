"""Service points: where residents are recorded, cards printed and Sukets issued.

Each point has its counters, the services it offers, weekly opening hours, a calendar of days it
opens or closes against the rule (holidays, election day), and the figures its queue capacity
comes from: minutes per service, a health-protocol share of normal intake, a waiting-room limit
and the share of each session kept for invitations. A mobile unit opens only on its dated visits.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from rekam.accounts.models import Office
from rekam.regions.models import Region


class Service(models.TextChoices):
    RECORDING = "recording", _("KTP-el recording")
    PRINTING = "printing", _("Card printing and pick-up")
    SUKET = "suket", _("Suket")
    OTHER = "other", _("Other services")


# The letter in front of each queue number ("A-012").
SERVICE_PREFIX: dict[str, str] = {
    Service.RECORDING: "A",
    Service.PRINTING: "B",
    Service.SUKET: "C",
    Service.OTHER: "D",
}


class HolidayOpening(models.TextChoices):
    CLOSED = "closed", _("Closed on holidays")
    RUN_UP = "run_up", _("Open on holidays in the run-up to a polling day in its region")
    OPEN = "open", _("Open on holidays")


class ServicePoint(models.Model):
    class Kind(models.TextChoices):
        OFFICE = "office", _("Regency/city office")
        UPT = "upt", _("Technical unit (UPT)")
        KECAMATAN = "kecamatan", _("Kecamatan office")
        MOBILE = "mobile", _("Mobile unit (jemput bola)")

    office = models.ForeignKey(Office, on_delete=models.PROTECT, related_name="service_points")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
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

    offers_recording = models.BooleanField(_("offers KTP-el recording"), default=True)
    offers_printing = models.BooleanField(_("offers card printing and pick-up"), default=True)
    offers_suket = models.BooleanField(_("offers Suket"), default=True)
    offers_other = models.BooleanField(_("offers other services"), default=True)
    session_minutes = models.PositiveSmallIntegerField(
        _("minutes per queue session"),
        default=60,
        validators=[MinValueValidator(10), MaxValueValidator(480)],
    )
    service_minutes = models.PositiveSmallIntegerField(
        _("minutes per resident at a counter"),
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(240)],
    )
    protocol_percent = models.PositiveSmallIntegerField(
        _("health protocol: share of normal intake (%)"),
        default=100,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
    )
    waiting_room_limit = models.PositiveSmallIntegerField(
        _("most people inside at once"), default=20, validators=[MinValueValidator(1)]
    )
    invitation_percent = models.PositiveSmallIntegerField(
        _("share of each session kept for invitations (%)"),
        default=50,
        validators=[MaxValueValidator(100)],
    )
    holiday_opening = models.CharField(
        _("on public holidays"),
        max_length=8,
        choices=HolidayOpening.choices,
        default=HolidayOpening.RUN_UP,
    )

    class Meta:
        ordering = ["office__code", "kind", "name"]
        verbose_name = _("service point")
        verbose_name_plural = _("service points")

    def __str__(self) -> str:
        return self.name

    @property
    def services(self) -> list[str]:
        """The services offered, in the order of :class:`Service`."""
        offered = {
            Service.RECORDING: self.offers_recording,
            Service.PRINTING: self.offers_printing,
            Service.SUKET: self.offers_suket,
            Service.OTHER: self.offers_other,
        }
        return [str(s) for s, on in offered.items() if on]

    @property
    def regency_code(self) -> str:
        """The regency/city the point serves: its office's, or its village's for the province."""
        office_region = str(self.office.region_id)
        if "." in office_region or not self.village_id:
            return office_region
        return str(self.village_id)[:5]


class OpeningHours(models.Model):
    """Opening hours on one weekday (0 = Monday); a weekday without a row is closed."""

    service_point = models.ForeignKey(ServicePoint, on_delete=models.CASCADE, related_name="hours")
    weekday = models.PositiveSmallIntegerField(
        _("weekday"),
        choices=[
            (0, _("Monday")),
            (1, _("Tuesday")),
            (2, _("Wednesday")),
            (3, _("Thursday")),
            (4, _("Friday")),
            (5, _("Saturday")),
            (6, _("Sunday")),
        ],
    )
    opens_at = models.TimeField(_("opens"))
    closes_at = models.TimeField(_("closes"))

    class Meta:
        ordering = ["service_point", "weekday"]
        constraints = [
            models.UniqueConstraint(fields=["service_point", "weekday"], name="hours_once_a_day"),
            models.CheckConstraint(condition=Q(opens_at__lt=F("closes_at")), name="hours_order"),
        ]
        verbose_name = _("opening hours")
        verbose_name_plural = _("opening hours")

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens_at:%H:%M}-{self.closes_at:%H:%M}"


class CalendarDay(models.Model):
    """A day a point opens or closes against its weekly hours and holiday rule."""

    service_point = models.ForeignKey(
        ServicePoint, on_delete=models.CASCADE, related_name="calendar_days"
    )
    day = models.DateField(_("date"))
    is_open = models.BooleanField(_("open"))
    # Empty: the weekday's hours (or 08:00-16:00 on a weekday without hours).
    opens_at = models.TimeField(_("opens"), null=True, blank=True)
    closes_at = models.TimeField(_("closes"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["service_point", "day"]
        constraints = [
            models.UniqueConstraint(fields=["service_point", "day"], name="calendar_day_once"),
            models.CheckConstraint(
                condition=Q(opens_at__isnull=True)
                | Q(closes_at__isnull=True)
                | Q(opens_at__lt=F("closes_at")),
                name="calendar_day_hours_order",
            ),
        ]
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")

    def __str__(self) -> str:
        return f"{self.day:%Y-%m-%d} {'open' if self.is_open else 'closed'}"


class MobileVisit(models.Model):
    """A mobile unit's dated session at a village, school, hospital or home."""

    class Place(models.TextChoices):
        VILLAGE = "village", _("Village hall")
        SCHOOL = "school", _("School")
        HOSPITAL = "hospital", _("Hospital")
        HOME = "home", _("Home visit")
        OTHER = "other", _("Other place")

    service_point = models.ForeignKey(
        ServicePoint,
        on_delete=models.CASCADE,
        related_name="visits",
        limit_choices_to={"kind": ServicePoint.Kind.MOBILE},
    )
    day = models.DateField(_("date"))
    opens_at = models.TimeField(_("from"))
    closes_at = models.TimeField(_("until"))
    place_kind = models.CharField(_("kind of place"), max_length=10, choices=Place.choices)
    place_name = models.CharField(_("place"), max_length=150)
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

    class Meta:
        ordering = ["service_point", "day", "opens_at"]
        constraints = [
            models.UniqueConstraint(fields=["service_point", "day", "opens_at"], name="visit_once"),
            models.CheckConstraint(condition=Q(opens_at__lt=F("closes_at")), name="visit_order"),
        ]
        verbose_name = _("mobile unit visit")
        verbose_name_plural = _("mobile unit visits")

    def __str__(self) -> str:
        return f"{self.place_name} {self.day:%Y-%m-%d} {self.opens_at:%H:%M}-{self.closes_at:%H:%M}"
