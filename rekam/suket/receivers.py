"""A printed card supersedes the holder's Sukets, wherever it was printed; a Suket's region
follows its holder's.

Every path that moves KTP-el records (a counter printing a card, the central status import, the
simulator, the registry import) sends ``records_moved`` inside its transaction; revoking here
keeps the revocation in that same transaction, in one statement per batch.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import OuterRef, Subquery
from django.dispatch import receiver

from rekam.residents.models import Resident
from rekam.residents.signals import records_moved, residents_relocated
from rekam.residents.states import KtpState

from .models import Suket
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


@receiver(residents_relocated, dispatch_uid="suket-follow-resident-village")
def follow_resident_village(sender: Any, *, resident_ids: list[int], **kwargs: Any) -> None:
    """Residents who move take their Sukets' village and regency/city along: the dashboard
    counts a Suket where its holder lives now, and a regency sees the Sukets of its residents.
    (A copy of the residents' own fields, not a decision: the move itself is audited.)"""
    for start in range(0, len(resident_ids), 5_000):
        chunk = resident_ids[start : start + 5_000]
        homes = Resident.objects.filter(pk=OuterRef("resident_id"))
        Suket.objects.filter(resident_id__in=chunk).update(
            village_id=Subquery(homes.values("village_id")),
            regency_id=Subquery(homes.values("regency_id")),
        )
