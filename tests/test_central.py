"""The simulated central system and state spellings."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from rekam.residents.central import CLOCK_SKEW, apply_updates, parse_ktp_state
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


def test_the_command_refuses_a_moment_in_the_future(lampung):
    recorded(3)
    ahead = timezone.localtime(timezone.now() + timedelta(days=3))
    with pytest.raises(CommandError, match="di masa depan"):
        call_command("advance_central", "--now", f"{ahead:%d-%m-%Y %H:%M}", "--no-progress")
    assert not RecordEvent.objects.exists()


def test_the_command_never_writes_an_event_later_than_now(lampung):
    # A record whose next simulated move falls a minute or two from now: a --now a few minutes
    # ahead would report it, though it has not happened yet.
    real = timezone.now().replace(microsecond=0)
    r = make_resident(ktp_state=KtpState.BIO_CAPTURED)
    since = None
    for k in range(1, 40_000):
        candidate = real - timedelta(seconds=7 * k)
        rng = random.Random(f"2020:{r.nik}:{KtpState.BIO_CAPTURED}:{candidate.timestamp():.6f}")
        step = next_step(KtpState.BIO_CAPTURED, rng)
        assert step is not None
        if (
            timedelta(minutes=1)
            < candidate + timedelta(seconds=step[0]) - real
            < timedelta(minutes=3)
        ):
            since = candidate
            break
    assert since is not None
    Resident.objects.filter(pk=r.pk).update(ktp_state_at=since)
    ahead = timezone.localtime(real + timedelta(minutes=5))
    call_command("advance_central", "--now", f"{ahead:%d-%m-%Y %H:%M}", "--no-progress")
    assert not RecordEvent.objects.filter(at__gt=timezone.now()).exists()
    r.refresh_from_db()
    assert r.ktp_state == KtpState.BIO_CAPTURED


def test_a_simulator_run_to_a_future_moment_writes_nothing_beyond_the_clock_skew(lampung):
    week_ago = timezone.now() - timedelta(days=7)
    for i in range(20):
        make_resident(
            birth_date=date(1990, 1, 1) + timedelta(days=i),
            ktp_state=KtpState.SENT_FOR_ENROLLMENT,
            ktp_state_at=week_ago,
        )
    result = apply_updates(SimulatedCentralSystem(now=timezone.now() + timedelta(days=60), seed=4))
    assert result.rejected > 0
    assert all("waktu status di masa depan" in i.reason for i in result.issues)
    limit = timezone.now() + CLOCK_SKEW
    assert not RecordEvent.objects.filter(at__gt=limit).exists()
    assert not Resident.objects.filter(ktp_state_at__gt=limit).exists()


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
