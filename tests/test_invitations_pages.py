"""The planning page: preview from the browser, follow the run, see the comparison and the map,
approve and send."""

from __future__ import annotations

import re

import pytest

from rekam.accounts.models import Role
from rekam.accounts.services import user_create
from rekam.invitations.models import Invitation, PlanRun
from rekam.invitations.services import plan_run_create, plan_run_execute
from rekam.servicepoints.models import MobileVisit, ServicePoint
from rekam.suket.stock import blank_receive
from rekam.voters.models import VoterClass

from .test_invitations_support import (
    KEDATON,
    SRENGSEM,
    add_point,
    add_voters,
    new_election,
    planning_clock,
)
from .test_voters_support import POLLING_DAY


@pytest.fixture(autouse=True)
def _planning_morning(monkeypatch):
    """Plans are made on a morning before the scenario's sessions (of 2020)."""
    planning_clock(monkeypatch)


@pytest.fixture
def election(personas):
    made = new_election()
    add_point(personas.bdl_office)
    add_voters(made, KEDATON, VoterClass.NOT_RECORDED, 5, first_time=1)
    return made


def _post(client, election, **extra):
    form = {
        "election": election.slug,
        "region": "18.71",
        "start": POLLING_DAY.isoformat(),
        "mobile_units": "0",
        "mobile_per_day": "60",
    }
    form.update(extra)
    return client.post("/undangan/mulai/", form)


@pytest.fixture
def preview(client, personas, election, django_capture_on_commit_callbacks) -> PlanRun:
    client.force_login(personas.bdl_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client, election)
    run = PlanRun.objects.get()
    assert response.headers["Location"] == f"/undangan/{run.pk}/"
    client.logout()
    return run


def _approve(client, run, user, capture):
    client.force_login(user)
    with capture(execute=True):
        return client.post(f"/undangan/{run.pk}/setujui/")


def test_the_planning_page_shows_the_form(client, personas, election) -> None:
    client.force_login(personas.bdl_admin)
    body = client.get("/undangan/").content.decode()
    assert 'name="election"' in body and election.name in body


def test_the_form_offers_mobile_units_with_the_reference_defaults(client, personas) -> None:
    client.force_login(personas.bdl_admin)
    body = client.get("/undangan/").content.decode()
    assert 'name="mobile_units" value="2"' in body
    assert 'name="mobile_per_day" value="60"' in body


def test_it_refuses_the_planning_page_to_a_user_without_a_role(client, personas) -> None:
    personas.bdl_queue.role = ""
    personas.bdl_queue.save()
    client.force_login(personas.bdl_queue)
    assert client.get("/undangan/").status_code == 403


def test_a_plan_from_the_page_is_a_preview_with_the_map(client, personas, preview) -> None:
    assert (preview.status, preview.dry_run) == (PlanRun.Status.DONE, True)
    assert Invitation.objects.count() == 0
    client.force_login(personas.bdl_supervisor)
    body = client.get(f"/undangan/{preview.pk}/").content.decode()
    assert "<svg" in body and "<circle" in body
    assert f'action="/undangan/{preview.pk}/setujui/"' in body


def test_the_preview_warns_when_card_pick_ups_outnumber_the_blanks(
    client, personas, election, django_capture_on_commit_callbacks
) -> None:
    add_voters(election, KEDATON, VoterClass.PRR_NOT_PRINTED, 3, start=50)
    blank_receive(office=personas.bdl_office, count=1, batch="B")
    client.force_login(personas.bdl_admin)
    with django_capture_on_commit_callbacks(execute=True):
        _post(client, election)
    body = client.get(f"/undangan/{PlanRun.objects.get().pk}/").content.decode()
    assert 'data-testid="blanks-short"' in body
    assert "1 blangko untuk 3 undangan pengambilan KTP-el" in body
    blank_receive(office=personas.bdl_office, count=5, batch="C")
    body = client.get(f"/undangan/{PlanRun.objects.get().pk}/").content.decode()
    assert 'data-testid="blanks-short"' not in body


def test_an_operator_sees_the_preview_without_the_approve_button(client, personas, preview) -> None:
    client.force_login(personas.bdl_operator)
    body = client.get(f"/undangan/{preview.pk}/").content.decode()
    assert "setujui/" not in body


# Admins plan, supervisors approve


@pytest.mark.parametrize("who", ["bdl_operator", "bdl_queue", "bdl_supervisor"])
def test_only_an_admin_may_start_a_preview(client, personas, election, who) -> None:
    client.force_login(getattr(personas, who))
    response = _post(client, election)
    assert response.status_code == 403
    assert "Hanya admin dinas yang boleh membuat dan mengirim undangan." in (
        response.content.decode()
    )
    assert not PlanRun.objects.exists()


def test_the_planning_form_is_offered_to_admins_only(client, personas, preview) -> None:
    client.force_login(personas.bdl_supervisor)
    body = client.get("/undangan/").content.decode()
    assert "/undangan/mulai/" not in body and f'href="/undangan/{preview.pk}/"' in body
    client.force_login(personas.bdl_admin)
    assert "/undangan/mulai/" in client.get("/undangan/").content.decode()


def test_approving_on_the_page_sends_in_the_background(
    client, personas, preview, django_capture_on_commit_callbacks
) -> None:
    response = _approve(
        client, preview, personas.bdl_supervisor, django_capture_on_commit_callbacks
    )
    assert response.headers["Location"] == f"/undangan/{preview.pk}/"
    preview.refresh_from_db()
    assert preview.status == PlanRun.Status.SENT
    assert preview.approved_by == personas.bdl_supervisor
    assert Invitation.objects.count() == 5
    # Its messages link to the site it was approved on.
    assert preview.options["public_url"] == "http://testserver/"
    body = client.get(f"/undangan/{preview.pk}/").content.decode()
    assert "bdl_supervisor" in body and "setujui/" not in body


def test_its_maker_sees_why_they_may_not_approve_it(
    client, personas, preview, django_capture_on_commit_callbacks
) -> None:
    client.force_login(personas.bdl_admin)
    body = client.get(f"/undangan/{preview.pk}/").content.decode()
    assert "setujui/" not in body and 'data-testid="own-plan"' in body
    assert "Rencana ini Anda buat sendiri" in body
    # Posted all the same (an old page): refused with the reason, nothing sent.
    response = _approve(client, preview, personas.bdl_admin, django_capture_on_commit_callbacks)
    assert response.status_code == 302
    body = client.get(f"/undangan/{preview.pk}/").content.decode()
    assert body.count("persetujuan harus oleh orang lain (supervisor atau admin lain)") == 2
    preview.refresh_from_db()
    assert preview.approved_at is None and Invitation.objects.count() == 0
    # A supervisor of the regency gets the button, and no such notice.
    client.force_login(personas.bdl_supervisor)
    body = client.get(f"/undangan/{preview.pk}/").content.decode()
    assert "setujui/" in body and 'data-testid="own-plan"' not in body


def test_an_operator_may_not_approve_on_the_page(
    client, personas, preview, django_capture_on_commit_callbacks
) -> None:
    response = _approve(client, preview, personas.bdl_operator, django_capture_on_commit_callbacks)
    assert response.status_code == 403
    preview.refresh_from_db()
    assert preview.status == PlanRun.Status.DONE and Invitation.objects.count() == 0


def test_a_supervisor_of_another_regency_may_not_approve_on_the_page(
    client, personas, preview, django_capture_on_commit_callbacks
) -> None:
    other = user_create(
        username="lamsel_supervisor",
        password="uji-rahasia-123",
        role=Role.SUPERVISOR,
        office=personas.lamsel_office,
    )
    response = _approve(client, preview, other, django_capture_on_commit_callbacks)
    assert response.status_code == 403
    assert PlanRun.objects.get().approved_at is None


def test_approving_twice_on_the_page_says_so(
    client, personas, preview, django_capture_on_commit_callbacks
) -> None:
    _approve(client, preview, personas.bdl_supervisor, django_capture_on_commit_callbacks)
    response = _approve(client, preview, personas.bdl_admin, django_capture_on_commit_callbacks)
    assert response.status_code == 302
    body = client.get(f"/undangan/{preview.pk}/").content.decode()
    assert "sudah disetujui" in body
    assert Invitation.objects.count() == 5


def test_the_page_shows_the_mobile_units_visits(
    client, personas, election, django_capture_on_commit_callbacks
) -> None:
    add_voters(election, SRENGSEM, VoterClass.NOT_RECORDED, 12, start=100)
    client.force_login(personas.bdl_admin)
    with django_capture_on_commit_callbacks(execute=True):
        _post(client, election, start="2020-12-08", mobile_units="1", mobile_per_day="10")
    run = PlanRun.objects.get()
    body = client.get(f"/undangan/{run.pk}/").content.decode()
    assert "08-12-2020" in body and f"{SRENGSEM} Srengsem" in body
    assert "MIP (SCIP" in body and 'class="mobile-visit"' in body
    assert MobileVisit.objects.count() == 0


def test_it_refuses_to_plan_from_the_page_outside_the_users_regency(
    client, personas, election
) -> None:
    client.force_login(personas.bdl_admin)
    _post(client, election, region="18.01")
    assert PlanRun.objects.count() == 0


def test_letters_of_a_village_download_as_pdf(
    client, personas, preview, django_capture_on_commit_callbacks
) -> None:
    _approve(client, preview, personas.bdl_supervisor, django_capture_on_commit_callbacks)
    response = client.get(f"/undangan/{preview.pk}/surat/{KEDATON}.pdf")
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


# The form: Indonesian, a date input starting tomorrow, errors beside their fields


def test_the_form_starts_tomorrow_with_a_date_input_and_an_indonesian_empty_choice(
    client, personas, election
) -> None:
    client.force_login(personas.bdl_admin)
    body = client.get("/undangan/").content.decode()
    assert re.search(r'<input type="date" name="start" value="2020-12-07"', body)
    assert "— pilih —" in body and "---------" not in body
    assert "Sesi yang dimulai kurang dari 24 jam dari sekarang" in body


def test_the_region_is_chosen_from_the_users_own(client, personas) -> None:
    client.force_login(personas.bdl_admin)
    body = client.get("/undangan/").content.decode()
    region_select = body.split('name="region"')[1].split("</select>")[0]
    assert re.findall(r'<option value="([0-9.]*)"', region_select) == ["18.71"]
    client.force_login(personas.province_admin)
    body = client.get("/undangan/").content.decode()
    region_select = body.split('name="region"')[1].split("</select>")[0]
    assert '<option value="" selected>' in region_select and "18.02 " in region_select


@pytest.mark.parametrize(
    ("entry", "error"),
    [
        ({"start": "2020-12-01"}, "Hari pertama sesi tidak boleh sebelum hari ini."),
        ({"start": "2020-12-10"}, "Hari pertama sesi tidak boleh sesudah hari pemungutan suara"),
        ({"region": "18.99"}, "Kode kabupaten/kota 18.99 tidak dikenal atau di luar wilayah"),
        ({"region": "18.01"}, "Kode kabupaten/kota 18.01 tidak dikenal atau di luar wilayah"),
    ],
)
def test_a_wrong_entry_shows_the_form_again_with_the_fields_error(
    client, personas, election, entry, error
) -> None:
    client.force_login(personas.bdl_admin)
    response = _post(client, election, **entry)
    assert response.status_code == 200
    body = response.content.decode()
    assert error in body and 'class="errorlist' in body
    assert not PlanRun.objects.exists()


# The plans list and the run page name regions; the province sees its own plans


def _province_preview(election, personas) -> PlanRun:
    run = plan_run_create(
        election=election, region_code="", acting_user=personas.province_admin, dry_run=True
    )
    return plan_run_execute(run=run, acting_user=personas.province_admin)


def test_the_province_sees_its_province_wide_plans_by_name(client, personas, election) -> None:
    run = _province_preview(election, personas)
    client.force_login(personas.province_admin)
    body = client.get("/undangan/").content.decode()
    assert f'href="/undangan/{run.pk}/"' in body and "Provinsi Lampung" in body
    assert "Provinsi Lampung" in client.get(f"/undangan/{run.pk}/").content.decode()
    client.force_login(personas.bdl_admin)
    assert f'href="/undangan/{run.pk}/"' not in client.get("/undangan/").content.decode()


def test_a_regencys_plan_is_listed_by_its_name(client, personas, preview) -> None:
    client.force_login(personas.bdl_admin)
    body = client.get("/undangan/").content.decode()
    assert "<td>Kota Bandar Lampung</td>" in body


# The preview's counts per day and service point


def test_the_preview_counts_invitations_per_day_and_service_point(
    client, personas, preview
) -> None:
    point = ServicePoint.objects.get()
    assert preview.summary["recording"]["load"] == {
        "days": ["2020-12-09"],
        "rows": [{"point": point.pk, "name": point.name, "counts": [5]}],
    }
    client.force_login(personas.bdl_supervisor)
    body = client.get(f"/undangan/{preview.pk}/").content.decode()
    assert "Undangan per hari dan titik layanan" in body
    assert f'<th scope="row">{point.name}</th><td class="num">5</td>' in body


def test_with_mobile_units_the_page_shows_their_saving_and_method_in_indonesian(
    client, personas, election, django_capture_on_commit_callbacks
) -> None:
    add_voters(election, SRENGSEM, VoterClass.NOT_RECORDED, 12, start=100)
    client.force_login(personas.bdl_admin)
    with django_capture_on_commit_callbacks(execute=True):
        _post(client, election, start="2020-12-08", mobile_units="1", mobile_per_day="10")
    run = PlanRun.objects.get()
    response = client.get(f"/undangan/{run.pk}/")
    part = run.summary["recording"]
    best_km = part["mobile"]["plan"]["total_km"]
    assert best_km < part["plan"]["total_km"]
    assert response.context["parts"][0]["km_saved"] == round(
        part["baseline"]["total_km"] - best_km, 1
    )
    body = response.content.decode()
    assert "melalui OR-Tools" in body and "through OR-Tools" not in body
    assert "Layanan keliling (jemput bola)" in body
    assert part["mobile"]["solver"].startswith("SCIP")  # stored as made, shown translated


def test_a_preview_inviting_nobody_offers_no_approval(client, personas) -> None:
    run = _province_preview(new_election(), personas)
    assert run.status == PlanRun.Status.DONE
    client.force_login(personas.province_admin)
    body = client.get(f"/undangan/{run.pk}/").content.decode()
    assert "setujui/" not in body
    assert "Pratinjau ini tidak mengundang siapa pun" in body


def test_the_letters_are_listed_by_kecamatan_with_village_names(
    client, personas, preview, django_capture_on_commit_callbacks
) -> None:
    _approve(client, preview, personas.bdl_supervisor, django_capture_on_commit_callbacks)
    body = client.get(f"/undangan/{preview.pk}/").content.decode()
    assert f'href="/undangan/{preview.pk}/surat/{KEDATON}.pdf">Kedaton</a>' in body
    assert "Kecamatan Kedaton (1)" in body
