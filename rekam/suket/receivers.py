"""A printed card supersedes the holder's Sukets, wherever it was printed.

Every path that moves KTP-el records (a counter printing a card, the central status import, the
simulator, the registry import) sends ``records_moved`` inside its transaction; revoking here
keeps the revocation in that same transaction, in one statement per batch.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.dispatch import receiver

from rekam.residents.signals import records_moved
from rekam.residents.states import KtpState

from .services import suket_revoke_for_residents


@receiver(records_moved, dispatch_uid="suket-revoke-on-card-printed")
def revoke_on_card_printed(
    sender: Any,
    *,
    resident_ids: list[int],
    to_state: str,
    at: datetime,
    acting_user: Any = None,
    label: str = "",
    reason: str = "",
    **kwargs: Any,
) -> None:
    if to_state != KtpState.CARD_PRINTED:
        return
    suket_revoke_for_residents(
        resident_ids=resident_ids,
        at=at,
        reason=f"KTP-el sudah dicetak ({reason or label or 'sistem pusat'})",
        acting_user=acting_user,
        actor_label=label,
    )
