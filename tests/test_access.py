"""The one permission helper: roles, jurisdiction, and refusals that say why."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404

from rekam.accounts.access import (
    OUTSIDE_JURISDICTION,
    Action,
    can,
    get_resident_for_user,
    offices_for,
    regions_for,
    require,
    residents_for,
)
from rekam.accounts.models import User

from .factories import make_resident

BDL_VILLAGE = "18.71.01.1003"
LAMSEL_VILLAGE = "18.01.04.2001"


def test_a_regency_operator_sees_only_their_regency(personas):
    own = make_resident(BDL_VILLAGE)
    other = make_resident(LAMSEL_VILLAGE)
    visible = set(residents_for(personas.bdl_operator))
    assert own in visible
    assert other not in visible


def test_the_province_sees_every_regency(personas):
    own = make_resident(BDL_VILLAGE)
    other = make_resident(LAMSEL_VILLAGE)
    assert {own, other} <= set(residents_for(personas.province_admin))


def test_a_resident_of_another_regency_is_not_found_rather_than_forbidden(personas):
    other = make_resident(LAMSEL_VILLAGE)
    with pytest.raises(Http404):
        get_resident_for_user(personas.bdl_operator, other.nik)


def test_a_visible_resident_can_still_be_refused_an_action(personas):
    own = make_resident(BDL_VILLAGE)
    with pytest.raises(PermissionDenied, match="tidak berwenang mencatat"):
        get_resident_for_user(personas.bdl_queue, own.nik, Action.RECORD_BIOMETRICS)


def test_a_refusal_outside_jurisdiction_says_so(personas):
    with pytest.raises(PermissionDenied) as err:
        require(personas.lamsel_operator, Action.EDIT_RESIDENT, "18.71")
    assert str(err.value) == OUTSIDE_JURISDICTION


@pytest.mark.parametrize(
    ("persona", "action", "allowed"),
    [
        ("bdl_queue", Action.VIEW_RESIDENT, True),
        ("bdl_queue", Action.EDIT_RESIDENT, False),
        ("bdl_operator", Action.RECORD_BIOMETRICS, True),
        ("bdl_operator", Action.APPROVE, False),
        ("bdl_supervisor", Action.APPROVE, True),
        ("bdl_supervisor", Action.IMPORT_REGISTRY, False),
        ("bdl_admin", Action.IMPORT_REGISTRY, True),
        ("bdl_admin", Action.MANAGE_ELECTIONS, False),
        ("province_admin", Action.MANAGE_ELECTIONS, True),
    ],
)
def test_roles_grant_what_the_table_says(personas, persona, action, allowed):
    assert can(getattr(personas, persona), action) is allowed


def test_a_province_admin_acts_in_every_regency_of_the_province(personas):
    assert can(personas.province_admin, Action.EDIT_RESIDENT, "18.01.04.2001")
    assert can(personas.province_admin, Action.EDIT_RESIDENT, "18.71")
    assert not can(personas.province_admin, Action.EDIT_RESIDENT, "19.01")


def test_a_prefix_that_only_looks_alike_is_outside(personas):
    # 18.7 is not a prefix of 18.71 in the dotted hierarchy; only whole code parts count.
    assert not can(personas.bdl_operator, Action.VIEW_RESIDENT, "18.710")


def test_anonymous_users_and_users_without_an_office_see_nothing(personas):
    make_resident(BDL_VILLAGE)
    assert not residents_for(AnonymousUser()).exists()
    loose = User.objects.create_user(username="tanpa_kantor", password="x", role="operator")
    assert not residents_for(loose).exists()
    assert not can(loose, Action.VIEW_RESIDENT)


def test_an_inactive_user_is_refused(personas):
    personas.bdl_operator.is_active = False
    assert not can(personas.bdl_operator, Action.VIEW_RESIDENT)


def test_offices_for_the_province_include_its_own_office_and_every_regency(personas):
    codes = set(offices_for(personas.province_admin).values_list("code", flat=True))
    assert {"18", "18.01", "18.71"} <= codes
    assert len(codes) == 16


def test_offices_for_a_regency_are_its_own_only(personas):
    assert list(offices_for(personas.bdl_admin).values_list("code", flat=True)) == ["18.71"]
    assert not offices_for(personas.bdl_queue, Action.MANAGE_USERS).exists()


def test_regions_for_a_regency_stop_at_its_border(personas):
    regions = regions_for(personas.lamsel_operator)
    assert regions.filter(code="18.01.04.2001").exists()
    assert not regions.filter(code__startswith="18.71").exists()
    assert not regions.filter(code="18").exists()
