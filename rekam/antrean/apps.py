from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AntreanConfig(AppConfig):
    name = "rekam.antrean"
    verbose_name = _("Queue")
