"""Consent per channel, and phone numbers in E.164."""

import pytest

from rekam.audit.models import AuditEntry
from rekam.notifications.models import Attempt, Channel, Consent, State
from rekam.notifications.phones import PhoneError, phone_e164, phone_is_mobile
from rekam.notifications.services import consent_record, contact_create, message_send

from .factories import make_resident
from .fakes.helpers import make_worker

CARD = {"name": "Siti", "place": "Kantor Kecamatan Kedaton", "office": "Disdukcapil"}


@pytest.fixture(autouse=True)
def demo_outbox(settings, tmp_path):
    settings.NOTIFICATIONS_BACKEND = "file"
    settings.NOTIFICATIONS_OUTBOX_DIR = tmp_path / "outbox"


def send(recipient, key="c1", channels=("whatsapp", "sms")):
    return message_send(
        recipient=recipient,
        template="card_printed",
        data=CARD,
        idempotency_key=key,
        channels=list(channels),
    )


def test_it_does_not_use_whatsapp_without_an_opt_in_and_records_why(lampung):
    resident = make_resident(phone="+6281234567890")
    message = send(resident)
    make_worker().run(once=True)
    message.refresh_from_db()
    assert message.channel == Channel.SMS
    assert message.state == State.SENT
    refused = message.attempt_log.get(channel=Channel.WHATSAPP)
    assert refused.outcome == Attempt.Outcome.REFUSED
    assert refused.detail == "Penerima belum menyetujui menerima pesan WhatsApp."


def test_it_sends_nothing_to_a_resident_who_opted_out_and_records_the_refusal(lampung, personas):
    resident = make_resident(phone="+6281234567890", whatsapp_consent=True)
    for channel in (Channel.WHATSAPP, Channel.SMS):
        consent_record(
            resident=resident,
            channel=channel,
            granted=False,
            source="formulir di loket",
            acting_user=personas.bdl_operator,
        )
    message = send(resident)
    make_worker().run(once=True)
    message.refresh_from_db()
    assert message.state == State.FAILED
    assert message.provider_message_id == ""
    assert "Penerima menolak pesan WhatsApp (formulir di loket" in message.failure_reason
    assert "Penerima menolak pesan SMS" in message.failure_reason
    assert set(message.attempt_log.values_list("outcome", flat=True)) == {"refused"}


def test_consent_keeps_the_residents_whatsapp_consent_in_step(lampung, personas):
    resident = make_resident(phone="+6281234567890")
    consent_record(
        resident=resident,
        channel=Channel.WHATSAPP,
        granted=True,
        source="pendaftaran antrean daring",
        acting_user=personas.bdl_operator,
    )
    resident.refresh_from_db()
    assert resident.whatsapp_consent is True
    assert resident.whatsapp_consent_source == "pendaftaran antrean daring"
    row = Consent.objects.get(resident=resident)
    assert (row.granted, row.recorded_by) == (True, personas.bdl_operator)
    assert AuditEntry.objects.filter(action="consent.record", object_id=str(row.pk)).exists()


def test_staff_of_another_regency_cannot_record_consent(lampung, personas):
    from django.core.exceptions import PermissionDenied

    resident = make_resident(phone="+6281234567890")
    with pytest.raises(PermissionDenied):
        consent_record(
            resident=resident,
            channel=Channel.SMS,
            granted=False,
            source="telepon",
            acting_user=personas.lamsel_operator,
        )


def test_a_contact_needs_its_own_whatsapp_opt_in(lampung):
    contact = contact_create(name="Kepala Desa", phone="0812 1111 2222")
    message = send(contact, channels=("whatsapp",))
    make_worker().run(once=True)
    message.refresh_from_db()
    assert message.state == State.FAILED
    consent_record(contact=contact, channel=Channel.WHATSAPP, granted=True, source="surat")
    again = send(contact, key="c2", channels=("whatsapp",))
    make_worker().run(once=True)
    again.refresh_from_db()
    assert again.state == State.SENT


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("0812-3456-7890", "+6281234567890"),
        ("+62 812 3456 7890", "+6281234567890"),
        ("6281234567890", "+6281234567890"),
        ("(0721) 123456", "+62721123456"),
    ],
)
def test_phone_numbers_are_stored_in_e164(raw, e164):
    assert phone_e164(raw) == e164


@pytest.mark.parametrize("raw", ["", "12", "0812", "halo"])
def test_it_refuses_numbers_that_are_not_numbers(raw):
    with pytest.raises(PhoneError):
        phone_e164(raw)


def test_a_landline_is_not_a_mobile_number():
    assert phone_is_mobile("+6281234567890")
    assert not phone_is_mobile("+62721123456")
