"""Check-in and reschedule tokens, the calendar file, letters and messages of an invitation."""

from __future__ import annotations

from datetime import date, timedelta
from io import BytesIO

import pytest
from django.utils import timezone
from pypdf import PdfReader
from reportlab.pdfbase.pdfmetrics import stringWidth

from rekam.antrean.models import State, Ticket
from rekam.antrean.services import QueueRefused, checkin_invitation, invitation_resolver_set
from rekam.invitations.invites import (
    checkin_token,
    free_sessions,
    invitation_ics,
    invitation_reschedule,
    invitations_send,
    reschedule_token,
    resolve_checkin,
    typed_code,
)
from rekam.invitations.letters import (
    FONT,
    LEFT,
    RIGHT,
    _lines,
    letters_for_village,
    render_letters,
)
from rekam.invitations.models import Invitation
from rekam.invitations.services import deadline_of
from rekam.invitations.tokens import TokenRefused
from rekam.notifications.models import Message
from rekam.voters.models import VoterCheck, VoterClass

from .factories import make_resident
from .test_antrean_support import at
from .test_invitations_support import KEDATON, add_point, add_voters, new_election, plan_now

DAY_BEFORE = date(2020, 12, 8)


@pytest.fixture
def gate(monkeypatch):
    """The queue asks this app about invitation QR texts; the clock is the morning before."""
    invitation_resolver_set(resolve_checkin)
    now = {"at": at(DAY_BEFORE, 7, 0)}
    monkeypatch.setattr("rekam.antrean.clock.now", lambda: now["at"])
    yield now
    invitation_resolver_set(resolve_checkin)


@pytest.fixture
def planned(personas, gate):
    election = new_election()
    point = add_point(personas.bdl_office)
    add_voters(election, KEDATON, VoterClass.NOT_RECORDED, 4, rts=("003", "001", "002", "001"))
    plan_now(election, personas.bdl_admin, DAY_BEFORE)
    return election, point


def _first() -> Invitation:
    return Invitation.objects.select_related("service_point", "election").order_by("id")[0]


def test_an_invitation_qr_checks_in_at_the_gate(planned, personas, gate) -> None:
    _, point = planned
    inv = _first()
    person = make_resident(name="Warga Terundang")
    VoterCheck.objects.filter(voter=inv.voter).update(resident_id=person.pk)
    gate["at"] = inv.starts_at
    ticket = checkin_invitation(
        checkin_token(inv), service_point=point, acting_user=personas.bdl_queue
    )
    assert ticket.state == State.WAITING
    assert ticket.invitation_ref == inv.reference
    # The counter knows who came: the registry's person behind the voter.
    assert (ticket.resident, ticket.nik) == (person, person.nik)


def test_the_code_on_a_letter_checks_in_when_typed(planned, personas, gate) -> None:
    _, point = planned
    inv = _first()
    gate["at"] = inv.starts_at
    typed = typed_code(inv)  # as letters, SMS and e-mail print it
    ticket = checkin_invitation(typed, service_point=point, acting_user=personas.bdl_queue)
    assert ticket.invitation_ref == inv.reference
    with pytest.raises(QueueRefused, match="sudah masuk antrean"):
        checkin_invitation(typed.lower(), service_point=point, acting_user=personas.bdl_queue)
    with pytest.raises(QueueRefused, match="tidak dikenal"):
        checkin_invitation("0000ABCD", service_point=point, acting_user=personas.bdl_queue)


def test_a_whole_reference_typed_from_an_older_letter_checks_in(planned, personas, gate) -> None:
    _, point = planned
    inv = _first()
    gate["at"] = inv.starts_at
    ticket = checkin_invitation(
        inv.reference.upper(), service_point=point, acting_user=personas.bdl_queue
    )
    assert ticket.invitation_ref == inv.reference


def test_an_invitation_qr_checks_in_once(planned, personas, gate) -> None:
    _, point = planned
    inv = _first()
    gate["at"] = inv.starts_at
    token = checkin_token(inv)
    checkin_invitation(token, service_point=point, acting_user=personas.bdl_queue)
    with pytest.raises(QueueRefused, match="sudah masuk antrean"):
        checkin_invitation(token, service_point=point, acting_user=personas.bdl_queue)


def test_an_invitation_for_another_day_takes_no_seat(planned, personas, gate) -> None:
    _, point = planned
    inv = _first()
    gate["at"] = inv.starts_at - timedelta(days=1)
    with pytest.raises(QueueRefused, match="Undangan ini untuk tanggal"):
        checkin_invitation(checkin_token(inv), service_point=point, acting_user=personas.bdl_queue)
    assert not Ticket.objects.filter(invitation_ref=inv.reference).exists()


def test_it_refuses_an_expired_check_in_token(planned, personas, gate) -> None:
    _, point = planned
    inv = _first()
    token = checkin_token(inv)
    gate["at"] = at(DAY_BEFORE, 23, 0)
    with pytest.raises(QueueRefused, match="kedaluwarsa"):
        checkin_invitation(token, service_point=point, acting_user=personas.bdl_queue)


def test_it_refuses_a_tampered_check_in_token(planned, personas, gate) -> None:
    _, point = planned
    token = checkin_token(_first())
    with pytest.raises(QueueRefused, match="tidak sah"):
        checkin_invitation(token[:-2] + "xx", service_point=point, acting_user=personas.bdl_queue)


def test_a_reschedule_token_does_not_check_in(planned, personas, gate) -> None:
    _, point = planned
    inv = _first()
    gate["at"] = inv.starts_at
    with pytest.raises(QueueRefused, match="tidak sah"):
        checkin_invitation(
            reschedule_token(inv), service_point=point, acting_user=personas.bdl_queue
        )


def test_a_reschedule_link_moves_the_invitation(planned) -> None:
    inv = _first()
    target = free_sessions(inv)[0]
    moved = invitation_reschedule(token=reschedule_token(inv), session=target)
    assert moved.session_id == target.pk and moved.replaces_id == inv.pk
    assert Invitation.objects.get(pk=inv.pk).state == Invitation.State.RESCHEDULED


def test_a_reschedule_link_works_once(planned) -> None:
    inv = _first()
    token = reschedule_token(inv)
    invitation_reschedule(token=token, session=free_sessions(inv)[0])
    with pytest.raises(TokenRefused, match="sudah digunakan"):
        invitation_reschedule(token=token, session=free_sessions(inv)[1])


def test_a_reschedule_link_expires_when_the_session_starts(planned, gate) -> None:
    inv = _first()
    token = reschedule_token(inv)
    target = free_sessions(inv)[-1]
    gate["at"] = inv.starts_at.replace(minute=1)
    with pytest.raises(TokenRefused, match="kedaluwarsa"):
        invitation_reschedule(token=token, session=target)


def test_it_offers_only_sessions_with_room_ending_before_polls_close(planned) -> None:
    election, _ = planned
    inv = _first()
    offered = free_sessions(inv, limit=500)
    assert offered
    assert all(s.ends_at <= deadline_of(election) for s in offered)
    assert inv.session_id not in {s.pk for s in offered}


def test_the_calendar_file_holds_the_session_in_utc(planned) -> None:
    inv = _first()
    text = invitation_ics(inv)
    assert "DTSTART:20201208T010000Z" in text
    assert f"UID:{inv.reference}@rekam" in text
    assert text.endswith("END:VCALENDAR\r\n")


def test_the_first_link_names_the_schedule_that_stands_after_two_moves(planned) -> None:
    first = _first()
    second = invitation_reschedule(token=reschedule_token(first), session=free_sessions(first)[0])
    second = Invitation.objects.select_related("election").get(pk=second.pk)
    third = invitation_reschedule(token=reschedule_token(second), session=free_sessions(second)[-1])
    hours = f"{timezone.localtime(third.starts_at):%H.%M}"
    with pytest.raises(TokenRefused, match=f"sudah digunakan: jadwal baru Anda .*{hours}"):
        invitation_reschedule(token=reschedule_token(first), session=free_sessions(third)[0])


def test_a_rescheduled_invitations_calendar_event_updates_the_first_one(planned) -> None:
    inv = _first()
    moved = invitation_reschedule(token=reschedule_token(inv), session=free_sessions(inv)[0])
    text = invitation_ics(moved)
    assert f"UID:{inv.reference}@rekam" in text and "SEQUENCE:1" in text
    assert "SEQUENCE:0" in invitation_ics(inv)


def test_letters_have_a_page_per_invitee_in_rt_order(planned) -> None:
    election, _ = planned
    letters = letters_for_village(election.pk, KEDATON)
    pdf = PdfReader(BytesIO(render_letters(letters, office="Disdukcapil Kota Bandar Lampung")))
    assert len(pdf.pages) == 4
    rts = [p.extract_text().split("RT ")[1][:3] for p in pdf.pages]
    assert rts == ["001", "001", "002", "003"]
    # Each page carries the code the gate accepts typed, not the long reference.
    codes = {typed_code(inv) for inv in Invitation.objects.filter(village_id=KEDATON)}
    printed = {p.extract_text().split("Kode undangan: ")[1][:8] for p in pdf.pages}
    assert printed == codes


def test_letters_carry_the_reschedule_link_and_its_qr_when_the_address_is_known(planned) -> None:
    election, _ = planned
    letters = letters_for_village(election.pk, KEDATON)
    with_link = PdfReader(
        BytesIO(render_letters(letters, office="Disdukcapil", public_url="https://r.example.id"))
    )
    text = with_link.pages[0].extract_text()
    assert (
        "Ganti jadwal (pindai dengan ponsel)" in text and "https://r.example.id/undangan/" in text
    )
    without = PdfReader(BytesIO(render_letters(letters, office="Disdukcapil")))
    assert "Ganti jadwal" not in without.pages[0].extract_text()


def test_a_long_link_is_broken_to_the_line_width() -> None:
    link = "https://rekam.example.go.id/undangan/jadwal/" + "eyJyIjoiMDAw" * 10 + "/"
    text = f"Jika berhalangan, pilih jadwal lain melalui {link}"
    lines = _lines(text, FONT, 10, RIGHT - LEFT)
    assert len(lines) > 2
    assert all(stringWidth(line, FONT, 10) <= RIGHT - LEFT for line in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")


def test_it_puts_one_message_in_the_outbox_per_matched_invitee(planned, personas) -> None:
    inv = _first()
    resident = make_resident(KEDATON, name="Warga Nol")
    VoterCheck.objects.filter(voter_id=inv.voter_id).update(resident=resident)
    invitations = list(Invitation.objects.select_related("service_point"))
    for _ in range(2):
        sent = invitations_send(
            invitations=invitations, acting_user=personas.bdl_admin, office="Disdukcapil"
        )
        assert sent == 1
    assert Message.objects.filter(resident=resident).count() == 1
