"""The Suket list: filters by status, election, regency/city and NIK or name, within the
jurisdiction only, in the same few queries however many Sukets a page shows."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rekam.residents.states import KtpState
from rekam.suket.models import Suket
from rekam.suket.services import suket_issue

from .factories import make_resident
from .test_suket_support import jakarta, make_pilkada, ready_office

LAMSEL_VILLAGE = "18.01.04.2001"


def issue(election, village: str = "18.71.01.1003", name: str = "Siti Aminah") -> Suket:
    resident = make_resident(village, name=name, ktp_state=KtpState.SENT_FOR_ENROLLMENT)
    suket = suket_issue(resident=resident, election=election, at=jakarta(2020, 12, 5)).suket
    assert suket is not None
    return suket


@pytest.fixture
def sukets(personas):
    ready_office(personas.bdl_office, blanks=2)
    ready_office(personas.lamsel_office, blanks=2)
    pilkada = make_pilkada()
    rehearsal = make_pilkada(regencies=("18.71",), slug="simulasi")
    rehearsal.name = "Simulasi Pemungutan Suara"
    rehearsal.save()
    return {
        "bdl": issue(pilkada, name="Ani Wijaya"),
        "rehearsal": issue(rehearsal, name="Budi Santoso"),
        "lamsel": issue(pilkada, LAMSEL_VILLAGE, name="Citra Lestari"),
    }


def listed(client, **params) -> set[Suket]:
    response = client.get("/suket/", params)
    assert response.status_code == 200
    return set(response.context["page"].object_list)


def test_the_province_filters_by_regency_election_and_holder(personas, client, sukets):
    client.force_login(personas.province_admin)
    assert listed(client) == set(sukets.values())
    assert listed(client, regency="18.01") == {sukets["lamsel"]}
    assert listed(client, election=sukets["rehearsal"].election_id) == {sukets["rehearsal"]}
    assert listed(client, q="ani wij") == {sukets["bdl"]}
    nik = sukets["rehearsal"].resident.nik
    assert listed(client, q=f"{nik[:6]} {nik[6:12]} {nik[12:]}") == {sukets["rehearsal"]}
    assert listed(client, regency="18.71", election=sukets["bdl"].election_id) == {sukets["bdl"]}


def test_the_list_shows_each_suket_s_election(personas, client, sukets):
    client.force_login(personas.province_admin)
    html = client.get("/suket/").content.decode()
    assert "Simulasi Pemungutan Suara" in html
    assert "Pemilihan Wali Kota dan Wakil Wali Kota Tahun 2020" in html


def test_another_regency_s_sukets_never_show(personas, client, sukets):
    client.force_login(personas.bdl_operator)
    lamsel = sukets["lamsel"]
    assert listed(client) == {sukets["bdl"], sukets["rehearsal"]}
    # Asking for Lampung Selatan is not a choice here: nothing of it shows.
    response = client.get("/suket/", {"regency": "18.01"})
    assert lamsel not in set(response.context["page"].object_list)
    assert "regency" in response.context["filters"].errors
    assert lamsel.number not in response.content.decode()
    assert listed(client, q=lamsel.resident.nik) == set()
    assert listed(client, q="Citra") == set()
    # The other filters still apply beside a refused choice.
    mixed = client.get("/suket/", {"regency": "18.01", "q": "Budi"}).context["page"].object_list
    assert set(mixed) == {sukets["rehearsal"]}
    choices = response.context["filters"].fields["regency"].queryset
    assert list(choices.values_list("code", flat=True)) == ["18.71"]


def test_a_malformed_nik_says_why(personas, client, sukets):
    client.force_login(personas.bdl_operator)
    response = client.get("/suket/", {"q": "1871 0157"})
    assert "harus 16 digit" in response.content.decode()
    assert list(response.context["page"].object_list) == []


def test_the_list_takes_the_same_queries_for_one_suket_or_many(personas, client, sukets):
    client.force_login(personas.province_admin)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/suket/", {"q": "", "status": ""}).status_code == 200
        return len(captured)

    few = queries()
    pilkada = sukets["bdl"].election
    for i in range(6):
        issue(pilkada, name=f"Warga {i}")
        issue(pilkada, LAMSEL_VILLAGE, name=f"Penduduk {i}")
    assert queries() == few
