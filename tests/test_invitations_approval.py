"""A plan from the page is a preview until someone other than its maker (a supervisor or another
admin) approves it; sending then writes the invitations and puts their messages in the outbox,
and never invites anyone twice."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.core.exceptions import PermissionDenied

from rekam.accounts.access import OUTSIDE_JURISDICTION
from rekam.accounts.models import Role
from rekam.accounts.services import user_create
from rekam.audit.models import AuditEntry
from rekam.invitations.models import Invitation, PlanRun
from rekam.invitations.services import (
    APPROVED_IN_ONE_GO,
    SELF_APPROVAL_REFUSED,
    PlanRefused,
    plan_run_approve,
    plan_run_create,
    plan_run_execute,
    plan_run_send,
)
from rekam.notifications.models import Message
from rekam.voters.models import VoterClass

from .factories import make_resident
from .test_invitations_support import (
    KEDATON,
    SURABAYA,
    add_point,
    add_voters,
    plan_now,
    planning_clock,
)
from .test_voters_support import POLLING_DAY, make_election

START = date(2020, 12, 8)  # two days of sessions: 24 + 15 invitation seats


@pytest.fixture(autouse=True)
def _planning_morning(monkeypatch):
    """Plans are made on a morning before the scenario's sessions (of 2020)."""
    planning_clock(monkeypatch)


@pytest.fixture
def election(personas):
    """Six voters to record in Kedaton, two of them matched to residents (so messaged)."""
    made = make_election()
    add_point(personas.bdl_office)
    add_voters(made, KEDATON, VoterClass.NOT_RECORDED, 4, first_time=1)
    for n, name in enumerate(("Budi", "Citra")):
        add_voters(
            made,
            KEDATON,
            VoterClass.NOT_RECORDED,
            1,
            start=50 + n,
            resident=make_resident(KEDATON, name=name, phone="+6281234567890"),
        )
    return made


@pytest.fixture
def preview(election, personas) -> PlanRun:
    return plan_now(election, personas.bdl_admin, START, dry_run=True)


@pytest.fixture
def lamsel_supervisor(personas):
    return user_create(
        username="lamsel_supervisor",
        password="uji-rahasia-123",
        role=Role.SUPERVISOR,
        office=personas.lamsel_office,
    )


def test_a_preview_waits_for_approval_and_writes_nothing(preview) -> None:
    assert (preview.status, preview.dry_run) == (PlanRun.Status.DONE, True)
    assert preview.summary["recording"]["plan"]["served"] == 6
    assert preview.approved_at is None and preview.sent_at is None
    assert Invitation.objects.count() == 0 and Message.objects.count() == 0


def test_a_supervisor_approves_and_sending_writes_and_messages(preview, personas) -> None:
    approved = plan_run_approve(run=preview, acting_user=personas.bdl_supervisor)
    assert approved.status == PlanRun.Status.APPROVED
    assert approved.approved_by == personas.bdl_supervisor
    assert approved.approved_at is not None
    assert Invitation.objects.count() == 0  # sending is the task's work

    sent = plan_run_send(run=approved)
    assert (sent.status, sent.dry_run) == (PlanRun.Status.SENT, False)
    assert sent.sent_at is not None and sent.approved_at is not None
    assert sent.sent_at >= sent.approved_at
    assert sent.summary["recording"]["written"] == 6
    assert sent.summary["recording"]["messages"] == 2
    assert sent.preview["recording"]["plan"]["served"] == 6
    assert Invitation.objects.filter(run=sent).count() == 6
    keys = set(Message.objects.values_list("idempotency_key", flat=True))
    assert keys == {
        f"invitation:{ref}"
        for ref in Invitation.objects.filter(voter__verdict__resident__isnull=False).values_list(
            "reference", flat=True
        )
    }
    actions = list(
        AuditEntry.objects.filter(object_id=str(sent.pk), action__startswith="invitation_plan_")
        .order_by("id")
        .values_list("action", "actor_label")
    )
    assert actions == [
        ("invitation_plan_create", "bdl_admin"),
        ("invitation_plan_done", "bdl_admin"),
        ("invitation_plan_approve", "bdl_supervisor"),
        ("invitation_plan_send", "bdl_supervisor"),
    ]


@pytest.mark.parametrize("who", ["bdl_supervisor", "bdl_operator", "bdl_queue"])
def test_only_an_admin_makes_a_preview(election, personas, who) -> None:
    with pytest.raises(PermissionDenied, match="Hanya admin dinas yang boleh membuat"):
        plan_run_create(
            election=election,
            region_code="18.71",
            acting_user=getattr(personas, who),
            dry_run=True,
            start=START,
        )
    assert not PlanRun.objects.exists()


def test_its_maker_may_not_approve_their_own_preview(preview, personas) -> None:
    """Four eyes: the role table gives admins the supervisor's rights, approval among them,
    but never over a preview they made themselves."""
    with pytest.raises(PlanRefused, match=re.escape(SELF_APPROVAL_REFUSED)):
        plan_run_approve(run=preview, acting_user=personas.bdl_admin)
    preview.refresh_from_db()
    assert preview.approved_at is None and preview.status == PlanRun.Status.DONE
    assert not AuditEntry.objects.filter(action="invitation_plan_approve").exists()
    assert "persetujuan harus oleh orang lain (supervisor atau admin lain)" in SELF_APPROVAL_REFUSED


def test_another_admin_may_approve_it(preview, personas) -> None:
    approved = plan_run_approve(run=preview, acting_user=personas.province_admin)
    assert approved.approved_by == personas.province_admin
    assert AuditEntry.objects.get(action="invitation_plan_approve").reason == ""


def test_an_operator_may_not_approve(preview, personas) -> None:
    with pytest.raises(PermissionDenied, match="Hanya supervisor yang boleh menyetujui"):
        plan_run_approve(run=preview, acting_user=personas.bdl_operator)
    preview.refresh_from_db()
    assert preview.approved_at is None and preview.status == PlanRun.Status.DONE


def test_a_supervisor_of_another_regency_may_not_approve(preview, lamsel_supervisor) -> None:
    with pytest.raises(PermissionDenied, match=OUTSIDE_JURISDICTION):
        plan_run_approve(run=preview, acting_user=lamsel_supervisor)
    assert PlanRun.objects.get(pk=preview.pk).approved_at is None


def test_a_regency_supervisor_may_not_approve_a_plan_for_the_province(election, personas) -> None:
    run = plan_run_create(
        election=election, region_code="", acting_user=personas.province_admin, dry_run=True
    )
    run = plan_run_execute(run=run, acting_user=personas.province_admin)
    with pytest.raises(PermissionDenied, match=OUTSIDE_JURISDICTION):
        plan_run_approve(run=run, acting_user=personas.bdl_supervisor)
    province_supervisor = user_create(
        username="prov_supervisor",
        password="uji-rahasia-123",
        role=Role.SUPERVISOR,
        office=personas.province_office,
    )
    assert plan_run_approve(run=run, acting_user=province_supervisor).approved_at


def test_it_is_approved_once(preview, personas) -> None:
    plan_run_approve(run=preview, acting_user=personas.bdl_supervisor)
    with pytest.raises(PlanRefused, match="sudah disetujui"):
        plan_run_approve(run=preview, acting_user=personas.bdl_admin)


def test_an_unfinished_run_cannot_be_approved(election, personas) -> None:
    run = plan_run_create(
        election=election, region_code="18.71", acting_user=personas.bdl_admin, dry_run=True
    )
    with pytest.raises(PlanRefused, match="pratinjau yang sudah selesai"):
        plan_run_approve(run=run, acting_user=personas.bdl_supervisor)


def test_sending_twice_sends_once(preview, personas) -> None:
    plan_run_approve(run=preview, acting_user=personas.bdl_supervisor)
    plan_run_send(run=preview)
    again = plan_run_send(run=preview)  # the task delivered a second time
    assert again.status == PlanRun.Status.SENT
    assert Invitation.objects.count() == 6 and Message.objects.count() == 2


def test_planning_again_after_sending_invites_only_the_newcomers(
    election, preview, personas
) -> None:
    plan_run_approve(run=preview, acting_user=personas.bdl_supervisor)
    plan_run_send(run=preview)
    add_voters(election, SURABAYA, VoterClass.NOT_RECORDED, 3, start=300)
    second = plan_now(election, personas.bdl_admin, START, dry_run=True)
    assert second.summary["recording"]["plan"]["invitees"] == 3
    plan_run_approve(run=second, acting_user=personas.bdl_supervisor)
    sent = plan_run_send(run=second)
    assert sent.summary["recording"]["written"] == 3
    per_voter = Invitation.objects.values_list("voter_id", flat=True)
    assert len(per_voter) == len(set(per_voter)) == 9


def test_two_previews_approved_together_do_not_invite_twice(election, personas) -> None:
    first = plan_now(election, personas.bdl_admin, START, dry_run=True)
    second = plan_now(election, personas.bdl_admin, START, dry_run=True)
    for run in (first, second):
        plan_run_approve(run=run, acting_user=personas.bdl_supervisor)
    plan_run_send(run=first)
    sent = plan_run_send(run=second)
    assert sent.summary["recording"]["written"] == 0
    assert Invitation.objects.count() == 6


def test_a_preview_made_before_another_plan_was_sent_is_out_of_date(election, personas) -> None:
    older = plan_now(election, personas.bdl_admin, START, dry_run=True)
    newer = plan_now(election, personas.bdl_admin, START, dry_run=True)
    plan_run_approve(run=newer, acting_user=personas.bdl_supervisor)
    plan_run_send(run=newer)
    with pytest.raises(PlanRefused, match=f"rencana #{newer.pk} .* sudah dikirim"):
        plan_run_approve(run=older, acting_user=personas.bdl_supervisor)
    assert PlanRun.objects.get(pk=older.pk).approved_at is None


def test_an_unknown_region_is_refused(election, personas) -> None:
    for code in ("99.99", "18.71.01"):
        with pytest.raises(PlanRefused, match=f"{code} tidak dikenal"):
            plan_run_create(
                election=election, region_code=code, acting_user=personas.bdl_admin, start=START
            )
    assert not PlanRun.objects.exists()


def test_a_region_that_does_not_hold_the_election_is_refused(election, personas) -> None:
    with pytest.raises(PlanRefused, match="tidak menyelenggarakan"):
        plan_run_create(
            election=election,
            region_code="18.03",
            acting_user=personas.province_admin,
            start=START,
        )


def test_the_command_without_dry_run_approves_as_the_system(election) -> None:
    run = plan_run_create(
        election=election, region_code="18.71", acting_user=None, start=START, mobile_units=0
    )
    run = plan_run_execute(run=run, acting_user=None)
    assert run.status == PlanRun.Status.SENT
    assert run.approved_by is None and run.approved_at is not None
    approval = AuditEntry.objects.get(action="invitation_plan_approve")
    assert (approval.actor_label, approval.reason) == ("system", APPROVED_IN_ONE_GO)
    assert Invitation.objects.count() == 6


def test_a_plan_sent_at_once_needs_the_right_to_approve_too(election, personas) -> None:
    with pytest.raises(PermissionDenied):
        plan_run_create(election=election, region_code="18.71", acting_user=personas.bdl_operator)
    run = plan_now(election, personas.bdl_admin, POLLING_DAY)
    assert run.approved_by == personas.bdl_admin and run.status == PlanRun.Status.SENT
    # The one exception to four eyes (made and approved at once), on the record as such.
    approval = AuditEntry.objects.get(action="invitation_plan_approve", object_id=str(run.pk))
    assert (approval.actor_label, approval.reason) == ("bdl_admin", APPROVED_IN_ONE_GO)


def test_references_start_with_the_run_and_messages_quote_their_random_tail(
    preview, personas
) -> None:
    plan_run_approve(run=preview, acting_user=personas.bdl_supervisor)
    plan_run_send(run=preview)
    references = list(Invitation.objects.values_list("reference", flat=True))
    assert len(set(references)) == 6
    assert all(r.startswith(f"{preview.pk:08x}") and len(r) == 24 for r in references)
    for message in Message.objects.all():
        reference = message.idempotency_key.removeprefix("invitation:")
        assert message.data["code"] == reference[-8:].upper()


def test_a_preview_inviting_nobody_cannot_be_approved(personas) -> None:
    empty = make_election(slug="pilkada-kosong")
    run = plan_now(empty, personas.bdl_admin, START, dry_run=True)
    assert run.status == PlanRun.Status.DONE
    with pytest.raises(PlanRefused, match="tidak mengundang siapa pun"):
        plan_run_approve(run=run, acting_user=personas.bdl_supervisor)
    run.refresh_from_db()
    assert run.approved_at is None and run.status == PlanRun.Status.DONE
