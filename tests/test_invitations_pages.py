"""The planning page: preview from the browser, follow the run, see the comparison and the map,
approve and send."""

from __future__ import annotations

import pytest

from rekam.accounts.models import Role
from rekam.accounts.services import user_create
from rekam.invitations.models import Invitation, PlanRun
from rekam.servicepoints.models import MobileVisit
from rekam.voters.models import VoterClass

from .test_invitations_support import KEDATON, SRENGSEM, add_point, add_voters, new_election
from .test_voters_support import POLLING_DAY


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


def test_an_operator_sees_the_preview_without_the_approve_button(client, personas, preview) -> None:
    client.force_login(personas.bdl_operator)
    body = client.get(f"/undangan/{preview.pk}/").content.decode()
    assert "setujui/" not in body


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
    body = client.get(f"/undangan/{preview.pk}/").content.decode()
    assert "bdl_supervisor" in body and "setujui/" not in body


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
    assert "2020-12-08" in body and f"{SRENGSEM} Srengsem" in body
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
