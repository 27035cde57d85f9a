"""Printed letters: messages nobody can receive by phone or e-mail wait for a village batch."""

import io
import re
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied
from pypdf import PdfReader

from rekam.notifications.channels.base import attachment_path
from rekam.notifications.models import Channel, LetterBatch, Message, State
from rekam.notifications.services import (
    NotificationRefused,
    letter_batch_create,
    letter_batch_mark_printed,
    message_send,
)
from rekam.regions.models import Region
from rekam.residents.states import KtpState
from rekam.suket.delivery import suket_deliver
from rekam.suket.services import suket_issue

from .factories import make_resident
from .fakes.helpers import make_worker
from .test_suket_support import jakarta, make_pilkada, ready_office

VILLAGE = "18.71.01.1003"
INVITE = {
    "name": "Siti Aminah",
    "starts_at": "2020-12-09T08:30:00+07:00",
    "place": "Kantor Kecamatan Teluk Betung Barat",
    "address": "Jl. Laksamana Malahayati No. 1",
    "office": "Disdukcapil Kota Bandar Lampung",
}


@pytest.fixture(autouse=True)
def demo_outbox(settings, tmp_path):
    settings.NOTIFICATIONS_BACKEND = "file"
    settings.NOTIFICATIONS_OUTBOX_DIR = tmp_path / "outbox"
    settings.NOTIFICATIONS_LETTER_DIR = tmp_path / "letters"


def invite(resident, key):
    return message_send(recipient=resident, template="invitation", data=INVITE, idempotency_key=key)


@pytest.fixture
def waiting(lampung):
    """Two residents without a phone: their invitations fall through to letters."""
    messages = [
        invite(make_resident(VILLAGE, name="Siti Aminah", rt="003", rw="001"), "l1"),
        invite(make_resident(VILLAGE, name="Budi Santoso", sex="L"), "l2"),
    ]
    make_worker().run(once=True)
    return messages


def test_messages_to_residents_without_phone_or_email_wait_for_a_letter(waiting):
    for message in waiting:
        message.refresh_from_db()
        assert message.channel == Channel.LETTER
        assert message.state == State.QUEUED
        assert message.is_waiting_for_letter
    assert make_worker().due(limit=10) == []  # no worker touches them any more


def test_a_batch_collects_the_villages_letters_into_one_pdf(waiting, personas):
    batch = letter_batch_create(
        village=Region.objects.get(code=VILLAGE), acting_user=personas.bdl_operator
    )
    assert batch.letters == 2
    assert set(Message.objects.filter(letter_batch=batch)) == set(waiting)
    pdf = Path(batch.pdf_path).read_bytes()
    assert pdf.startswith(b"%PDF")
    # The handover list for the village officials, then one page per letter.
    assert re.findall(rb"/Count (\d+)", pdf) == [b"3"]


def test_marking_a_batch_printed_marks_its_letters_sent(waiting, personas):
    batch = letter_batch_create(
        village=Region.objects.get(code=VILLAGE), acting_user=personas.bdl_operator
    )
    assert letter_batch_mark_printed(batch=batch, acting_user=personas.bdl_operator) == 2
    for message in waiting:
        message.refresh_from_db()
        assert message.state == State.SENT
        assert message.sent_at is not None
        assert message.attempt_log.last().detail == f"Dicetak dalam batch surat #{batch.pk}."


def test_a_batch_cannot_be_marked_printed_twice(waiting, personas):
    batch = letter_batch_create(
        village=Region.objects.get(code=VILLAGE), acting_user=personas.bdl_operator
    )
    letter_batch_mark_printed(batch=batch, acting_user=personas.bdl_operator)
    with pytest.raises(NotificationRefused, match="sudah ditandai"):
        letter_batch_mark_printed(batch=batch, acting_user=personas.bdl_operator)


def test_a_village_without_waiting_letters_gets_no_batch(lampung, personas):
    with pytest.raises(NotificationRefused, match="Tidak ada surat"):
        letter_batch_create(
            village=Region.objects.get(code=VILLAGE), acting_user=personas.bdl_operator
        )
    assert not LetterBatch.objects.exists()


def test_staff_of_another_regency_cannot_make_the_batch(waiting, personas):
    with pytest.raises(PermissionDenied):
        letter_batch_create(
            village=Region.objects.get(code=VILLAGE), acting_user=personas.lamsel_operator
        )


def test_a_queue_officer_cannot_make_a_batch(waiting, personas):
    with pytest.raises(PermissionDenied):
        letter_batch_create(
            village=Region.objects.get(code=VILLAGE), acting_user=personas.bdl_queue
        )


# A Suket that has to go by letter goes with the letter


@pytest.fixture
def suket_by_letter(personas, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    ready_office(personas.bdl_office, blanks=1)
    election = make_pilkada()
    resident = make_resident(VILLAGE, name="Tanpa Telepon", ktp_state=KtpState.SENT_FOR_ENROLLMENT)
    suket = suket_issue(resident=resident, election=election, at=jakarta(2020, 12, 5)).suket
    assert suket is not None
    message = suket_deliver(suket=suket)
    make_worker().run(once=True)
    message.refresh_from_db()
    assert message.is_waiting_for_letter
    return suket, message


def batch_pdf(personas) -> PdfReader:
    batch = letter_batch_create(
        village=Region.objects.get(code=VILLAGE), acting_user=personas.bdl_operator
    )
    return PdfReader(batch.pdf_path)


def test_the_batch_carries_the_suket_pages_right_after_its_letter(suket_by_letter, personas):
    suket, _ = suket_by_letter
    pdf = batch_pdf(personas)
    suket_pages = len(PdfReader(io.BytesIO(bytes(suket.pdf))).pages)
    # The handover list, the letter, then the Suket as issued.
    assert len(pdf.pages) == 2 + suket_pages
    assert "Lampiran: Suket nomor" in pdf.pages[1].extract_text()
    enclosed = pdf.pages[2].extract_text()
    assert suket.number in enclosed and "SURAT KETERANGAN" in enclosed


def test_the_handover_list_names_the_attachment_by_its_suket_number(suket_by_letter, personas):
    suket, message = suket_by_letter
    listing = batch_pdf(personas).pages[0].extract_text()
    assert f"Suket nomor {suket.number}" in " ".join(listing.split())
    assert message.attachment_name not in listing


def test_the_batch_bookmarks_each_letter_and_its_suket(suket_by_letter, personas):
    suket, _ = suket_by_letter
    # One level: a bookmark per letter and per attachment, none nested.
    titles = [getattr(item, "title", None) for item in batch_pdf(personas).outline]
    assert titles == ["Tanpa Telepon", f"Suket nomor {suket.number}"]


def test_a_missing_attachment_is_named_on_the_letter_instead(suket_by_letter, personas):
    _, message = suket_by_letter
    attachment_path(message).unlink()
    pdf = batch_pdf(personas)
    assert len(pdf.pages) == 2
    assert "berkas tidak ditemukan" in pdf.pages[1].extract_text()
