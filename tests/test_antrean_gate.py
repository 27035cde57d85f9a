"""The entrance officer's day: walk-ins take the invitation seats no invitation will use, the
gate checks what the resident's record allows, finds a NIK's online number to check it in,
and checks invitations in (early ones take no seat, typed codes may carry spaces, the slip is
printed); the gate and the figures page show the same seats."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.urls import reverse

from rekam.antrean.figures import day_figures
from rekam.antrean.models import Channel, Priority, Session, State, Ticket
from rekam.antrean.services import (
    InvitationClaim,
    QueueRefused,
    checkin_invitation,
    invitation_resolver,
    invitation_resolver_set,
    invitation_seat_book,
    public_rooms,
    ticket_book_online,
    ticket_issue_walkin,
)
from rekam.audit.models import AuditEntry
from rekam.residents.states import KtpState
from rekam.servicepoints.models import HolidayOpening, Service

from .conftest import PASSWORD
from .factories import make_resident
from .test_antrean_support import WORKDAY, at, make_point, session_at
from .test_suket_support import make_pilkada, ready_office

pytestmark = pytest.mark.django_db

EVENING_BEFORE = at(WORKDAY - timedelta(days=1), 19)


@pytest.fixture
def point(personas):
    """Four counters, hourly sessions of 20 seats (the waiting room's limit), 10 of them kept
    for invitations: the office of the review."""
    return make_point(
        personas.bdl_office,
        counters=4,
        invitation_percent=50,
        holiday_opening=HolidayOpening.OPEN,
    )


def walk_in(point, personas, hh, mm, **kw):
    return ticket_issue_walkin(
        service_point=point,
        service=kw.pop("service", Service.RECORDING),
        acting_user=personas.bdl_queue,
        at=at(WORKDAY, hh, mm),
        **kw,
    )


def book_online(session, n, now=EVENING_BEFORE):
    for _ in range(n):
        ticket_book_online(
            session_id=session.pk, service="recording", resident_id=make_resident().pk, at=now
        )


def _clock(monkeypatch, moment):
    monkeypatch.setattr("rekam.antrean.clock.now", lambda: moment)


# Invitation seats no invitation will use


def test_a_walk_in_takes_an_invitation_seat_no_invitation_will_use(point, personas):
    nine = session_at(point, at(WORKDAY, 9))
    assert (nine.capacity, nine.invitation_capacity) == (20, 10)
    for minute in range(10):  # the public half, taken
        walk_in(point, personas, 9, minute)
    elderly = walk_in(point, personas, 9, 10, priority=Priority.ELDERLY)
    # In now, not told to come back at 10.00: nobody is invited into this session.
    assert (elderly.state, elderly.window_start) == (State.WAITING, at(WORKDAY, 9))
    nine.refresh_from_db()
    assert (nine.public_taken, nine.invitation_capacity, nine.taken) == (11, 9, 11)
    entry = AuditEntry.objects.get(action="session.invitation_seat_release")
    assert entry.actor == personas.bdl_queue and entry.changes == {"invitation_capacity": [10, 9]}


def test_the_session_never_takes_more_than_its_capacity(point, personas):
    nine = session_at(point, at(WORKDAY, 9))
    for n in range(3):
        invitation_seat_book(session=nine, reference=f"undangan-{n}", at=EVENING_BEFORE)
    issued = [walk_in(point, personas, 9, n // 4) for n in range(20)]
    nine.refresh_from_db()
    in_nine = [t for t in issued if t.session_id == nine.pk]
    # 10 public seats and the 7 of the share nobody holds; the invitees keep their 3.
    assert len(in_nine) == 17 and nine.taken == nine.capacity == 20
    assert nine.invitation_capacity == 3
    assert {t.state for t in issued if t.session_id != nine.pk} == {State.BOOKED}


def test_the_evening_before_online_numbers_leave_the_share_to_invitations(point):
    nine = session_at(point, at(WORKDAY, 9))
    book_online(nine, 10)
    with pytest.raises(QueueRefused, match="sudah penuh"):
        book_online(nine, 1)
    nine.refresh_from_db()
    assert nine.invitation_capacity == 10


def test_an_online_number_on_the_day_takes_a_seat_no_invitation_will_use(point):
    ten = session_at(point, at(WORKDAY, 10))
    book_online(ten, 10)
    book_online(ten, 1, now=at(WORKDAY, 8, 30))
    ten.refresh_from_db()
    assert (ten.public_taken, ten.invitation_capacity) == (11, 9)


def test_the_gate_and_the_figures_show_the_same_room(client, point, personas, monkeypatch):
    nine = session_at(point, at(WORKDAY, 9))
    book_online(nine, 3)
    for n in range(3):
        invitation_seat_book(session=nine, reference=f"undangan-{n}", at=EVENING_BEFORE)
    for minute in range(7):
        walk_in(point, personas, 9, minute)
    now = at(WORKDAY, 9, 10)
    _clock(monkeypatch, now)
    nine.refresh_from_db()
    assert public_rooms([nine], now) == {nine.pk: 7}
    client.login(username="bdl_supervisor", password=PASSWORD)
    gate = client.get(reverse("antrean_gate", args=[point.code])).content.decode()
    row = re.search(r'<tr class="strong">(.*?)</tr>', gate, re.S)
    assert row and re.findall(r'<td class="num">(\d+)</td>', row[1]) == ["20", "10", "13", "7"]
    (seats,) = [s for s in day_figures(point, WORKDAY, now=now).seats if s.label == "09.00-10.00"]
    assert (seats.invited, seats.online, seats.walk_in) == (3, 3, 7)
    assert (seats.left_invitations, seats.left_public) == (0, 7)
    assert seats.invited + seats.online + seats.walk_in + seats.left == seats.capacity


def test_a_day_ahead_keeps_the_share_and_still_adds_up(point, personas):
    nine = session_at(point, at(WORKDAY, 9))
    book_online(nine, 3)
    for n in range(3):
        invitation_seat_book(session=nine, reference=f"undangan-{n}", at=EVENING_BEFORE)
    figures = day_figures(point, WORKDAY, now=EVENING_BEFORE - timedelta(days=1))
    (seats,) = [s for s in figures.seats if s.label == "09.00-10.00"]
    # The invitees numbered at the gate are invitations: 3 + 3 online + 7 + 7 = 20.
    assert (seats.invited, seats.online, seats.left_invitations, seats.left_public) == (3, 3, 7, 7)
    for row in [*figures.seats, figures.seats_total]:
        assert row.invited + row.online + row.walk_in + row.left == row.capacity


# What the record allows


def test_the_gate_gives_no_recording_number_to_a_child(point, personas):
    toddler = make_resident(name="Balita", birth_date=date(2017, 6, 1))
    with pytest.raises(QueueRefused, match="belum wajib KTP-el"):
        walk_in(point, personas, 9, 0, nik=toddler.nik)
    assert not Ticket.objects.exists()


def test_the_gate_sends_a_print_ready_resident_to_printing_not_a_suket(point, personas):
    ready_office(personas.bdl_office, blanks=5)
    make_pilkada()
    prr = make_resident(name="Siap Cetak", ktp_state=KtpState.PRINT_READY_RECORD)
    with pytest.raises(QueueRefused, match=r"\(Siap cetak \(PRR\)\)\. Pilih Pencetakan") as refused:
        walk_in(point, personas, 9, 0, nik=prr.nik, service=Service.SUKET)
    assert prr.name not in refused.value.message
    ticket = walk_in(point, personas, 9, 1, nik=prr.nik, service=Service.PRINTING)
    assert ticket.service == Service.PRINTING and ticket.resident == prr


@pytest.mark.parametrize("state", [KtpState.CARD_PRINTED, KtpState.BELUM_REKAM])
def test_the_gate_tells_nothing_of_another_regencys_residents_record(point, personas, state):
    """Another regency's resident is sent to their own office for record work, with the same
    words whatever their record says (no state, no hint at another service)."""
    visitor = make_resident("18.01.04.2001", ktp_state=state)
    with pytest.raises(QueueRefused, match="terdaftar di kabupaten/kota lain") as refused:
        walk_in(point, personas, 9, 0, nik=visitor.nik)
    assert refused.value.message == (
        "Pemilik NIK ini terdaftar di kabupaten/kota lain: layanan Perekaman KTP-el diberikan "
        "oleh Disdukcapil tempat ia terdaftar; di sini hanya layanan lain."
    )


def test_another_regencys_resident_still_gets_a_number_for_other_matters(point, personas):
    visitor = make_resident("18.01.04.2001")
    ticket = ticket_issue_walkin(
        service_point=point, service="other", nik=visitor.nik, acting_user=personas.bdl_queue
    )
    assert ticket.resident == visitor


def test_a_nik_the_registry_does_not_know_still_gets_a_number(point, personas):
    ticket = walk_in(point, personas, 9, 0, nik="1871015705900999")
    assert ticket.nik == "1871015705900999" and ticket.resident is None


# A NIK's online number, checked in at the gate


def test_the_gate_checks_in_the_online_number_a_nik_holds(client, point, personas, monkeypatch):
    resident = make_resident(name="Tanpa Ponsel")
    ten = session_at(point, at(WORKDAY, 10))
    held = ticket_book_online(
        session_id=ten.pk, service="recording", resident_id=resident.pk, at=EVENING_BEFORE
    )
    _clock(monkeypatch, at(WORKDAY, 9, 30))
    client.login(username="bdl_queue", password=PASSWORD)
    url = reverse("antrean_gate", args=[point.code])
    typed = {"action": "issue", "service": "recording", "nik": resident.nik}
    page = client.post(url, typed).content.decode()
    assert 'data-testid="held-check-in"' in page and f'value="{held.public_code}"' in page
    # The same early rule as its QR: from 09.45 for 10.00.
    early = client.post(url, {"action": "scan", "code": held.public_code}).content.decode()
    assert "Terlalu awal" in early and "09.45" in early
    _clock(monkeypatch, at(WORKDAY, 9, 50))
    done = client.post(url, {"action": "scan", "code": held.public_code})
    assert done.status_code == 302
    held.refresh_from_db()
    assert held.state == State.WAITING


def test_a_number_held_at_another_point_is_not_checked_in_here(
    client, point, personas, monkeypatch
):
    resident = make_resident(name="Salah Tempat")
    other = make_point(personas.bdl_office, code="18.71.02-KEC", name="Kantor Kecamatan")
    ticket_book_online(
        session_id=session_at(other, at(WORKDAY, 10)).pk,
        service="recording",
        resident_id=resident.pk,
        at=EVENING_BEFORE,
    )
    _clock(monkeypatch, at(WORKDAY, 9, 50))
    client.login(username="bdl_queue", password=PASSWORD)
    page = client.post(
        reverse("antrean_gate", args=[point.code]),
        {"action": "issue", "service": "recording", "nik": resident.nik},
    ).content.decode()
    assert 'data-testid="held-ticket"' in page and 'data-testid="held-check-in"' not in page


# Invitations at the gate


@pytest.fixture
def invitations():
    """A stand-in for the Invitations app's check, which reads a typed code whole: the code
    ``3F71733B`` (either case) invites to 10.00."""
    points: list[int] = []

    def resolve(token: str) -> InvitationClaim:
        if token.upper() != "3F71733B":
            raise QueueRefused("Kode undangan tidak sah.", code="invalid")
        return InvitationClaim(
            reference="undangan-3f71733b",
            service_point_id=points[0],
            starts_at=at(WORKDAY, 10),
        )

    installed = invitation_resolver()
    invitation_resolver_set(resolve)
    yield points
    invitation_resolver_set(installed)


def test_an_invitation_too_early_takes_no_seat(point, personas, invitations):
    invitations.append(point.pk)
    with pytest.raises(QueueRefused, match=r"Terlalu awal.*kembali pukul 09\.45") as refused:
        checkin_invitation(
            "3F71733B", service_point=point, acting_user=personas.bdl_queue, at=at(WORKDAY, 9)
        )
    assert "nomor" not in refused.value.message
    assert not Ticket.objects.exists()
    assert session_at(point, at(WORKDAY, 10)).invitation_taken == 0


def test_an_invitation_code_typed_with_spaces_checks_in_and_prints_the_slip(
    client, point, personas, invitations, monkeypatch
):
    invitations.append(point.pk)
    _clock(monkeypatch, at(WORKDAY, 10, 5))
    client.login(username="bdl_queue", password=PASSWORD)
    url = reverse("antrean_gate", args=[point.code])
    response = client.post(url, {"action": "scan", "code": " 3f71 733b "})
    ticket = Ticket.objects.get(invitation_ref="undangan-3f71733b")
    assert ticket.channel == Channel.INVITATION and ticket.state == State.WAITING
    assert response.status_code == 302 and response.url.endswith("&cetak=1")
    page = client.get(response.url).content.decode()
    assert 'data-print="1"' in page and 'data-testid="slip"' in page


def test_a_checked_in_online_number_offers_print_not_print_again(
    client, point, personas, monkeypatch
):
    ten = session_at(point, at(WORKDAY, 10))
    held = ticket_book_online(
        session_id=ten.pk, service="recording", resident_id=make_resident().pk, at=EVENING_BEFORE
    )
    _clock(monkeypatch, at(WORKDAY, 10, 5))
    client.login(username="bdl_queue", password=PASSWORD)
    url = reverse("antrean_gate", args=[point.code])
    response = client.post(url, {"action": "scan", "code": f"ANTREAN:{held.public_code}"})
    assert "cetak=1" not in response.url
    page = client.get(response.url).content.decode()
    assert 'data-print=""' in page
    assert ">Cetak</button>" in page and "Cetak ulang" not in page


def test_the_sessions_left_after_a_walk_in_match_the_gate_table(point, personas):
    walk_in(point, personas, 9, 0)
    sessions = list(Session.objects.filter(service_point=point, day=WORKDAY))
    rooms = public_rooms(sessions, at(WORKDAY, 9, 1))
    nine = next(s for s in sessions if s.starts_at == at(WORKDAY, 9))
    later = next(s for s in sessions if s.starts_at == at(WORKDAY, 15))
    assert rooms[nine.pk] == 19 and rooms[later.pk] == 20
