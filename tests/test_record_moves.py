from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from rekam.elections.models import Election
from rekam.regions.models import Region
from rekam.residents.models import RecordEvent
from rekam.residents.services import MoveRefused, record_move
from rekam.residents.signals import records_moved
from rekam.residents.states import ALLOWED_MOVES, KtpState, MoveSource

from .factories import make_resident


def _born_years_ago(years: int, plus_days: int = 0) -> date:
    today = timezone.localdate()
    return today.replace(year=today.year - years) + timedelta(days=plus_days)


def test_every_state_has_a_row_in_the_table():
    assert set(ALLOWED_MOVES) == set(KtpState.values)


def test_an_operator_records_biometrics_and_an_event_is_written(personas):
    r = make_resident()
    event = record_move(
        resident=r, to_state=KtpState.BIO_CAPTURED, acting_user=personas.bdl_operator
    )
    r.refresh_from_db()
    assert r.ktp_state == KtpState.BIO_CAPTURED
    assert (event.from_state, event.to_state, event.actor) == (
        KtpState.BELUM_REKAM,
        KtpState.BIO_CAPTURED,
        personas.bdl_operator,
    )


def test_a_child_who_need_not_hold_a_ktp_el_is_not_recorded(personas):
    child = make_resident(birth_date=_born_years_ago(6))
    with pytest.raises(MoveRefused, match="belum wajib KTP-el"):
        record_move(
            resident=child, to_state=KtpState.BIO_CAPTURED, acting_user=personas.bdl_operator
        )
    assert not RecordEvent.objects.exists()
    # Married at 16, the duty holds.
    married = make_resident(birth_date=_born_years_ago(16), marital_status="KAWIN")
    record_move(resident=married, to_state=KtpState.BIO_CAPTURED, acting_user=personas.bdl_operator)


def test_a_first_time_voter_records_before_turning_17_on_polling_day(personas):
    # Turns 17 in 20 days; an election of Bandar Lampung polls in 30.
    teen = make_resident(birth_date=_born_years_ago(17, plus_days=20))
    with pytest.raises(MoveRefused, match="belum wajib KTP-el"):
        record_move(
            resident=teen, to_state=KtpState.BIO_CAPTURED, acting_user=personas.bdl_operator
        )
    polling = timezone.localdate() + timedelta(days=30)
    election = Election.objects.create(
        name="Pilkada",
        slug="pilkada",
        polling_day=polling,
        suket_issue_until=polling,
        suket_valid_until=polling,
    )
    election.regions.add(Region.objects.get(code="18.71"))
    record_move(resident=teen, to_state=KtpState.BIO_CAPTURED, acting_user=personas.bdl_operator)


def test_a_forbidden_move_is_refused_and_nothing_changes(personas):
    r = make_resident()
    with pytest.raises(MoveRefused, match="tidak diizinkan"):
        record_move(resident=r, to_state=KtpState.CARD_PRINTED, acting_user=personas.bdl_operator)
    r.refresh_from_db()
    assert r.ktp_state == KtpState.BELUM_REKAM
    assert not RecordEvent.objects.exists()


def test_an_office_cannot_make_a_central_move(personas):
    r = make_resident(ktp_state=KtpState.BIO_CAPTURED)
    with pytest.raises(MoveRefused, match="sistem pusat"):
        record_move(
            resident=r, to_state=KtpState.PRINT_READY_RECORD, acting_user=personas.bdl_operator
        )


def test_the_central_system_moves_without_a_user(personas):
    r = make_resident(ktp_state=KtpState.BIO_CAPTURED)
    record_move(
        resident=r,
        to_state=KtpState.PRINT_READY_RECORD,
        source=MoveSource.CENTRAL,
        actor_label="siak-export.csv",
    )
    assert r.ktp_state == KtpState.PRINT_READY_RECORD


def test_an_operator_of_another_regency_is_refused(personas):
    r = make_resident()
    with pytest.raises(PermissionDenied):
        record_move(
            resident=r, to_state=KtpState.BIO_CAPTURED, acting_user=personas.lamsel_operator
        )


def test_a_queue_officer_may_not_record(personas):
    r = make_resident()
    with pytest.raises(PermissionDenied):
        record_move(resident=r, to_state=KtpState.BIO_CAPTURED, acting_user=personas.bdl_queue)


@contextmanager
def announcements() -> Iterator[list[tuple[str, list[int], datetime, str]]]:
    """What ``records_moved`` announces meanwhile, as ``(to_state, ids, at, label)``."""
    sent: list[tuple[str, list[int], datetime, str]] = []

    def listen(sender, *, resident_ids, to_state, at, label, **kwargs):
        sent.append((to_state, sorted(resident_ids), at, label))

    records_moved.connect(listen, dispatch_uid="test-announcements")
    try:
        yield sent
    finally:
        records_moved.disconnect(dispatch_uid="test-announcements")


def test_a_move_is_announced_once_with_the_resident_and_the_new_state(personas):
    r = make_resident()
    with announcements() as sent:
        event = record_move(
            resident=r, to_state=KtpState.BIO_CAPTURED, acting_user=personas.bdl_operator
        )
    assert sent == [(KtpState.BIO_CAPTURED, [r.pk], event.at, "bdl_operator")]


def test_a_refused_move_is_not_announced(personas):
    r = make_resident()
    with announcements() as sent, pytest.raises(MoveRefused):
        record_move(resident=r, to_state=KtpState.CARD_PRINTED, acting_user=personas.bdl_operator)
    assert sent == []


def test_a_listener_that_fails_undoes_the_move(personas):
    def fail(sender, **kwargs):
        raise RuntimeError("listener failed")

    r = make_resident()
    records_moved.connect(fail, dispatch_uid="test-fail")
    try:
        with pytest.raises(RuntimeError):
            record_move(
                resident=r, to_state=KtpState.BIO_CAPTURED, acting_user=personas.bdl_operator
            )
    finally:
        records_moved.disconnect(dispatch_uid="test-fail")
    r.refresh_from_db()
    assert r.ktp_state == KtpState.BELUM_REKAM and not RecordEvent.objects.exists()
