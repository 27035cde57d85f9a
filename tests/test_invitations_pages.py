"""The planning page: plan from the browser, follow the run, see the comparison and the map."""

from __future__ import annotations

import pytest

from rekam.invitations.models import Invitation, PlanRun
from rekam.voters.models import VoterClass

from .test_invitations_support import KEDATON, add_point, add_voters, new_election
from .test_voters_support import POLLING_DAY


@pytest.fixture
def election(personas):
    made = new_election()
    add_point(personas.bdl_office)
    add_voters(made, KEDATON, VoterClass.NOT_RECORDED, 5, first_time=1)
    return made


def _post(client, election, **extra):
    form = {"election": election.slug, "region": "18.71", "start": POLLING_DAY.isoformat()}
    form.update(extra)
    return client.post("/undangan/mulai/", form)


def test_the_planning_page_shows_the_form(client, personas, election) -> None:
    client.force_login(personas.bdl_admin)
    body = client.get("/undangan/").content.decode()
    assert 'name="election"' in body and election.name in body


def test_it_refuses_the_planning_page_to_a_user_without_a_role(client, personas) -> None:
    personas.bdl_queue.role = ""
    personas.bdl_queue.save()
    client.force_login(personas.bdl_queue)
    assert client.get("/undangan/").status_code == 403


def test_it_refuses_an_operator_a_plan_that_writes_invitations(client, personas, election) -> None:
    client.force_login(personas.bdl_operator)
    _post(client, election)
    assert PlanRun.objects.count() == 0


def test_a_plan_from_the_page_writes_invitations_and_shows_the_map(
    client, personas, election, django_capture_on_commit_callbacks
) -> None:
    client.force_login(personas.bdl_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client, election)
    run = PlanRun.objects.get()
    assert response.headers["Location"] == f"/undangan/{run.pk}/"
    run.refresh_from_db()
    assert run.status == PlanRun.Status.DONE
    assert Invitation.objects.count() == 5
    body = client.get(f"/undangan/{run.pk}/").content.decode()
    assert "<svg" in body and "<circle" in body


def test_a_preview_writes_no_invitation(
    client, personas, election, django_capture_on_commit_callbacks
) -> None:
    client.force_login(personas.bdl_admin)
    with django_capture_on_commit_callbacks(execute=True):
        _post(client, election, dry_run="on")
    assert PlanRun.objects.get().status == PlanRun.Status.DONE
    assert Invitation.objects.count() == 0


def test_it_refuses_to_plan_from_the_page_outside_the_users_regency(
    client, personas, election
) -> None:
    client.force_login(personas.bdl_admin)
    _post(client, election, region="18.01")
    assert PlanRun.objects.count() == 0


def test_letters_of_a_village_download_as_pdf(
    client, personas, election, django_capture_on_commit_callbacks
) -> None:
    client.force_login(personas.bdl_admin)
    with django_capture_on_commit_callbacks(execute=True):
        _post(client, election)
    run = PlanRun.objects.get()
    response = client.get(f"/undangan/{run.pk}/surat/{KEDATON}.pdf")
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
