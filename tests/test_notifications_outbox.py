"""The outbox: one function to send, written in the caller's transaction, sent after commit."""

import pytest
from django.db import transaction

from rekam.notifications.models import Channel, Message, State
from rekam.notifications.services import message_send
from rekam.notifications.texts import UnknownTemplate

from .factories import make_resident
from .fakes.helpers import make_worker

SUKET_DATA = {
    "name": "Siti Aminah",
    "suket_number": "474.4/0001/2020",
    "valid_until": "2020-12-31",
    "office": "Disdukcapil Kota Bandar Lampung",
}
CARD_DATA = {"name": "Siti Aminah", "place": "Kantor Kecamatan Kedaton", "office": "Disdukcapil"}


@pytest.fixture(autouse=True)
def demo_outbox(settings, tmp_path):
    settings.NOTIFICATIONS_BACKEND = "file"
    settings.NOTIFICATIONS_OUTBOX_DIR = tmp_path / "outbox"
    settings.NOTIFICATIONS_LETTER_DIR = tmp_path / "letters"
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def resident(lampung):
    return make_resident(phone="+6281234567890", whatsapp_consent=True)


def test_it_writes_the_message_in_the_callers_transaction(resident):
    with pytest.raises(RuntimeError), transaction.atomic():
        message_send(
            recipient=resident, template="card_printed", data=CARD_DATA, idempotency_key="k1"
        )
        raise RuntimeError("the change that caused the message fails")
    assert not Message.objects.filter(idempotency_key="k1").exists()


def test_it_sends_only_after_the_transaction_commits(resident, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        message = message_send(
            recipient=resident, template="card_printed", data=CARD_DATA, idempotency_key="k2"
        )
    message.refresh_from_db()
    assert message.state == State.QUEUED
    assert len(callbacks) == 1
    callbacks[0]()
    message.refresh_from_db()
    assert message.state == State.SENT
    assert message.channel == Channel.WHATSAPP


def test_it_does_not_hand_messages_over_on_commit_when_told_not_to(
    resident, settings, django_capture_on_commit_callbacks
):
    settings.NOTIFICATIONS_SEND_ON_COMMIT = False
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        message_send(
            recipient=resident, template="card_printed", data=CARD_DATA, idempotency_key="k3"
        )
    assert callbacks == []
    assert Message.objects.get(idempotency_key="k3").state == State.QUEUED


def test_it_returns_the_first_message_for_a_repeated_idempotency_key(resident):
    first = message_send(
        recipient=resident, template="card_printed", data=CARD_DATA, idempotency_key="k4"
    )
    again = message_send(
        recipient=resident, template="card_printed", data=CARD_DATA, idempotency_key="k4"
    )
    assert again.pk == first.pk
    assert Message.objects.filter(idempotency_key="k4").count() == 1


def test_it_refuses_an_unknown_message_type(resident):
    with pytest.raises(UnknownTemplate):
        message_send(recipient=resident, template="nope", data={}, idempotency_key="k5")


def test_it_refuses_a_message_missing_a_field(resident):
    with pytest.raises(ValueError, match="suket_number"):
        message_send(
            recipient=resident,
            template="suket_issued",
            data={"name": "X", "valid_until": "2020-12-31", "office": "Y"},
            idempotency_key="k6",
        )


def test_it_follows_the_default_fallback_order_from_settings(resident, settings):
    settings.NOTIFICATIONS_DEFAULT_CHANNELS = "sms,letter"
    message = message_send(
        recipient=resident, template="card_printed", data=CARD_DATA, idempotency_key="k7"
    )
    assert message.channels == ["sms", "letter"]
    assert message.channel == "sms"


def test_it_stores_the_residents_phone_in_e164(lampung):
    resident = make_resident(phone="0812-3456-7890")
    message = message_send(
        recipient=resident, template="card_printed", data=CARD_DATA, idempotency_key="k8"
    )
    assert message.phone == "+6281234567890"


def test_it_writes_demo_messages_to_files(resident, settings):
    message = message_send(
        recipient=resident,
        template="suket_issued",
        data=SUKET_DATA,
        idempotency_key="k9",
        channels=["sms"],
    )
    make_worker().run(once=True)
    message.refresh_from_db()
    assert message.state == State.SENT
    path = settings.NOTIFICATIONS_OUTBOX_DIR / message.provider_message_id.removeprefix("file:")
    text = path.read_text()
    assert "+6281234567890" in text
    assert "474.4/0001/2020" in text
    assert "31 Desember 2020" in text
