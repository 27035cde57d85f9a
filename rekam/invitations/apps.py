from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InvitationsConfig(AppConfig):
    name = "rekam.invitations"
    verbose_name = _("Invitations")

    def ready(self) -> None:
        # The gate's scanner hands invitation QR texts to the queue, which asks us who they are.
        from rekam.antrean.figures import invited_counter_set
        from rekam.antrean.services import invitation_resolver_set

        from .invites import resolve_checkin
        from .services import invitations_booked

        invitation_resolver_set(resolve_checkin)
        # The queue's figures page counts the invitations booked into each session.
        invited_counter_set(invitations_booked)
