"""What the registry tells other parts of Rekam, without knowing who listens.

Bulk paths (the central status import, the simulator, the registry import) write record moves
with set-based statements, which ``post_save`` never sees; so every path that moves KTP-el
records sends :data:`records_moved` itself, after its writes and inside its transaction, so a
receiver's writes commit or roll back with the moves.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from django.dispatch import Signal
from django.utils import timezone

from .models import Resident

# Sent once per batch, new state and day (Asia/Jakarta), with keyword arguments:
#   resident_ids  list[int]   the residents whose records are now in ``to_state``
#   to_state      str         the KtpState they moved to
#   at            datetime    when the moves took effect (the latest of that day's, for a batch)
#   source        str         MoveSource: the office or the central system
#   acting_user   user | None who made the moves
#   label         str         what made them ("import:siak.csv", "simulator", a username)
#   reason        str         the reason recorded with the moves ("" if none)
records_moved = Signal()

# Sent when residents move to another village (an edit, or a registry import), inside the
# transaction that moved them, with ``resident_ids`` (list[int]): copies of a resident's
# village elsewhere (a Suket's) follow. The same for every path, set-based or not.
residents_relocated = Signal()


def records_moved_send(
    *,
    moves: Iterable[tuple[int, str, datetime]],
    source: str,
    acting_user: Any = None,
    label: str = "",
    reason: str = "",
) -> None:
    """Send :data:`records_moved` for ``(resident id, new state, moment)`` triples, once per
    state and local day (with the latest moment of those moves), so that receivers counting
    per day see each move on its own day."""
    groups: dict[tuple[str, date], tuple[list[int], datetime]] = {}
    for pk, state, at in moves:
        key = (state, timezone.localdate(at))
        ids, latest = groups.get(key, ([], at))
        ids.append(pk)
        groups[key] = (ids, max(latest, at))
    for (state, _day), (ids, at) in sorted(groups.items()):
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
