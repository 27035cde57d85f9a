from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ServicePointsConfig(AppConfig):
    name = "rekam.servicepoints"
    verbose_name = _("Service points")
