"""Planning invitations from the voter list and the queue's sessions into the database."""

from __future__ import annotations

from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.core.management.base import CommandError

from rekam.antrean.models import Session
from rekam.audit.models import AuditEntry
from rekam.invitations.models import Invitation, PlanRun
from rekam.invitations.services import (
    APPROVED_IN_ONE_GO,
    PlanRefused,
    deadline_of,
    plan_run_approve,
    plan_run_create,
    plan_run_execute,
    plan_run_send,
)
from rekam.voters.models import VoterClass

from .test_antrean_support import at
from .test_invitations_support import (
    KEDATON,
    SRENGSEM,
    SURABAYA,
    add_point,
    add_voters,
    plan_now,
    planning_clock,
)
from .test_voters_support import POLLING_DAY, make_election


@pytest.fixture(autouse=True)
def _planning_morning(monkeypatch):
    """Plans are made on a morning before the scenario's sessions (of 2020)."""
    planning_clock(monkeypatch)


@pytest.fixture
def scene(personas):
    """14 voters to record and 3 cards to pick up; one point, 3 invitation seats an hour, open
    on polling day 08:00-16:00 (sessions ending by 13:00 count: 15 seats)."""
    election = make_election()
    add_point(personas.bdl_office)
    add_voters(election, KEDATON, VoterClass.NOT_RECORDED, 8, first_time=3)
    add_voters(election, SURABAYA, VoterClass.NOT_RECORDED, 6, start=100)
    add_voters(election, SURABAYA, VoterClass.PRR_NOT_PRINTED, 3, start=200)
    return election


def _run(election, user, *, dry_run: bool = False):
    return plan_now(election, user, POLLING_DAY, dry_run=dry_run)


def test_it_keeps_every_session_within_its_invitation_share(scene, personas) -> None:
    _run(scene, personas.bdl_admin)
    assert Invitation.objects.count() == 15
    for session in Session.objects.all():
        written = Invitation.objects.filter(session=session).count()
        assert written <= session.invitation_capacity


def test_it_invites_nobody_to_a_session_ending_after_polls_close(scene, personas) -> None:
    _run(scene, personas.bdl_admin)
    latest = max(Invitation.objects.values_list("ends_at", flat=True))
    assert latest <= deadline_of(scene)
    assert Session.objects.filter(ends_at__gt=deadline_of(scene)).exists()


def test_it_gives_first_time_voters_the_earliest_sessions(scene, personas) -> None:
    _run(scene, personas.bdl_admin)
    first = Invitation.objects.filter(rank=0).values_list("starts_at", flat=True)
    others = Invitation.objects.exclude(rank=0).values_list("starts_at", flat=True)
    assert len(first) == 3
    assert max(first) <= min(others)


def test_it_reports_who_cannot_be_served_before_the_deadline(scene, personas) -> None:
    run = _run(scene, personas.bdl_admin)
    assert run.summary["recording"]["plan"]["served"] == 14
    assert run.summary["printing"]["plan"]["served"] == 1
    assert run.summary["printing"]["shortfall"] == {"18.71": 2}


def test_a_dry_run_writes_no_invitation(scene, personas) -> None:
    run = _run(scene, personas.bdl_admin, dry_run=True)
    assert Invitation.objects.count() == 0
    assert run.summary["recording"]["baseline"]["served"] == 14


def test_planning_again_books_no_seat_twice(scene, personas) -> None:
    _run(scene, personas.bdl_admin)
    again = _run(scene, personas.bdl_admin)
    assert again.summary["recording"]["written"] == 0
    assert Invitation.objects.count() == 15


def test_it_refuses_to_plan_outside_the_users_regency(scene, personas) -> None:
    with pytest.raises(PermissionDenied):
        plan_run_create(election=scene, region_code="18.01", acting_user=personas.bdl_admin)


def test_it_refuses_a_user_who_may_not_write_invitations(scene, personas) -> None:
    with pytest.raises(PermissionDenied):
        plan_run_create(election=scene, region_code="18.71", acting_user=personas.bdl_operator)


def test_the_command_prints_the_comparison(scene) -> None:
    out = StringIO()
    call_command(
        "plan_invitations",
        "--election",
        scene.slug,
        "--regency",
        "18.71",
        "--dry-run",
        "--start",
        POLLING_DAY.isoformat(),
        stdout=out,
    )
    assert "Rata-rata km per orang" in out.getvalue()
    assert "Terlayani sebelum batas" in out.getvalue()


def _command(election, *args: str) -> str:
    out = StringIO()
    call_command(
        "plan_invitations", "--election", election.slug, "--regency", "18.71", *args, stdout=out
    )
    return out.getvalue()


def test_the_command_without_dry_run_plans_approves_and_sends(scene) -> None:
    out = _command(scene, "--start", POLLING_DAY.isoformat())
    run = PlanRun.objects.get()
    assert (run.status, run.dry_run, run.approved_by) == (PlanRun.Status.SENT, False, None)
    assert f"Rencana #{run.pk} disetujui oleh sistem dan dikirim." in out
    assert "Undangan ditulis: 14" in out
    assert Invitation.objects.count() == 15


def test_the_command_run_by_an_admin_plans_and_approves_as_that_admin(scene) -> None:
    """Four eyes holds on the pages; the command without ``--dry-run`` is its one exception,
    and its approval's audit entry says so."""
    out = _command(scene, "--start", POLLING_DAY.isoformat(), "--user", "bdl_admin")
    run = PlanRun.objects.get()
    assert run.status == PlanRun.Status.SENT
    assert run.approved_by is not None and run.approved_by.get_username() == "bdl_admin"
    assert run.created_by == run.approved_by
    assert f"Rencana #{run.pk} disetujui oleh bdl_admin dan dikirim." in out
    approval = AuditEntry.objects.get(action="invitation_plan_approve")
    assert (approval.actor_label, approval.reason) == ("bdl_admin", APPROVED_IN_ONE_GO)


def test_the_command_places_the_mobile_units_it_is_given(scene) -> None:
    add_voters(scene, SRENGSEM, VoterClass.NOT_RECORDED, 12, start=300)
    out = _command(
        scene,
        "--dry-run",
        "--start",
        "2020-12-07",
        "--mobile-units",
        "1",
        "--mobile-capacity",
        "10",
    )
    run = PlanRun.objects.get()
    assert run.options["mobile_units"] == 1 and run.options["mobile_per_day"] == 10
    assert "+ keliling" in out
    assert "1 unit per kabupaten/kota, 10 orang per hari; 2 dari 2 hari-unit terpakai" in out
    assert "Metode: MIP (SCIP" in out and "dari optimal (batas terbaik)" in out
    assert out.count(f"{SRENGSEM} Srengsem") == 2
    assert f"Pratinjau #{run.pk}: belum ada yang ditulis atau dikirim." in out


def test_the_command_uses_the_reference_units_unless_told_none(scene) -> None:
    _command(scene, "--dry-run", "--start", "2020-12-07")
    _command(scene, "--dry-run", "--start", "2020-12-07", "--mobile-units", "0")
    first, second = PlanRun.objects.order_by("pk")
    assert (first.options["mobile_units"], first.options["mobile_per_day"]) == (2, 60)
    assert "mobile" in first.summary["recording"]
    assert "mobile" not in second.summary["recording"]


def test_the_command_refuses_a_negative_number_of_units(scene) -> None:
    with pytest.raises(CommandError):
        _command(scene, "--dry-run", "--mobile-units", "-1")


# Never into the past: the first day is checked, and sessions start after the lead time


def test_it_refuses_a_first_day_before_today_or_after_polling_day(scene, personas) -> None:
    for start, why in ((date(2020, 12, 5), "sebelum hari ini"), (date(2020, 12, 10), "sesudah")):
        with pytest.raises(PlanRefused, match=why):
            plan_run_create(
                election=scene, region_code="18.71", acting_user=personas.bdl_admin, start=start
            )
    with pytest.raises(CommandError, match="sebelum hari ini"):
        _command(scene, "--dry-run", "--start", "2020-12-01")
    assert not PlanRun.objects.exists()


@pytest.mark.parametrize("lead_hours", [24, 0])
def test_it_invites_only_to_sessions_starting_after_the_lead_time(
    scene, personas, monkeypatch, settings, lead_hours
) -> None:
    settings.INVITATIONS_LEAD_HOURS = lead_hours
    now = at(date(2020, 12, 8), 10, 30)
    planning_clock(monkeypatch, now)
    run = plan_run_create(
        election=scene, region_code="18.71", acting_user=personas.bdl_admin, start=now.date()
    )
    plan_run_execute(run=run, acting_user=personas.bdl_admin)
    starts = list(Invitation.objects.values_list("starts_at", flat=True))
    assert starts
    assert min(starts) >= now + timedelta(hours=lead_hours)


def test_a_preview_approved_days_later_sends_only_to_sessions_still_ahead(
    scene, personas, monkeypatch
) -> None:
    run = plan_run_create(
        election=scene,
        region_code="18.71",
        acting_user=personas.bdl_admin,
        dry_run=True,
        start=date(2020, 12, 7),
    )
    plan_run_execute(run=run, acting_user=personas.bdl_admin)
    plan_run_approve(run=run, acting_user=personas.bdl_supervisor)
    sent_at = at(date(2020, 12, 8), 9, 0)
    planning_clock(monkeypatch, sent_at)
    plan_run_send(run=run)
    starts = list(Invitation.objects.values_list("starts_at", flat=True))
    assert starts
    assert min(starts) >= sent_at + timedelta(hours=24)
