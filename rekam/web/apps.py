from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebConfig(AppConfig):
    name = "rekam.web"
    verbose_name = _("Staff pages")

    def ready(self) -> None:
        # Registers the deployment checks (rekam check --deploy).
        from rekam import checks  # noqa: F401
