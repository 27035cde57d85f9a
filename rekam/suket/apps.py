from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SuketConfig(AppConfig):
    name = "rekam.suket"
    label = "suket"
    verbose_name = _("Suket and card printing")

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (connects the revocation on CARD_PRINTED)
