"""An issued Suket goes to the outbox as a document message, once."""

from __future__ import annotations

import pytest
from django.db import transaction

from rekam.notifications.models import Message
from rekam.notifications.services import contact_create
from rekam.residents.states import KtpState
from rekam.suket.delivery import suket_deliver
from rekam.suket.services import (
    SuketError,
    suket_issue,
    suket_issue_many,
    suket_revoke_for_resident,
)

from .factories import make_resident
from .test_suket_support import jakarta, make_pilkada, ready_office


@pytest.fixture
def suket(personas, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    ready_office(personas.bdl_office, blanks=0)
    r = make_resident(ktp_state=KtpState.SENT_FOR_ENROLLMENT, phone="+6281234567890")
    issued = suket_issue(resident=r, election=make_pilkada(), at=jakarta(2020, 12, 5)).suket
    assert issued is not None
    return issued


def test_the_suket_pdf_is_queued_for_its_holder_once(suket, personas, tmp_path):
    first = suket_deliver(suket=suket, acting_user=personas.bdl_operator)
    again = suket_deliver(suket=suket, acting_user=personas.bdl_operator)
    assert first.pk == again.pk and Message.objects.count() == 1
    assert (first.template, first.resident_id) == ("suket_issued", suket.resident_id)
    assert (tmp_path / "suket" / f"{suket.uid}.pdf").read_bytes() == bytes(suket.pdf)
    assert first.data["suket_number"] == suket.number
    # An address the holder can open, not the bare "/verifikasi" path.
    assert first.data["verify_url"].startswith("http")


def test_a_revoked_suket_is_not_sent(suket):
    suket_revoke_for_resident(resident=suket.resident, reason="KTP-el dicetak")
    suket.refresh_from_db()
    with pytest.raises(SuketError, match="dicabut"):
        suket_deliver(suket=suket)


def test_issuing_hands_the_suket_to_the_outbox_in_the_same_transaction(suket):
    # The fixture only issued: the message is already there, under the Suket's own key.
    message = Message.objects.get()
    assert message.idempotency_key == f"suket:{suket.number}"
    assert (message.template, message.resident_id) == ("suket_issued", suket.resident_id)
    assert message.attachment.endswith(f"{suket.uid}.pdf")


def test_the_message_is_dispatched_only_once_the_issuing_transaction_commits(
    personas, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    ready_office(personas.bdl_office, blanks=0)
    r = make_resident(ktp_state=KtpState.SENT_FOR_ENROLLMENT, phone="+6281234567890")
    with django_capture_on_commit_callbacks(execute=False) as callbacks, transaction.atomic():
        suket_issue(resident=r, election=make_pilkada(), at=jakarta(2020, 12, 5))
        assert Message.objects.filter(resident=r).count() == 1
    assert len(callbacks) == 1


def test_sending_again_by_hand_returns_the_message_issuance_queued(suket, personas):
    queued = Message.objects.get()
    again = suket_deliver(suket=suket, acting_user=personas.bdl_operator)
    assert again.pk == queued.pk and Message.objects.count() == 1


def test_a_holder_without_phone_or_email_takes_the_suket_at_the_counter(
    personas, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    ready_office(personas.bdl_office, blanks=0)
    r = make_resident(ktp_state=KtpState.SENT_FOR_ENROLLMENT)
    issued = suket_issue(resident=r, election=make_pilkada(), at=jakarta(2020, 12, 5)).suket
    assert issued is not None and not Message.objects.exists()
    # Staff can still send it, e.g. as a letter through the village officials.
    assert suket_deliver(suket=issued).resident_id == r.pk


def test_a_holder_with_only_an_email_address_is_reached(personas, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    ready_office(personas.bdl_office, blanks=0)
    r = make_resident(ktp_state=KtpState.SENT_FOR_ENROLLMENT)
    contact_create(name=r.name, email="siti@example.org", resident=r)
    suket_issue(resident=r, election=make_pilkada(), at=jakarta(2020, 12, 5))
    assert Message.objects.get().email == "siti@example.org"


def test_bulk_issuance_queues_one_message_per_reachable_holder(personas, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    ready_office(personas.bdl_office, blanks=0)
    phones = ["+6281234567890", "", "+6281298765432"]
    people = [
        make_resident(ktp_state=KtpState.SENT_FOR_ENROLLMENT, name=f"Warga {i}", phone=p)
        for i, p in enumerate(phones)
    ]
    results = suket_issue_many(residents=people, election=make_pilkada(), at=jakarta(2020, 12, 5))
    assert all(r.suket is not None for r in results)
    assert set(Message.objects.values_list("resident_id", flat=True)) == {
        people[0].pk,
        people[2].pk,
    }
