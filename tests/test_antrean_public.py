"""What a resident on the public queue pages is told and may do: the confirmation message, one
upcoming online number per service (and moving it), one answer for who need not record yet,
every KTP-el state explained, a Suket offered only where the Suket rules allow one, the nearest
service point first, limits that say why and until when, and cancellations that say which."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape

from rekam.accounts.models import Office
from rekam.antrean import views
from rekam.antrean.models import Channel, State, Ticket
from rekam.antrean.services import (
    QueueRefused,
    sessions_ensure,
    ticket_book_online,
    ticket_cancel,
    ticket_issue_walkin,
)
from rekam.elections.models import Election
from rekam.notifications import texts
from rekam.notifications.models import Message
from rekam.regions.models import Region
from rekam.residents.states import KtpState
from rekam.servicepoints.models import HolidayOpening, Service, ServicePoint
from rekam.suket.models import BlankStock

from .factories import make_resident
from .test_antrean_support import WORKDAY, at, make_point, session_at

pytestmark = pytest.mark.django_db

NOW = at(WORKDAY, 10, 20)
TOMORROW = WORKDAY + timedelta(days=1)  # Thursday 3 December 2020
POLLING_DAY = date(2020, 12, 9)


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    monkeypatch.setattr("rekam.antrean.clock.now", lambda: NOW)


@pytest.fixture
def point(personas):
    return make_point(personas.bdl_office, counters=2, holiday_opening=HolidayOpening.OPEN)


@pytest.fixture
def resident(lampung):
    return make_resident(name="Siti Aminah", birth_date=date(1990, 5, 17), phone="+6281234567890")


def pilkada(*regencies: str) -> Election:
    election = Election.objects.create(
        name="Pilkada 2020",
        slug="pilkada-2020",
        polling_day=POLLING_DAY,
        suket_issue_until=POLLING_DAY,
        suket_valid_until=date(2020, 12, 31),
    )
    for code in regencies:
        election.regions.add(Region.objects.get(code=code))
    return election


def identify(client, resident):
    return client.post(
        reverse("antrean_start"),
        {"nik": resident.nik, "birth_date": resident.birth_date.isoformat()},
    )


def session(point, day=TOMORROW, hh=9):
    return session_at(point, at(day, hh))


def take(client, point, day=TOMORROW, hh=9, service="recording", **extra):
    return client.post(
        reverse("antrean_take"),
        {"session": session(point, day, hh).pk, "service": service, **extra},
        follow=True,
    )


def page_messages(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


def schedule(client, **query) -> str:
    return client.get(reverse("antrean_schedule"), query).content.decode()


# 1. The confirmation: arrival window, code and the number's page


def test_the_confirmation_says_when_to_come_the_code_and_the_numbers_page(
    point, resident, settings, django_capture_on_commit_callbacks
):
    settings.ANTREAN_PUBLIC_URL = "https://antrean.example.go.id/"
    with django_capture_on_commit_callbacks(execute=True):
        ticket = ticket_book_online(
            session_id=session(point).pk,
            service=Service.RECORDING,
            resident_id=resident.pk,
            at=NOW,
            base_url="http://10.0.0.5:8000/",  # the address a proxy forwarded to
        )
    message = Message.objects.get(idempotency_key=f"antrean:{ticket.public_code}")
    page = f"https://antrean.example.go.id/antrean/nomor/{ticket.public_code}/"
    assert message.data["window"] == "09.00–10.00"
    assert message.data["code"] == ticket.public_code
    assert message.data["status_url"] == page
    fam = texts.family("queue_ticket")
    params = texts.whatsapp_parameters(fam, "id", message.data)
    assert params == [
        "Siti Aminah",
        "A-001",
        point.name,
        "3 Desember 2020",
        "09.00–10.00",
        page,
        ticket.public_code,
    ]
    for part in ("whatsapp", "sms", "email_body", "letter"):
        for language in texts.LANGUAGES:
            text = texts.render(fam, part, language, message.data)
            assert "09.00–10.00" in text and ticket.public_code in text, (part, language)
            assert page in text, (part, language)


def test_without_a_configured_address_the_link_is_the_one_the_resident_used(
    point, resident, settings, django_capture_on_commit_callbacks
):
    settings.ANTREAN_PUBLIC_URL = ""
    with django_capture_on_commit_callbacks(execute=True):
        ticket = ticket_book_online(
            session_id=session(point).pk,
            service=Service.RECORDING,
            resident_id=resident.pk,
            at=NOW,
            base_url="https://rekam.example.go.id/",
        )
    data = Message.objects.get().data
    assert data["status_url"] == (
        f"https://rekam.example.go.id/antrean/nomor/{ticket.public_code}/"
    )


@pytest.mark.parametrize("language", texts.LANGUAGES)
def test_the_whatsapp_text_holds_its_parameters_in_their_order(language):
    """The template's parameters are positional: the approved text and ``body_parameters``
    must name the same fields in the same order, and WhatsApp refuses a text that begins or
    ends with a parameter."""
    fam = texts.family("queue_ticket")
    raw = (texts.MESSAGES_DIR / "queue_ticket" / language / "whatsapp.txt").read_text().strip()
    assert re.findall(r"\{\{\s*(\w+)\s*\}\}", raw) == list(fam.whatsapp_parameters)
    assert "{%" not in raw
    assert not raw.startswith("{{") and not raw.endswith("}}")
    assert {"window", "code", "status_url"} <= set(fam.whatsapp_parameters)


def test_a_number_booked_in_another_browser_is_listed_with_its_service_day_and_time(
    client, point, resident
):
    identify(client, resident)
    take(client, point)
    ticket = Ticket.objects.get()
    other = Client()
    identify(other, resident)
    html = schedule(other)
    [row] = [li for li in re.findall(r"<li>(.*?)</li>", html, re.S) if ticket.label in li]
    assert 'data-testid="booked-elsewhere"' in row
    assert "Kamis, 3 Desember 2020" in row and "09.00–10.00" in row and point.name in row
    with translation.override("id"):
        assert str(Service(Service.RECORDING).label) in row
    assert ticket.public_code not in html


# 2. One upcoming online number per service; "ganti" moves it


def book(point, resident, day=TOMORROW, hh=9, service=Service.RECORDING, **replaces):
    return ticket_book_online(
        session_id=session(point, day, hh).pk,
        service=service,
        resident_id=resident.pk,
        at=NOW,
        **replaces,
    )


def test_a_resident_holds_one_upcoming_online_number_per_service(point, resident):
    first = book(point, resident)
    with pytest.raises(QueueRefused) as refused:
        book(point, resident, day=TOMORROW + timedelta(days=1))
    assert refused.value.code == "held"
    message = refused.value.message
    assert "A-001" in message and "Kamis, 3 Desember 2020 pukul 09.00–10.00" in message
    assert point.name in message and "Pindahkan nomor saya ke sini" in message
    assert Ticket.objects.filter(state=State.BOOKED).count() == 1
    # The refused booking took no seat.
    assert session(point, TOMORROW + timedelta(days=1)).public_taken == 0
    # Another service is another number.
    other = book(point, resident, day=TOMORROW + timedelta(days=1), service=Service.OTHER)
    assert other.label == "D-001"
    # Given back, the service is free again.
    ticket_cancel(ticket=first, at=NOW)
    assert book(point, resident, day=TOMORROW + timedelta(days=2)).state == State.BOOKED


def test_twelve_days_in_a_row_give_one_number(point, resident):
    refused = 0
    for n in range(12):
        try:
            book(point, resident, day=TOMORROW + timedelta(days=n))
        except QueueRefused:
            refused += 1
    assert refused == 11 and Ticket.objects.count() == 1


def test_past_numbers_and_other_channels_do_not_count(point, resident, personas):
    # Yesterday's number nobody closed, and a number from the gate today.
    yesterday = sessions_ensure(service_point=point, day=WORKDAY - timedelta(days=1))[1]
    ticket_book_online(
        session_id=yesterday.pk,
        service=Service.RECORDING,
        resident_id=resident.pk,
        at=at(WORKDAY - timedelta(days=2), 9),
    )
    ticket_issue_walkin(
        service_point=point,
        service=Service.RECORDING,
        nik=resident.nik,
        acting_user=personas.bdl_queue,
        at=NOW,
    )
    assert book(point, resident).state == State.BOOKED


def test_moving_a_number_gives_the_old_one_back_in_the_same_step(point, resident):
    first = book(point, resident)
    moved = book(point, resident, day=TOMORROW, hh=11, replaces=first)
    first.refresh_from_db()
    assert first.state == State.CANCELLED and moved.state == State.BOOKED
    assert first.events.get(kind="cancelled").detail == "dipindahkan pemegang nomor"
    assert session(point).public_taken == 0 and session(point, hh=11).public_taken == 1


def test_a_move_that_fails_keeps_the_old_number(point, resident):
    first = book(point, resident)
    full = session(point, hh=12)
    type(full).objects.filter(pk=full.pk).update(closed=True)
    with pytest.raises(QueueRefused):
        book(point, resident, hh=12, replaces=first)
    first.refresh_from_db()
    assert first.state == State.BOOKED and session(point).public_taken == 1


def test_only_ones_own_booked_online_number_moves(point, resident, personas):
    stranger = make_resident(name="Lain", birth_date=date(1985, 1, 2))
    theirs = book(point, stranger)
    with pytest.raises(QueueRefused) as refused:
        book(point, resident, replaces=theirs)
    assert refused.value.code == "not_movable"
    theirs.refresh_from_db()
    assert theirs.state == State.BOOKED


def test_the_schedule_moves_the_number_booked_in_this_browser(client, point, resident):
    identify(client, resident)
    take(client, point)
    first = Ticket.objects.get()
    html = schedule(client, tanggal=(TOMORROW + timedelta(days=1)).isoformat())
    assert 'data-testid="held"' in html and f'name="ganti" value="{first.pk}"' in html
    assert 'id="id_ganti_kode"' not in html  # booked here: no code needed
    answer = take(client, point, day=TOMORROW + timedelta(days=1), ganti=first.pk)
    first.refresh_from_db()
    new = Ticket.objects.get(state=State.BOOKED)
    assert first.state == State.CANCELLED and new.day == TOMORROW + timedelta(days=1)
    assert answer.request["PATH_INFO"] == reverse("antrean_status", args=[new.public_code])
    assert "A-001" in page_messages(answer)


def test_a_number_booked_elsewhere_moves_only_with_its_code(client, point, resident):
    identify(client, resident)
    take(client, point)
    first = Ticket.objects.get()
    other = Client()
    identify(other, resident)
    assert 'id="id_ganti_kode"' in schedule(other)
    refused = take(other, point, hh=11, ganti=first.pk)
    assert "A-001" in page_messages(refused)
    first.refresh_from_db()
    assert first.state == State.BOOKED and Ticket.objects.count() == 1
    take(other, point, hh=11, ganti=first.pk, kode=first.public_code.lower())
    first.refresh_from_db()
    assert first.state == State.CANCELLED
    assert Ticket.objects.get(state=State.BOOKED).window_start == at(TOMORROW, 11)


def test_without_moving_the_page_says_which_number_is_held_and_how_to_change_it(
    client, point, resident
):
    identify(client, resident)
    take(client, point)
    answer = take(client, point, day=TOMORROW + timedelta(days=1))
    text = page_messages(answer)
    assert "A-001" in text and "Kamis, 3 Desember 2020" in text and point.name in text
    assert "Pindahkan nomor saya ke sini" in text
    assert Ticket.objects.count() == 1


# 3. Not yet required to hold a KTP-el: one answer, to the resident


def test_a_small_child_gets_one_answer_and_no_recording(client, personas, monkeypatch):
    monkeypatch.setattr("rekam.antrean.clock.now", lambda: at(date(2026, 12, 2), 10, 20))
    make_point(personas.lamsel_office, code="18.01-DINAS", holiday_opening=HolidayOpening.OPEN)
    child = make_resident(
        "18.01.06.1007", name="Anak", nik="1801061104230001", birth_date=date(2023, 4, 11), sex="L"
    )
    identify(client, child)
    html = schedule(client)
    assert 'data-testid="not-required"' in html and "11 April 2040" in html
    assert 'data-testid="recording-refused"' not in html  # no second, third-person box
    assert "Penduduk ini" not in html and " ia " not in html
    with translation.override("id"):
        assert str(KtpState(KtpState.BELUM_REKAM).label) not in html
        assert str(views.STATE_ADVICE[KtpState.BELUM_REKAM].todo) not in html
    assert 'value="recording"' not in html


# 4. Every state explained


@pytest.mark.parametrize("state", KtpState.values)
def test_every_ktp_el_state_says_what_it_means_and_what_to_do(client, point, state):
    advice = views.STATE_ADVICE[state]
    assert advice.meaning and advice.todo
    person = make_resident(name="Warga", birth_date=date(1990, 5, 17), ktp_state=state)
    identify(client, person)
    html = schedule(client)
    panel = html.split('data-testid="ktp-state"')[1].split("</section>")[0]
    with translation.override("id"):
        assert escape(str(advice.meaning)) in panel and escape(str(advice.todo)) in panel
        if advice.next:
            assert escape(str(advice.next)) in panel


def test_the_suket_is_explained_where_it_is_offered(client, point):
    pilkada("18.71")
    person = make_resident(ktp_state=KtpState.SENT_FOR_ENROLLMENT)
    identify(client, person)
    html = schedule(client)
    assert 'value="suket"' in html
    note = html.split('data-testid="suket-note"')[1].split("</p>")[0]
    assert "Suket" in note and "DPT" in note and "9 Desember 2020" in note


# 5. A Suket only where the Suket rules allow one


def test_no_suket_is_offered_outside_the_regions_holding_the_election(client, personas):
    pilkada("18.71")
    liwa = make_point(
        Office.objects.get(region_id="18.04"),
        code="18.04-DINAS",
        village=Region.objects.get(code="18.04.04.1001"),
        holiday_opening=HolidayOpening.OPEN,
    )
    person = make_resident("18.04.04.1001", ktp_state=KtpState.SENT_FOR_ENROLLMENT)
    identify(client, person)
    html = schedule(client)
    assert 'value="suket"' not in html and 'data-testid="suket-note"' not in html
    refused = take(client, liwa, service="suket")
    assert "Suket" in page_messages(refused) and not Ticket.objects.exists()


def test_no_suket_is_offered_once_its_window_closed(client, point, monkeypatch):
    pilkada("18.71")
    monkeypatch.setattr("rekam.antrean.clock.now", lambda: at(date(2020, 12, 10), 10, 20))
    identify(client, make_resident(ktp_state=KtpState.SENT_FOR_ENROLLMENT))
    assert 'value="suket"' not in schedule(client)


def test_no_suket_is_offered_when_the_card_can_be_printed(client, point, personas):
    pilkada("18.71")
    BlankStock.objects.create(office=personas.bdl_office, balance=10)
    identify(client, make_resident(ktp_state=KtpState.PRINT_READY_RECORD))
    html = schedule(client)
    assert 'value="printing"' in html and 'value="suket"' not in html


def test_a_suket_is_booked_only_until_its_deadline(client, point):
    pilkada("18.71")
    identify(client, make_resident(ktp_state=KtpState.SENT_FOR_ENROLLMENT))
    html = schedule(client, layanan="suket")
    days = re.findall(r'<option value="(\d{4}-\d{2}-\d{2})"', html)
    assert days and max(days) == POLLING_DAY.isoformat()
    late = take(client, point, day=POLLING_DAY + timedelta(days=1), service="suket")
    assert "9 Desember 2020" in page_messages(late) and not Ticket.objects.exists()
    take(client, point, day=POLLING_DAY, service="suket")
    assert Ticket.objects.get().service == Service.SUKET


# 6. The nearest service point first


def kecamatan_point(office, district: str, village: str) -> ServicePoint:
    home = Region.objects.get(code=village)
    return make_point(
        office,
        code=f"{district}-KEC",
        kind=ServicePoint.Kind.KECAMATAN,
        name=f"Kantor Kecamatan {Region.objects.get(code=district).name}",
        village=home,
        address=f"Kelurahan {home.name}",
        lat=home.lat,
        lon=home.lon,
    )


def test_the_default_point_is_the_residents_kecamatan_office_and_the_list_goes_by_distance(
    client, personas
):
    office = make_point(
        personas.bdl_office, code="18.71-DINAS", name="Kantor Disdukcapil Kota", lat=-5.42,
        lon=105.26,
    )  # fmt: skip
    kemiling = kecamatan_point(personas.bdl_office, "18.71.13", "18.71.13.1001")
    rajabasa = kecamatan_point(personas.bdl_office, "18.71.10", "18.71.10.1001")
    sukarame = kecamatan_point(personas.bdl_office, "18.71.02", "18.71.02.1003")
    person = make_resident("18.71.10.1002", name="Warga Rajabasa")
    identify(client, person)
    html = schedule(client)
    options = re.findall(r'<option value="([^"]+)"( selected)?>([^<]*)</option>', html)
    codes = [code for code, _, _ in options if code.endswith(("-KEC", "-DINAS"))]
    assert codes[0] == rajabasa.code
    assert [c for c, selected, _ in options if selected and c in codes] == [rajabasa.code]
    # Then by distance from Gedong Meneng: Kemiling is nearer than Sukarame and the city office.
    assert codes.index(kemiling.code) < codes.index(office.code) < codes.index(sukarame.code)
    label = next(text for code, _, text in options if code == rajabasa.code)
    assert "Kelurahan Rajabasa" in label and "km" in label
    assert 'data-testid="point-address"' in html


def test_the_default_point_offers_what_the_record_needs(client, personas):
    make_point(personas.bdl_office, code="18.71-DINAS", lat=-5.42, lon=105.26)
    own = kecamatan_point(personas.bdl_office, "18.71.10", "18.71.10.1001")
    own.offers_printing = False
    own.save()
    person = make_resident("18.71.10.1002", ktp_state=KtpState.PRINT_READY_RECORD)
    identify(client, person)
    html = schedule(client)
    selected = re.findall(r'<option value="([^"]+)" selected>', html)
    assert "18.71-DINAS" in selected and own.code not in selected


# 7. Limits that say why and until when, counted apart


def test_too_many_wrong_birth_dates_say_why_and_until_when(client, point, resident, settings):
    settings.ANTREAN_RATE_NIK_PER_15_MINUTES = 5
    for day in range(1, 6):
        wrong = {"nik": resident.nik, "birth_date": f"1990-01-0{day}"}
        assert client.post(reverse("antrean_start"), wrong).status_code == 200
    refused = identify(client, resident)
    html = refused.content.decode()
    assert refused.status_code == 429
    reason = html.split('data-testid="too-many-reason"')[1].split("</p>")[0]
    # The limiter's clock stands at 15.00 WIB (conftest); its 15-minute window ends at 15.15.
    assert "5" in reason and "NIK" in reason and "15.15" in reason
    assert refused["Retry-After"] == "900"


def test_checking_identities_and_booking_are_counted_apart(client, point, resident, settings):
    settings.ANTREAN_RATE_IDENTIFY_PER_MINUTE = 2
    settings.ANTREAN_RATE_IP_PER_MINUTE = 2
    assert identify(client, resident).status_code == 302
    assert identify(client, resident).status_code == 302
    # The village official's two identity checks leave the bookings untouched.
    assert take(client, point).request["PATH_INFO"].startswith("/antrean/nomor/")
    ticket = Ticket.objects.get()
    client.post(reverse("antrean_cancel", args=[ticket.public_code]))
    ticket.refresh_from_db()
    assert ticket.state == State.CANCELLED
    third = identify(client, resident)
    assert third.status_code == 429
    assert "15.01" in third.content.decode()  # the minute's window ends at 15.01


# 8. A cancellation says which number, day and place


def test_the_cancel_message_names_the_day_and_place(client, point, resident):
    identify(client, resident)
    take(client, point)
    ticket = Ticket.objects.get()
    answer = client.post(reverse("antrean_cancel", args=[ticket.public_code]), follow=True)
    text = page_messages(answer)
    assert "A-001" in text and "Kamis, 3 Desember 2020, 09.00–10.00" in text
    assert point.name in text


def test_the_channel_of_a_moved_number_stays_online(point, resident):
    first = book(point, resident)
    moved = book(point, resident, hh=11, replaces=first)
    assert moved.channel == Channel.ONLINE and moved.label == "A-002"


def test_another_regencys_point_books_a_resident_for_other_matters_only(client, personas):
    """Record work (recording, printing, Suket) is done by the resident's own regency/city:
    at another's point the page offers other matters."""
    lamsel = make_point(personas.lamsel_office, code="18.01-DINAS", counters=1)
    visitor = make_resident(name="Warga Kota", birth_date=date(1990, 5, 17))  # Bandar Lampung
    identify(client, visitor)
    page = schedule(client, tempat=lamsel.code, semua="1")
    assert 'value="recording"' not in page and 'value="other"' in page
    assert take(client, lamsel, service="other").status_code == 200
    assert Ticket.objects.filter(resident=visitor, service="other").count() == 1
