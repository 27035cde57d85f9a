"""The dashboard's counts under parallel clients: record moves in many transactions at once,
crossing villages in opposite orders, neither deadlock nor lose a count (SQLite and PostgreSQL;
see ``test_suket_concurrency`` for how the clients get their connections)."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from rekam.reporting.models import VoterStateCount
from rekam.residents.models import Resident
from rekam.residents.services import record_move
from rekam.residents.states import KtpState, MoveSource
from rekam.voters.importer import dpt_import
from rekam.voters.models import VoterCheck
from rekam.voters.reconcile import reconcile

from .test_reporting_support import hajimena, kedaton
from .test_suket_concurrency import in_thread, parallel_db, run_clients  # noqa: F401
from .test_voters_support import HAJIMENA, make_election, resident, voter_row, write_dpt

pytestmark = pytest.mark.django_db(transaction=True)

CLIENTS = 6
PER_CLIENT = 4  # residents each client moves, half in each village


def truth() -> Counter[tuple[str, str]]:
    """Voters per village and their resident's state now, counted from the records."""
    states = dict(Resident.objects.values_list("pk", "ktp_state"))
    return Counter(
        (village, states.get(resident_id, "") if resident_id else "")
        for village, resident_id in VoterCheck.objects.values_list(
            "voter__village_id", "resident_id"
        )
    )


def counted() -> Counter[tuple[str, str]]:
    return Counter(
        {
            (village, state): n
            for village, state, n in VoterStateCount.objects.values_list(
                "village_id", "ktp_state", "voters"
            )
            if n
        }
    )


def test_parallel_moves_crossing_villages_keep_exact_counts(
    lampung,
    tmp_path,
    parallel_db,  # noqa: F811
):
    election = make_election()
    election.polling_day = timezone.localdate() + timedelta(days=10)
    election.save()
    born = date(1980, 1, 1)
    n = CLIENTS * PER_CLIENT // 2
    sent = KtpState.SENT_FOR_ENROLLMENT
    here = [resident(kedaton(s), birth_date=born, sex="L", ktp_state=sent) for s in range(1, n + 1)]
    there = [
        resident(hajimena(s), village=HAJIMENA, birth_date=born, sex="L", ktp_state=sent)
        for s in range(1, n + 1)
    ]
    rows = [voter_row(r.nik, birth="01-01-1980", sex="L") for r in here]
    rows += [voter_row(r.nik, birth="01-01-1980", sex="L", village=HAJIMENA) for r in there]
    dpt_import(path=write_dpt(tmp_path / "dpt.csv", rows), election=election)
    reconcile(election=election)
    assert counted() == truth()
    parallel_db()

    def client(i: int) -> None:
        mine = PER_CLIENT // 2
        a = here[i * mine : (i + 1) * mine]
        b = there[i * mine : (i + 1) * mine]
        # Half the clients go village A then B, the other half B then A, in one transaction.
        order = [*a, *b] if i % 2 else [*b, *a]
        for state in (KtpState.RECEIVED_AT_CENTRAL, KtpState.PRINT_READY_RECORD):
            with transaction.atomic():
                for person in order:
                    record_move(resident=person, to_state=state, source=MoveSource.CENTRAL)

    _, errors = run_clients(client, clients=CLIENTS)
    assert errors == []

    def check() -> tuple[Counter[tuple[str, str]], Counter[tuple[str, str]]]:
        return counted(), truth()

    now, expected = in_thread(check)
    assert now == expected
    assert now[(here[0].village_id, KtpState.PRINT_READY_RECORD)] == n
