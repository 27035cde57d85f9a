"""The WhatsApp channel's real client against the fake Cloud API: templates, the document
header after the upload, retries with backoff, permanent failures and fallback."""

import random
from datetime import timedelta

import pytest
from django.utils import timezone

from rekam.notifications.models import Attempt, Channel, InboundMessage, Message, State
from rekam.notifications.services import message_send
from rekam.notifications.worker import backoff_seconds

from .factories import make_resident
from .fakes import FakeSmsGateway, FakeWhatsApp
from .fakes.helpers import later, make_worker, stored_pdf, use_fakes

SUKET = {
    "name": "Siti Aminah",
    "suket_number": "474.4/0123/SKT/2020",
    "valid_until": "2020-12-31",
    "office": "Disdukcapil Kota Bandar Lampung",
}
CARD = {"name": "Siti Aminah", "place": "Kantor Kecamatan Kedaton", "office": "Disdukcapil"}


@pytest.fixture
def wa():
    with FakeWhatsApp() as fake:
        yield fake


@pytest.fixture
def sms():
    with FakeSmsGateway() as fake:
        yield fake


@pytest.fixture
def live(settings, tmp_path, wa, sms):
    use_fakes(settings, tmp_path, whatsapp=wa, sms=sms)
    return settings


@pytest.fixture
def resident(lampung):
    return make_resident(phone="+6281234567890", whatsapp_consent=True)


def send(resident, template="card_printed", data=CARD, key="m1", **kwargs):
    return message_send(
        recipient=resident, template=template, data=data, idempotency_key=key, **kwargs
    )


def attempts(message):
    return list(message.attempt_log.values_list("channel", "outcome", "status_code"))


def test_it_sends_a_template_message_with_its_body_parameters(live, wa, resident):
    message = send(resident)
    make_worker().run(once=True)
    message.refresh_from_db()
    assert message.state == State.SENT
    [payload] = wa.sent
    assert message.provider_message_id == payload["wamid"]
    assert payload["to"] == "6281234567890"
    assert payload["template"]["name"] == "rekam_ktp_tercetak"
    assert payload["template"]["language"] == {"code": "id"}
    body = payload["template"]["components"][0]
    assert [p["text"] for p in body["parameters"]] == ["Siti Aminah", "Kantor Kecamatan Kedaton"]
    assert payload["biz_opaque_callback_data"] == "m1"


def test_an_invitation_ends_its_templates_url_button_with_the_reschedule_token(live, wa, resident):
    data = {
        "name": "Siti Aminah",
        "starts_at": "2020-12-08T09:00:00+07:00",
        "place": "Kantor Kecamatan Kedaton",
        "address": "Jl. Teuku Umar",
        "office": "Disdukcapil",
        "reschedule_path": "abc.def:ghi/",
    }
    send(resident, template="invitation", data=data)
    make_worker().run(once=True)
    [payload] = wa.sent
    body, button = payload["template"]["components"]
    assert body["type"] == "body"
    assert button == {
        "type": "button",
        "sub_type": "url",
        "index": "0",
        "parameters": [{"type": "text", "text": "abc.def:ghi/"}],
    }


def test_it_uses_the_template_name_from_settings(live, wa, resident):
    live.NOTIFICATIONS_WHATSAPP_TEMPLATES = "card_printed=ktp_siap_v2, suket_issued=x"
    send(resident)
    make_worker().run(once=True)
    assert wa.sent[0]["template"]["name"] == "ktp_siap_v2"


def test_it_uploads_the_pdf_then_sends_it_as_the_document_header(live, wa, resident):
    pdf = stored_pdf(live.MEDIA_ROOT)
    message = send(resident, "suket_issued", SUKET, attachment=pdf)
    make_worker().run(once=True)
    message.refresh_from_db()
    assert message.state == State.SENT
    assert [r.path.rsplit("/", 1)[-1] for r in wa.requests] == ["media", "messages"]
    [media] = wa.media.values()
    assert media.content == pdf.read_bytes()
    assert media.mime == "application/pdf"
    header = wa.sent[0]["template"]["components"][0]
    assert header["type"] == "header"
    assert header["parameters"][0]["document"] == {"id": media.id, "filename": "suket-0123.pdf"}
    assert message.media_id == media.id


def test_it_does_not_upload_again_when_only_the_send_failed(live, wa, resident):
    pdf = stored_pdf(live.MEDIA_ROOT)
    message = send(resident, "suket_issued", SUKET, attachment=pdf)
    wa.push("500", endpoint="messages")
    make_worker().run(once=True)
    make_worker(clock=later(60)).run(once=True)
    message.refresh_from_db()
    assert message.state == State.SENT
    assert [r.path.rsplit("/", 1)[-1] for r in wa.requests] == ["media", "messages", "messages"]
    assert len(wa.media) == 1


def test_it_retries_a_server_error_after_a_backoff_and_then_sends(live, wa, resident):
    message = send(resident)
    wa.push("500")
    before = timezone.now()
    make_worker().run(once=True)
    message.refresh_from_db()
    assert message.state == State.QUEUED
    assert message.attempts == 1
    # First retry after between half and all of the 10 ms base.
    assert before + timedelta(milliseconds=5) <= message.next_attempt_at
    assert message.next_attempt_at <= timezone.now() + timedelta(milliseconds=10)
    make_worker(clock=later(1)).run(once=True)
    message.refresh_from_db()
    assert message.state == State.SENT
    assert attempts(message) == [("whatsapp", "temporary", 500), ("whatsapp", "sent", 200)]


def test_it_retries_when_the_provider_says_too_many_requests(live, wa, resident):
    message = send(resident)
    wa.push("429")
    make_worker().run(once=True)
    make_worker(clock=later(1)).run(once=True)
    message.refresh_from_db()
    assert message.state == State.SENT
    assert attempts(message)[0] == ("whatsapp", "temporary", 429)
    assert "130429" in message.attempt_log.first().detail


def test_it_retries_after_the_provider_hangs(live, wa, resident):
    message = send(resident)
    wa.push("hang")
    make_worker().run(once=True)
    message.refresh_from_db()
    assert message.state == State.QUEUED
    first = message.attempt_log.get()
    assert first.outcome == "temporary"
    assert "Waktu tunggu habis" in first.detail
    make_worker(clock=later(1)).run(once=True)
    message.refresh_from_db()
    assert message.state == State.SENT


def test_it_stops_on_a_client_error_with_the_providers_reason_and_falls_back_to_sms(
    live, wa, sms, resident
):
    message = send(resident, channels=["whatsapp", "sms"])
    wa.push("400")
    make_worker().run(once=True)
    message.refresh_from_db()
    assert message.state == State.SENT
    assert message.channel == Channel.SMS
    assert attempts(message) == [("whatsapp", "permanent", 400), ("sms", "sent", 200)]
    assert "(#131026) Message undeliverable" in message.failure_reason
    assert len(sms.sent) == 1
    assert len(wa.requests) == 1  # a permanent failure is never retried


def test_it_gives_up_on_a_channel_after_the_last_retry_and_falls_back(live, wa, sms, resident):
    live.NOTIFICATIONS_MAX_ATTEMPTS = 2
    message = send(resident, channels=["whatsapp", "sms"])
    wa.push("500", "500")
    make_worker().run(once=True)
    make_worker(clock=later(1)).run(once=True)
    message.refresh_from_db()
    assert message.state == State.SENT
    assert message.channel == Channel.SMS
    assert "gagal 2 kali" in message.failure_reason
    assert len(wa.requests) == 2


def test_it_fails_with_every_channels_reason_when_none_is_left(live, wa, sms, resident):
    message = send(resident, channels=["whatsapp", "sms"])
    wa.push("400")
    sms.push("400")
    make_worker().run(once=True)
    message.refresh_from_db()
    assert message.state == State.FAILED
    assert message.failed_at is not None
    assert "WhatsApp: HTTP 400 (#131026)" in message.failure_reason
    assert "SMS: HTTP 400: invalid destination number" in message.failure_reason


def test_it_sends_free_text_only_inside_the_24_hour_window(live, wa, sms, resident):
    data = {"text": "Jadwal Anda pindah ke Kamis.", "office": "Disdukcapil"}
    outside = send(resident, "reply", data, key="r1", channels=["whatsapp", "sms"])
    make_worker().run(once=True)
    outside.refresh_from_db()
    assert outside.channel == Channel.SMS
    assert "24 jam" in outside.failure_reason

    InboundMessage.objects.create(
        wa_message_id="wamid.IN1", phone=resident.phone, text="Halo", received_at=timezone.now()
    )
    inside = send(resident, "reply", data, key="r2", channels=["whatsapp", "sms"])
    make_worker().run(once=True)
    inside.refresh_from_db()
    assert inside.channel == Channel.WHATSAPP
    assert inside.state == State.SENT
    assert wa.sent[0]["type"] == "text"
    assert wa.sent[0]["text"]["body"] == "Jadwal Anda pindah ke Kamis."


def test_it_refuses_free_text_when_the_window_closed_more_than_24_hours_ago(live, resident):
    InboundMessage.objects.create(
        wa_message_id="wamid.OLD",
        phone=resident.phone,
        text="Halo",
        received_at=timezone.now() - timedelta(hours=25),
    )
    data = {"text": "Balasan", "office": "Disdukcapil"}
    message = send(resident, "reply", data, key="r3", channels=["whatsapp"])
    make_worker().run(once=True)
    message.refresh_from_db()
    assert message.state == State.FAILED
    assert message.attempt_log.get().outcome == Attempt.Outcome.SKIPPED


def test_the_backoff_doubles_up_to_the_cap_with_jitter():
    rng = random.Random(1)
    delays = [backoff_seconds(n, base=2, cap=30, rng=rng) for n in range(1, 7)]
    for n, delay in enumerate(delays, 1):
        full = min(30, 2 * 2 ** (n - 1))
        assert full / 2 <= delay <= full
    assert len({round(d, 6) for d in delays}) == len(delays)  # jittered, not a fixed ladder


def test_the_backoff_waits_at_least_what_the_provider_asked():
    assert backoff_seconds(1, base=1, cap=60, rng=random.Random(1), retry_after=20) == 20


def test_it_does_not_send_a_message_queued_for_later(live, wa, resident):
    message = send(resident)
    Message.objects.filter(pk=message.pk).update(
        next_attempt_at=timezone.now() + timedelta(minutes=5)
    )
    make_worker().run(once=True)
    assert wa.requests == []
