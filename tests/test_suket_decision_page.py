"""The resident's "Print or Suket" page: checks recorded once per change, the history in names
and words, the decision's basis in labels, the menu, the labels of printing and downloading,
the next step for a resident not yet recorded, and elections still issuing offered first."""

from __future__ import annotations

import re
from datetime import date, time, timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from rekam.invitations.models import Invitation, PlanRun
from rekam.residents.models import Resident
from rekam.residents.states import KtpState
from rekam.servicepoints.models import HolidayOpening
from rekam.suket.models import CardPrint, SuketDecision
from rekam.suket.services import suket_issue
from rekam.suket.stock import card_print, stock_balance
from rekam.voters.models import VoterClass

from .factories import make_resident
from .test_antrean_support import at, make_point, session_at
from .test_invitations_support import KEDATON, add_voters
from .test_suket_support import make_pilkada, ready_office

S = KtpState


@pytest.fixture
def pilkada(personas):
    """An election of Bandar Lampung still issuing Sukets (its dates far ahead)."""
    ready_office(personas.bdl_office, blanks=2)
    election = make_pilkada()
    election.polling_day = election.suket_issue_until = election.suket_valid_until = date(
        2099, 1, 1
    )
    election.save()
    return election


def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def check(client, resident: Resident, election, **extra):
    return client.post(
        f"/suket/penduduk/{resident.nik}/", {"election": election.pk, "action": "decide", **extra}
    )


# One decision per change


def test_checking_again_records_nothing_new_until_the_answer_or_its_basis_changes(
    personas, client, pilkada
):
    r = make_resident(ktp_state=S.SENT_FOR_ENROLLMENT)
    client.force_login(personas.bdl_operator)
    for _ in range(7):
        assert b'data-outcome="SUKET"' in check(client, r, pilkada).content
    assert SuketDecision.objects.filter(resident=r).count() == 1
    Resident.objects.filter(pk=r.pk).update(ktp_state=S.RECEIVED_AT_CENTRAL)
    check(client, r, pilkada)
    check(client, r, pilkada)
    rows = SuketDecision.objects.filter(resident=r)
    assert [row.inputs["ktp_state"] for row in rows] == [
        S.RECEIVED_AT_CENTRAL,
        S.SENT_FOR_ENROLLMENT,
    ]


def test_a_card_printed_meanwhile_changes_nothing_but_the_last_blank_does(
    personas, client, pilkada
):
    r = make_resident(ktp_state=S.PRINT_READY_RECORD)
    client.force_login(personas.bdl_operator)
    check(client, r, pilkada)
    other = make_resident(name="Budi", ktp_state=S.PRINT_READY_RECORD)
    card_print(resident=other, card_serial="K1", acting_user=personas.bdl_operator)
    check(client, r, pilkada)  # 1 blank left instead of 2: still PRINT on the same basis
    assert SuketDecision.objects.filter(resident=r).count() == 1
    card_print(
        resident=make_resident(name="Citra", ktp_state=S.PRINT_READY_RECORD),
        card_serial="K2",
        acting_user=personas.bdl_operator,
    )
    check(client, r, pilkada)  # out of blanks: a Suket now
    assert [d.reason for d in SuketDecision.objects.filter(resident=r)] == ["BLANKO_HABIS", "CETAK"]


# The history and the basis in words


def test_the_history_names_who_decided_by_full_name(personas, client, pilkada):
    personas.bdl_operator.first_name, personas.bdl_operator.last_name = "Rina", "Marlina"
    personas.bdl_operator.save()
    r = make_resident(ktp_state=S.SENT_FOR_ENROLLMENT)
    client.force_login(personas.bdl_operator)
    html = check(client, r, pilkada).content.decode()
    row = re.search(r'<tr data-kind="decision">.*?</tr>', html, flags=re.S)
    assert row is not None
    assert "<td>Rina Marlina</td>" in row.group() and "bdl_operator" not in row.group()
    # Without a full name on record, the username.
    client.force_login(personas.bdl_supervisor)
    Resident.objects.filter(pk=r.pk).update(ktp_state=S.BIO_CAPTURED)
    html = check(client, r, pilkada).content.decode()
    assert "<td>bdl_supervisor</td>" in html


def test_the_basis_of_a_decision_is_shown_in_labels_and_readable_values(personas, client, pilkada):
    r = make_resident(ktp_state=S.SENT_FOR_ENROLLMENT, birth_date=date(1990, 5, 17))
    client.force_login(personas.bdl_operator)
    html = check(english(client), r, pilkada).content.decode()
    basis = re.search(
        r"<details><summary>What the decision used</summary>.*?</details>", html, re.S
    )
    assert basis is not None
    facts = dict(re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", basis.group()))
    assert facts["KTP-el state"] == "Sent to the data centre"
    assert facts["Date of birth"] == "17-05-1990"
    assert facts["Polling day"] == "01-01-2099"
    assert facts["Card printer working"] == "yes"
    assert facts["Election"] == pilkada.name
    assert "Kota Bandar Lampung" in facts["Regencies/cities holding the election"]
    for raw in ("ktp_state", "election_regencies", "printer_working", "1990-05-17"):
        assert raw not in basis.group()


# Menu and labels


def test_the_menu_marks_suket_on_the_decision_page(personas, client, pilkada):
    r = make_resident(ktp_state=S.SENT_FOR_ENROLLMENT)
    client.force_login(personas.bdl_operator)
    html = client.get(f"/suket/penduduk/{r.nik}/").content.decode()
    assert '<a href="/suket/" aria-current="page">' in html
    assert '<a href="/penduduk/" aria-current="page">' not in html


def test_printing_the_card_and_the_suket_pdf_are_told_apart(personas, client, pilkada):
    english(client)
    client.force_login(personas.bdl_operator)
    prr = make_resident(ktp_state=S.PRINT_READY_RECORD)
    html = check(client, prr, pilkada).content.decode()
    assert ">Print KTP-el</button>" in html and ">Card printed<" not in html
    waiting = make_resident(name="Budi", ktp_state=S.SENT_FOR_ENROLLMENT)
    suket_issue(resident=waiting, election=pilkada)
    html = client.get(f"/suket/penduduk/{waiting.nik}/").content.decode()
    assert ">Download Suket PDF</a>" in html and ">Print Suket</a>" in html
    assert ">PDF</a>" not in html and ">Print</a>" not in html


# A resident not yet recorded


def test_a_resident_not_yet_recorded_is_told_the_next_step(personas, client, pilkada):
    r = make_resident(ktp_state=S.BELUM_REKAM)
    client.force_login(personas.bdl_operator)
    html = check(english(client), r, pilkada).content.decode()
    step = re.search(r"<div class=\"next-step\" data-next-step>.*?</div>", html, re.S)
    assert step is not None
    assert "biometrics at a counter first" in step.group()
    assert (
        f'href="/penduduk/{r.nik}/"' in step.group() and 'href="/antrean/tempat/"' in step.group()
    )
    assert "data-invitation" not in step.group()


def test_a_resident_not_yet_recorded_sees_the_invitation_s_day_time_and_place(
    personas, client, pilkada
):
    r = make_resident(ktp_state=S.BELUM_REKAM)
    tomorrow = timezone.localdate() + timedelta(days=1)
    point = make_point(
        personas.bdl_office,
        holiday_opening=HolidayOpening.OPEN,
        hours=(time(8, 0), time(16, 0)),
    )
    session = session_at(point, at(tomorrow, 9))
    (voter,) = add_voters(pilkada, KEDATON, VoterClass.NOT_RECORDED, 1, resident=r)
    Invitation.objects.create(
        run=PlanRun.objects.create(election=pilkada, region_code="18.71"),
        election=pilkada,
        voter=voter,
        village_id=KEDATON,
        service=Invitation.Service.RECORDING,
        service_point=point,
        session=session,
        starts_at=session.starts_at,
        ends_at=session.ends_at,
        km=1.0,
        reference="uji-undangan-1",
    )
    client.force_login(personas.bdl_operator)
    html = check(english(client), r, pilkada).content.decode()
    invited = re.search(r"<p data-invitation>(.*?)</p>", html, re.S)
    assert invited is not None
    assert f"{tomorrow:%d-%m-%Y}, 09:00–10:00" in invited.group(1)
    assert point.name in invited.group(1) and point.address in invited.group(1)


# Elections still issuing first


def test_elections_still_issuing_come_first_and_closed_ones_are_marked(personas, client):
    ready_office(personas.bdl_office, blanks=2)
    closed = make_pilkada()  # issued until 09-12-2020
    today = timezone.localdate()
    rehearsal = make_pilkada(slug="simulasi")
    rehearsal.name = "Simulasi"
    rehearsal.polling_day = rehearsal.suket_issue_until = today + timedelta(days=14)
    rehearsal.suket_valid_until = today + timedelta(days=30)
    rehearsal.save()
    r = make_resident(ktp_state=S.SENT_FOR_ENROLLMENT)
    client.force_login(personas.bdl_operator)
    html = english(client).get(f"/suket/penduduk/{r.nik}/").content.decode()
    options = re.findall(r'<option value="(\d+)"( selected)?>(.*?)</option>', html)
    assert options == [
        (str(rehearsal.pk), " selected", "Simulasi"),
        (str(closed.pk), "", f"{closed.name} (Suket issuance ended 09-12-2020)"),
    ]


def test_no_closed_election_is_chosen_for_the_user(personas, client):
    ready_office(personas.bdl_office, blanks=2)
    closed = make_pilkada()
    r = make_resident(ktp_state=S.SENT_FOR_ENROLLMENT)
    client.force_login(personas.bdl_operator)
    html = client.get(f"/suket/penduduk/{r.nik}/").content.decode()
    assert f'<option value="{closed.pk}">' in html and '<option value="" selected>' in html


# Printing on a received blank


def test_printing_on_the_page_refuses_a_serial_the_office_never_received(personas, client, pilkada):
    client.force_login(personas.bdl_admin)
    client.post(
        "/suket/stok/",
        {
            "action": "receive",
            "kantor": "18.71",
            "r-count": "50",
            "r-batch": "DUK-2020-07",
            "r-serial_from": "180100007",
            "r-serial_to": "180100056",
        },
    )
    r = make_resident(ktp_state=S.PRINT_READY_RECORD)
    client.force_login(personas.bdl_operator)
    page = client.post(
        f"/suket/penduduk/{r.nik}/",
        {"election": pilkada.pk, "action": "print", "card_serial": "999999999"},
        follow=True,
    )
    html = page.content.decode()
    assert "Nomor seri 999999999 tidak termasuk rentang blangko" in html
    assert "180100007 s.d. 180100056" in html
    assert not CardPrint.objects.exists() and stock_balance(personas.bdl_office) == 52
