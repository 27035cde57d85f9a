"""The SMS channel's real client against the fake generic gateway."""

import pytest

from rekam.notifications.models import Attempt, Channel, State
from rekam.notifications.services import message_send

from .factories import make_resident
from .fakes import FakeSmsGateway
from .fakes.helpers import later, make_worker, use_fakes

CARD = {"name": "Budi Santoso", "place": "Kantor Kecamatan Kedaton", "office": "Disdukcapil"}


@pytest.fixture
def sms():
    with FakeSmsGateway() as fake:
        yield fake


@pytest.fixture
def live(settings, tmp_path, sms):
    use_fakes(settings, tmp_path, sms=sms)
    return settings


@pytest.fixture
def resident(lampung):
    return make_resident(name="Budi Santoso", sex="L", phone="+6281298765432")


def send(resident, key="s1", channels=("sms",)):
    return message_send(
        recipient=resident,
        template="card_printed",
        data=CARD,
        idempotency_key=key,
        channels=list(channels),
    )


def test_it_posts_json_with_the_configured_fields_and_authorization(live, sms, resident):
    message = send(resident)
    make_worker().run(once=True)
    message.refresh_from_db()
    [request] = sms.requests
    assert request.headers["authorization"] == "Bearer sms-secret"
    body = request.json()
    assert body["to"] == "+6281298765432"
    assert body["from"] == "DUKCAPIL"
    assert body["text"].startswith("Disdukcapil: KTP-el a.n. Budi Santoso sudah dicetak")
    assert message.state == State.SENT
    assert message.provider_message_id == sms.sent[0]["id"]


def test_it_posts_a_form_with_the_gateways_field_names_when_configured(live, sms, resident):
    live.NOTIFICATIONS_SMS_BODY = "form"
    live.NOTIFICATIONS_SMS_FIELDS = "to=to,text=text,sender="
    send(resident)
    make_worker().run(once=True)
    [request] = sms.requests
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert set(request.form()) == {"to", "text"}


def test_it_sends_the_idempotency_key_so_the_gateway_never_sends_twice(live, sms, resident):
    message = send(resident, key="suket:474.4/0001")
    make_worker().run(once=True)
    assert sms.requests[0].headers["idempotency-key"] == "suket:474.4/0001"
    # The same message handed over again (as after a worker died) is answered, not re-sent.
    from rekam.notifications.channels.sms import SmsChannel

    channel = SmsChannel.from_settings()
    again = channel.send(message)
    channel.close()
    assert again.outcome == Attempt.Outcome.SENT
    assert len(sms.sent) == 1
    assert sms.duplicates["suket:474.4/0001"] == 1


def test_it_retries_a_gateway_error_and_then_sends(live, sms, resident):
    message = send(resident)
    sms.push("500", "429")
    make_worker().run(once=True)
    make_worker(clock=later(1)).run(once=True)
    make_worker(clock=later(2)).run(once=True)
    message.refresh_from_db()
    assert message.state == State.SENT
    outcomes = list(message.attempt_log.values_list("outcome", "status_code"))
    assert outcomes == [("temporary", 500), ("temporary", 429), ("sent", 200)]


def test_a_refused_number_moves_the_message_to_the_next_channel(live, sms, resident):
    message = send(resident, channels=("sms", "letter"))
    sms.push("400")
    make_worker().run(once=True)
    message.refresh_from_db()
    assert message.channel == Channel.LETTER
    assert message.is_waiting_for_letter
    assert "invalid destination number" in message.failure_reason


def test_a_landline_is_not_used_for_sms(live, sms, lampung):
    resident = make_resident(phone="0721 123456")
    message = send(resident, channels=("sms", "letter"))
    make_worker().run(once=True)
    message.refresh_from_db()
    assert sms.requests == []
    assert message.channel == Channel.LETTER
    assert "bukan nomor seluler" in message.failure_reason


def test_an_unconfigured_gateway_is_skipped_with_the_reason(live, sms, resident):
    live.NOTIFICATIONS_SMS_URL = ""
    message = send(resident, channels=("sms", "letter"))
    make_worker().run(once=True)
    message.refresh_from_db()
    assert message.channel == Channel.LETTER
    assert "belum dikonfigurasi" in message.failure_reason
