"""A card printed elsewhere reaches Rekam as a central move to CARD_PRINTED: revoke then too."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from rekam.residents.models import RecordEvent
from rekam.residents.states import KtpState


@receiver(post_save, sender=RecordEvent, dispatch_uid="suket-revoke-on-card-printed")
def revoke_on_card_printed(
    sender: Any, instance: RecordEvent, created: bool, **kwargs: Any
) -> None:
    if not created or instance.to_state != KtpState.CARD_PRINTED:
        return
    from .services import suket_revoke_for_resident

    suket_revoke_for_resident(
        resident=instance.resident,
        at=instance.at,
        reason=f"KTP-el dicetak ({instance.actor_label or instance.source})",
    )
