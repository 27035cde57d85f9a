"""The e-mail channel through Django's mailer, and how SMTP answers are classified."""

import smtplib

import pytest
from django.core import mail

from rekam.notifications.channels.email import smtp_failure
from rekam.notifications.models import Attempt, State
from rekam.notifications.services import contact_create, message_send

from .factories import make_resident
from .fakes.helpers import make_worker, stored_pdf, use_fakes

SUKET = {
    "name": "Siti Aminah",
    "suket_number": "474.4/0007/2020",
    "valid_until": "2020-12-31",
    "office": "Disdukcapil Kota Bandar Lampung",
}


@pytest.fixture
def live(settings, tmp_path):
    use_fakes(settings, tmp_path)
    return settings


def test_it_sends_the_suket_by_email_with_the_pdf_attached(live, lampung):
    resident = make_resident()
    contact_create(name=resident.name, email="siti@example.org", resident=resident)
    pdf = stored_pdf(live.MEDIA_ROOT)
    message = message_send(
        recipient=resident,
        template="suket_issued",
        data=SUKET,
        idempotency_key="e1",
        attachment=pdf,
        channels=["email"],
    )
    make_worker().run(once=True)
    message.refresh_from_db()
    assert message.state == State.SENT
    [sent] = mail.outbox
    assert sent.to == ["siti@example.org"]
    assert sent.subject == "Suket perekaman KTP-el nomor 474.4/0007/2020"
    assert "31 Desember 2020" in sent.body
    [(name, content, mime)] = sent.attachments
    assert (name, mime) == ("suket-0123.pdf", "application/pdf")
    assert content == pdf.read_bytes()
    assert sent.extra_headers["Message-ID"] == message.provider_message_id


def test_it_skips_email_for_a_resident_without_an_address(live, lampung):
    message = message_send(
        recipient=make_resident(),
        template="suket_issued",
        data=SUKET,
        idempotency_key="e2",
        channels=["email"],
    )
    make_worker().run(once=True)
    message.refresh_from_db()
    assert message.state == State.FAILED
    assert "Tidak ada alamat surel" in message.failure_reason


def test_a_refused_recipient_is_a_permanent_failure():
    exc = smtplib.SMTPRecipientsRefused({"x@example.org": (550, b"No such user")})
    result = smtp_failure(exc)
    assert result.outcome == Attempt.Outcome.PERMANENT
    assert "550 No such user" in result.detail


def test_a_busy_mail_server_is_a_temporary_failure():
    assert smtp_failure(smtplib.SMTPDataError(451, b"Try later")).outcome == "temporary"
    assert smtp_failure(TimeoutError("timed out")).outcome == "temporary"


def test_a_rejected_message_is_a_permanent_failure():
    assert smtp_failure(smtplib.SMTPDataError(554, b"Rejected")).outcome == "permanent"
