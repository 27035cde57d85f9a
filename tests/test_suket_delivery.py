"""An issued Suket goes to the outbox as a document message, once."""

from __future__ import annotations

import pytest

from rekam.notifications.models import Message
from rekam.residents.states import KtpState
from rekam.suket.delivery import suket_deliver
from rekam.suket.services import SuketError, suket_issue, suket_revoke_for_resident

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


def test_a_revoked_suket_is_not_sent(suket):
    suket_revoke_for_resident(resident=suket.resident, reason="KTP-el dicetak")
    suket.refresh_from_db()
    with pytest.raises(SuketError, match="dicabut"):
        suket_deliver(suket=suket)
