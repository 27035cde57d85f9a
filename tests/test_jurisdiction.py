"""Jurisdiction across every channel: pages, JSON API and admin show a regency office only its
own residents, and the province office all of them.

Kota Bandar Lampung (18.71) and Kabupaten Lampung Selatan (18.01) are the two regencies; the
operator of Lampung Selatan must not learn anything about a Bandar Lampung resident.
"""

from __future__ import annotations

import pytest
from django.urls import URLPattern, reverse

from rekam.accounts import access
from rekam.accounts.models import User
from rekam.audit.models import AuditEntry
from rekam.notifications.services import message_send
from rekam.residents.models import RecordEvent
from rekam.residents.states import KtpState
from rekam.suket.models import CardPrint
from rekam.suket.services import suket_issue
from rekam.web import urls as web_urls

from .factories import make_resident
from .test_suket_support import jakarta, make_pilkada, ready_office

BDL_VILLAGE = "18.71.01.1003"
LAMSEL_VILLAGE = "18.01.04.2001"
SECRET_NAME = "Rahasia Kotabumi"

# Every address that shows or changes one resident: (method, url name, kind of key).
RESIDENT_ADDRESSES = [
    ("get", "resident_detail", "nik"),
    ("get", "resident_edit", "nik"),
    ("post", "resident_edit", "nik"),
    ("post", "resident_move", "nik"),
    ("get", "api_resident_detail", "nik"),
    ("get", "admin:residents_resident_change", "pk"),
    ("post", "admin:residents_resident_change", "pk"),
    ("get", "admin:residents_resident_history", "pk"),
    ("get", "admin:residents_resident_delete", "pk"),
]


def address(name, kind, resident):
    if kind == "nik":
        return reverse(name, kwargs={"nik": resident.nik})
    return reverse(name, args=[resident.pk])


def post_data(resident):
    return {
        "to_state": KtpState.BIO_CAPTURED,
        "name": "Diubah",
        "birth_date": resident.birth_date.isoformat(),
        "sex": resident.sex,
        "marital_status": resident.marital_status,
        "citizenship": resident.citizenship,
        "village": resident.village_id,
        "reason": "uji",
    }


def test_every_resident_address_of_the_staff_pages_is_checked_here():
    named = {
        p.name
        for p in web_urls.urlpatterns
        if isinstance(p, URLPattern) and "nik" in str(p.pattern)
    }
    assert named <= {name for _, name, _ in RESIDENT_ADDRESSES}


@pytest.mark.parametrize(("method", "name", "kind"), RESIDENT_ADDRESSES)
def test_an_operator_of_another_regency_learns_nothing(client, personas, method, name, kind):
    resident = make_resident(BDL_VILLAGE, name=SECRET_NAME)
    client.force_login(personas.lamsel_operator)
    url = address(name, kind, resident)
    response = client.get(url) if method == "get" else client.post(url, post_data(resident))
    assert response.status_code == 404
    assert SECRET_NAME not in response.content.decode()
    resident.refresh_from_db()
    assert (resident.name, resident.ktp_state) == (SECRET_NAME, KtpState.BELUM_REKAM)
    assert not RecordEvent.objects.exists()
    assert not AuditEntry.objects.filter(action="resident.update").exists()


@pytest.mark.parametrize("village", [BDL_VILLAGE, LAMSEL_VILLAGE])
@pytest.mark.parametrize(
    ("name", "kind"),
    [(n, k) for m, n, k in RESIDENT_ADDRESSES if m == "get" and not n.endswith("_delete")],
)
def test_the_province_admin_sees_residents_of_every_regency(client, personas, village, name, kind):
    resident = make_resident(village, name=SECRET_NAME)
    client.force_login(personas.province_admin)
    response = client.get(address(name, kind, resident))
    assert response.status_code == 200
    assert SECRET_NAME in response.content.decode()


def listed(response):
    """The residents a search response lists, whichever channel answered."""
    if response["Content-Type"].startswith("application/json"):
        return [r["nik"] for r in response.json().get("results", [])]
    if "cl" in response.context:
        return [r.nik for r in response.context["cl"].result_list]
    return [r.nik for r in response.context["page"].object_list]


SEARCHES = [
    ("resident_search", "q"),
    ("api_resident_search", "q"),
    ("admin:residents_resident_changelist", "q"),
]


@pytest.mark.parametrize(("name", "param"), SEARCHES)
@pytest.mark.parametrize("by", ["nik", "name"])
def test_searches_do_not_list_residents_of_another_regency(client, personas, name, param, by):
    resident = make_resident(BDL_VILLAGE, name=SECRET_NAME)
    client.force_login(personas.lamsel_operator)
    query = resident.nik if by == "nik" else "rahasia"
    response = client.get(reverse(name), {param: query})
    html = response.content.decode()
    assert response.status_code == 200
    assert SECRET_NAME not in html
    # The typed NIK is echoed in the search box; no link may lead to the resident.
    assert reverse("resident_detail", kwargs={"nik": resident.nik}) not in html
    assert reverse("admin:residents_resident_change", args=[resident.pk]) not in html
    assert listed(response) == []


@pytest.mark.parametrize(("name", "param"), SEARCHES)
def test_searches_of_the_province_admin_list_both_regencies(client, personas, name, param):
    a = make_resident(BDL_VILLAGE, name="Rahasia Kota")
    b = make_resident(LAMSEL_VILLAGE, name="Rahasia Desa")
    client.force_login(personas.province_admin)
    response = client.get(reverse(name), {param: "rahasia"})
    assert sorted(listed(response)) == sorted([a.nik, b.nik])


def test_a_queue_officer_is_refused_every_move_with_the_reason(client, personas):
    resident = make_resident(BDL_VILLAGE, ktp_state=KtpState.PRINT_READY_RECORD)
    client.force_login(personas.bdl_queue)
    response = client.post(
        reverse("resident_move", kwargs={"nik": resident.nik}),
        {"to_state": KtpState.CARD_PRINTED},
    )
    assert response.status_code == 403
    assert "Anda tidak berwenang mencatat perekaman KTP-el." in response.content.decode()
    resident.refresh_from_db()
    assert resident.ktp_state == KtpState.PRINT_READY_RECORD


def test_the_home_counts_of_a_regency_leave_out_other_regencies(client, personas):
    make_resident(BDL_VILLAGE)
    client.force_login(personas.lamsel_operator)
    summary = client.get(reverse("home")).context["summary"]
    assert summary.total.total == 0
    assert client.get(reverse("api_summary")).json()["total"]["total"] == 0


# Helpers in the one permission module


@pytest.mark.parametrize(
    ("persona", "province", "regency"),
    [
        ("province_admin", True, None),
        ("bdl_admin", False, "18.71"),
        ("bdl_queue", False, "18.71"),
        ("lamsel_operator", False, "18.01"),
    ],
)
def test_the_breadth_of_a_jurisdiction_is_decided_by_access(personas, persona, province, regency):
    user = getattr(personas, persona)
    assert access.sees_province(user) is province
    assert access.single_regency(user) == regency


def test_an_account_without_a_role_sees_no_province_and_no_regency(db):
    user = User.objects.create_user(username="baru", password="x")
    assert access.sees_province(user) is False
    assert access.single_regency(user) is None


def test_sukets_and_messages_are_scoped_by_the_recipients_regency(personas, settings, tmp_path):
    settings.NOTIFICATIONS_OUTBOX_DIR = tmp_path
    ready_office(personas.bdl_office, blanks=0)
    election = make_pilkada()
    resident = make_resident(BDL_VILLAGE, ktp_state=KtpState.SENT_FOR_ENROLLMENT)
    suket = suket_issue(resident=resident, election=election, at=jakarta(2020, 12, 5)).suket
    message = message_send(
        recipient=resident,
        template="card_printed",
        data={"name": resident.name, "place": "Kantor", "office": "Disdukcapil"},
        idempotency_key="scope-1",
        channels=["letter"],
    )
    assert list(access.sukets_for(personas.bdl_queue)) == [suket]
    assert list(access.messages_for(personas.bdl_queue)) == [message]
    assert list(access.sukets_for(personas.lamsel_operator)) == []
    assert list(access.messages_for(personas.lamsel_operator)) == []
    assert list(access.sukets_for(personas.province_admin)) == [suket]


def test_an_operator_of_another_regency_cannot_print_from_the_decision_page(client, personas):
    ready_office(personas.bdl_office, blanks=2)
    election = make_pilkada()
    resident = make_resident(BDL_VILLAGE, name=SECRET_NAME, ktp_state=KtpState.PRINT_READY_RECORD)
    client.force_login(personas.lamsel_operator)
    response = client.post(
        reverse("suket_decision", kwargs={"nik": resident.nik}),
        {"election": election.pk, "action": "print", "card_serial": "K1"},
    )
    assert response.status_code == 404
    assert not CardPrint.objects.exists()
    resident.refresh_from_db()
    assert resident.ktp_state == KtpState.PRINT_READY_RECORD


def test_an_operator_of_another_regency_cannot_print_from_the_print_list(client, personas):
    ready_office(personas.bdl_office, blanks=2)
    resident = make_resident(BDL_VILLAGE, ktp_state=KtpState.PRINT_READY_RECORD)
    client.force_login(personas.lamsel_operator)
    client.post(
        reverse("suket_print_list"),
        {"action": "print", "nik": resident.nik, "card_serial": "K1"},
    )
    assert not CardPrint.objects.exists()
    listed = client.get(reverse("suket_print_list"), {"nik": resident.nik}).context["page"]
    assert list(listed) == []
