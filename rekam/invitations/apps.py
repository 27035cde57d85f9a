from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InvitationsConfig(AppConfig):
    name = "rekam.invitations"
    verbose_name = _("Invitations")

    def ready(self) -> None:
        # The gate's scanner hands invitation QR texts to the queue, which asks us who they are.
        from rekam.antrean.services import invitation_resolver_set

        from .invites import resolve_checkin

        invitation_resolver_set(resolve_checkin)
