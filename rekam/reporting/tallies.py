"""Keeping the dashboard's counts in step with the events that change them.

A reconciliation sets an election's counts for the regencies/cities it covered (from its own
counts per TPS); a record move shifts the moved voters from their old state to the new one and
counts a first recording or a printed card on its day; a confirmed candidate match moves one
voter from "not matched" to the resident's state. Each runs inside the transaction of the event
(the signals are sent there), so counts and events commit together.

Every writer first locks its elections' :class:`TallyLock` rows (in election order), after the
resident rows it moves and before any count row: one queue per election, so concurrent moves
cannot deadlock on count rows and a reconciliation's reset cannot interleave with a move. Only
elections whose polling day has not passed are kept up to date.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time, timedelta

from django.db import connection
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from rekam.elections.models import Election
from rekam.residents.states import KtpState
from rekam.voters.models import Voter, VoterCheck, WorklistCount

from .models import TallyLock, VoterDay, VoterMove, VoterStateCount

# Residents per statement when looking up the voters a batch of moves concerns.
_CHUNK = 2_000
# Days of record history a reconciliation counts again for the progress chart (which shows 14).
HISTORY_DAYS = 31

_STATE_TABLE = VoterStateCount._meta.db_table
_DAY_TABLE = VoterDay._meta.db_table

_Place = tuple[int, str, str, str]  # election id, regency, district, village


def _chunks(ids: list[int], size: int = _CHUNK) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _lock(election_ids: Iterable[int]) -> None:
    """Take the elections' tally locks, in one order (a no-op on SQLite, where a writing
    transaction holds the whole database)."""
    list(
        TallyLock.objects.select_for_update()
        .filter(election_id__in=sorted(set(election_ids)))
        .order_by("election_id")
        .values_list("pk", flat=True)
    )


def _shift_states(deltas: Counter[tuple[_Place, str]]) -> None:
    """Add each delta to its (place, state) count, creating the row when it is new."""
    rows = sorted((*place, state, n) for (place, state), n in deltas.items() if n)
    if not rows:
        return
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {_STATE_TABLE} "
            "(election_id, regency_id, district_id, village_id, ktp_state, voters) "
            "VALUES (%s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (election_id, village_id, ktp_state) "
            f"DO UPDATE SET voters = {_STATE_TABLE}.voters + excluded.voters",
            rows,
        )


def _count_days(day: date, recorded: Counter[_Place], printed: Counter[_Place]) -> None:
    places = set(recorded) | set(printed)
    if not places:
        return
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {_DAY_TABLE} "
            "(election_id, regency_id, district_id, village_id, day, recorded, printed) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (election_id, village_id, day) DO UPDATE SET "
            f"recorded = {_DAY_TABLE}.recorded + excluded.recorded, "
            f"printed = {_DAY_TABLE}.printed + excluded.printed",
            [(*p, day, recorded[p], printed[p]) for p in sorted(places)],
        )


def voter_counts_reset(
    *, election: Election, regencies: Iterable[str], read_from: datetime | None = None
) -> None:
    """Set ``election``'s counts of ``regencies`` from its latest reconciliation (which began
    reading the registry at ``read_from``), and its voters' first recordings and printed cards
    per day over the last ``HISTORY_DAYS`` days from their records' history (the voters a
    reconciliation matches may have moved before it).

    Moves made while the reconciliation ran may be missing from its counts: those voters'
    current state (kept since ``read_from``) replaces what it saw."""
    codes = list(regencies)
    TallyLock.objects.get_or_create(election=election)
    _lock([int(election.pk)])
    VoterStateCount.objects.filter(election=election, regency_id__in=codes).delete()
    rows = (
        WorklistCount.objects.filter(election=election, regency_id__in=codes, voters__gt=0)
        .values("regency_id", "district_id", "village_id", "ktp_state")
        .annotate(n=Sum("voters"))
        .order_by()
    )
    VoterStateCount.objects.bulk_create(
        [
            VoterStateCount(
                election=election,
                regency_id=r["regency_id"],
                district_id=r["district_id"],
                village_id=r["village_id"],
                ktp_state=r["ktp_state"],
                voters=r["n"],
            )
            for r in rows
        ],
        batch_size=2_000,
    )
    moves = VoterMove.objects.filter(election=election, regency_id__in=codes)
    if read_from is not None:
        moves.filter(moved_at__lt=read_from).delete()
        _reapply(election, moves)
    else:
        moves.delete()
    _days_rebuild(election, codes, timezone.localdate() - timedelta(days=HISTORY_DAYS - 1))


def _reapply(election: Election, moves: Iterable[VoterMove]) -> None:
    """Shift the freshly set counts by the moves the reconciliation may not have seen."""
    now_in = {m.voter_id: m.ktp_state for m in moves}
    deltas: Counter[tuple[_Place, str]] = Counter()
    for chunk in _chunks(sorted(now_in)):
        for voter_id, regency, district, village, seen in VoterCheck.objects.filter(
            voter_id__in=chunk
        ).values_list(
            "voter_id",
            "voter__regency_id",
            "voter__district_id",
            "voter__village_id",
            "ktp_state",
        ):
            if seen != now_in[voter_id]:
                place = (int(election.pk), regency, district, village)
                deltas[(place, seen)] -= 1
                deltas[(place, now_in[voter_id])] += 1
    _shift_states(deltas)


def _days_rebuild(election: Election, codes: list[str], since: date) -> None:
    VoterDay.objects.filter(election=election, regency_id__in=codes, day__gte=since).delete()
    start = timezone.make_aware(datetime.combine(since, time()))
    event = "resident__events__"
    first_recording = Q(**{f"{event}from_state": KtpState.BELUM_REKAM})
    card_printed = Q(**{f"{event}to_state": KtpState.CARD_PRINTED})
    # One filter() call: every condition on the events applies to the same event (separate
    # calls would join the events once per call and count each recording once per event).
    rows = (
        VoterCheck.objects.filter(
            Q(election=election, voter__regency_id__in=codes)
            & Q(**{f"{event}at__gte": start})
            & (first_recording | card_printed)
        )
        .annotate(day=TruncDate(f"{event}at"))
        .values("voter__regency_id", "voter__district_id", "voter__village_id", "day")
        .annotate(
            recorded=Count("pk", filter=first_recording),
            printed=Count("pk", filter=card_printed),
        )
        .order_by()
    )
    VoterDay.objects.bulk_create(
        [
            VoterDay(
                election=election,
                regency_id=r["voter__regency_id"],
                district_id=r["voter__district_id"],
                village_id=r["voter__village_id"],
                day=r["day"],
                recorded=r["recorded"],
                printed=r["printed"],
            )
            for r in rows
        ],
        batch_size=2_000,
    )


def _live_elections(day: date) -> list[int]:
    """Elections whose counts still matter on ``day`` (polling day not passed)."""
    return sorted(Election.objects.filter(polling_day__gte=day).values_list("pk", flat=True))


def voters_moved(*, resident_ids: list[int], to_state: str, at: datetime) -> int:
    """Move the voters who are these residents (in every election whose polling day has not
    passed) to ``to_state``; returns how many voters moved."""
    day = timezone.localdate(at)
    # When Rekam learnt of the move (a reconciliation reading the registry since then may have
    # missed it), whatever moment the move itself carries.
    recorded_at = timezone.now()
    elections = _live_elections(day)
    if not elections:
        return 0
    _lock(elections)
    moved = 0
    for chunk in _chunks(sorted(set(resident_ids))):
        checks = list(
            VoterCheck.objects.filter(resident_id__in=chunk, election_id__in=elections)
            .values_list(
                "voter_id",
                "election_id",
                "voter__regency_id",
                "voter__district_id",
                "voter__village_id",
                "ktp_state",
            )
            .order_by("voter_id")
        )
        if not checks:
            continue
        now_in = dict(
            VoterMove.objects.filter(voter_id__in=[c[0] for c in checks]).values_list(
                "voter_id", "ktp_state"
            )
        )
        deltas: Counter[tuple[_Place, str]] = Counter()
        recorded: Counter[_Place] = Counter()
        printed: Counter[_Place] = Counter()
        changed: list[VoterMove] = []
        for voter_id, election_id, regency, district, village, seen in checks:
            old = now_in.get(voter_id, seen)
            if old == to_state:
                continue
            place = (election_id, regency, district, village)
            deltas[(place, old)] -= 1
            deltas[(place, to_state)] += 1
            if old == KtpState.BELUM_REKAM:
                recorded[place] += 1
            if to_state == KtpState.CARD_PRINTED:
                printed[place] += 1
            changed.append(
                VoterMove(
                    voter_id=voter_id,
                    election_id=election_id,
                    regency_id=regency,
                    ktp_state=to_state,
                    moved_at=recorded_at,
                )
            )
        VoterMove.objects.bulk_create(
            changed,
            update_conflicts=True,
            unique_fields=["voter"],
            update_fields=["ktp_state", "moved_at"],
            batch_size=1_000,
        )
        _shift_states(deltas)
        _count_days(day, recorded, printed)
        moved += len(changed)
    return moved


def voter_matched(*, election: Election, voter: Voter, old_state: str, ktp_state: str) -> None:
    """Count a voter a person matched to a resident in that resident's state."""
    if old_state == ktp_state:
        return
    _lock([int(election.pk)])
    place = (int(election.pk), voter.regency_id, voter.district_id, voter.village_id)
    _shift_states(Counter({(place, old_state): -1, (place, ktp_state): 1}))
