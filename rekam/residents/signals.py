"""What the registry tells other parts of Rekam, without knowing who listens.

Bulk paths (the central status import, the simulator, the registry import) write record moves
with set-based statements, which ``post_save`` never sees; so every path that moves KTP-el
records sends :data:`records_moved` itself, after its writes and inside its transaction, so a
receiver's writes commit or roll back with the moves.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.dispatch import Signal

from .models import Resident

# Sent once per batch and new state, with keyword arguments:
#   resident_ids  list[int]   the residents whose records are now in ``to_state``
#   to_state      str         the KtpState they moved to
#   at            datetime    when the moves took effect (the latest, for a batch)
#   source        str         MoveSource: the office or the central system
#   acting_user   user | None who made the moves
#   label         str         what made them ("import:siak.csv", "simulator", a username)
#   reason        str         the reason recorded with the moves ("" if none)
records_moved = Signal()


def records_moved_send(
    *,
    moves: Iterable[tuple[int, str, datetime]],
    source: str,
    acting_user: Any = None,
    label: str = "",
    reason: str = "",
) -> None:
    """Send :data:`records_moved` for ``(resident id, new state, moment)`` triples, once per
    state (with the latest moment of that state's moves)."""
    by_state: dict[str, tuple[list[int], datetime]] = {}
    for pk, state, at in moves:
        ids, latest = by_state.get(state, ([], at))
        ids.append(pk)
        by_state[state] = (ids, max(latest, at))
    for state, (ids, at) in sorted(by_state.items()):
        records_moved.send(
            sender=Resident,
            resident_ids=ids,
            to_state=state,
            at=at,
            source=source,
            acting_user=acting_user,
            label=label,
            reason=reason,
        )
