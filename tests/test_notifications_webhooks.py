"""The WhatsApp webhook: verify-token handshake, signatures, receipts, incoming messages."""

import json
import time

import pytest
from django.urls import reverse

from rekam.notifications.models import (
    Attempt,
    Channel,
    Consent,
    InboundMessage,
    Message,
    State,
)
from rekam.notifications.services import message_send
from rekam.notifications.webhooks import signature

from .factories import make_resident
from .fakes.helpers import APP_SECRET, VERIFY_TOKEN, use_fakes

CARD = {"name": "Siti", "place": "Kantor Kecamatan Kedaton", "office": "Disdukcapil"}
URL = "/webhooks/whatsapp/"


@pytest.fixture(autouse=True)
def secrets(settings, tmp_path):
    use_fakes(settings, tmp_path)


@pytest.fixture
def resident(lampung):
    return make_resident(phone="+6281234567890", whatsapp_consent=True)


@pytest.fixture
def sent_message(resident):
    message = message_send(
        recipient=resident,
        template="card_printed",
        data=CARD,
        idempotency_key="wh1",
        channels=["whatsapp", "sms"],
    )
    Message.objects.filter(pk=message.pk).update(
        state=State.SENT, provider_message_id="wamid.ABC", attempts=1
    )
    message.refresh_from_db()
    return message


def payload(statuses=(), messages=()):
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "WABA1",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"phone_number_id": "1098765"},
                            "statuses": list(statuses),
                            "messages": list(messages),
                        },
                    }
                ],
            }
        ],
    }


def status(kind, wamid="wamid.ABC", **extra):
    return {"id": wamid, "status": kind, "timestamp": str(int(time.time())), **extra}


def incoming(text, wamid="wamid.IN1", sender="6281234567890"):
    return {
        "from": sender,
        "id": wamid,
        "timestamp": str(int(time.time())),
        "type": "text",
        "text": {"body": text},
    }


def post(client, body, secret=APP_SECRET, header=None):
    raw = json.dumps(body).encode()
    sig = header if header is not None else signature(raw, secret)
    return client.post(
        URL, data=raw, content_type="application/json", headers={"X-Hub-Signature-256": sig}
    )


def test_the_url_is_named(db):
    assert reverse("notifications:whatsapp_webhook") == URL


def test_it_answers_the_verify_token_handshake(client, db):
    response = client.get(
        URL, {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "12345"}
    )
    assert response.status_code == 200
    assert response.content == b"12345"


def test_it_refuses_a_wrong_verify_token(client, db):
    response = client.get(
        URL, {"hub.mode": "subscribe", "hub.verify_token": "salah", "hub.challenge": "12345"}
    )
    assert response.status_code == 403
    assert b"12345" not in response.content


def test_it_refuses_a_wrong_signature_and_changes_nothing(client, sent_message):
    before = Message.objects.values().get(pk=sent_message.pk)
    body = payload(statuses=[status("read")], messages=[incoming("BERHENTI")])
    response = post(client, body, secret="rahasia-orang-lain")
    assert response.status_code == 403
    assert Message.objects.values().get(pk=sent_message.pk) == before
    assert not InboundMessage.objects.exists()
    assert not Consent.objects.exists()
    sent_message.resident.refresh_from_db()
    assert sent_message.resident.whatsapp_consent is True


def test_it_refuses_a_request_without_a_signature(client, sent_message):
    response = post(client, payload(statuses=[status("read")]), header="")
    assert response.status_code == 403
    sent_message.refresh_from_db()
    assert sent_message.state == State.SENT


def test_it_refuses_every_post_while_no_app_secret_is_set(client, settings, sent_message):
    settings.NOTIFICATIONS_WHATSAPP_APP_SECRET = ""
    response = post(client, payload(statuses=[status("read")]), secret="")
    assert response.status_code == 403


def test_receipts_move_the_message_to_delivered_then_read(client, sent_message):
    assert post(client, payload(statuses=[status("delivered")])).status_code == 200
    sent_message.refresh_from_db()
    assert sent_message.state == State.DELIVERED
    assert sent_message.delivered_at is not None
    post(client, payload(statuses=[status("read")]))
    sent_message.refresh_from_db()
    assert sent_message.state == State.READ
    assert sent_message.read_at is not None


def test_a_late_receipt_never_moves_a_message_back(client, sent_message):
    post(client, payload(statuses=[status("read")]))
    post(client, payload(statuses=[status("delivered")]))
    sent_message.refresh_from_db()
    assert sent_message.state == State.READ


def test_a_failed_status_moves_the_message_to_its_next_channel(client, sent_message):
    error = {"code": 131047, "title": "Re-engagement message", "error_data": {"details": "24h"}}
    post(client, payload(statuses=[status("failed", errors=[error])]))
    sent_message.refresh_from_db()
    assert sent_message.state == State.QUEUED
    assert sent_message.channel == Channel.SMS
    assert "(#131047) Re-engagement message: 24h" in sent_message.failure_reason
    assert sent_message.attempt_log.get().outcome == Attempt.Outcome.PERMANENT


def test_a_status_naming_only_the_key_settles_a_message_whose_worker_died(client, sent_message):
    Message.objects.filter(pk=sent_message.pk).update(state=State.SENDING, provider_message_id="")
    post(
        client,
        payload(statuses=[status("sent", wamid="wamid.NEW", biz_opaque_callback_data="wh1")]),
    )
    sent_message.refresh_from_db()
    assert sent_message.state == State.SENT
    assert sent_message.provider_message_id == "wamid.NEW"
    assert sent_message.lease_until is None


def test_an_incoming_message_opens_the_24_hour_window(client, resident):
    from rekam.notifications.channels.whatsapp import window_open

    assert not window_open(resident.phone)
    post(client, payload(messages=[incoming("Kapan jadwal saya?")]))
    assert window_open(resident.phone)
    assert InboundMessage.objects.get().text == "Kapan jadwal saya?"


def test_berhenti_records_an_opt_out_and_clears_the_residents_whatsapp_consent(client, resident):
    post(client, payload(messages=[incoming("berhenti")]))
    consent = Consent.objects.get(resident=resident, channel=Channel.WHATSAPP)
    assert consent.granted is False
    assert consent.source == "WhatsApp: BERHENTI"
    resident.refresh_from_db()
    assert resident.whatsapp_consent is False
    assert resident.whatsapp_consent_source == "WhatsApp: BERHENTI"


def test_stop_also_records_an_opt_out(client, resident):
    post(client, payload(messages=[incoming("STOP")]))
    resident.refresh_from_db()
    assert resident.whatsapp_consent is False


def test_the_same_incoming_message_delivered_twice_is_recorded_once(client, resident):
    body = payload(messages=[incoming("Halo")])
    post(client, body)
    post(client, body)
    assert InboundMessage.objects.count() == 1
