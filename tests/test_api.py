"""The read-only JSON API: same scope and refusals as the pages."""

from __future__ import annotations

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from rekam.accounts.models import User
from rekam.elections.models import Election
from rekam.regions.models import Region
from rekam.residents.services import record_move
from rekam.residents.states import KtpState

from .factories import make_resident

BDL_VILLAGE = "18.71.01.1003"
LAMSEL_VILLAGE = "18.01.04.2001"


def api_detail(nik):
    return reverse("api_resident_detail", kwargs={"nik": nik})


def test_the_api_refuses_anonymous_requests_with_401(client, db):
    response = client.get(reverse("api_resident_search"), {"q": "siti"})
    assert response.status_code == 401
    assert response.json()["error"] == "Silakan masuk terlebih dahulu."


def test_the_api_searches_by_nik_with_spaces(client, personas):
    r = make_resident(BDL_VILLAGE)
    client.force_login(personas.bdl_operator)
    response = client.get(reverse("api_resident_search"), {"q": f"{r.nik[:8]} {r.nik[8:]}"})
    body = response.json()
    assert response.status_code == 200
    assert body["mode"] == "nik"
    assert [x["nik"] for x in body["results"]] == [r.nik]
    assert body["results"][0]["ktp_state"] == {"code": "BELUM_REKAM", "label": "Belum rekam"}


def test_the_api_says_why_a_nik_is_malformed(client, personas):
    client.force_login(personas.bdl_operator)
    response = client.get(reverse("api_resident_search"), {"q": "1.87101E+15"})
    assert response.status_code == 400
    assert "notasi ilmiah" in response.json()["error"]


def test_the_api_search_leaves_out_other_regencies(client, personas):
    make_resident(BDL_VILLAGE, name="Siti Kota")
    make_resident(LAMSEL_VILLAGE, name="Siti Desa")
    client.force_login(personas.bdl_operator)
    body = client.get(reverse("api_resident_search"), {"q": "siti"}).json()
    assert [x["name"] for x in body["results"]] == ["Siti Kota"]
    assert body["count"] == 1


def test_the_api_returns_a_resident_with_the_timeline(client, personas):
    r = make_resident(BDL_VILLAGE, name="Siti Aminah")
    record_move(resident=r, to_state=KtpState.BIO_CAPTURED, acting_user=personas.bdl_operator)
    client.force_login(personas.bdl_queue)
    body = client.get(api_detail(r.nik)).json()
    assert body["name"] == "Siti Aminah"
    assert body["regency"] == {"code": "18.71", "name": "Kota Bandar Lampung"}
    assert body["ktp_state"]["code"] == "BIO_CAPTURED"
    assert [
        (e["from_state"]["code"], e["to_state"]["code"], e["by"]) for e in body["timeline"]
    ] == [("BELUM_REKAM", "BIO_CAPTURED", "bdl_operator")]
    assert body["timeline"][0]["at"].endswith("+07:00")  # Asia/Jakarta


def test_the_api_hides_a_resident_of_another_regency_with_404(client, personas):
    r = make_resident(LAMSEL_VILLAGE, name="Siti Desa")
    client.force_login(personas.bdl_operator)
    response = client.get(api_detail(r.nik))
    assert response.status_code == 404
    assert "Siti Desa" not in response.content.decode()


def test_the_api_gives_the_province_admin_residents_of_both_regencies(client, personas):
    client.force_login(personas.province_admin)
    for village in (BDL_VILLAGE, LAMSEL_VILLAGE):
        assert client.get(api_detail(make_resident(village).nik)).status_code == 200


def test_the_api_refuses_an_account_without_a_role_with_403(client, personas):
    user = User.objects.create_user(username="tanpa_peran", password="x", is_staff=True)
    client.force_login(user)
    r = make_resident(BDL_VILLAGE)
    response = client.get(api_detail(r.nik))
    assert response.status_code == 403
    assert response.json()["error"] == "Anda tidak berwenang melihat data penduduk."
    assert client.get(reverse("api_summary")).status_code == 403


def test_the_api_is_read_only(client, personas):
    r = make_resident(BDL_VILLAGE)
    client.force_login(personas.bdl_operator)
    assert client.post(api_detail(r.nik), {"ktp_state": "CARD_PRINTED"}).status_code == 405


def test_the_summary_counts_the_jurisdiction_by_state(client, personas):
    make_resident(BDL_VILLAGE)
    make_resident(BDL_VILLAGE, ktp_state=KtpState.CARD_PRINTED)
    make_resident(LAMSEL_VILLAGE)
    client.force_login(personas.bdl_supervisor)
    body = client.get(reverse("api_summary")).json()
    assert body["office"]["code"] == "18.71"
    assert [r["code"] for r in body["regencies"]] == ["18.71"]
    assert body["total"]["total"] == 2
    assert body["total"]["counts"]["CARD_PRINTED"] == 1
    assert body["total"]["counts"]["PRINT_READY_RECORD"] == 0


def test_the_summary_counts_children_apart_from_those_who_must_record(client, personas):
    make_resident(BDL_VILLAGE)
    make_resident(BDL_VILLAGE, birth_date=timezone.localdate() - timedelta(days=6 * 365))
    client.force_login(personas.bdl_supervisor)
    counts = client.get(reverse("api_summary")).json()["total"]["counts"]
    assert (counts["BELUM_REKAM"], counts["NOT_YET_REQUIRED"]) == (1, 1)
    home = client.get(reverse("home")).content.decode()
    assert "Belum wajib KTP-el" in home


def test_a_first_time_voter_of_an_upcoming_election_counts_as_not_recorded(client, personas):
    today = timezone.localdate()
    make_resident(BDL_VILLAGE, birth_date=today.replace(year=today.year - 17) + timedelta(days=10))
    client.force_login(personas.bdl_supervisor)
    counts = client.get(reverse("api_summary")).json()["total"]["counts"]
    assert (counts["BELUM_REKAM"], counts["NOT_YET_REQUIRED"]) == (0, 1)
    polling = today + timedelta(days=30)
    election = Election.objects.create(
        name="Pilkada",
        slug="pilkada",
        polling_day=polling,
        suket_issue_until=polling,
        suket_valid_until=polling,
    )
    election.regions.add(Region.objects.get(code="18.71"))
    counts = client.get(reverse("api_summary")).json()["total"]["counts"]
    assert (counts["BELUM_REKAM"], counts["NOT_YET_REQUIRED"]) == (1, 0)


def test_the_province_summary_has_a_row_per_regency(client, personas):
    make_resident(BDL_VILLAGE)
    make_resident(LAMSEL_VILLAGE)
    client.force_login(personas.province_admin)
    body = client.get(reverse("api_summary")).json()
    assert [(r["code"], r["total"]) for r in body["regencies"]] == [("18.01", 1), ("18.71", 1)]
    assert body["total"]["total"] == 2


def test_the_api_says_why_a_nik_in_the_address_is_malformed(client, personas):
    client.force_login(personas.bdl_operator)
    response = client.get(api_detail("1871015713900001"))
    assert response.status_code == 404  # well-formed digits, but no such resident here
    response = client.get(api_detail("18710157139"))
    assert response.status_code == 400
    assert response.json()["error"] == "NIK harus 16 digit, bukan 11 (18710157139)"
