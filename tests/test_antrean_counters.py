"""Counters: who is called next, recalls, no-shows, transfers and outcomes, all as events."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from rekam.antrean.models import Outcome, Priority, State, TicketEvent
from rekam.antrean.services import (
    QueueRefused,
    ticket_book_online,
    ticket_call_next,
    ticket_check_in,
    ticket_close,
    ticket_issue_walkin,
    ticket_no_show,
    ticket_recall,
    ticket_set_nik,
    ticket_transfer,
)
from rekam.residents.models import RecordEvent
from rekam.residents.states import KtpState
from rekam.servicepoints.models import Service
from rekam.suket.services import suket_issue
from rekam.suket.stock import blank_receive, card_print

from .factories import make_resident
from .test_antrean_support import WORKDAY, at, make_point, session_at
from .test_invitations_support import clock_at
from .test_suket_support import make_pilkada, ready_office

pytestmark = pytest.mark.django_db


@pytest.fixture
def point(personas):
    return make_point(personas.bdl_office, counters=2)


def walk_in(point, personas, hh, mm, *, service=Service.RECORDING, priority="", nik=""):
    return ticket_issue_walkin(
        service_point=point,
        service=service,
        priority=priority,
        nik=nik,
        acting_user=personas.bdl_queue,
        at=at(WORKDAY, hh, mm),
    )


def call(point, personas, counter=1, hh=9, mm=30, **kw):
    return ticket_call_next(
        service_point=point,
        counter=counter,
        acting_user=personas.bdl_operator,
        at=at(WORKDAY, hh, mm),
        **kw,
    )


def test_the_earliest_arrival_window_is_called_first(point, personas):
    late_window = ticket_book_online(
        resident_id=make_resident().pk,
        session_id=session_at(point, at(WORKDAY, 10)).pk,
        service=Service.RECORDING,
        at=at(WORKDAY, 7),
    )
    ticket_check_in(  # early for 10:00, inside the quarter hour
        ticket=late_window,
        service_point=point,
        acting_user=personas.bdl_queue,
        at=at(WORKDAY, 9, 50),
    )
    walk = walk_in(point, personas, 9, 55)  # window 09:00
    first = call(point, personas, hh=9, mm=56)
    assert first is not None and first.label == walk.label


def test_priority_people_are_called_before_others(point, personas):
    walk_in(point, personas, 9, 0)
    walk_in(point, personas, 9, 1)
    elderly = walk_in(point, personas, 9, 2, priority=Priority.ELDERLY)
    first = call(point, personas)
    assert first is not None and first.pk == elderly.pk


def test_calling_puts_the_number_at_the_counter_and_records_an_event(point, personas):
    ticket = walk_in(point, personas, 9, 0)
    called = call(point, personas, counter=2)
    assert called is not None and called.pk == ticket.pk
    assert (called.state, called.counter, called.calls) == (State.CALLED, 2, 1)
    event = TicketEvent.objects.get(ticket=ticket, kind="called")
    assert (event.counter, event.actor, event.at) == (2, personas.bdl_operator, at(WORKDAY, 9, 30))


def test_two_counters_never_call_the_same_person(point, personas):
    one = walk_in(point, personas, 9, 0)
    two = walk_in(point, personas, 9, 1)
    a = call(point, personas, counter=1)
    b = call(point, personas, counter=2)
    assert a is not None and b is not None
    assert {a.pk, b.pk} == {one.pk, two.pk}


def test_a_counter_finishes_its_number_before_calling_the_next(point, personas):
    walk_in(point, personas, 9, 0)
    walk_in(point, personas, 9, 1)
    current = call(point, personas)
    assert current is not None
    with pytest.raises(QueueRefused, match=f"masih melayani {current.label}"):
        call(point, personas)


def test_nobody_waiting_gives_no_number(point, personas):
    assert call(point, personas) is None


def test_booked_numbers_not_yet_at_the_gate_are_not_called(point, personas):
    ticket_book_online(
        resident_id=make_resident().pk,
        session_id=session_at(point, at(WORKDAY, 9)).pk,
        service=Service.RECORDING,
        at=at(WORKDAY, 7),
    )
    assert call(point, personas) is None


def test_recall_counts_another_call_event(point, personas):
    walk_in(point, personas, 9, 0)
    ticket = call(point, personas)
    assert ticket is not None
    ticket_recall(ticket=ticket, acting_user=personas.bdl_operator, at=at(WORKDAY, 9, 32))
    ticket.refresh_from_db()
    assert ticket.calls == 2
    assert TicketEvent.objects.filter(ticket=ticket, kind="recalled").count() == 1


def test_a_no_show_frees_the_counter(point, personas):
    walk_in(point, personas, 9, 0)
    nxt = walk_in(point, personas, 9, 1)
    ticket = call(point, personas)
    assert ticket is not None
    ticket_no_show(ticket=ticket, acting_user=personas.bdl_operator, at=at(WORKDAY, 9, 35))
    ticket.refresh_from_db()
    assert ticket.state == State.NO_SHOW and ticket.closed_at == at(WORKDAY, 9, 35)
    following = call(point, personas, mm=36)
    assert following is not None and following.pk == nxt.pk


def test_closing_records_the_outcome(point, personas):
    resident = make_resident()
    ticket, _ = _close_as_recorded(point, personas, resident)
    ticket_close(
        ticket=ticket,
        outcome=Outcome.RECORDED,
        note="Perekaman lengkap",
        acting_user=personas.bdl_operator,
        at=at(WORKDAY, 9, 41),
    )
    ticket.refresh_from_db()
    assert (ticket.state, ticket.outcome, ticket.note) == (
        State.DONE,
        "recorded",
        "Perekaman lengkap",
    )
    assert TicketEvent.objects.get(ticket=ticket, kind="closed").detail == "recorded"


def _close_as_recorded(point, personas, resident, service=Service.RECORDING):
    """A walk-in without NIK whose NIK the counter notes once called (the gate would send some
    of these residents to another service)."""
    ticket_issue_walkin(
        service_point=point,
        service=service,
        acting_user=personas.bdl_queue,
        at=at(WORKDAY, 9, 0),
    )
    ticket = call(point, personas)
    assert ticket is not None
    ticket = ticket_set_nik(ticket=ticket, nik=resident.nik, acting_user=personas.bdl_operator)
    return ticket, lambda: ticket_close(
        ticket=ticket,
        outcome=Outcome.RECORDED,
        acting_user=personas.bdl_operator,
        at=at(WORKDAY, 9, 41),
    )


@pytest.mark.parametrize(
    "state", [KtpState.BELUM_REKAM, KtpState.ENROLL_FAILURE, KtpState.SEARCH_FAILURE]
)
def test_closing_as_recorded_moves_the_record_to_biometrics_captured(point, personas, state):
    resident = make_resident(ktp_state=state)
    ticket, close = _close_as_recorded(point, personas, resident)
    closed = close()
    resident.refresh_from_db()
    assert resident.ktp_state == KtpState.BIO_CAPTURED
    assert closed.record == "Status KTP-el: Sudah rekam biometrik."
    event = RecordEvent.objects.get(resident=resident)
    assert (event.from_state, event.to_state, event.actor) == (
        state,
        KtpState.BIO_CAPTURED,
        personas.bdl_operator,
    )
    assert event.at == at(WORKDAY, 9, 41)
    assert f"loket 1, nomor {ticket.label}" in event.reason


def test_a_refused_recording_keeps_the_number_at_the_counter(point, personas):
    child = make_resident(birth_date=date(2015, 1, 5))  # never married, years from 17
    ticket, close = _close_as_recorded(point, personas, child)
    with pytest.raises(QueueRefused, match="belum wajib KTP-el"):
        close()
    ticket.refresh_from_db()
    child.refresh_from_db()
    assert (ticket.state, child.ktp_state) == (State.CALLED, KtpState.BELUM_REKAM)
    assert not RecordEvent.objects.filter(resident=child).exists()


def test_a_record_already_past_recording_is_left_as_it_is(point, personas):
    resident = make_resident(ktp_state=KtpState.PRINT_READY_RECORD)
    ticket, close = _close_as_recorded(point, personas, resident)
    assert close().record == "Status KTP-el sudah Siap cetak (PRR): tidak diubah."
    ticket.refresh_from_db()
    assert ticket.state == State.DONE
    assert not RecordEvent.objects.filter(resident=resident).exists()


def _no_nik_at_counter(point, personas):
    walk_in(point, personas, 9, 0)
    ticket = call(point, personas)
    assert ticket is not None
    return ticket


@pytest.mark.parametrize("outcome", [Outcome.RECORDED, Outcome.PRINTED, Outcome.SUKET])
def test_a_number_without_a_residents_nik_does_not_close_as_served_for_a_record(
    point, personas, outcome
):
    ticket = _no_nik_at_counter(point, personas)
    close = {"ticket": ticket, "outcome": outcome, "acting_user": personas.bdl_operator}
    with pytest.raises(QueueRefused, match="belum mencatat NIK penduduk: isi NIK-nya"):
        ticket_close(**close, at=at(WORKDAY, 9, 41))
    # A NIK the registry does not know is no better: the record cannot follow.
    ticket_set_nik(ticket=ticket, nik="1871015705900999", acting_user=personas.bdl_operator)
    with pytest.raises(QueueRefused, match="tidak ditemukan di data penduduk"):
        ticket_close(**close, at=at(WORKDAY, 9, 42))
    ticket.refresh_from_db()
    assert ticket.state == State.CALLED
    ticket_close(**{**close, "outcome": Outcome.OTHER}, note="tanpa NIK", at=at(WORKDAY, 9, 43))
    ticket.refresh_from_db()
    assert (ticket.state, ticket.outcome) == (State.DONE, Outcome.OTHER)


def test_a_resident_of_another_regency_does_not_close_as_recorded(point, personas):
    visitor = make_resident("18.01.04.2001")  # Lampung Selatan
    ticket, close = _close_as_recorded(point, personas, visitor)
    with pytest.raises(QueueRefused, match="kabupaten/kota lain") as refused:
        close()
    assert visitor.name not in refused.value.message
    visitor.refresh_from_db()
    ticket.refresh_from_db()
    assert (visitor.ktp_state, ticket.state) == (KtpState.BELUM_REKAM, State.CALLED)
    assert ticket.resident_id == visitor.pk


def _close(point, personas, resident, outcome, service=Service.RECORDING):
    ticket, _ = _close_as_recorded(point, personas, resident, service)
    return ticket, lambda: ticket_close(
        ticket=ticket, outcome=outcome, acting_user=personas.bdl_operator, at=at(WORKDAY, 9, 41)
    )


def test_a_card_must_be_printed_before_the_number_closes_as_printed(point, personas):
    resident = make_resident(ktp_state=KtpState.PRINT_READY_RECORD)
    ticket, close = _close(point, personas, resident, Outcome.PRINTED, Service.PRINTING)
    with pytest.raises(QueueRefused, match="Cetak lewat halaman Cetak atau Suket"):
        close()
    ticket.refresh_from_db()
    assert ticket.state == State.CALLED
    blank_receive(office=personas.bdl_office, count=1, batch="B")
    card_print(
        resident=resident,
        card_serial="K1",
        acting_user=personas.bdl_operator,
        at=at(WORKDAY, 9, 38),
    )
    close()
    ticket.refresh_from_db()
    assert (ticket.state, ticket.outcome) == (State.DONE, Outcome.PRINTED)


def test_a_card_printed_another_day_does_not_close_a_number_as_printed(point, personas):
    resident = make_resident(ktp_state=KtpState.PRINT_READY_RECORD)
    blank_receive(office=personas.bdl_office, count=1, batch="B")
    card_print(
        resident=resident,
        card_serial="K1",
        acting_user=personas.bdl_operator,
        at=at(WORKDAY - timedelta(days=1), 14),
    )
    ticket, close = _close(point, personas, resident, Outcome.PRINTED, Service.PRINTING)
    with pytest.raises(QueueRefused, match="tercatat dicetak hari ini"):
        close()
    ticket.refresh_from_db()
    assert ticket.state == State.CALLED


def test_a_print_ready_resident_of_another_regency_does_not_close_as_printed(point, personas):
    visitor = make_resident("18.01.04.2001", ktp_state=KtpState.PRINT_READY_RECORD)
    ticket, close = _close(point, personas, visitor, Outcome.PRINTED, Service.PRINTING)
    with pytest.raises(QueueRefused, match="kantor ini tidak dapat mencetak kartunya"):
        close()
    ticket.refresh_from_db()
    assert ticket.state == State.CALLED and not ticket.outcome


def test_a_suket_must_be_issued_before_the_number_closes_with_it(point, personas):
    resident = make_resident(ktp_state=KtpState.SENT_FOR_ENROLLMENT)
    ticket, close = _close(point, personas, resident, Outcome.SUKET, Service.SUKET)
    with pytest.raises(QueueRefused, match="Belum ada Suket yang berlaku"):
        close()
    ready_office(personas.bdl_office, blanks=0)
    issued = suket_issue(resident=resident, election=make_pilkada(), at=at(WORKDAY, 9, 35))
    assert issued.suket is not None
    close()
    ticket.refresh_from_db()
    assert ticket.outcome == Outcome.SUKET


def test_a_transfer_sends_the_number_back_to_wait_for_another_service(point, personas):
    walk_in(point, personas, 9, 0)
    ticket = call(point, personas)
    assert ticket is not None
    ticket_transfer(
        ticket=ticket,
        service=Service.SUKET,
        acting_user=personas.bdl_operator,
        at=at(WORKDAY, 9, 40),
    )
    ticket.refresh_from_db()
    assert (ticket.state, ticket.service, ticket.label) == (State.WAITING, "suket", "A-001")
    suket_desk = call(point, personas, counter=2, mm=41, services=[Service.SUKET])
    assert suket_desk is not None and suket_desk.pk == ticket.pk


def test_a_counter_may_serve_only_some_services(point, personas):
    walk_in(point, personas, 9, 0, service=Service.RECORDING)
    printing = walk_in(point, personas, 9, 1, service=Service.PRINTING)
    called = call(point, personas, services=[Service.PRINTING])
    assert called is not None and called.pk == printing.pk


def test_it_refuses_a_queue_officer_at_a_counter(point, personas):
    walk_in(point, personas, 9, 0)
    with pytest.raises(PermissionDenied):
        ticket_call_next(
            service_point=point, counter=1, acting_user=personas.bdl_queue, at=at(WORKDAY, 9, 30)
        )


def test_it_refuses_a_counter_the_point_does_not_have(point, personas):
    with pytest.raises(QueueRefused, match="loket 1-2"):
        call(point, personas, counter=3)


def test_the_counter_page_shows_the_called_residents_ktp_el_state(client, point, personas):
    own = make_resident(name="Warga Kota", ktp_state=KtpState.PRINT_READY_RECORD)
    visitor = make_resident(
        "18.01.04.2001", name="Warga Lamsel", ktp_state=KtpState.ADJUDICATE_RECORD
    )
    for resident in (own, visitor):
        walk_in(point, personas, 9, 0, service=Service.OTHER, nik=resident.nik)
    url = reverse("antrean_counter", args=[point.code, 1])
    client.force_login(personas.bdl_operator)
    with clock_at(at(WORKDAY, 9, 5)):
        client.post(url, {"action": "call"})
        html = client.get(url).content.decode()
        assert 'data-testid="ktp-state"' in html and "Siap cetak (PRR)" in html
        client.post(url, {"action": "close", "outcome": "other"})
        client.post(url, {"action": "call"})
        html = client.get(url).content.decode()
    # Another regency's resident: neither name nor state.
    assert visitor.nik in html and 'data-testid="ktp-state"' not in html
    assert "Warga Lamsel" not in html
    assert str(KtpState.ADJUDICATE_RECORD.label) not in html
