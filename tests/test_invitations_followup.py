"""Attendance from check-ins, one re-invitation after a no-show, then a home visit."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied

from rekam.antrean.services import checkin_invitation, invitation_resolver_set
from rekam.invitations.invites import (
    checkin_token,
    counts_by_village,
    home_visits,
    invitations_follow_up,
    resolve_checkin,
)
from rekam.invitations.models import Invitation
from rekam.voters.models import VoterClass

from .test_antrean_support import at
from .test_invitations_support import KEDATON, add_point, add_voters, new_election, plan_now

DAY_BEFORE = date(2020, 12, 8)


@pytest.fixture
def clock(monkeypatch):
    invitation_resolver_set(resolve_checkin)
    now = {"at": at(DAY_BEFORE, 7, 0)}
    monkeypatch.setattr("rekam.antrean.clock.now", lambda: now["at"])
    return now


@pytest.fixture
def planned(personas, clock):
    election = new_election()
    point = add_point(personas.bdl_office)
    add_voters(election, KEDATON, VoterClass.NOT_RECORDED, 2)
    plan_now(election, personas.bdl_admin, DAY_BEFORE)
    return election, point


def _after_first_session(clock) -> None:
    first = min(Invitation.objects.values_list("ends_at", flat=True))
    clock["at"] = first + timedelta(minutes=30)


def test_a_no_show_is_reinvited_into_a_later_session(planned, personas, clock) -> None:
    election, _ = planned
    _after_first_session(clock)
    result = invitations_follow_up(election=election, acting_user=personas.bdl_admin)
    assert (result.no_show, result.reinvited) == (2, 2)
    again = Invitation.objects.filter(replaces__isnull=False)
    assert all(i.starts_at > clock["at"] for i in again)


def test_a_no_show_is_reinvited_only_once(planned, personas, clock) -> None:
    election, _ = planned
    _after_first_session(clock)
    invitations_follow_up(election=election, acting_user=personas.bdl_admin)
    clock["at"] = max(Invitation.objects.values_list("ends_at", flat=True)) + timedelta(minutes=1)
    second = invitations_follow_up(election=election, acting_user=personas.bdl_admin)
    assert (second.no_show, second.reinvited, second.home_visit) == (2, 0, 2)
    assert Invitation.objects.count() == 4
    assert len(home_visits(election)) == 2


def test_a_checked_in_invitee_counts_as_attended(planned, personas, clock) -> None:
    election, point = planned
    inv = Invitation.objects.select_related("service_point").order_by("id")[0]
    clock["at"] = inv.starts_at
    checkin_invitation(checkin_token(inv), service_point=point, acting_user=personas.bdl_queue)
    _after_first_session(clock)
    result = invitations_follow_up(election=election, acting_user=personas.bdl_admin)
    assert (result.attended, result.no_show) == (1, 1)
    assert counts_by_village(election)[KEDATON] == {
        "invited": 2,
        "attended": 1,
        "no_show": 1,
        "reinvited": 1,
    }


def test_it_refuses_follow_up_for_a_user_who_may_not_invite(planned, personas) -> None:
    election, _ = planned
    with pytest.raises(PermissionDenied):
        invitations_follow_up(election=election, acting_user=personas.bdl_operator)
