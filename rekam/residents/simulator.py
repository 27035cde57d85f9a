"""A simulated central system (SIAK) for the demo and tests.

For each recorded resident waiting on the central system it draws how long the record stays in
its current state and where it goes next, from delays and rates like those reported for
KTP-el deduplication: sent within 0-2 days of capture, received 1-20 days later, then mostly
print ready within days; about 3 % enrolment or search failures, 2 % adjudication and 0.5 %
duplicates; adjudication ends in print ready or duplicate after days to weeks.

Draws are seeded by (seed, NIK, state, time in state), so a run is deterministic for a seed
and does not depend on which other residents are in the queryset. Every move it proposes is
one the state table lets the central system make (checked with ``check_move``).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta

from django.db.models import QuerySet

from .central import StatusUpdate
from .models import Resident
from .services import check_move
from .states import KtpState as S
from .states import MoveSource

DAY = 86400.0
# (probability, next state) drawn once a record has been received; the rest is print ready.
_RECEIVED_OUTCOMES = (
    (0.015, S.ENROLL_FAILURE),
    (0.015, S.SEARCH_FAILURE),
    (0.02, S.ADJUDICATE_RECORD),
    (0.005, S.DUPLICATE_RECORD),
)
# A chain of moves is at most BIO -> SENT -> RECEIVED -> ADJUDICATE -> PRR.
_MAX_STEPS = 5
SIMULATED_STATES = (
    S.BIO_CAPTURED,
    S.SENT_FOR_ENROLLMENT,
    S.RECEIVED_AT_CENTRAL,
    S.ADJUDICATE_RECORD,
)


def next_step(state: str, rng: random.Random) -> tuple[float, str] | None:
    """Seconds the record stays in ``state`` and the state it moves to (None: it stays)."""
    if state == S.BIO_CAPTURED:
        return rng.uniform(0.05, 2.0) * DAY, S.SENT_FOR_ENROLLMENT
    if state == S.SENT_FOR_ENROLLMENT:
        # Mostly a few days, sometimes the full 20.
        return rng.triangular(1.0, 20.0, 3.0) * DAY, S.RECEIVED_AT_CENTRAL
    if state == S.RECEIVED_AT_CENTRAL:
        draw = rng.random()
        for p, outcome in _RECEIVED_OUTCOMES:
            if draw < p:
                return rng.uniform(0.5, 10.0) * DAY, outcome
            draw -= p
        return rng.triangular(0.2, 14.0, 2.0) * DAY, S.PRINT_READY_RECORD
    if state == S.ADJUDICATE_RECORD:
        to = S.DUPLICATE_RECORD if rng.random() < 0.2 else S.PRINT_READY_RECORD
        return rng.uniform(3.0, 30.0) * DAY, to
    return None


class SimulatedCentralSystem:
    """A :class:`~rekam.residents.central.CentralSystem` that advances recorded residents."""

    name = "simulator"

    def __init__(
        self,
        *,
        now: datetime,
        seed: int = 2020,
        residents: QuerySet[Resident] | None = None,
    ) -> None:
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        self.now = now
        self.seed = seed
        self.residents = residents

    def _candidates(self) -> Iterator[tuple[str, str, datetime]]:
        qs = self.residents if self.residents is not None else Resident.objects.all()
        rows = (
            qs.filter(ktp_state__in=SIMULATED_STATES)
            .order_by("pk")
            .values_list("nik", "ktp_state", "ktp_state_at", "created_at")
        )
        for nik, state, state_at, created_at in rows.iterator(chunk_size=5000):
            # A state of unknown age (e.g. from a registry import) counts from the record's
            # creation.
            yield nik, state, state_at or created_at

    def path(self, nik: str, state: str, since: datetime) -> list[StatusUpdate]:
        """The updates the central system reports for one record by ``now``."""
        updates: list[StatusUpdate] = []
        for _ in range(_MAX_STEPS):
            rng = random.Random(f"{self.seed}:{nik}:{state}:{since.timestamp():.6f}")
            step = next_step(state, rng)
            if step is None:
                break
            seconds, to = step
            at = since + timedelta(seconds=seconds)
            if at > self.now:
                break
            check_move(state, to, MoveSource.CENTRAL)  # the table is the authority
            updates.append(StatusUpdate(nik=nik, state=to, at=at))
            state, since = to, at
        return updates

    def updates(self) -> Iterator[StatusUpdate]:
        for nik, state, since in self._candidates():
            yield from self.path(nik, state, since)
