"""The queue's pages through Django's test client: public online numbers and status, the
board's JSON, the gate, a counter and the figures."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from rekam.antrean.models import State, Ticket
from rekam.antrean.services import sessions_ensure, ticket_call_next, ticket_issue_walkin
from rekam.elections.models import Election
from rekam.lib.nik import mask_nik
from rekam.regions.models import Region
from rekam.residents.models import Resident
from rekam.residents.states import KtpState
from rekam.servicepoints.models import HolidayOpening

from .conftest import PASSWORD
from .factories import make_resident
from .test_antrean_support import WORKDAY, at, make_point

pytestmark = pytest.mark.django_db

NOW = at(WORKDAY, 10, 20)


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    """The queue's pages live on a fixed Wednesday at 10:20."""
    monkeypatch.setattr("rekam.antrean.clock.now", lambda: NOW)


@pytest.fixture
def point(personas):
    return make_point(personas.bdl_office, counters=2, holiday_opening=HolidayOpening.OPEN)


@pytest.fixture
def resident(lampung):
    return make_resident(name="Siti Aminah Lestari", birth_date=date(1990, 5, 17))


def identify(client, resident, birth_date=None):
    return client.post(
        reverse("antrean_start"),
        {"nik": resident.nik, "birth_date": (birth_date or resident.birth_date).isoformat()},
    )


def tomorrow_session(point):
    """09:00-10:00 the next day."""
    return sessions_ensure(service_point=point, day=WORKDAY + timedelta(days=1))[1]


def test_nik_and_date_of_birth_open_the_schedule(client, point, resident):
    response = identify(client, resident)
    assert response.status_code == 302 and response.url == reverse("antrean_schedule")
    page = client.get(reverse("antrean_schedule"))
    html = page.content.decode()
    assert "Siti A. L." in html
    assert mask_nik(resident.nik) in html and resident.nik not in html
    assert point.name in html


def test_a_child_is_not_offered_a_recording_number(client, point, lampung):
    child = make_resident(name="Anak Kecil", birth_date=date(2012, 3, 4))
    identify(client, child)
    html = client.get(reverse("antrean_schedule")).content.decode()
    assert 'data-testid="not-required"' in html and "4 Maret 2029" in html
    assert 'value="recording"' not in html and 'value="printing"' not in html


def test_a_resident_coming_of_age_books_recording_from_that_day(client, point, clock):
    today = timezone.localdate(NOW)
    birthday = today + timedelta(days=3)
    almost = make_resident(name="Hampir", birth_date=birthday.replace(year=birthday.year - 17))
    identify(client, almost)
    html = client.get(reverse("antrean_schedule"), {"layanan": "recording"}).content.decode()
    assert 'value="recording"' in html
    assert f"{birthday:%d-%m-%Y}" in html
    days = re.findall(r'<option value="(\d{4}-\d{2}-\d{2})"', html)
    assert days and min(days) == birthday.isoformat()


def test_a_booking_is_checked_against_what_the_record_allows(client, point):
    today = timezone.localdate(NOW)
    birthday = today + timedelta(days=3)
    almost = make_resident(name="Hampir", birth_date=birthday.replace(year=birthday.year - 17))
    identify(client, almost)
    take = reverse("antrean_take")
    early = tomorrow_session(point)
    refused = client.post(take, {"session": early.pk, "service": "recording"}, follow=True)
    assert "belum wajib KTP-el" in refused.content.decode()
    printing = client.post(take, {"session": early.pk, "service": "printing"}, follow=True)
    assert "tidak sesuai status KTP-el Anda" in printing.content.decode()
    assert not Ticket.objects.exists()
    later = sessions_ensure(service_point=point, day=birthday)[0]
    client.post(take, {"session": later.pk, "service": "recording"})
    assert Ticket.objects.get().session_id == later.pk


def test_a_session_that_is_not_a_plain_number_is_refused(client, point, resident):
    identify(client, resident)
    response = client.post(reverse("antrean_take"), {"session": "²", "service": "recording"})
    assert response.status_code == 303 and not Ticket.objects.exists()


def test_the_identity_follows_the_record_when_it_moves(client, point, resident):
    identify(client, resident)  # not recorded: recording offered
    Resident.objects.filter(pk=resident.pk).update(ktp_state=KtpState.PRINT_READY_RECORD)
    client.get(reverse("antrean_schedule"))  # the page sees the new state and renews the cookie
    response = client.post(
        reverse("antrean_take"), {"session": tomorrow_session(point).pk, "service": "printing"}
    )
    assert response.status_code == 303 and Ticket.objects.get().service == "printing"


@pytest.mark.parametrize(
    ("state", "offered", "not_offered"),
    [
        (KtpState.BELUM_REKAM, "recording", ["printing", "suket"]),
        (KtpState.SEARCH_FAILURE, "recording", ["printing"]),
        (KtpState.PRINT_READY_RECORD, "printing", ["recording"]),
        (KtpState.SENT_FOR_ENROLLMENT, "suket", ["recording", "printing"]),
        (KtpState.CARD_PRINTED, "other", ["recording", "printing", "suket"]),
    ],
)
def test_the_services_offered_follow_the_ktp_el_state(client, point, state, offered, not_offered):
    # A Suket only within an election's Suket window, in a regency/city holding it.
    election = Election.objects.create(
        name="Pilkada 2020",
        slug="pilkada-2020",
        polling_day=date(2020, 12, 9),
        suket_issue_until=date(2020, 12, 9),
        suket_valid_until=date(2020, 12, 31),
    )
    election.regions.add(Region.objects.get(code="18.71"))
    person = make_resident(name="Warga", birth_date=date(1990, 5, 17), ktp_state=state)
    identify(client, person)
    html = client.get(reverse("antrean_schedule")).content.decode()
    assert f'value="{offered}"' in html
    assert not [s for s in not_offered if f'value="{s}"' in html]
    assert str(KtpState(state).label) in html.split('data-testid="ktp-state"')[1][:300]


def test_it_refuses_a_wrong_date_of_birth_without_saying_which_part(client, point, resident):
    response = identify(client, resident, birth_date=date(1991, 5, 17))
    assert response.status_code == 200
    assert "NIK dan tanggal lahir tidak cocok" in response.content.decode()
    assert client.get(reverse("antrean_schedule")).status_code == 302


def test_it_limits_guesses_of_a_date_of_birth_per_nik(client, settings, point, resident):
    settings.ANTREAN_RATE_NIK_PER_15_MINUTES = 3
    codes = [identify(client, resident, birth_date=date(1990, 1, d)).status_code for d in (1, 2, 3)]
    assert codes == [200, 200, 200]
    refused = identify(client, resident)
    assert refused.status_code == 429 and refused["Retry-After"] == "900"
    # Why, and until when: the limiter's clock stands at 15.00 WIB (conftest).
    assert "15.15" in refused.content.decode()


def test_right_answers_do_not_lock_a_nik_out(client, settings, point, resident):
    # Whoever knows a NIK could otherwise prove it again and again and lock its owner out.
    settings.ANTREAN_RATE_NIK_PER_15_MINUTES = 3
    for _ in range(5):
        client.cookies.clear()
        assert identify(client, resident).status_code == 302
    assert identify(client, resident, birth_date=date(1990, 1, 1)).status_code == 200
    client.cookies.clear()
    assert identify(client, resident).status_code == 302


def test_a_resident_takes_a_number_and_sees_its_status(client, point, resident):
    identify(client, resident)
    session = tomorrow_session(point)
    response = client.post(reverse("antrean_take"), {"session": session.pk, "service": "recording"})
    ticket = Ticket.objects.get(nik=resident.nik)
    assert response.status_code == 303
    assert response.url == reverse("antrean_status", args=[ticket.public_code])
    html = client.get(response.url).content.decode()
    assert ticket.label in html and "09.00–10.00" in html
    assert resident.nik not in html and mask_nik(resident.nik) in html
    qr = client.get(reverse("antrean_qr", args=[ticket.public_code]))
    assert qr["Content-Type"] == "image/png"


def test_it_refuses_to_take_a_number_without_proving_the_nik(client, point):
    response = client.post(
        reverse("antrean_take"), {"session": tomorrow_session(point).pk, "service": "recording"}
    )
    assert response.status_code == 302 and response.url == reverse("antrean_start")
    assert not Ticket.objects.exists()


def test_the_page_says_why_a_second_number_is_refused(client, point, resident):
    identify(client, resident)
    session = tomorrow_session(point)
    client.post(reverse("antrean_take"), {"session": session.pk, "service": "recording"})
    again = client.post(
        reverse("antrean_take"), {"session": session.pk, "service": "other"}, follow=True
    )
    assert again.redirect_chain[-1][1] == 303
    assert again.request["PATH_INFO"] == reverse("antrean_schedule")
    assert "sudah memiliki nomor antrean aktif A-001" in again.content.decode()


def test_the_holder_cancels_a_number(client, point, resident):
    identify(client, resident)
    client.post(
        reverse("antrean_take"), {"session": tomorrow_session(point).pk, "service": "recording"}
    )
    ticket = Ticket.objects.get()
    client.post(reverse("antrean_cancel", args=[ticket.public_code]))
    ticket.refresh_from_db()
    assert ticket.state == State.CANCELLED
    html = client.get(reverse("antrean_status", args=[ticket.public_code])).content.decode()
    assert "Perkiraan dipanggil" not in html  # no call time for a cancelled number


def test_the_code_alone_does_not_cancel_a_number(client, point, resident):
    """The code is what the QR holds: someone who saw it must not cancel the number."""
    identify(client, resident)
    client.post(
        reverse("antrean_take"), {"session": tomorrow_session(point).pk, "service": "recording"}
    )
    ticket = Ticket.objects.get()
    stranger = Client()
    page = stranger.get(reverse("antrean_status", args=[ticket.public_code])).content.decode()
    assert "antrean_cancel" not in page and "/batal/" not in page
    answer = stranger.post(reverse("antrean_cancel", args=[ticket.public_code]), follow=True)
    assert "masukkan dahulu NIK dan tanggal lahir" in answer.content.decode()
    ticket.refresh_from_db()
    assert ticket.state == State.BOOKED


def test_the_status_json_counts_who_is_ahead(client, point, personas):
    gate = personas.bdl_queue
    first = ticket_issue_walkin(service_point=point, service="recording", acting_user=gate)
    second = ticket_issue_walkin(service_point=point, service="recording", acting_user=gate)
    data = client.get(reverse("antrean_status_json", args=[second.public_code])).json()
    assert data["label"] == second.label and data["ahead"] == 1
    ticket_call_next(service_point=point, counter=1, acting_user=personas.bdl_operator)
    data = client.get(reverse("antrean_status_json", args=[second.public_code])).json()
    assert data["ahead"] == 0 and data["serving"] == [first.label]


def test_the_board_json_shows_calls_with_their_announcement(client, point, personas):
    ticket_issue_walkin(service_point=point, service="recording", acting_user=personas.bdl_queue)
    ticket_issue_walkin(service_point=point, service="printing", acting_user=personas.bdl_queue)
    ticket_call_next(service_point=point, counter=2, acting_user=personas.bdl_operator)
    data = client.get(reverse("antrean_board_json", args=[point.code])).json()
    assert data["counters"][1]["label"] == "A-001" and data["counters"][0]["label"] == ""
    assert data["calls"][0]["say"] == [
        "chime",
        "nomor",
        "huruf-a",
        "1",
        "loket",
        "2",
    ]
    assert (data["waiting"], data["inside"], data["limit"], data["may_enter"]) == (1, 2, 20, 18)


def test_the_board_page_needs_no_login(client, point):
    response = client.get(reverse("antrean_board", args=[point.code]))
    assert response.status_code == 200
    assert b"board.js" in response.content


def test_the_gate_issues_a_walk_in_ticket_for_printing(client, point, personas):
    client.login(username="bdl_queue", password=PASSWORD)
    response = client.post(
        reverse("antrean_gate", args=[point.code]), {"action": "issue", "service": "printing"}
    )
    ticket = Ticket.objects.get()
    assert response.status_code == 302
    assert response.url.endswith(f"?tiket={ticket.public_code}&cetak=1")
    page = client.get(response.url).content.decode()
    assert 'data-testid="slip"' in page and ticket.label in page
    assert 'data-testid="come-back"' not in page


def test_the_gate_ticket_says_come_back_when_the_session_is_full(client, point, personas):
    session = sessions_ensure(service_point=point, day=WORKDAY)[2]  # 10:00-11:00
    session.public_taken = session.capacity
    session.save()
    client.login(username="bdl_queue", password=PASSWORD)
    response = client.post(
        reverse("antrean_gate", args=[point.code]), {"action": "issue", "service": "recording"}
    )
    ticket = Ticket.objects.get()
    assert ticket.window_start == at(WORKDAY, 11) and ticket.state == State.BOOKED
    page = client.get(response.url).content.decode()
    assert 'data-come-back="11.00"' in page


def test_a_refused_walk_in_keeps_what_was_typed(client, point, personas):
    client.login(username="bdl_queue", password=PASSWORD)
    response = client.post(
        reverse("antrean_gate", args=[point.code]),
        {"action": "issue", "service": "recording", "nik": "18710112345678", "priority": "elderly"},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert 'value="18710112345678"' in page
    assert 'value="elderly" checked' in page
    assert "NIK" in "".join(str(m) for m in response.context["messages"])
    assert not Ticket.objects.exists()


def test_the_gate_checks_in_an_online_number_by_its_qr_text(client, point, personas, resident):
    from rekam.antrean.services import ticket_book_online

    session = sessions_ensure(service_point=point, day=WORKDAY)[2]  # 10:00-11:00
    ticket = ticket_book_online(session_id=session.pk, service="recording", resident_id=resident.pk)
    client.login(username="bdl_queue", password=PASSWORD)
    client.post(
        reverse("antrean_gate", args=[point.code]),
        {"action": "scan", "code": f"ANTREAN:{ticket.public_code}"},
    )
    ticket.refresh_from_db()
    assert ticket.state == State.WAITING


def test_a_counter_does_not_name_a_resident_of_another_regency(client, personas):
    point = make_point(
        personas.lamsel_office, code="18.01-DINAS", counters=1, holiday_opening=HolidayOpening.OPEN
    )
    visitor = make_resident(name="Warga Kota")  # Bandar Lampung
    ticket = ticket_issue_walkin(
        service_point=point,
        service="other",
        nik=visitor.nik,
        acting_user=personas.lamsel_operator,
    )
    client.login(username="lamsel_operator", password=PASSWORD)
    url = reverse("antrean_counter", args=[point.code, 1])
    client.post(url, {"action": "call"})
    html = client.get(url).content.decode()
    assert f'data-testid="current-number">{ticket.label}' in html
    assert "Warga Kota" not in html


def test_it_hides_another_regencys_gate(client, point, personas):
    client.login(username="lamsel_operator", password=PASSWORD)
    assert client.get(reverse("antrean_gate", args=[point.code])).status_code == 404


def test_it_refuses_a_queue_officer_at_a_counter_page(client, point, personas):
    client.login(username="bdl_queue", password=PASSWORD)
    assert client.get(reverse("antrean_counter", args=[point.code, 1])).status_code == 403


def test_the_gate_shows_the_number_a_nik_holds_and_cancels_it(client, point, personas):
    resident = make_resident(name="Budi")
    held = ticket_issue_walkin(
        service_point=point, service="recording", nik=resident.nik, acting_user=personas.bdl_queue
    )
    client.login(username="bdl_queue", password=PASSWORD)
    url = reverse("antrean_gate", args=[point.code])
    again = client.post(url, {"action": "issue", "service": "recording", "nik": resident.nik})
    html = again.content.decode()
    assert again.status_code == 400 and 'data-testid="held-ticket"' in html
    assert held.public_code in html
    no_reason = client.post(url, {"action": "cancel", "code": held.public_code, "reason": ""})
    assert "Tulis alasan" in no_reason.content.decode()
    client.post(url, {"action": "cancel", "code": held.public_code, "reason": "salah layanan"})
    held.refresh_from_db()
    assert held.state == State.CANCELLED
    assert f'value="{resident.nik}"' in client.get(url).content.decode()  # typed once only
    event = held.events.get(kind="cancelled")
    assert (event.actor, event.detail) == (personas.bdl_queue, "petugas: salah layanan")
    fresh = client.post(url, {"action": "issue", "service": "recording", "nik": resident.nik})
    assert fresh.status_code == 302


def test_a_number_held_at_another_office_is_shown_without_a_cancel(client, point, personas):
    """The province sees every regency's numbers: it is told where the number is held, and
    only that office cancels it."""
    resident = make_resident(name="Budi")
    ticket_issue_walkin(
        service_point=point, service="recording", nik=resident.nik, acting_user=personas.bdl_queue
    )
    lamsel = make_point(
        personas.lamsel_office, code="18.01-DINAS", counters=1, holiday_opening=HolidayOpening.OPEN
    )
    client.login(username="prov_admin", password=PASSWORD)
    url = reverse("antrean_gate", args=[lamsel.code])
    html = client.post(
        url, {"action": "issue", "service": "recording", "nik": resident.nik}
    ).content.decode()
    assert 'data-testid="held-ticket"' in html and 'value="cancel"' not in html
    assert "yang dapat membatalkannya" in html and point.name in html


def test_a_number_held_in_another_regency_is_not_described_at_the_gate(client, point, personas):
    resident = make_resident(name="Budi")
    held = ticket_issue_walkin(
        service_point=point, service="recording", nik=resident.nik, acting_user=personas.bdl_queue
    )
    lamsel = make_point(
        personas.lamsel_office,
        code="18.01-DINAS",
        name="Kantor Kalianda",
        counters=1,
        holiday_opening=HolidayOpening.OPEN,
    )
    client.login(username="lamsel_operator", password=PASSWORD)
    url = reverse("antrean_gate", args=[lamsel.code])
    response = client.post(url, {"action": "issue", "service": "recording", "nik": resident.nik})
    html = response.content.decode()
    assert response.status_code == 400
    assert "sudah memiliki nomor antrean aktif hari ini di kantor lain" in html
    assert 'data-testid="held-ticket"' not in html and 'value="cancel"' not in html
    assert held.label not in html and point.name not in html and held.public_code not in html


def test_another_office_cannot_cancel_a_number(client, point, personas):
    held = ticket_issue_walkin(
        service_point=point, service="recording", acting_user=personas.bdl_queue
    )
    lamsel = make_point(
        personas.lamsel_office, code="18.01-DINAS", counters=1, holiday_opening=HolidayOpening.OPEN
    )
    client.login(username="lamsel_operator", password=PASSWORD)
    url = reverse("antrean_gate", args=[lamsel.code])
    refused = client.post(url, {"action": "cancel", "code": held.public_code, "reason": "x"})
    assert "tidak ditemukan di kantor ini" in refused.content.decode()
    held.refresh_from_db()
    assert held.state == State.WAITING


def test_a_counter_corrects_a_mistyped_nik(client, point, personas):
    wrong, right = make_resident(name="Salah"), make_resident(name="Benar")
    ticket_issue_walkin(
        service_point=point, service="recording", nik=wrong.nik, acting_user=personas.bdl_queue
    )
    client.login(username="bdl_operator", password=PASSWORD)
    url = reverse("antrean_counter", args=[point.code, 1])
    client.post(url, {"action": "call"})
    assert "Perbaiki NIK" in client.get(url).content.decode()
    page = client.post(url, {"action": "nik", "nik": right.nik}, follow=True).content.decode()
    assert Ticket.objects.get().resident == right
    assert f"NIK A-001 dicatat: {right.nik} (Benar)." in page


def test_an_operator_calls_the_next_number_from_the_counter_page(client, point, personas):
    resident = make_resident(name="Budi")
    ticket_issue_walkin(
        service_point=point, service="recording", nik=resident.nik, acting_user=personas.bdl_queue
    )
    client.login(username="bdl_operator", password=PASSWORD)
    url = reverse("antrean_counter", args=[point.code, 1])
    client.post(url, {"action": "call"})
    html = client.get(url).content.decode()
    assert 'data-testid="current-number">A-001' in html
    assert reverse("resident_detail", args=[resident.nik]) in html
    assert reverse("suket_decision", args=[resident.nik]) in html
    response = client.post(url, {"action": "close", "outcome": "recorded"}, follow=True)
    assert Ticket.objects.get().state == State.DONE
    resident.refresh_from_db()
    assert resident.ktp_state == KtpState.BIO_CAPTURED
    assert "A-001 selesai. Status KTP-el: Sudah rekam biometrik." in response.content.decode()


def test_the_figures_page_shows_the_day(client, point, personas):
    ticket_issue_walkin(service_point=point, service="recording", acting_user=personas.bdl_queue)
    client.login(username="bdl_supervisor", password=PASSWORD)
    response = client.get(reverse("antrean_figures", args=[point.code]))
    assert response.status_code == 200
    assert 'data-testid="figures"' in response.content.decode()


def test_the_points_page_lists_the_offices_points(client, point, personas):
    client.login(username="bdl_operator", password=PASSWORD)
    html = client.get(reverse("antrean_points")).content.decode()
    assert point.name in html and reverse("antrean_gate", args=[point.code]) in html
