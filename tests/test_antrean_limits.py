"""What the queue's pages let a person do who proved little (a NIK holds its birth date), and
what staff see of other regencies: cancelling, the WhatsApp box, names and numbers elsewhere,
and bounds on what a query may ask (dates, the board's polling, points listed)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from rekam.antrean.models import State, Ticket
from rekam.antrean.services import (
    ONLINE_WHATSAPP_SOURCE,
    QueueRefused,
    sessions_ensure,
    ticket_call_next,
    ticket_issue_walkin,
    ticket_set_nik,
    tickets_confirm_due,
)
from rekam.notifications.models import Channel, Message
from rekam.notifications.models import State as MessageState
from rekam.notifications.services import consent_record, message_send
from rekam.servicepoints.models import HolidayOpening

from .conftest import PASSWORD
from .factories import make_resident
from .fakes.helpers import make_worker
from .test_antrean_support import WORKDAY, at, make_point

pytestmark = pytest.mark.django_db

NOW = at(WORKDAY, 10, 20)
PHONE = "+6281234567890"


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    monkeypatch.setattr("rekam.antrean.clock.now", lambda: NOW)


@pytest.fixture(autouse=True)
def demo_outbox(settings, tmp_path):
    settings.NOTIFICATIONS_BACKEND = "file"
    settings.NOTIFICATIONS_OUTBOX_DIR = tmp_path / "outbox"


@pytest.fixture
def point(personas):
    return make_point(personas.bdl_office, counters=2, holiday_opening=HolidayOpening.OPEN)


@pytest.fixture
def resident(lampung):
    return make_resident(name="Siti Aminah", birth_date=date(1990, 5, 17), phone=PHONE)


def identify(client, resident):
    return client.post(
        reverse("antrean_start"),
        {"nik": resident.nik, "birth_date": resident.birth_date.isoformat()},
    )


def book(client, point, resident, **extra) -> Ticket:
    """Identify and take tomorrow's 09:00 session in ``client``'s browser."""
    identify(client, resident)
    session = sessions_ensure(service_point=point, day=WORKDAY + timedelta(days=1))[1]
    client.post(reverse("antrean_take"), {"session": session.pk, "service": "recording", **extra})
    return Ticket.objects.get(nik=resident.nik, state=State.BOOKED)


# Cancelling from the public pages


def test_a_nik_and_its_birth_date_alone_do_not_cancel_a_number_booked_elsewhere(
    client, point, resident
):
    ticket = book(client, point, resident)
    other = Client()  # anyone who knows the NIK, hence the birth date
    identify(other, resident)
    schedule = other.get(reverse("antrean_schedule")).content.decode()
    assert ticket.label in schedule and 'data-testid="booked-elsewhere"' in schedule
    assert ticket.public_code not in schedule  # neither its page nor its code
    refused = other.post(reverse("antrean_cancel", args=[ticket.public_code]), follow=True)
    assert "ketik kode 12 karakter nomor ini" in refused.content.decode()
    wrong = other.post(
        reverse("antrean_cancel", args=[ticket.public_code]), {"kode": "ABCDEFGHJKLM"}
    )
    assert wrong.status_code == 302
    ticket.refresh_from_db()
    assert ticket.state == State.BOOKED


def test_typing_the_code_cancels_a_number_booked_elsewhere(client, point, resident):
    ticket = book(client, point, resident)
    other = Client()
    identify(other, resident)
    page = other.get(reverse("antrean_status", args=[ticket.public_code])).content.decode()
    assert 'name="kode"' in page
    code = f"{ticket.public_code[:6].lower()} {ticket.public_code[6:]}"  # as a person types it
    other.post(reverse("antrean_cancel", args=[ticket.public_code]), {"kode": code})
    ticket.refresh_from_db()
    assert ticket.state == State.CANCELLED


def test_the_schedule_cancels_ones_own_number_by_its_typed_code(client, point, resident):
    ticket = book(client, point, resident)
    stranger = make_resident(name="Lain", birth_date=date(1985, 1, 2))
    theirs = book(Client(), point, stranger)
    other = Client()
    identify(other, resident)
    url = reverse("antrean_cancel_typed")
    not_mine = other.post(url, {"kode": theirs.public_code}, follow=True).content.decode()
    assert "bukan kode nomor antrean Anda" in not_mine
    other.post(url, {"kode": ticket.public_code})
    ticket.refresh_from_db()
    theirs.refresh_from_db()
    assert (ticket.state, theirs.state) == (State.CANCELLED, State.BOOKED)


def test_the_browser_that_booked_cancels_without_the_code_until_it_logs_out(
    client, point, resident
):
    ticket = book(client, point, resident)
    page = client.get(reverse("antrean_status", args=[ticket.public_code])).content.decode()
    assert "/batal/" in page and 'name="kode"' not in page
    client.post(reverse("antrean_leave"))
    identify(client, resident)
    client.post(reverse("antrean_cancel", args=[ticket.public_code]))
    ticket.refresh_from_db()
    assert ticket.state == State.BOOKED


# The WhatsApp box is for this booking only


def test_the_whatsapp_box_is_a_yes_for_this_number_not_the_registry(
    client, point, resident, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ticket = book(client, point, resident, whatsapp="1")
    resident.refresh_from_db()
    assert resident.whatsapp_consent is False and resident.whatsapp_consent_source == ""
    assert ticket.whatsapp_consent_source == ONLINE_WHATSAPP_SOURCE
    confirmation = Message.objects.get(idempotency_key=f"antrean:{ticket.public_code}")
    assert confirmation.consent_source == ONLINE_WHATSAPP_SOURCE
    other = message_send(
        recipient=resident,
        template="card_printed",
        data={"name": "Siti", "place": point.name, "office": "Disdukcapil"},
        idempotency_key="kartu",
        channels=["whatsapp", "sms"],
    )
    make_worker().run(once=True)
    confirmation.refresh_from_db()
    other.refresh_from_db()
    assert (confirmation.channel, confirmation.state) == (Channel.WHATSAPP, MessageState.SENT)
    assert (other.channel, other.state) == (Channel.SMS, MessageState.SENT)


def test_without_the_box_the_confirmation_goes_by_sms(client, point, resident):
    ticket = book(client, point, resident)
    assert ticket.whatsapp_consent_source == ""
    assert tickets_confirm_due() == 1  # the confirmation worker's path
    make_worker().run(once=True)
    assert Message.objects.get().channel == Channel.SMS


def test_the_box_does_not_override_a_recorded_no(client, point, resident, personas):
    consent_record(
        resident=resident,
        channel=Channel.WHATSAPP,
        granted=False,
        source="formulir di loket",
        acting_user=personas.bdl_operator,
    )
    book(client, point, resident, whatsapp="1")
    assert tickets_confirm_due() == 1
    assert Message.objects.get().consent_source == ONLINE_WHATSAPP_SOURCE
    make_worker().run(once=True)
    assert Message.objects.get().channel == Channel.SMS


# Staff of one regency and the residents or numbers of another


def _lamsel_point(personas):
    return make_point(
        personas.lamsel_office,
        code="18.01-DINAS",
        name="Kantor Kalianda",
        counters=1,
        holiday_opening=HolidayOpening.OPEN,
    )


def test_a_counter_notes_another_regencys_nik_without_its_name(client, point, personas):
    visitor = make_resident("18.01.04.2001", name="Abdul Lamsel")  # Lampung Selatan
    ticket_issue_walkin(service_point=point, service="recording", acting_user=personas.bdl_queue)
    client.login(username="bdl_operator", password=PASSWORD)
    url = reverse("antrean_counter", args=[point.code, 1])
    client.post(url, {"action": "call"})
    page = client.post(url, {"action": "nik", "nik": visitor.nik}, follow=True).content.decode()
    assert f"NIK A-001 dicatat: {visitor.nik}." in page
    assert "Abdul" not in page
    assert Ticket.objects.get().resident == visitor  # served outside their regency all the same


def test_a_second_number_elsewhere_is_refused_without_its_place(point, personas):
    visitor = make_resident("18.01.04.2001", name="Abdul Lamsel")
    lamsel = _lamsel_point(personas)
    held = ticket_issue_walkin(
        service_point=lamsel,
        service="recording",
        nik=visitor.nik,
        acting_user=personas.lamsel_operator,
    )
    with pytest.raises(QueueRefused) as at_the_gate:
        ticket_issue_walkin(
            service_point=point, service="other", nik=visitor.nik, acting_user=personas.bdl_queue
        )
    walk_in = ticket_issue_walkin(
        service_point=point, service="recording", acting_user=personas.bdl_queue
    )
    ticket_call_next(service_point=point, counter=1, acting_user=personas.bdl_operator)
    with pytest.raises(QueueRefused) as at_the_counter:
        ticket_set_nik(ticket=walk_in, nik=visitor.nik, acting_user=personas.bdl_operator)
    for refusal in (at_the_gate.value, at_the_counter.value):
        assert refusal.code == "duplicate"
        assert "hari ini di kantor lain" in refusal.message
        assert held.label not in refusal.message and lamsel.name not in refusal.message
    with pytest.raises(QueueRefused, match=f"{held.label} .* di {lamsel.name}"):
        ticket_issue_walkin(
            service_point=point,
            service="other",
            nik=visitor.nik,
            acting_user=personas.province_admin,
        )


# Bounds on what a query asks


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "1999-12-31", "2101-01-01"])
def test_the_figures_refuse_a_day_outside_the_sane_years(client, point, day):
    client.login(username="bdl_supervisor", password=PASSWORD)
    response = client.get(reverse("antrean_figures", args=[point.code]), {"tanggal": day})
    assert response.status_code == 200
    assert response.context["day"] == WORKDAY


def test_the_figures_show_a_day_asked_within_them(client, point):
    client.login(username="bdl_supervisor", password=PASSWORD)
    response = client.get(reverse("antrean_figures", args=[point.code]), {"tanggal": "2100-12-31"})
    assert response.context["day"] == date(2100, 12, 31)
    # As people write dates, too.
    response = client.get(reverse("antrean_figures", args=[point.code]), {"tanggal": "02-12-2099"})
    assert response.context["day"] == date(2099, 12, 2)


@pytest.mark.parametrize(("asked", "polled"), [("20", 1000), ("999", 1000), ("5000", 5000)])
def test_the_board_polls_at_most_once_a_second(client, point, asked, polled):
    response = client.get(reverse("antrean_board", args=[point.code]), {"interval": asked})
    assert f'data-poll="{polled}"' in response.content.decode()


def test_the_points_page_reads_the_same_queries_however_many_points(client, personas):
    client.login(username="bdl_operator", password=PASSWORD)
    counts = []
    for n in range(2):
        for k in range(3):
            make_point(personas.bdl_office, code=f"18.71-UPT{n}{k}")
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("antrean_points")).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]
