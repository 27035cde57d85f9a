"""The dashboard's counts follow the registry and the voter list (see ``tallies``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.dispatch import receiver

from rekam.residents.signals import records_moved
from rekam.voters.signals import reconciled, voter_matched

from . import tallies


@receiver(records_moved, dispatch_uid="reporting-voters-moved")
def count_moves(
    sender: Any, *, resident_ids: list[int], to_state: str, at: datetime, **_: Any
) -> None:
    tallies.voters_moved(resident_ids=resident_ids, to_state=to_state, at=at)


@receiver(reconciled, dispatch_uid="reporting-reconciled")
def count_reconciled(
    sender: Any, *, election: Any, regencies: list[str], read_from: datetime, **_: Any
) -> None:
    tallies.voter_counts_reset(election=election, regencies=regencies, read_from=read_from)


@receiver(voter_matched, dispatch_uid="reporting-voter-matched")
def count_matched(
    sender: Any, *, election: Any, voter: Any, ktp_state: str, old_state: str, **_: Any
) -> None:
    tallies.voter_matched(election=election, voter=voter, old_state=old_state, ktp_state=ktp_state)
