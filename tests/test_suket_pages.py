"""Staff pages for stock, printing, decisions and Sukets; the public verifier's endpoints."""

from __future__ import annotations

import pytest

from rekam.residents.states import KtpState
from rekam.suket.models import CardPrint, Suket
from rekam.suket.services import suket_issue
from rekam.suket.stock import stock_balance

from .factories import make_resident
from .test_suket_support import jakarta, make_pilkada, ready_office


@pytest.fixture
def pilkada(personas):
    ready_office(personas.bdl_office, blanks=2)
    return make_pilkada()


def test_the_stock_page_shows_the_balance_and_records_a_receipt(personas, client):
    ready_office(personas.bdl_office, blanks=2)
    client.force_login(personas.bdl_admin)
    page = client.get("/suket/stok/")
    assert page.status_code == 200 and b'data-testid="balance">2<' in page.content
    client.post(
        "/suket/stok/", {"action": "receive", "kantor": "18.71", "r-count": "5", "r-batch": "B9"}
    )
    assert stock_balance(personas.bdl_office) == 7


def test_an_operator_cannot_record_a_receipt_through_the_page(personas, client):
    ready_office(personas.bdl_office, blanks=2)
    client.force_login(personas.bdl_operator)
    client.post(
        "/suket/stok/", {"action": "receive", "kantor": "18.71", "r-count": "5", "r-batch": "B9"}
    )
    assert stock_balance(personas.bdl_office) == 2


def test_the_print_list_prints_a_card(personas, client, pilkada):
    r = make_resident(ktp_state=KtpState.PRINT_READY_RECORD)
    client.force_login(personas.bdl_operator)
    assert r.name.encode() in client.get("/suket/cetak/").content
    client.post("/suket/cetak/", {"action": "print", "nik": r.nik, "card_serial": "K77"})
    card = CardPrint.objects.get()
    assert card.card_serial == "K77" and card.operator == personas.bdl_operator
    client.post("/suket/cetak/", {"action": "handover", "card": card.pk, "received_by": "Siti"})
    card.refresh_from_db()
    assert card.received_by == "Siti"


def test_the_decision_page_issues_a_suket(personas, client, pilkada):
    pilkada.suket_issue_until = pilkada.suket_valid_until = pilkada.polling_day = jakarta(
        2099, 1, 1
    ).date()
    pilkada.save()
    r = make_resident(ktp_state=KtpState.SENT_FOR_ENROLLMENT)
    client.force_login(personas.bdl_operator)
    page = client.post(f"/suket/penduduk/{r.nik}/", {"election": pilkada.pk, "action": "decide"})
    assert b'data-outcome="SUKET"' in page.content
    client.post(f"/suket/penduduk/{r.nik}/", {"election": pilkada.pk, "action": "issue"})
    assert Suket.objects.filter(resident=r).count() == 1


def test_a_resident_of_another_regency_is_not_found(personas, client, pilkada):
    r = make_resident(ktp_state=KtpState.SENT_FOR_ENROLLMENT)
    client.force_login(personas.lamsel_operator)
    assert client.get(f"/suket/penduduk/{r.nik}/").status_code == 404


def test_the_suket_list_and_download_are_scoped(personas, client, pilkada):
    r = make_resident(ktp_state=KtpState.SENT_FOR_ENROLLMENT)
    suket = suket_issue(resident=r, election=pilkada, at=jakarta(2020, 12, 5)).suket
    assert suket is not None
    client.force_login(personas.bdl_operator)
    assert suket.number.encode() in client.get("/suket/").content
    client.force_login(personas.lamsel_operator)
    assert suket.number.encode() not in client.get("/suket/").content
    assert client.get(f"/suket/{suket.pk}/pdf/").status_code == 404


def test_the_public_page_needs_no_login_and_links_its_worker(client):
    page = client.get("/verifikasi")
    assert page.status_code == 200
    assert b"/verifikasi-sw.js" in page.content and b"suket/verifier.js" in page.content
    sw = client.get("/verifikasi-sw.js")
    assert sw["Content-Type"] == "application/javascript"


def test_the_public_json_check_masks_the_nik(personas, client, pilkada):
    r = make_resident(ktp_state=KtpState.SENT_FOR_ENROLLMENT)
    suket = suket_issue(resident=r, election=pilkada, at=jakarta(2020, 12, 5)).suket
    assert suket is not None
    body = client.get("/verifikasi/periksa", {"qr": suket.qr_text}).content.decode()
    assert r.masked_nik in body and r.nik not in body


def test_an_unregistered_but_well_signed_text_is_not_genuine_online(personas, client, pilkada):
    r = make_resident(ktp_state=KtpState.SENT_FOR_ENROLLMENT)
    suket = suket_issue(resident=r, election=pilkada, at=jakarta(2020, 12, 5)).suket
    assert suket is not None
    text = suket.qr_text
    Suket.objects.filter(pk=suket.pk).update(uid="0000000000000000")
    assert client.get("/verifikasi/periksa", {"qr": text}).json()["status"] == "TIDAK_SAH"
