"""Staff pages for stock, printing, decisions and Sukets; the public verifier's endpoints."""

from __future__ import annotations

import pytest
from django.utils import timezone, translation

from rekam.accounts.models import Office
from rekam.regions.models import Level, Region
from rekam.residents.states import KtpState
from rekam.suket.models import BlankMovement, CardPrint, Suket, SuketDecision
from rekam.suket.services import suket_issue
from rekam.suket.stock import blank_receive, stock_balance, stock_summary
from rekam.web.templatetags.rekam_tags import days_left

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


def test_a_receipt_overlapping_a_received_range_is_refused_on_the_page(personas, client):
    blank_receive(
        office=personas.lamsel_office,
        count=50,
        batch="DUK-2020-07",
        serial_from="180100007",
        serial_to="180100056",
    )
    client.force_login(personas.bdl_admin)
    with translation.override("id"):
        page = client.post(
            "/suket/stok/",
            {
                "action": "receive",
                "kantor": "18.71",
                "r-count": "10",
                "r-batch": "DUK-2020-08",
                "r-serial_from": "180100050",
                "r-serial_to": "180100059",
            },
        )
    html = page.content.decode()
    assert page.status_code == 200
    assert (
        "Nomor seri 180100050 s.d. 180100059 bertumpang tindih dengan blangko yang sudah "
        f"dicatat diterima di {personas.lamsel_office.name}"
    ) in html
    assert "(kiriman DUK-2020-07, nomor seri 180100007 s.d. 180100056)" in html
    # The form keeps what was typed, to be corrected.
    assert 'value="180100050"' in html and 'value="DUK-2020-08"' in html
    assert stock_balance(personas.bdl_office) == 0


def test_the_receipt_form_says_a_range_is_received_once(personas, client):
    client.force_login(personas.bdl_admin)
    html = client.get("/suket/stok/").content.decode()
    assert "rentang yang bertumpang tindih dengan yang sudah diterima ditolak" in html
    assert 'aria-describedby="id_r-serial_to_helptext"' in html


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


def test_a_resident_of_a_regency_without_an_election_is_told_why(personas, client, pilkada):
    # Lampung Utara held no election in 2020.
    village = Region.objects.filter(level=Level.VILLAGE, code__startswith="18.03.").first()
    assert village is not None
    r = make_resident(village.code, ktp_state=KtpState.SENT_FOR_ENROLLMENT)
    client.force_login(personas.province_admin)
    page = client.get(f"/suket/penduduk/{r.nik}/").content.decode()
    assert "tidak menyelenggarakan pemilihan" in page
    assert 'name="election"' not in page


def test_a_refused_issue_keeps_the_decision_with_the_approval_form(personas, client, pilkada):
    pilkada.suket_issue_until = pilkada.suket_valid_until = pilkada.polling_day = jakarta(
        2099, 1, 1
    ).date()
    pilkada.save()
    r = make_resident(ktp_state=KtpState.DUPLICATE_RECORD)
    client.force_login(personas.bdl_supervisor)
    page = client.post(f"/suket/penduduk/{r.nik}/", {"election": pilkada.pk, "action": "issue"})
    assert page.status_code == 200
    assert 'value="approve"' in page.content.decode()
    assert not Suket.objects.filter(resident=r).exists()
    assert SuketDecision.objects.filter(resident=r).count() == 1  # one click, one decision


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


def test_sending_a_suket_names_the_channels_in_their_order(personas, client, pilkada):
    no_phone = make_resident(ktp_state=KtpState.SENT_FOR_ENROLLMENT, phone="")
    suket = suket_issue(resident=no_phone, election=pilkada, at=jakarta(2020, 12, 5)).suket
    assert suket is not None
    client.force_login(personas.bdl_operator)
    page = client.post(f"/suket/{suket.pk}/kirim/", follow=True).content.decode()
    assert "yang pertama dapat diterima: WhatsApp, SMS, Surel, Surat." in page


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


# Labels instead of codes


def future(election):
    election.suket_issue_until = election.suket_valid_until = election.polling_day = jakarta(
        2099, 1, 1
    ).date()
    election.save()
    return election


def test_the_decision_page_says_the_outcome_and_reason_in_indonesian(personas, client, pilkada):
    future(pilkada)
    r = make_resident(ktp_state=KtpState.SENT_FOR_ENROLLMENT)
    client.force_login(personas.bdl_operator)
    html = client.post(
        f"/suket/penduduk/{r.nik}/", {"election": pilkada.pk, "action": "decide"}
    ).content.decode()
    assert "Suket boleh diterbitkan" in html and "Perekaman belum mencapai PRR" in html
    assert "<strong>SUKET</strong>" not in html and ">BELUM_PRR<" not in html


def test_the_election_choice_has_an_indonesian_empty_label(personas, client, pilkada):
    r = make_resident(ktp_state=KtpState.SENT_FOR_ENROLLMENT)
    client.force_login(personas.bdl_operator)
    html = client.get(f"/suket/penduduk/{r.nik}/").content.decode()
    assert "Select an option" not in html and "— pilih —" in html


def test_the_election_with_an_open_window_comes_chosen(personas, client, pilkada):
    future(pilkada)
    r = make_resident(ktp_state=KtpState.SENT_FOR_ENROLLMENT)
    client.force_login(personas.bdl_operator)
    html = client.get(f"/suket/penduduk/{r.nik}/").content.decode()
    assert f'<option value="{pilkada.pk}" selected>' in html


# Printing on the spot


def test_the_decision_page_prints_a_print_ready_card_right_there(personas, client, pilkada):
    future(pilkada)
    r = make_resident(ktp_state=KtpState.PRINT_READY_RECORD)
    client.force_login(personas.bdl_operator)
    page = client.post(f"/suket/penduduk/{r.nik}/", {"election": pilkada.pk, "action": "decide"})
    assert b'data-outcome="PRINT"' in page.content and b'name="card_serial"' in page.content
    response = client.post(
        f"/suket/penduduk/{r.nik}/",
        {"election": pilkada.pk, "action": "print", "card_serial": "k-900"},
    )
    assert response.status_code == 302
    card = CardPrint.objects.get(resident=r)
    assert (card.card_serial, card.operator) == ("K-900", personas.bdl_operator)
    assert stock_balance(personas.bdl_office) == 1
    r.refresh_from_db()
    assert r.ktp_state == KtpState.CARD_PRINTED


def test_printing_on_the_decision_page_refuses_a_used_serial(personas, client, pilkada):
    future(pilkada)
    first = make_resident(ktp_state=KtpState.PRINT_READY_RECORD)
    second = make_resident(name="Dewi", ktp_state=KtpState.PRINT_READY_RECORD)
    client.force_login(personas.bdl_operator)
    for r in (first, second):
        response = client.post(
            f"/suket/penduduk/{r.nik}/",
            {"election": pilkada.pk, "action": "print", "card_serial": "K1"},
            follow=True,
        )
    assert "sudah dipakai" in response.content.decode()
    assert CardPrint.objects.count() == 1
    assert stock_balance(personas.bdl_office) == 1


def test_a_queue_officer_cannot_print_from_the_decision_page(personas, client, pilkada):
    future(pilkada)
    r = make_resident(ktp_state=KtpState.PRINT_READY_RECORD)
    client.force_login(personas.bdl_queue)
    page = client.post(f"/suket/penduduk/{r.nik}/", {"election": pilkada.pk, "action": "decide"})
    assert b'name="card_serial"' not in page.content
    client.post(
        f"/suket/penduduk/{r.nik}/",
        {"election": pilkada.pk, "action": "print", "card_serial": "K2"},
    )
    assert not CardPrint.objects.exists()


def test_the_print_list_finds_a_resident_by_nik(personas, client, pilkada):
    wanted = make_resident(name="Yang Dicari", ktp_state=KtpState.PRINT_READY_RECORD)
    make_resident(name="Orang Lain", ktp_state=KtpState.PRINT_READY_RECORD)
    client.force_login(personas.bdl_operator)
    spaced = f"{wanted.nik[:6]} {wanted.nik[6:12]} {wanted.nik[12:]}"
    response = client.get("/suket/cetak/", {"nik": spaced})
    assert [r.nik for r in response.context["page"]] == [wanted.nik]
    assert "Orang Lain" not in response.content.decode()


def test_the_print_list_says_why_a_nik_is_malformed(personas, client, pilkada):
    make_resident(name="Orang Lain", ktp_state=KtpState.PRINT_READY_RECORD)
    client.force_login(personas.bdl_operator)
    response = client.get("/suket/cetak/", {"nik": "1871 0157"})
    assert "harus 16 digit" in response.content.decode()
    assert list(response.context["page"]) == []


# The Suket list


def test_an_expired_suket_is_listed_as_expired_not_valid(personas, client, pilkada):
    r = make_resident(ktp_state=KtpState.SENT_FOR_ENROLLMENT)
    suket = suket_issue(resident=r, election=pilkada, at=jakarta(2020, 12, 5)).suket
    assert suket is not None
    client.force_login(personas.bdl_operator)
    html = client.get("/suket/").content.decode()
    assert ">kedaluwarsa<" in html and ">berlaku<" not in html
    assert "Perekaman belum mencapai PRR" in html
    assert list(client.get("/suket/", {"status": "aktif"}).context["page"].object_list) == []
    expired = client.get("/suket/", {"status": "kedaluwarsa"}).context["page"].object_list
    assert list(expired) == [suket]


def test_a_queue_officer_cannot_download_a_suket(personas, client, pilkada):
    r = make_resident(ktp_state=KtpState.SENT_FOR_ENROLLMENT)
    suket = suket_issue(resident=r, election=pilkada, at=jakarta(2020, 12, 5)).suket
    assert suket is not None
    client.force_login(personas.bdl_queue)
    assert f"/suket/{suket.pk}/pdf/" not in client.get("/suket/").content.decode()
    assert client.get(f"/suket/{suket.pk}/pdf/").status_code == 403


# Stock


def test_the_ledger_names_unattended_movements_sistem(personas, client):
    ready_office(personas.bdl_office, blanks=2)
    client.force_login(personas.bdl_admin)
    html = client.get("/suket/stok/").content.decode()
    assert "<td>Sistem</td>" in html and "<td>system</td>" not in html


@pytest.mark.parametrize(
    ("days", "shown"),
    [(None, "—"), (5936.0, "lebih dari 365 hari"), (12.4, "12 hari"), (0.6, "1 hari")],
)
def test_days_of_stock_left_are_shown_in_whole_days(days, shown):
    with translation.override("id"):
        assert days_left(days) == shown


def test_the_province_stock_page_takes_the_same_few_queries_for_every_office(
    personas, client, django_assert_max_num_queries
):
    for office in Office.objects.filter(kind=Office.Kind.REGENCY):
        blank_receive(office=office, count=5, batch="B1")
    make_resident(ktp_state=KtpState.PRINT_READY_RECORD)
    client.force_login(personas.province_admin)
    with django_assert_max_num_queries(20):
        page = client.get("/suket/stok/")
    summaries = page.context["summaries"]
    assert len(summaries) == 15
    today = timezone.localdate()
    assert summaries == [stock_summary(s.office, today) for s in summaries]


def test_the_transfer_form_offers_only_offices_in_the_jurisdiction(personas, client):
    outside_region = Region.objects.create(code="19", level=Level.PROVINCE, name="Luar")
    outside = Office.objects.create(
        code="19", kind=Office.Kind.PROVINCE, name="Dinas Luar", region=outside_region
    )
    client.force_login(personas.province_admin)
    form = client.get("/suket/stok/", {"kantor": "18.71"}).context["transfer"]
    offered = set(form.fields["to_office"].queryset)
    assert personas.bdl_office in offered and outside not in offered
    client.post(
        "/suket/stok/",
        {
            "action": "transfer",
            "kantor": "18.71",
            "t-from_office": personas.bdl_office.pk,
            "t-to_office": outside.pk,
            "t-count": "1",
        },
    )
    assert not BlankMovement.objects.filter(office=outside).exists()


def test_only_the_province_sees_the_transfer_form(personas, client):
    client.force_login(personas.bdl_admin)
    assert client.get("/suket/stok/").context["may_transfer"] is False
    client.force_login(personas.province_admin)
    assert client.get("/suket/stok/", {"kantor": "18.71"}).context["may_transfer"] is True


# The public check


def test_the_public_check_refuses_too_many_requests_from_one_address(client, settings, db):
    settings.RATELIMIT_VERIFY_PER_MINUTE = 2
    for _ in range(2):
        assert (
            client.get("/verifikasi/periksa", {"qr": "RK1:x"}, REMOTE_ADDR="10.1.1.1").status_code
            == 200
        )
    response = client.get("/verifikasi/periksa", {"qr": "RK1:x"}, REMOTE_ADDR="10.1.1.1")
    assert response.status_code == 429
    assert "Terlalu banyak permintaan" in response.json()["error"]
    assert (
        client.get("/verifikasi/periksa", {"qr": "RK1:x"}, REMOTE_ADDR="10.1.1.2").status_code
        == 200
    )


def test_a_serial_with_other_than_letters_digits_and_dashes_is_refused_by_the_form():
    from rekam.suket.forms import ReceiveForm

    form = ReceiveForm(data={"count": "5", "batch": "B1", "serial_from": "1²", "serial_to": "9"})
    assert not form.is_valid() and "serial_from" in form.errors
    ok = ReceiveForm(data={"count": "5", "batch": "B1", "serial_from": "A-01", "serial_to": "A-05"})
    assert ok.is_valid(), ok.errors
