"""A Suket for a duplicate record waits for a supervisor: the request reaches the Suket page of
those who may approve (within their jurisdiction), the resident's page says it is waiting (not
refused), the approval is given with a reason, shows in the history and leads to issuing."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.conf import settings

from rekam.accounts.models import Role
from rekam.accounts.services import user_create
from rekam.audit.models import AuditEntry
from rekam.residents.models import Resident
from rekam.residents.states import KtpState
from rekam.suket.models import DuplicateApproval, Suket
from rekam.suket.services import SuketError, duplicate_approve

from .conftest import PASSWORD
from .factories import make_resident
from .test_suket_support import make_pilkada, ready_office

DUPLICATE = KtpState.DUPLICATE_RECORD


@pytest.fixture
def pilkada(personas):
    ready_office(personas.bdl_office, blanks=2)
    election = make_pilkada()
    election.polling_day = election.suket_issue_until = election.suket_valid_until = date(
        2099, 1, 1
    )
    election.save()
    return election


@pytest.fixture
def requested(personas, client, pilkada) -> Resident:
    """A duplicate record an operator tried to issue a Suket for."""
    r = make_resident(ktp_state=DUPLICATE)
    client.force_login(personas.bdl_operator)
    client.post(f"/suket/penduduk/{r.nik}/", {"election": pilkada.pk, "action": "issue"})
    client.logout()
    return r


def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def waiting(client) -> list[str]:
    """The links of the requests the Suket page lists as waiting for approval."""
    html = client.get("/suket/").content.decode()
    section = re.search(r'<section class="panel" id="approvals".*?</section>', html, re.S)
    if section is None:
        return []
    return re.findall(r'<tr data-request="\d+"><td><a href="([^"]+)"', section.group())


def test_the_request_reaches_the_supervisors_suket_page_with_a_count(
    personas, client, pilkada, requested
):
    client.force_login(personas.bdl_supervisor)
    page = client.get("/suket/")
    assert page.context["approval_count"] == 1
    assert 'data-testid="approval-count">1<' in page.content.decode()
    assert waiting(client) == [f"/suket/penduduk/{requested.nik}/?election={pilkada.pk}"]
    client.force_login(personas.province_admin)  # the province sees its regencies' requests
    assert len(waiting(client)) == 1


def test_only_those_who_may_approve_within_their_jurisdiction_see_requests(
    personas, client, pilkada, requested
):
    client.force_login(personas.bdl_operator)
    page = client.get("/suket/")
    assert 'id="approvals"' not in page.content.decode()
    lamsel_supervisor = user_create(
        username="lamsel_supervisor",
        password=PASSWORD,
        role=Role.SUPERVISOR,
        office=personas.lamsel_office,
    )
    client.force_login(lamsel_supervisor)
    assert waiting(client) == []


def test_the_resident_page_says_waiting_for_approval_not_refused(
    personas, client, pilkada, requested
):
    client.force_login(personas.bdl_operator)
    html = (
        english(client)
        .post(f"/suket/penduduk/{requested.nik}/", {"election": pilkada.pk, "action": "decide"})
        .content.decode()
    )
    assert 'data-outcome="PENDING"' in html and 'data-outcome="REFUSE"' not in html
    assert "<strong>Waiting for a supervisor's approval</strong>" in html
    assert "<strong>Refused</strong>" not in html
    assert 'value="approve"' not in html  # an operator may not approve


def test_the_supervisor_opens_the_request_and_finds_the_approval_form(
    personas, client, pilkada, requested
):
    client.force_login(personas.bdl_supervisor)
    (link,) = waiting(client)
    html = client.get(link).content.decode()
    assert 'data-outcome="PENDING"' in html and 'value="approve"' in html


def test_after_approval_the_page_says_who_and_why_and_offers_to_issue(
    personas, client, pilkada, requested
):
    personas.bdl_supervisor.first_name, personas.bdl_supervisor.last_name = "Sri", "Wahyuni"
    personas.bdl_supervisor.save()
    client.force_login(personas.bdl_supervisor)
    page = english(client).post(
        f"/suket/penduduk/{requested.nik}/",
        {"election": pilkada.pk, "action": "approve", "reason": "Dua rekaman orang yang sama"},
        follow=True,
    )
    html = page.content.decode()
    assert "The operator issues it with “Issue Suket if allowed”." in html
    approved = re.search(r"<div [^>]*data-approval.*?</div>", html, re.S)
    assert approved is not None
    assert "Sri Wahyuni" in approved.group() and "Dua rekaman orang yang sama" in approved.group()
    assert 'value="issue"' in approved.group()
    history = re.search(r'<tr data-kind="approval">.*?</tr>', html, re.S)
    assert history is not None
    assert "Sri Wahyuni" in history.group() and "Dua rekaman orang yang sama" in history.group()
    assert waiting(client) == []  # no longer waiting
    # The operator issues it from there.
    client.force_login(personas.bdl_operator)
    client.post(f"/suket/penduduk/{requested.nik}/", {"election": pilkada.pk, "action": "issue"})
    assert Suket.objects.filter(resident=requested, election=pilkada).count() == 1


def test_an_empty_reason_is_refused_with_a_message(personas, client, pilkada, requested):
    client.force_login(personas.bdl_supervisor)
    page = client.post(
        f"/suket/penduduk/{requested.nik}/",
        {"election": pilkada.pk, "action": "approve", "reason": "  "},
        follow=True,
    )
    assert "Alasan persetujuan wajib diisi." in page.content.decode()
    assert not DuplicateApproval.objects.exists()


def test_a_second_approval_is_refused_and_audited_once(personas, pilkada, requested):
    duplicate_approve(
        resident=requested, election=pilkada, reason="sama", acting_user=personas.bdl_supervisor
    )
    with pytest.raises(SuketError, match="sudah disetujui oleh bdl_supervisor"):
        duplicate_approve(
            resident=requested, election=pilkada, reason="lagi", acting_user=personas.bdl_admin
        )
    assert AuditEntry.objects.filter(action="suket.duplicate_approve").count() == 1


def test_an_operator_cannot_approve_through_the_page(personas, client, pilkada, requested):
    client.force_login(personas.bdl_operator)
    page = client.post(
        f"/suket/penduduk/{requested.nik}/",
        {"election": pilkada.pk, "action": "approve", "reason": "coba"},
        follow=True,
    )
    assert "Hanya supervisor yang boleh menyetujui." in page.content.decode()
    assert not DuplicateApproval.objects.exists()


def test_a_duplicate_nobody_asked_about_is_not_shown_as_waiting(personas, client, pilkada):
    r = make_resident(ktp_state=DUPLICATE)
    client.force_login(personas.bdl_operator)
    html = english(client).get(f"/suket/penduduk/{r.nik}/").content.decode()
    assert 'data-outcome="PENDING"' not in html and 'data-outcome="UNREQUESTED"' in html
    assert "Waiting for a supervisor's approval</strong>" not in html
    assert "Supervisors see this request" not in html
    # The way to ask: the check, which stores the request.
    asking = re.search(r'<form method="post" class="request-approval">.*?</form>', html, re.S)
    assert asking is not None
    assert f'name="election" value="{pilkada.pk}"' in asking.group()
    assert 'name="action" value="decide"' in asking.group()
    client.force_login(personas.bdl_supervisor)
    assert waiting(client) == []  # indeed nobody was asked
    # A supervisor opening the page may approve at once.
    assert 'value="approve"' in client.get(f"/suket/penduduk/{r.nik}/").content.decode()


def test_an_operators_check_asks_the_supervisor_who_approves_then_the_operator_issues(
    personas, client, pilkada
):
    r = make_resident(ktp_state=DUPLICATE)
    url = f"/suket/penduduk/{r.nik}/"
    client.force_login(personas.bdl_operator)
    html = client.post(url, {"election": pilkada.pk, "action": "decide"}).content.decode()
    assert 'data-outcome="PENDING"' in html
    # From now on the page says so on a plain visit too.
    assert 'data-outcome="PENDING"' in client.get(url).content.decode()
    client.force_login(personas.bdl_supervisor)
    (link,) = waiting(client)
    assert link == f"{url}?election={pilkada.pk}"
    client.post(url, {"election": pilkada.pk, "action": "approve", "reason": "Orang yang sama"})
    assert waiting(client) == []
    client.force_login(personas.bdl_operator)
    client.post(url, {"election": pilkada.pk, "action": "issue"})
    assert Suket.objects.filter(resident=r, election=pilkada, revoked_at=None).count() == 1
