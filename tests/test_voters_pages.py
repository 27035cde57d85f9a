"""Staff pages of the voter list: totals, drill-down, exports, web-started runs, refusals."""

from __future__ import annotations

import html
import io
import re
from datetime import date

import openpyxl
import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from rekam.residents.states import KtpState
from rekam.voters.importer import dpt_import
from rekam.voters.models import CandidateMatch, DptImport, ReconciliationRun, VoterClass
from rekam.voters.reconcile import reconcile
from rekam.voters.worklists import worklist_counts, worklist_voters
from tests.conftest import PASSWORD
from tests.test_voters_support import (
    HAJIMENA,
    KEDATON,
    make_election,
    nik_for,
    resident,
    voter_row,
    write_dpt,
)

BDL_1 = nik_for(KEDATON, date(1980, 1, 1), "L", 1)
BDL_2 = nik_for(KEDATON, date(2003, 11, 1), "L", 2)
LAMSEL = nik_for(HAJIMENA, date(1970, 2, 2), "L", 3)


@pytest.fixture
def election(lampung, tmp_path):
    election = make_election()
    resident(BDL_1, birth_date=date(1980, 1, 1), sex="L", ktp_state=KtpState.BELUM_REKAM)
    resident(
        LAMSEL,
        village=HAJIMENA,
        birth_date=date(1970, 2, 2),
        sex="L",
        ktp_state=KtpState.CARD_PRINTED,
    )
    rows = [
        voter_row(BDL_1, name="Andi", birth="01-01-1980", sex="L"),
        voter_row(BDL_2, name="Rizki", birth="01-11-2003", sex="L", marital="B", tps="002"),
        voter_row(LAMSEL, name="Joko", birth="02-02-1970", sex="L", village=HAJIMENA),
    ]
    dpt_import(path=write_dpt(tmp_path / "dpt.csv", rows), election=election)
    reconcile(election=election)
    return election


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def test_the_election_page_shows_totals_and_regions(client, election, personas):
    login(client, personas.province_admin)
    response = client.get(reverse("voters_election", args=[election.slug]))
    assert response.status_code == 200
    total = response.context["total"]
    assert (total.voters, total.not_recorded, total.not_in_registry, total.first_time) == (
        3,
        1,
        1,
        1,
    )
    assert [r.code for r in response.context["rows"]] == ["18.01", "18.71"]
    assert response.context["status"].last_run is not None
    assert b'data-total="voters">3<' in response.content


def test_a_regency_user_sees_only_their_regency(client, election, personas):
    login(client, personas.lamsel_operator)
    response = client.get(reverse("voters_election", args=[election.slug]))
    assert response.status_code == 200
    assert response.context["total"].voters == 1
    assert [r.code for r in response.context["rows"]] == ["18.01.04"]
    assert b"Andi" not in response.content


def test_it_drills_down_to_the_people_of_a_tps(client, election, personas):
    login(client, personas.bdl_operator)
    url = reverse("voters_worklist", args=[election.slug])
    villages = client.get(url, {"kode": "18.71.01"})
    assert [r.code for r in villages.context["rows"]] == [KEDATON]
    tps = client.get(url, {"kode": KEDATON})
    assert [(r.tps, r.voters) for r in tps.context["rows"]] == [("001", 1), ("002", 1)]
    for typed in ("002", "2", "TPS 02"):
        people = client.get(url, {"kode": KEDATON, "tps": typed})
        assert [v.name for v in people.context["page"]] == ["Rizki"]


def test_each_region_link_goes_one_level_down_keeping_the_filters(client, election, personas):
    login(client, personas.bdl_operator)
    url = reverse("voters_worklist", args=[election.slug])
    page = client.get(url, {"kode": "18.71.01", "kelas": VoterClass.NOT_RECORDED})
    [link] = re.findall(r'href="([^"]*kode=18\.71\.01\.[^"]*)"', page.content.decode())
    followed = client.get(html.unescape(link))
    assert followed.context["within"] == KEDATON
    assert followed.context["params"]["klass"] == VoterClass.NOT_RECORDED
    assert [v.name for v in followed.context["page"]] == ["Andi"]
    # Back up through the breadcrumb, the filter stays.
    [up] = re.findall(r'href="([^"]*kode=18\.71\.01&[^"]*)"', followed.content.decode())
    assert "kelas=NOT_RECORDED" in html.unescape(up)


def test_it_filters_by_class_and_first_time_voter(client, election, personas):
    login(client, personas.bdl_operator)
    url = reverse("voters_worklist", args=[election.slug])
    not_recorded = client.get(url, {"kode": KEDATON, "kelas": VoterClass.NOT_RECORDED})
    assert [v.name for v in not_recorded.context["page"]] == ["Andi"]
    first_time = client.get(url, {"kode": KEDATON, "pemula": "1"})
    assert [v.name for v in first_time.context["page"]] == ["Rizki"]


def test_it_exports_the_worklist_as_csv_and_xlsx(client, election, personas):
    login(client, personas.bdl_operator)
    params = {"kode": "18.71", "kelas": VoterClass.NOT_IN_REGISTRY}
    csv_response = client.get(reverse("voters_export_csv", args=[election.slug]), params)
    text = b"".join(csv_response.streaming_content).decode("utf-8-sig")
    lines = text.strip().splitlines()
    assert lines[0].startswith("NIK,NKK,NAMA")
    assert len(lines) == 2 and lines[1].startswith(f"{BDL_2},")
    assert f",{VoterClass.NOT_IN_REGISTRY.label}," in lines[1]
    xlsx = client.get(reverse("voters_export_xlsx", args=[election.slug]), {"kode": "18.71"})
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(xlsx.streaming_content))).active
    assert sheet is not None
    niks = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert sorted(niks) == sorted([BDL_1, BDL_2])


def test_it_refuses_another_regencys_worklist(client, election, personas):
    login(client, personas.lamsel_operator)
    url = reverse("voters_worklist", args=[election.slug])
    assert client.get(url, {"kode": "18.71"}).status_code == 403
    assert client.get(url, {"kode": KEDATON, "tps": "001"}).status_code == 403
    export = reverse("voters_export_csv", args=[election.slug])
    assert client.get(export, {"kode": "18.71"}).status_code == 403


def test_the_worklist_api_refuses_outside_the_jurisdiction(election, personas):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        worklist_counts(election, personas.lamsel_operator, "village", within="18.71.01")
    with pytest.raises(PermissionDenied):
        worklist_voters(election, personas.lamsel_operator, within=KEDATON)
    mine = worklist_voters(election, personas.lamsel_operator)
    assert [v.nik for v in mine] == [LAMSEL]
    assert [r.code for r in worklist_counts(election, "18.71", "regency")] == ["18.71"]


def test_a_reconciliation_started_from_the_web_records_its_progress(client, election, personas):
    login(client, personas.bdl_admin)
    response = client.post(reverse("voters_reconcile", args=[election.slug]))
    run = ReconciliationRun.objects.order_by("-id").first()
    assert run is not None and run.acting_user == personas.bdl_admin
    assert response.status_code == 302
    assert response["Location"] == reverse("voters_run", args=[election.slug, run.pk])
    status = client.get(reverse("voters_run_status", args=[election.slug, run.pk])).json()
    assert status["status"] == ReconciliationRun.Status.DONE
    assert (status["percent"], status["stage"]) == (100, "selesai")
    page = client.get(response["Location"])
    assert page.status_code == 200 and b"progress.js" in page.content


def test_it_refuses_a_web_run_to_an_operator(client, election, personas):
    login(client, personas.lamsel_operator)
    before = ReconciliationRun.objects.count()
    response = client.post(reverse("voters_reconcile", args=[election.slug]))
    assert response.status_code == 403
    assert ReconciliationRun.objects.count() == before


def test_a_person_confirms_a_candidate_on_the_page(client, election, personas, tmp_path):
    real = resident(
        nik_for(KEDATON, date(1991, 3, 3), "P", 7),
        name="Wati",
        birth_date=date(1991, 3, 3),
        ktp_state=KtpState.CARD_PRINTED,
    )
    masked = real.nik[:6] + "****" + real.nik[10:]
    rows = [voter_row(masked, name="Wati", birth="03-03-1991", sex="P")]
    dpt_import(path=write_dpt(tmp_path / "more.csv", rows), election=election)
    reconcile(election=election, regencies=["18.71"])
    candidate = CandidateMatch.objects.get()
    login(client, personas.bdl_admin)
    listing = client.get(reverse("voters_candidates", args=[election.slug]))
    assert list(listing.context["page"]) == [candidate]
    client.post(
        reverse("voters_candidate_decide", args=[election.slug, candidate.pk]),
        {"keputusan": "konfirmasi", "alasan": "sesuai KK"},
    )
    candidate.refresh_from_db()
    assert candidate.status == CandidateMatch.Status.CONFIRMED
    assert candidate.decided_by == personas.bdl_admin


def test_a_candidate_already_on_the_list_is_flagged_and_not_confirmed(
    client, election, personas, tmp_path
):
    real = resident(
        nik_for(KEDATON, date(1991, 3, 3), "P", 7),
        name="Wati",
        birth_date=date(1991, 3, 3),
        ktp_state=KtpState.BELUM_REKAM,
    )
    typo = real.nik[:-2] + "91"  # the same person typed again with a wrong serial
    rows = [
        voter_row(real.nik, name="Wati", birth="03-03-1991", sex="P"),
        voter_row(typo, name="Wati", birth="03-03-1991", sex="P"),
    ]
    dpt_import(path=write_dpt(tmp_path / "twice.csv", rows), election=election)
    reconcile(election=election, regencies=["18.71"])
    candidate = CandidateMatch.objects.get(voter__nik=typo)
    login(client, personas.bdl_admin)
    listing = client.get(reverse("voters_candidates", args=[election.slug])).content.decode()
    assert 'data-testid="listed-twice"' in listing and real.nik in listing
    response = client.post(
        reverse("voters_candidate_decide", args=[election.slug, candidate.pk]),
        {"keputusan": "konfirmasi"},
        follow=True,
    )
    assert "kemungkinan terdaftar ganda" in response.content.decode()
    candidate.refresh_from_db()
    assert candidate.status == CandidateMatch.Status.PROPOSED


def test_another_regency_cannot_reach_a_candidate(client, election, personas, tmp_path):
    real = resident(
        nik_for(KEDATON, date(1991, 3, 3), "P", 8), name="Wati", birth_date=date(1991, 3, 3)
    )
    masked = real.nik[:6] + "****" + real.nik[10:]
    rows = [voter_row(masked, name="Wati", birth="03-03-1991", sex="P")]
    dpt_import(path=write_dpt(tmp_path / "more.csv", rows), election=election)
    reconcile(election=election, regencies=["18.71"])
    candidate = CandidateMatch.objects.get()
    login(client, personas.lamsel_operator)
    response = client.post(
        reverse("voters_candidate_decide", args=[election.slug, candidate.pk]),
        {"keputusan": "konfirmasi"},
    )
    assert response.status_code == 404
    candidate.refresh_from_db()
    assert candidate.status == CandidateMatch.Status.PROPOSED


def test_the_import_page_lists_who_was_added(client, election, personas):
    from rekam.voters.models import DptImport

    batch = DptImport.objects.get(election=election)
    login(client, personas.bdl_operator)
    response = client.get(reverse("voters_import", args=[election.slug, batch.pk]))
    assert response.status_code == 200
    assert response.context["added_count"] == 2  # Bandar Lampung's voters only
    assert b"Rizki" in response.content and b"Joko" not in response.content


def test_the_list_of_elections_links_to_each(client, election, personas):
    login(client, personas.bdl_operator)
    response = client.get(reverse("voters_elections"))
    assert reverse("voters_election", args=[election.slug]).encode() in response.content


def test_work_spanning_other_regencies_is_not_shown_to_a_regency(client, election, personas):
    """The fixture's file and run cover Bandar Lampung and Lampung Selatan: their counts are
    province-wide, so a regency/city sees neither, and its election page does not list them."""
    batch = DptImport.objects.get(election=election)
    run = ReconciliationRun.objects.get(election=election)
    login(client, personas.bdl_admin)
    own_part = client.get(reverse("voters_import", args=[election.slug, batch.pk]))
    assert own_part.status_code == 200 and not own_part.context["whole_file"]
    assert "Baris terbaca" not in own_part.content.decode()
    assert client.get(reverse("voters_run", args=[election.slug, run.pk])).status_code == 403
    page = client.get(reverse("voters_election", args=[election.slug])).content.decode()
    assert reverse("voters_import", args=[election.slug, batch.pk]) not in page
    client.logout()
    login(client, personas.province_admin)
    whole = client.get(reverse("voters_import", args=[election.slug, batch.pk]))
    assert whole.status_code == 200 and "Baris terbaca" in whole.content.decode()
    assert client.get(reverse("voters_run", args=[election.slug, run.pk])).status_code == 200


def _masked_candidate(
    election, tmp_path, name: str, birth: date, tps: str = "005", **fields
) -> CandidateMatch:
    """A resident, and a voter KPU listed with the resident's NIK masked: a candidate match
    (each at a TPS of their own: a file replaces the voters of the TPS it lists)."""
    real = resident(nik_for(KEDATON, birth, "P", 7), name=name, birth_date=birth, sex="P", **fields)
    masked = real.nik[:6] + "****" + real.nik[10:]
    row = voter_row(masked, name=name, birth=f"{birth:%d-%m-%Y}", sex="P", tps=tps)
    dpt_import(path=write_dpt(tmp_path / f"{name}.csv", [row]), election=election)
    reconcile(election=election, regencies=["18.71"])
    return CandidateMatch.objects.get(resident=real)


def test_the_candidate_page_sets_voter_and_resident_side_by_side(
    client, election, personas, tmp_path
):
    candidate = _masked_candidate(
        election,
        tmp_path,
        "Wati",
        date(1991, 3, 3),
        birth_place="Metro",
        kk_number="1871011203150001",
        street="jl. teuku  umar 3",
        rt="",
        rw="007",
    )
    login(client, personas.bdl_supervisor)
    response = client.get(reverse("voters_candidates", args=[election.slug]))
    [(shown, _listed, compared)] = response.context["rows"]
    assert shown == candidate
    sides = {row.field: (row.voter, row.resident, row.differs) for row in compared}
    assert sides["rt_rw"] == ("001/002", "-/007", True)  # RT unknown, RW different
    assert sides["kk_number"] == ("1871011203150001", "1871011203150001", False)
    assert sides["street"] == ("Jl. Teuku Umar 3", "jl. teuku  umar 3", False)  # as read
    assert sides["birth_place"] == ("Bandar Lampung", "Metro", True)
    assert sides["sex"][2] is False and sides["birth_date"][:2] == ("03-03-1991",) * 2
    assert sides["village"] == ("Kedaton", "Kedaton", False)
    masked, real = candidate.voter.nik, candidate.resident.nik
    assert sides["nik"] == (masked, real, True)
    page = response.content.decode()
    assert "<mark>Metro</mark>" in page and page.count('data-testid="differs"') == 3
    assert f'<mark class="nik">{real}</mark>' in page
    # The KPU-masked NIK is said to be masked, not mistyped, and shown once.
    assert "NIK disamarkan dalam daftar, berisi *" in page and page.count(masked) == 1


def test_the_candidate_page_marks_a_mistyped_nik(client, election, personas, tmp_path):
    real = resident(
        nik_for(KEDATON, date(1991, 3, 3), "P", 7), name="Wati", birth_date=date(1991, 3, 3)
    )
    typo = real.nik[:-1] + str((int(real.nik[-1]) + 1) % 10)
    row = voter_row(typo, name="Wati", birth="03-03-1991", sex="P", tps="005")
    dpt_import(path=write_dpt(tmp_path / "typo.csv", [row]), election=election)
    reconcile(election=election, regencies=["18.71"])
    login(client, personas.bdl_supervisor)
    response = client.get(reverse("voters_candidates", args=[election.slug]))
    [(_shown, _listed, compared)] = response.context["rows"]
    nik = next(row for row in compared if row.field == "nik")
    assert (nik.voter, nik.resident, nik.differs) == (typo, real.nik, True)
    assert f'<mark class="nik">{typo}</mark>' in response.content.decode()


def test_the_candidate_page_reads_a_page_of_candidates_in_the_same_queries(
    client, election, personas, tmp_path
):
    _masked_candidate(election, tmp_path, "Wati", date(1991, 3, 3))
    login(client, personas.bdl_supervisor)
    url = reverse("voters_candidates", args=[election.slug])
    with CaptureQueriesContext(connection) as one:
        assert client.get(url).status_code == 200
    _masked_candidate(election, tmp_path, "Ani", date(1992, 4, 4), tps="006", rt="003")
    _masked_candidate(election, tmp_path, "Sri", date(1993, 5, 5), tps="007", birth_place="X")
    with CaptureQueriesContext(connection) as three:
        response = client.get(url)
    assert len(response.context["rows"]) == 3
    assert len(three.captured_queries) == len(one.captured_queries)


def test_a_decision_says_who_it_was_about(client, election, personas, tmp_path):
    wati = _masked_candidate(election, tmp_path, "Wati", date(1991, 3, 3))
    ani = _masked_candidate(election, tmp_path, "Ani", date(1992, 4, 4), tps="006")
    login(client, personas.bdl_supervisor)
    for candidate, decision in ((wati, "konfirmasi"), (ani, "tolak")):
        response = client.post(
            reverse("voters_candidate_decide", args=[election.slug, candidate.pk]),
            {"keputusan": decision},
        )
        # The message is the newest one (the one before is still unread: no page was shown).
        *_earlier, message = [str(m) for m in get_messages(response.wsgi_request)]
        assert candidate.voter.name in message
        assert candidate.resident.masked_nik in message
        assert candidate.resident.nik not in message  # the full NIK stays off the message
    wati.refresh_from_db()
    ani.refresh_from_db()
    assert (wati.status, ani.status) == (
        CandidateMatch.Status.CONFIRMED,
        CandidateMatch.Status.REJECTED,
    )
