from collections import Counter
from datetime import UTC, date, datetime
from io import StringIO

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command

from rekam.accounts.models import Role, User
from rekam.demo.population import (
    DistrictPlan,
    RegencyPlan,
    VillagePlan,
    apportion,
    census_2010_district_weights,
    generate_regency,
    plan_population,
    population_build,
    unrecorded_shares,
)
from rekam.demo.services import DEMO_PASSWORD
from rekam.elections.models import Election
from rekam.lib.nik import clean_kk, parse_nik
from rekam.regions.models import Level, Region
from rekam.residents.eligibility import must_hold_ktp
from rekam.residents.models import RecordEvent, Resident
from rekam.residents.states import KtpState, move_sources
from rekam.servicepoints.models import ServicePoint

from .factories import make_resident

TINY = 0.0005  # about 4,600 residents
TODAY = date(2026, 3, 2)
NOW = datetime(2026, 3, 2, 5, 0, tzinfo=UTC)


def build(scale: float = TINY, seed: int = 7):
    return population_build(scale=scale, seed=seed, today=TODAY, now=NOW)


def people() -> list[tuple[str, str, str, str, str]]:
    return list(
        Resident.objects.order_by("nik").values_list("nik", "name", "kk_number", "ktp_state", "rt")
    )


def test_the_same_seed_gives_the_same_people(lampung):
    build(seed=7)
    first = people()
    build(seed=8)
    other = people()
    build(seed=7)
    assert people() == first
    assert other != first


def test_it_refuses_a_population_build_by_a_regency_admin(personas):
    with pytest.raises(PermissionDenied):
        population_build(scale=TINY, seed=7, today=TODAY, now=NOW, acting_user=personas.bdl_admin)
    assert not Resident.objects.exists()


def test_a_second_build_with_the_same_scale_and_seed_is_reused(lampung):
    first = build()
    again = build()
    assert again.reused and not first.reused
    assert again.batch.pk == first.batch.pk
    assert Resident.objects.count() == first.residents


def test_niks_are_valid_and_match_the_kecamatan_birth_date_and_sex(lampung):
    build()
    districts = set(Region.objects.filter(level=Level.DISTRICT).values_list("code", flat=True))
    known = {code.replace(".", "") for code in districts}
    rows = Resident.objects.values_list("nik", "birth_date", "sex", "village_id")
    for nik, birth_date, sex, village in rows:
        info = parse_nik(nik, known_districts=known, birth_date=birth_date, sex=sex, today=TODAY)
        assert info.warnings == ()
        assert info.district_code == village[:8]


def test_a_resident_added_after_the_build_gets_a_fresh_id(lampung):
    build()
    top = Resident.objects.order_by("-id").values_list("id", flat=True).first()
    added = make_resident(nik="1871015705900001")
    assert top is not None and added.pk > top


def test_niks_are_unique(lampung):
    result = build()
    niks = list(Resident.objects.values_list("nik", flat=True))
    assert len(niks) == len(set(niks)) == result.residents


def _niks(plan: RegencyPlan, taken: frozenset[str] = frozenset()) -> set[str]:
    rows = generate_regency(plan, seed=1, today=TODAY, now=NOW, batch_id=1, first_id=1, taken=taken)
    return {str(row[1]) for chunk in rows for row in chunk.residents}


def test_niks_already_taken_are_skipped():
    plan = _plans_without_db()[0]
    first = _niks(plan)
    second = _niks(plan, taken=frozenset(first))
    assert len(second) == len(first) == 120
    assert not first & second


def _plans_without_db() -> list[RegencyPlan]:
    villages = tuple(VillagePlan(f"18.72.01.100{n}", True, 1.0) for n in range(1, 4))
    return [RegencyPlan("18.72", "Metro", True, 0.02, (DistrictPlan("18.72.01", 120, villages),))]


def test_regencies_get_residents_in_proportion_to_their_population(lampung):
    result = build()
    counts = Counter(Resident.objects.values_list("regency_id", flat=True))
    for regency in Region.objects.filter(level=Level.REGENCY):
        assert abs(counts[regency.code] - (regency.population or 0) * TINY) < 1
    assert sum(counts.values()) == result.residents


def test_kecamatan_follow_the_2010_census_and_missing_ones_get_the_average(lampung):
    plans = {p.code: p for p in plan_population(scale=1, seed=1)}
    census = census_2010_district_weights()
    city = plans["18.71"]
    known = [d for d in city.districts if d.code in census]
    missing = [d for d in city.districts if d.code not in census]
    assert known and missing
    mean = sum(census[d.code] for d in known) / len(known)
    weights = [census.get(d.code, mean) for d in city.districts]
    assert [d.residents for d in city.districts] == apportion(city.residents, weights)


def test_unrecorded_share_per_electing_regency_follows_2020(lampung):
    build(scale=0.002)
    shares, _average = unrecorded_shares()
    for code, share in shares.items():
        must = [
            state
            for birth, status, state in Resident.objects.filter(regency_id=code).values_list(
                "birth_date", "marital_status", "ktp_state"
            )
            if must_hold_ktp(birth_date=birth, marital_status=status, on=TODAY)
        ]
        unrecorded = sum(1 for state in must if state == KtpState.BELUM_REKAM)
        assert abs(unrecorded - share * len(must)) <= 1.5, code


def test_non_electing_regencies_take_the_electing_average(lampung):
    build(scale=0.002)
    _shares, average = unrecorded_shares()
    must = [
        state
        for birth, status, state in Resident.objects.filter(regency_id="18.03").values_list(
            "birth_date", "marital_status", "ktp_state"
        )
        if must_hold_ktp(birth_date=birth, marital_status=status, on=TODAY)
    ]
    unrecorded = sum(1 for state in must if state == KtpState.BELUM_REKAM)
    assert abs(unrecorded - average * len(must)) <= 1.5


def test_children_who_need_no_ktp_el_stay_not_recorded(lampung):
    build()
    rows = Resident.objects.values_list("birth_date", "marital_status", "ktp_state")
    children = [
        s for b, m, s in rows if not must_hold_ktp(birth_date=b, marital_status=m, on=TODAY)
    ]
    assert children
    assert set(children) == {KtpState.BELUM_REKAM}


def test_most_recorded_residents_have_a_printed_card_and_some_wait_in_the_pipeline(lampung):
    build(scale=0.002)
    states = Counter(
        Resident.objects.exclude(ktp_state=KtpState.BELUM_REKAM).values_list("ktp_state", flat=True)
    )
    recorded = sum(states.values())
    assert 0.9 < states[KtpState.CARD_PRINTED] / recorded < 0.97
    assert states[KtpState.PRINT_READY_RECORD] > 0
    assert states[KtpState.DUPLICATE_RECORD] > 0
    assert states[KtpState.SENT_FOR_ENROLLMENT] + states[KtpState.RECEIVED_AT_CENTRAL] > 0


def test_each_recorded_resident_has_its_latest_move_as_an_allowed_event(lampung):
    build()
    recorded = Resident.objects.exclude(ktp_state=KtpState.BELUM_REKAM)
    events = {e.resident_id: e for e in RecordEvent.objects.all()}
    assert len(events) == recorded.count() == RecordEvent.objects.count()
    for resident in recorded:
        event = events[resident.pk]
        assert (event.to_state, event.at) == (resident.ktp_state, resident.ktp_state_at)
        assert event.source in move_sources(event.from_state, event.to_state)
        assert event.at < NOW


def test_households_share_a_valid_kk_number(lampung):
    result = build()
    households = Counter(Resident.objects.values_list("kk_number", flat=True))
    for kk in households:
        clean_kk(kk)
    assert 2.5 < result.residents / len(households) < 4.5


def test_ages_sexes_and_phones_are_plausible(lampung):
    build(scale=0.002)
    rows = list(Resident.objects.values_list("birth_date", "sex", "phone", "whatsapp_consent"))
    ages = [(TODAY - b).days / 365.25 for b, _s, _p, _w in rows]
    sexes = Counter(s for _b, s, _p, _w in rows)
    assert 0.65 < sum(a >= 17 for a in ages) / len(ages) < 0.78
    assert 0.05 < sum(a < 5 for a in ages) / len(ages) < 0.12
    assert 0.03 < sum(a >= 65 for a in ages) / len(ages) < 0.12
    assert 0.95 < sexes["L"] / sexes["P"] < 1.08
    phones = [(p, w) for _b, _s, p, w in rows if p]
    assert 0.3 < len(phones) / len(rows) < 0.6
    assert all(p.startswith("+628") and len(p) == 14 for p, _w in phones)
    assert any(w for _p, w in phones) and not all(w for _p, w in phones)


@pytest.fixture
def demo_twice(lampung):
    first, second = StringIO(), StringIO()
    args = ["demo", "--no-serve", "--scale", str(TINY), "--seed", "3"]
    call_command(*args, stdout=first)
    call_command(*args, stdout=second)
    return first.getvalue(), second.getvalue()


def test_the_demo_command_runs_twice_and_reuses_the_population(demo_twice):
    first, second = demo_twice
    assert "dipakai ulang" not in first
    assert "dipakai ulang" in second
    assert Election.objects.filter(slug__in=["pilkada-2020-lampung", "simulasi"]).count() == 2


def test_the_demo_has_a_user_for_every_role_with_the_printed_password(demo_twice):
    first, _second = demo_twice
    assert DEMO_PASSWORD in first
    users = User.objects.filter(username__in=["prov_admin", "bdl_operator", "lamteng_antrean"])
    assert {u.username for u in users} == {"prov_admin", "bdl_operator", "lamteng_antrean"}
    assert all(u.check_password(DEMO_PASSWORD) for u in users)
    assert set(User.objects.values_list("role", flat=True)) >= set(Role.values)
    regency_roles = {Role.REGENCY_ADMIN, Role.SUPERVISOR, Role.OPERATOR, Role.QUEUE_OFFICER}
    for code, prefix in (("18.71", "bdl"), ("18.01", "lamsel"), ("18.02", "lamteng")):
        roles = set(User.objects.filter(office__code=code).values_list("role", flat=True))
        assert roles == regency_roles
        operator = User.objects.get(username=f"{prefix}_operator")
        assert operator.service_point is not None
        assert operator.service_point.office.code == code


def test_the_demo_has_service_points_for_every_office_and_kecamatan(demo_twice):
    points = ServicePoint.objects.all()
    kinds = Counter(points.values_list("kind", flat=True))
    assert kinds[ServicePoint.Kind.OFFICE] == 15
    assert kinds[ServicePoint.Kind.KECAMATAN] == Region.objects.filter(level=Level.DISTRICT).count()
    assert kinds[ServicePoint.Kind.UPT] >= 8
    assert kinds[ServicePoint.Kind.MOBILE] >= 8
    office = points.get(code="18.01-DINAS")
    assert office.counters == 5
    assert str(office.village_id).startswith("18.01.06.")
    assert all(p.lat is not None for p in points)
