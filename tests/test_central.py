"""The simulated central system and state spellings."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from rekam.residents.central import apply_updates, parse_ktp_state
from rekam.residents.models import RecordEvent, Resident
from rekam.residents.services import check_move
from rekam.residents.simulator import SIMULATED_STATES, SimulatedCentralSystem, next_step
from rekam.residents.states import KtpState, MoveSource

from .factories import make_resident

WIB = ZoneInfo("Asia/Jakarta")
START = datetime(2020, 11, 1, 9, tzinfo=WIB)


def recorded(n: int, state: str = KtpState.BIO_CAPTURED) -> list[Resident]:
    return [
        make_resident(
            birth_date=date(1990, 1, 1) + timedelta(days=i), ktp_state=state, ktp_state_at=START
        )
        for i in range(n)
    ]


def test_every_drawn_move_is_one_the_table_lets_the_central_system_make():
    rng = random.Random(1)
    for state in SIMULATED_STATES:
        for _ in range(2000):
            step = next_step(state, rng)
            assert step is not None
            seconds, to = step
            assert seconds >= 0
            check_move(state, to, MoveSource.CENTRAL)


@pytest.mark.parametrize(
    "state", [KtpState.BELUM_REKAM, KtpState.PRINT_READY_RECORD, KtpState.DUPLICATE_RECORD]
)
def test_it_leaves_states_the_central_system_does_not_move(state):
    assert next_step(state, random.Random(1)) is None


def test_a_record_captured_a_moment_ago_does_not_move(lampung):
    recorded(3)
    system = SimulatedCentralSystem(now=START + timedelta(minutes=5), seed=1)
    assert list(system.updates()) == []


def test_it_is_deterministic_for_a_seed(lampung):
    recorded(40)
    now = START + timedelta(days=12)
    first = list(SimulatedCentralSystem(now=now, seed=7).updates())
    assert first == list(SimulatedCentralSystem(now=now, seed=7).updates())
    assert first != list(SimulatedCentralSystem(now=now, seed=8).updates())


def test_applying_it_never_breaks_the_table_and_ends_in_realistic_states(lampung):
    recorded(60)
    result = apply_updates(SimulatedCentralSystem(now=START + timedelta(days=60), seed=3))
    assert result.rejected == 0 and result.stale == 0
    for event in RecordEvent.objects.all():
        check_move(event.from_state, event.to_state, MoveSource.CENTRAL)
        assert event.actor_label == "simulator"
    states = list(Resident.objects.values_list("ktp_state", flat=True))
    # After two months nearly everyone has passed deduplication.
    assert states.count(KtpState.PRINT_READY_RECORD) >= 45
    assert KtpState.BIO_CAPTURED not in states


def test_advancing_in_steps_ends_where_advancing_at_once_does(lampung):
    people = recorded(30)
    for days in (3, 9, 20):
        apply_updates(SimulatedCentralSystem(now=START + timedelta(days=days), seed=5))
    stepped = dict(Resident.objects.values_list("nik", "ktp_state"))
    Resident.objects.update(ktp_state=KtpState.BIO_CAPTURED, ktp_state_at=START)
    RecordEvent.objects.all().delete()
    apply_updates(SimulatedCentralSystem(now=START + timedelta(days=20), seed=5))
    assert dict(Resident.objects.values_list("nik", "ktp_state")) == stepped
    assert len(stepped) == len(people)


def test_it_only_moves_the_residents_it_is_given(lampung):
    a, _b = recorded(2)
    system = SimulatedCentralSystem(
        now=START + timedelta(days=30), seed=1, residents=Resident.objects.filter(pk=a.pk)
    )
    assert {u.nik for u in system.updates()} == {a.nik}


def test_the_command_advances_to_a_given_moment(lampung, capsys):
    recorded(5)
    call_command("advance_central", "--now", "2020-12-31 12:00", "--seed", "2", "--no-progress")
    assert "Status berpindah:" in capsys.readouterr().out
    assert not Resident.objects.filter(ktp_state=KtpState.BIO_CAPTURED).exists()


@pytest.mark.parametrize(
    ("text", "state"),
    [
        ("BELUM REKAM", KtpState.BELUM_REKAM),
        ("belum_rekam", KtpState.BELUM_REKAM),
        ("PRR", KtpState.PRINT_READY_RECORD),
        ("Sudah Cetak", KtpState.CARD_PRINTED),
        ("CETAK", KtpState.CARD_PRINTED),
        ("sent for enrollment", KtpState.SENT_FOR_ENROLLMENT),
        ("ADJUDICATE_RECORD", KtpState.ADJUDICATE_RECORD),
        ("terbang", None),
    ],
)
def test_state_spellings(text, state):
    assert parse_ktp_state(text) == state
