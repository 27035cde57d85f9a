"""Numbers from every channel: online, the gate, invitations; capacity is never exceeded."""

from __future__ import annotations

import re
from datetime import time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rekam.antrean import services
from rekam.antrean.models import Channel, Session, State, Ticket, TicketEvent
from rekam.antrean.services import (
    InvitationClaim,
    QueueRefused,
    checkin_invitation,
    invitation_resolver,
    invitation_resolver_set,
    invitation_seat_book,
    ticket_book_online,
    ticket_cancel,
    ticket_check_in,
    ticket_from_qr,
    ticket_issue_walkin,
    tickets_confirm_due,
)
from rekam.notifications.models import Message
from rekam.servicepoints.models import Service

from .factories import make_resident
from .test_antrean_support import WORKDAY, at, make_point, session_at

pytestmark = pytest.mark.django_db

EVENING_BEFORE = at(WORKDAY - timedelta(days=1), 19)


@pytest.fixture
def point(personas):
    # 1 counter x 6 per hour: six seats per session, two of them kept for invitations.
    return make_point(personas.bdl_office, counters=1, invitation_percent=34)


def book(point, resident, hh=9, service=Service.RECORDING, now=EVENING_BEFORE):
    return ticket_book_online(
        session_id=session_at(point, at(WORKDAY, hh)).pk,
        service=service,
        resident_id=resident.pk,
        at=now,
    )


def test_an_online_number_has_a_prefix_window_estimate_and_confirmation(
    point, django_capture_on_commit_callbacks
):
    resident = make_resident(name="Siti Aminah", phone="+6281234567890")
    with django_capture_on_commit_callbacks(execute=True):
        ticket = book(point, resident)
    assert ticket.label == "A-001"
    assert (ticket.window_start, ticket.window_end) == (at(WORKDAY, 9), at(WORKDAY, 10))
    assert ticket.estimated_at == at(WORKDAY, 9)
    assert ticket.state == State.BOOKED and ticket.channel == Channel.ONLINE
    message = Message.objects.get(idempotency_key=f"antrean:{ticket.public_code}")
    assert message.template == "queue_ticket" and message.resident == resident
    assert message.data["ticket"] == "A-001" and message.data["day"] == "2020-12-02"
    ticket.refresh_from_db()
    assert not ticket.confirm_due


def test_a_number_left_unconfirmed_is_confirmed_once_by_the_worker(point, settings):
    settings.ANTREAN_CONFIRM_ON_COMMIT = False
    ticket = book(point, make_resident(name="Siti Aminah"))
    assert ticket.confirm_due and not Message.objects.exists()
    assert tickets_confirm_due() == 1
    assert tickets_confirm_due() == 0
    assert Message.objects.get().idempotency_key == f"antrean:{ticket.public_code}"


def test_the_worker_confirms_a_batch_in_the_same_few_statements_however_large(point, settings):
    settings.ANTREAN_CONFIRM_ON_COMMIT = False
    statements = []
    for hours in ([9], [10, 11, 12]):
        tickets = [
            book(point, make_resident(name=f"R{h}{i}"), hh=h) for h in hours for i in range(4)
        ]
        with CaptureQueriesContext(connection) as queries:
            assert tickets_confirm_due() == len(tickets)
        statements.append(len(queries))
    # A savepoint, the tickets claimed and read, marked, the e-mail lookup, then the outbox's
    # savepoint around one insert, and the releases.
    assert statements == [8, 8]
    assert not Ticket.objects.filter(confirm_due=True).exists()
    messages = {m.idempotency_key: m for m in Message.objects.all()}
    assert len(messages) == 16
    names = dict(Ticket.objects.values_list("public_code", "resident__name"))
    for ticket in Ticket.objects.all():
        message = messages[f"antrean:{ticket.public_code}"]
        assert message.resident_id == ticket.resident_id
        assert message.recipient_name == names[ticket.public_code]
        assert message.data["ticket"] == ticket.label and message.data["place"] == point.name
        assert message.channels == ["whatsapp", "sms"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements")
def test_a_connection_prepares_the_booking_statement_once(point):
    with connection.cursor() as cursor:  # as a new connection, whatever ran before
        cursor.execute("DEALLOCATE ALL")
    services._prepared_on.pop(connection.connection, None)
    prepared = []
    for name in ("R1", "R2"):
        with CaptureQueriesContext(connection) as queries:
            book(point, make_resident(name=name))
        prepared.append(
            [q["sql"].split(" (")[0] for q in queries if q["sql"].startswith("PREPARE")]
        )
    [[first], again] = prepared
    assert re.fullmatch(r"PREPARE antrean_issue_recording_011_[0-9a-f]{8}", first)
    assert again == []


def test_a_confirmation_the_outbox_refuses_does_not_hold_back_the_others(point, settings):
    settings.ANTREAN_CONFIRM_ON_COMMIT = False
    good = [book(point, make_resident(name=f"R{i}")) for i in range(2)]
    book(point, make_resident(name=""))  # a message needs the name
    assert tickets_confirm_due() == 2
    assert tickets_confirm_due() == 0
    assert sorted(Message.objects.values_list("idempotency_key", flat=True)) == sorted(
        f"antrean:{t.public_code}" for t in good
    )


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements")
def test_a_booking_survives_a_database_session_that_forgot_its_prepared_statements(point):
    assert book(point, make_resident(name="R1")).label == "A-001"
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    assert book(point, make_resident(name="R2")).label == "A-002"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements")
def test_losing_one_prepared_statement_leaves_the_others_usable(point):
    book(point, make_resident(name="R1"))
    book(point, make_resident(name="P1"), service=Service.PRINTING)
    statement = services._prepared_statement(
        Service.RECORDING, invitation=False, horizon=True, resident=True
    )
    with connection.cursor() as cursor:
        cursor.execute(f"DEALLOCATE {statement.name}")
    assert book(point, make_resident(name="R2")).label == "A-002"
    assert book(point, make_resident(name="P2"), service=Service.PRINTING).label == "B-002"


def test_numbers_count_up_per_service_and_estimates_per_counter_round(point):
    labels = [book(point, make_resident(name=f"R{i}")).label for i in range(3)]
    printing = book(point, make_resident(name="P"), service=Service.PRINTING)
    assert labels == ["A-001", "A-002", "A-003"]
    assert printing.label == "B-001"
    # One counter, 10 minutes each: the fourth person of the session at 09:30.
    assert printing.estimated_at == at(WORKDAY, 9, 30)


def test_it_refuses_a_second_active_number_for_the_same_nik_on_a_day(point):
    resident = make_resident()
    first = book(point, resident)
    with pytest.raises(QueueRefused, match=f"sudah memiliki nomor antrean aktif {first.label}"):
        book(point, resident, hh=11)
    assert Ticket.objects.count() == 1
    assert session_at(point, at(WORKDAY, 11)).public_taken == 0


def test_a_cancelled_number_frees_the_nik_and_the_seat_but_not_its_number(point):
    resident = make_resident()
    first = book(point, resident)
    ticket_cancel(ticket=first, at=EVENING_BEFORE)
    second = book(point, resident)
    assert second.label == "A-002"
    assert session_at(point, at(WORKDAY, 9)).public_taken == 1


def test_it_refuses_an_online_number_past_the_public_seats(point):
    for i in range(4):
        book(point, make_resident(name=f"R{i}"))
    with pytest.raises(QueueRefused, match="sudah penuh"):
        book(point, make_resident(name="Kelima"))
    session = session_at(point, at(WORKDAY, 9))
    assert (session.capacity, session.invitation_capacity, session.public_taken) == (6, 2, 4)


def test_invitations_use_their_share_and_then_free_public_seats(point):
    session = session_at(point, at(WORKDAY, 9))
    for i in range(3):
        invitation_seat_book(session=session, reference=f"inv-{i}", at=EVENING_BEFORE)
    with pytest.raises(QueueRefused):
        for i in range(4):
            book(point, make_resident(name=f"R{i}"))
    session.refresh_from_db()
    assert (session.invitation_taken, session.public_taken) == (3, 3)
    with pytest.raises(QueueRefused, match="juga untuk undangan"):
        invitation_seat_book(session=session, reference="inv-x", at=EVENING_BEFORE)


def test_booking_an_invitation_twice_returns_the_same_number(point):
    session = session_at(point, at(WORKDAY, 9))
    first = invitation_seat_book(session=session, reference="inv-1", at=EVENING_BEFORE)
    again = invitation_seat_book(session=session, reference="inv-1", at=EVENING_BEFORE)
    assert first.pk == again.pk
    session.refresh_from_db()
    assert session.invitation_taken == 1


def test_it_refuses_a_session_that_has_ended(point):
    with pytest.raises(QueueRefused, match="sudah lewat"):
        book(point, make_resident(), hh=9, now=at(WORKDAY, 10, 5))


def test_it_refuses_a_service_the_point_does_not_offer(point):
    point.offers_suket = False
    point.save()
    with pytest.raises(QueueRefused, match="tidak melayani Suket"):
        book(point, make_resident(), service=Service.SUKET)


def test_a_walk_in_joins_the_session_running_now(point, personas):
    ticket = ticket_issue_walkin(
        service_point=point,
        service=Service.PRINTING,
        acting_user=personas.bdl_queue,
        at=at(WORKDAY, 9, 5),
    )
    assert ticket.state == State.WAITING
    assert ticket.window_start == at(WORKDAY, 9)
    assert ticket.checked_in_at == at(WORKDAY, 9, 5)
    assert ticket.channel == Channel.GATE and ticket.issued_by == personas.bdl_queue


def test_a_walk_in_is_told_to_come_back_when_the_session_is_full(point, personas):
    for i in range(4):
        book(point, make_resident(name=f"R{i}"))
    nine = session_at(point, at(WORKDAY, 9))
    for i in range(2):  # invitees numbered: the share is theirs
        invitation_seat_book(session=nine, reference=f"inv-{i}", at=EVENING_BEFORE)
    ticket = ticket_issue_walkin(
        service_point=point,
        service=Service.RECORDING,
        acting_user=personas.bdl_queue,
        at=at(WORKDAY, 9, 5),
    )
    assert ticket.state == State.BOOKED  # not inside: they come back
    assert ticket.window_start == at(WORKDAY, 10)
    assert session_at(point, at(WORKDAY, 9)).public_taken == 4


def test_walk_ins_stop_when_the_projected_call_passes_closing(personas):
    point = make_point(personas.bdl_office, counters=1, hours=(time(8, 0), time(10, 0)))
    queue = personas.bdl_queue
    issued = []
    with pytest.raises(QueueRefused, match=r"melewati jam tutup \(10.00\)"):
        for _ in range(20):
            issued.append(
                ticket_issue_walkin(
                    service_point=point,
                    service="recording",
                    acting_user=queue,
                    at=at(WORKDAY, 9, 0),
                )
            )
    # Six people for the last hour fill it exactly: one counter, 10 minutes each.
    assert len(issued) == 6


def test_a_walk_in_with_a_nik_is_refused_when_that_nik_has_a_number(point, personas):
    resident = make_resident()
    book(point, resident)
    with pytest.raises(QueueRefused, match="sudah memiliki nomor"):
        ticket_issue_walkin(
            service_point=point,
            service=Service.RECORDING,
            nik=resident.nik,
            acting_user=personas.bdl_queue,
            at=at(WORKDAY, 9, 5),
        )


def test_it_refuses_a_gate_outside_the_officers_jurisdiction(point, personas):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        ticket_issue_walkin(
            service_point=point,
            service=Service.RECORDING,
            acting_user=personas.lamsel_operator,
            at=at(WORKDAY, 9),
        )


def test_an_online_number_checks_in_by_its_qr_from_a_quarter_hour_before(point, personas):
    ticket = book(point, make_resident(), hh=10)
    found = ticket_from_qr(f"ANTREAN:{ticket.public_code.lower()}")
    assert found is not None and found.pk == ticket.pk
    typed = ticket_from_qr(f" {ticket.public_code.lower()} ")  # read off the number's page
    assert typed is not None and typed.pk == ticket.pk
    assert ticket_from_qr("61F86ADE") is None  # an invitation's code: not a number's
    with pytest.raises(QueueRefused, match=r"kembali pukul 09\.45"):
        ticket_check_in(
            ticket=found,
            service_point=point,
            acting_user=personas.bdl_queue,
            at=at(WORKDAY, 9, 30),
        )
    ticket_check_in(
        ticket=found, service_point=point, acting_user=personas.bdl_queue, at=at(WORKDAY, 9, 50)
    )
    found.refresh_from_db()
    assert found.state == State.WAITING and found.checked_in_at == at(WORKDAY, 9, 50)
    assert TicketEvent.objects.filter(ticket=found, kind="checked_in").count() == 1


def test_a_number_checks_in_only_once(point, personas):
    ticket = book(point, make_resident())
    ticket_check_in(
        ticket=ticket, service_point=point, acting_user=personas.bdl_queue, at=at(WORKDAY, 9)
    )
    with pytest.raises(QueueRefused, match="sudah masuk antrean"):
        ticket_check_in(
            ticket=ticket, service_point=point, acting_user=personas.bdl_queue, at=at(WORKDAY, 9)
        )


def test_it_refuses_a_qr_it_does_not_know():
    with pytest.raises(QueueRefused, match="tidak dikenal"):
        ticket_from_qr("ANTREAN:ZZZZZZZZZZZZ")


@pytest.fixture
def invitations():
    """A stand-in for the Invitations app's token check: ``INV:<ref>:<point id>:<hour>``."""

    def resolve(token: str) -> InvitationClaim:
        kind, ref, point_id, hour = token.split(":")
        if kind != "INV":
            raise QueueRefused("Undangan tidak sah.")
        return InvitationClaim(
            reference=ref, service_point_id=int(point_id), starts_at=at(WORKDAY, int(hour))
        )

    installed = invitation_resolver()
    invitation_resolver_set(resolve)
    yield
    invitation_resolver_set(installed)


def test_an_invitation_becomes_a_number_in_its_session_at_check_in(point, personas, invitations):
    ticket = checkin_invitation(
        f"INV:undangan-7:{point.pk}:9",
        service_point=point,
        acting_user=personas.bdl_queue,
        at=at(WORKDAY, 9, 10),
    )
    assert ticket.channel == Channel.INVITATION and ticket.state == State.WAITING
    assert ticket.window_start == at(WORKDAY, 9)
    assert Session.objects.get(pk=ticket.session_id).invitation_taken == 1


def test_an_invitation_checks_in_once(point, personas, invitations):
    token = f"INV:undangan-7:{point.pk}:9"
    checkin_invitation(
        token, service_point=point, acting_user=personas.bdl_queue, at=at(WORKDAY, 9, 10)
    )
    with pytest.raises(QueueRefused, match="sudah masuk antrean"):
        checkin_invitation(
            token, service_point=point, acting_user=personas.bdl_queue, at=at(WORKDAY, 9, 20)
        )


def test_an_invitation_for_another_point_is_refused(point, personas, invitations):
    other = make_point(personas.bdl_office, code="18.71.02-KEC", name="Kantor Kecamatan")
    with pytest.raises(QueueRefused, match="Undangan ini untuk Kantor Kecamatan"):
        checkin_invitation(
            f"INV:u:{other.pk}:9",
            service_point=point,
            acting_user=personas.bdl_queue,
            at=at(WORKDAY, 9, 10),
        )


def test_walk_ins_stop_when_those_waiting_already_fill_the_time_left(personas):
    point = make_point(personas.bdl_office, counters=1, hours=(time(8, 0), time(10, 0)))
    for _ in range(4):
        ticket_issue_walkin(
            service_point=point,
            service="recording",
            acting_user=personas.bdl_queue,
            at=at(WORKDAY, 8, 5),
        )
    # Nobody was called: at 09:25 four people need 40 minutes, past 10:00, though the
    # 09:00 session still has six free seats.
    with pytest.raises(QueueRefused, match="melewati jam tutup"):
        ticket_issue_walkin(
            service_point=point,
            service="recording",
            acting_user=personas.bdl_queue,
            at=at(WORKDAY, 9, 25),
        )
    assert session_at(point, at(WORKDAY, 9)).public_taken == 0


def test_the_confirmation_command_empties_the_backlog(point, settings):
    from django.core.management import call_command

    settings.ANTREAN_CONFIRM_ON_COMMIT = False
    for i in range(3):
        book(point, make_resident(name=f"R{i}"))
    call_command("antrean_confirm", "--once", verbosity=0)
    assert Message.objects.count() == 3
    assert not Ticket.objects.filter(confirm_due=True).exists()


def test_numbers_go_past_999_without_losing_a_digit(point):
    session = session_at(point, at(WORKDAY, 9))
    DayCounter = type(session.day_counter)
    DayCounter.objects.filter(pk=session.day_counter_id).update(seq_recording=999)
    assert book(point, make_resident()).label == "A-1000"
