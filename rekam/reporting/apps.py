from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportingConfig(AppConfig):
    name = "rekam.reporting"
    verbose_name = _("Dashboard and reports")

    def ready(self) -> None:
        from . import receivers  # noqa: F401
