"""Invitation messages in the outbox: recording and card pick-up, each in its own family, with
links to the reschedule page and calendar file when a public address is set."""

from __future__ import annotations

import re
from datetime import date

import pytest

from rekam.invitations import tokens
from rekam.invitations.invites import invitations_send
from rekam.invitations.models import Invitation
from rekam.notifications import texts
from rekam.notifications.models import Message
from rekam.voters.models import VoterCheck, VoterClass

from .factories import make_resident
from .test_invitations_support import (
    KEDATON,
    SURABAYA,
    add_point,
    add_voters,
    new_election,
    plan_now,
    planning_clock,
    token_of,
)

DAY_BEFORE = date(2020, 12, 8)


@pytest.fixture(autouse=True)
def _planning_morning(monkeypatch):
    """Plans are made on a morning before the scenario's sessions (of 2020)."""
    planning_clock(monkeypatch)


@pytest.fixture
def election(personas):
    made = new_election()
    add_point(personas.bdl_office)
    for n, voter in enumerate(
        add_voters(made, KEDATON, VoterClass.NOT_RECORDED, 2)
        + add_voters(made, SURABAYA, VoterClass.PRR_NOT_PRINTED, 2, start=100)
    ):
        resident = make_resident(voter.village_id, name=f"Penerima {n}")
        VoterCheck.objects.filter(voter=voter).update(resident=resident)
    return made


def test_card_pick_up_invitations_get_their_own_messages(election, personas) -> None:
    run = plan_now(election, personas.bdl_admin, DAY_BEFORE)
    assert run.summary["printing"]["messages"] == 2
    assert run.summary["recording"]["messages"] == 2
    for inv in Invitation.objects.all():
        message = Message.objects.get(idempotency_key=f"invitation:{inv.reference}")
        expected = "invitation" if inv.service == Invitation.Service.RECORDING else "card_pickup"
        assert message.template == expected
        assert message.data["starts_at"] == inv.starts_at.isoformat()
        assert (
            message.data["office"] == "Dinas Kependudukan dan Pencatatan Sipil Kota Bandar Lampung"
        )


def test_messages_link_the_reschedule_page_and_calendar_when_a_public_address_is_set(
    election, personas, settings
) -> None:
    settings.INVITATIONS_PUBLIC_URL = "https://rekam.example.go.id/"
    plan_now(election, personas.bdl_admin, DAY_BEFORE)
    inv = Invitation.objects.filter(service=Invitation.Service.PRINTING)[0]
    message = Message.objects.get(idempotency_key=f"invitation:{inv.reference}")
    link = message.data["reschedule_url"]
    page = re.fullmatch(r"https://rekam\.example\.go\.id/undangan/jadwal/(.+)/", link)
    assert page is not None and token_of(page[1], tokens.RESCHEDULE, inv)
    calendar = re.fullmatch(
        r"https://rekam\.example\.go\.id/undangan/kalender/(.+)\.ics", message.data["calendar_url"]
    )
    assert calendar is not None and token_of(calendar[1], tokens.CALENDAR, inv)
    assert message.data["reschedule_path"] == f"{page[1]}/"
    fam = texts.family("card_pickup")
    assert link in texts.render(fam, "sms", "id", message.data)
    assert message.data["calendar_url"] in texts.render(fam, "email_body", "id", message.data)


def test_without_a_public_address_messages_carry_no_links(election, personas, settings) -> None:
    settings.INVITATIONS_PUBLIC_URL = ""
    plan_now(election, personas.bdl_admin, DAY_BEFORE)
    for message in Message.objects.all():
        assert "reschedule_url" not in message.data and "calendar_url" not in message.data
        sms = texts.render(texts.family(message.template), "sms", "id", message.data)
        assert "Ganti jadwal" not in sms


def test_later_messages_link_to_the_site_the_plan_was_approved_on(
    election, personas, settings
) -> None:
    settings.INVITATIONS_PUBLIC_URL = ""
    run = plan_now(election, personas.bdl_admin, DAY_BEFORE)
    run.options = {**run.options, "public_url": "https://approved.example.id/"}
    run.save(update_fields=["options"])
    Message.objects.all().delete()  # as if a follow-up sent them later
    invitations = list(Invitation.objects.select_related("service_point", "session__visit"))
    invitations_send(invitations=invitations, acting_user=None)
    links = [m.data["reschedule_url"] for m in Message.objects.all()]
    assert links and all(u.startswith("https://approved.example.id/undangan/") for u in links)


@pytest.mark.parametrize("language", texts.LANGUAGES)
def test_the_pick_up_texts_say_what_to_bring(language) -> None:
    fam = texts.family("card_pickup")
    body = texts.render(fam, "email_body", language, fam.sample)
    assert "Suket" in body and ("KK" in body or "Kartu Keluarga" in body)
    assert fam.sample["calendar_url"] in body
    assert texts.whatsapp_template_name(fam) == "rekam_undangan_pengambilan"
