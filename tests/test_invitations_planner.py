"""The invitation planner over small instances whose answers are known by hand."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest

from rekam.invitations.planner import (
    MobilePlacement,
    Plan,
    Point,
    Settings,
    Slot,
    UnitDay,
    Village,
    baseline,
    haversine_km,
    mobile_points,
    place_mobile_units,
    plan,
    schedule_visits,
    split_seats,
)

DAY = datetime(2020, 12, 8, 8, 0)
POLLS_CLOSE = datetime(2020, 12, 9, 13, 0)


def slots(first_id: int, seats: int, n: int = 1, start: datetime = DAY) -> tuple[Slot, ...]:
    return tuple(
        Slot(first_id + k, start + timedelta(hours=k), start + timedelta(hours=k + 1), seats)
        for k in range(n)
    )


def settings(**kw: object) -> Settings:
    return Settings(deadline=POLLS_CLOSE, road_factor=1.0, **kw)  # type: ignore[arg-type]


def test_it_finds_the_optimum_known_by_hand_where_first_come_first_served_does_not() -> None:
    # A comes first and takes P1, its nearest, so B must go to far P2; the optimum swaps them.
    villages = [Village("A", "R", 0.0, 0.09, (10,)), Village("B", "R", 0.0, 0.0, (10,))]
    points = [
        Point(1, 0.0, 0.0, "kecamatan", slots(10, 10)),
        Point(2, 0.0, 0.2, "kecamatan", slots(20, 10)),
    ]
    best = plan(villages, points, settings())
    by_hand = baseline(villages, points, settings())
    assert best.served == by_hand.served == 20
    assert best.total_km == pytest.approx(10 * haversine_km(0, 0.09, 0, 0.2), rel=1e-4)
    assert by_hand.total_km == pytest.approx(
        10 * haversine_km(0, 0.09, 0, 0.0) + 10 * haversine_km(0, 0.0, 0, 0.2), rel=1e-4
    )
    assert best.gap == 0.0


def by_point(result: Plan) -> dict[tuple[str, int], int]:
    out: dict[tuple[str, int], int] = {}
    for a in result.assignments:
        out[a.village, a.point] = out.get((a.village, a.point), 0) + a.count
    return out


def test_by_hand_overflow_goes_to_the_next_kecamatan_office_before_any_other_point() -> None:
    # A fills its kecamatan office K1; B's overflow goes to the next kecamatan office K2 although
    # the regency office is nearer, which by hand is used only once every kecamatan office is full.
    villages = [Village("A", "R", 0.0, 0.0, (10,)), Village("B", "R", 0.0, 0.01, (15,))]
    points = [
        Point(1, 0.0, 0.0, "kecamatan", slots(10, 10), "R"),
        Point(2, 0.0, 0.1, "office", slots(20, 10), "R"),
        Point(3, 0.0, 0.2, "kecamatan", slots(30, 10), "R"),
    ]
    by_hand = baseline(villages, points, settings())
    assert by_point(by_hand) == {("A", 1): 10, ("B", 3): 10, ("B", 2): 5}
    assert by_hand.served == 25
    assert by_hand.total_km == pytest.approx(
        10 * haversine_km(0, 0.01, 0, 0.2) + 5 * haversine_km(0, 0.01, 0, 0.1), rel=1e-4
    )


def test_by_hand_a_regency_uses_its_own_points_before_its_neighbours() -> None:
    # A (regency R) fills its kecamatan office; its overflow goes to R's office, farther than
    # the neighbouring regency S's kecamatan office, and only when both are full to S.
    villages = [Village("A", "R", 0.0, 0.0, (30,))]
    points = [
        Point(1, 0.0, 0.0, "kecamatan", slots(10, 10), "R"),
        Point(2, 0.0, 0.05, "kecamatan", slots(20, 10), "S"),
        Point(3, 0.0, 0.3, "office", slots(30, 10), "R"),
        Point(4, 0.0, 0.2, "office", slots(40, 10), "S"),
    ]
    by_hand = baseline(villages, points, settings())
    assert by_point(by_hand) == {("A", 1): 10, ("A", 3): 10, ("A", 2): 10}
    # The optimum uses the nearest seats whoever owns them.
    assert by_point(plan(villages, points, settings())) == {
        ("A", 1): 10,
        ("A", 2): 10,
        ("A", 4): 10,
    }


def test_it_never_exceeds_a_sessions_seats() -> None:
    rng = random.Random(8)
    villages = [
        Village(
            f"V{i:02}",
            f"R{i % 2}",
            rng.uniform(-5.5, -5.0),
            rng.uniform(105, 105.5),
            (rng.randint(0, 30), rng.randint(0, 30)),
        )
        for i in range(30)
    ]
    points = [
        Point(
            j,
            rng.uniform(-5.5, -5.0),
            rng.uniform(105, 105.5),
            "kecamatan",
            slots(100 * j, rng.randint(1, 12), n=5),
        )
        for j in range(1, 7)
    ]
    result = plan(villages, points, settings())
    seats = {s.id: s.seats for p in points for s in p.slots}
    assert result.shortfall > 0  # seats are short, so every session is pushed
    assert all(n <= seats[sid] for sid, n in result.slot_load.items())
    assert result.served == sum(seats.values())


def test_it_invites_nobody_to_a_session_ending_after_polls_close() -> None:
    late = Slot(2, POLLS_CLOSE - timedelta(minutes=30), POLLS_CLOSE + timedelta(minutes=30), 10)
    early = Slot(1, DAY, DAY + timedelta(hours=1), 3)
    villages = [Village("A", "R", 0.0, 0.0, (8,))]
    result = plan(villages, [Point(1, 0.0, 0.0, "kecamatan", (early, late))], settings())
    assert {a.slot for a in result.assignments} == {1}
    assert result.served == 3


def test_it_invites_nobody_to_a_closed_session() -> None:
    closed = Slot(1, DAY, DAY + timedelta(hours=1), 10, is_open=False)
    open_ = Slot(2, DAY + timedelta(hours=1), DAY + timedelta(hours=2), 4)
    villages = [Village("A", "R", 0.0, 0.0, (8,))]
    result = plan(villages, [Point(1, 0.0, 0.0, "kecamatan", (closed, open_))], settings())
    assert {a.slot for a in result.assignments} == {2}


def test_it_serves_first_time_voters_first_when_seats_are_short() -> None:
    villages = [Village("A", "R", 0.0, 0.0, (3, 5))]
    result = plan(villages, [Point(1, 0.0, 0.0, "kecamatan", slots(1, 4))], settings())
    served = {r: sum(a.count for a in result.assignments if a.rank == r) for r in (0, 1)}
    assert served == {0: 3, 1: 1}


def test_it_gives_the_earliest_sessions_to_the_first_ranks() -> None:
    villages = [Village("A", "R", 0.0, 0.0, (2, 2))]
    result = plan(villages, [Point(1, 0.0, 0.0, "kecamatan", slots(1, 2, n=2))], settings())
    assert {(a.rank, a.slot) for a in result.assignments} == {(0, 1), (1, 2)}


def test_it_gives_every_village_its_regencys_served_share() -> None:
    near = Village("A", "R", 0.0, 0.0, (10,))
    far = Village("B", "R", 0.0, 0.3, (10,))
    points = [Point(1, 0.0, 0.0, "kecamatan", slots(1, 10))]
    fair = plan([near, far], points, settings())
    assert fair.unserved == {"A": 5, "B": 5}


def test_it_leaves_the_far_village_out_without_the_fairness_rule() -> None:
    near = Village("A", "R", 0.0, 0.0, (10,))
    far = Village("B", "R", 0.0, 0.3, (10,))
    points = [Point(1, 0.0, 0.0, "kecamatan", slots(1, 10))]
    assert plan([near, far], points, settings(fair=False)).unserved == {"B": 10}


def test_it_overbooks_by_the_no_show_rate() -> None:
    villages = [Village("A", "R", 0.0, 0.0, (20,))]
    points = [Point(1, 0.0, 0.0, "kecamatan", slots(1, 8))]
    assert plan(villages, points, settings(no_show_rate=0.2)).served == 10


def test_it_says_how_many_sessions_would_close_the_gap() -> None:
    villages = [Village("A", "R", 0.0, 0.0, (45,))]
    result = plan(villages, [Point(1, 0.0, 0.0, "kecamatan", slots(1, 10, n=2))], settings())
    assert result.shortfall == 25
    assert result.shortfall_by_regency(villages) == {"R": 25}
    assert result.sessions_to_close_gap(10) == 3


def test_its_lower_bound_holds_when_the_graph_is_pruned() -> None:
    rng = random.Random(3)
    villages = [
        Village(f"V{i}", "R", rng.uniform(-5.5, -5.0), rng.uniform(105, 105.5), (8,))
        for i in range(12)
    ]
    points = [
        Point(j, rng.uniform(-5.5, -5.0), rng.uniform(105, 105.5), "kecamatan", slots(10 * j, 15))
        for j in range(8)
    ]
    full = plan(villages, points, settings())
    pruned = plan(villages, points, settings(max_arcs=36))
    assert full.gap == 0.0
    assert pruned.served == full.served == 96
    assert pruned.lower_bound_km <= full.total_km + 1e-6
    assert pruned.total_km >= full.total_km - 1e-6


def test_a_mobile_unit_goes_to_the_far_village_left_without_seats() -> None:
    near = Village("A", "R", 0.0, 0.0, (0, 0, 10))
    far = Village("B", "R", 0.0, 0.5, (0, 0, 10))
    points = [Point(1, 0.0, 0.0, "kecamatan", slots(1, 10))]
    placement = place_mobile_units(
        [near, far], points, settings(), units={"R": 1}, per_day=10, days=3
    )
    assert placement.visits == {"B": 1}
    assert placement.gap < 0.01
    assert placement.method.startswith("MIP (SCIP")
    schedule = schedule_visits(placement, [near, far], {"R": [[0, 1, 2]]})
    assert schedule == [UnitDay("R", 0, 0, "B")]
    extra = mobile_points([near, far], schedule, per_day=10, first_day=DAY, first_id=100)
    assert [s.seats for s in extra[0].slots] == [2, 2, 1, 1, 1, 1, 1, 1]
    result = plan([near, far], points + extra, settings())
    assert result.served == 20
    assert result.total_km == pytest.approx(0.0, abs=0.01)


def test_a_unit_stays_where_its_days_save_most() -> None:
    # Two unit-days of 10: a second day at the far village (2 more people, 0.5 degrees away)
    # saves more than a first day at the near one (10 people, 0.01 degrees away).
    near = Village("A", "R", 0.0, 0.01, (0, 0, 10))
    far = Village("B", "R", 0.0, 0.5, (0, 0, 12))
    points = [Point(1, 0.0, 0.0, "kecamatan", slots(1, 22))]
    placement = place_mobile_units(
        [near, far], points, settings(), units={"R": 1}, per_day=10, days=2
    )
    assert placement.visits == {"B": 2}


def test_busy_days_are_not_placed() -> None:
    far = Village("B", "R", 0.0, 0.5, (0, 0, 30))
    points = [Point(1, 0.0, 0.0, "kecamatan", slots(1, 30))]
    placement = place_mobile_units(
        [far], points, settings(), units={"R": 2}, per_day=10, days=3, unit_days={"R": 2}
    )
    assert placement.visits == {"B": 2}


def test_visits_wrap_from_one_unit_to_the_next_on_free_days() -> None:
    villages = [Village(c, "R", 0.0, 0.0, (0, 0, 1)) for c in ("V1", "V2", "V3")]
    placement = MobilePlacement({"V1": 2, "V2": 3, "V3": 2}, 0.0, 0.0, 0.0, "optimal")
    # Unit 0 works days 0, 2 and 3 (day 1 it is elsewhere); unit 1 days 0 to 3.
    schedule = schedule_visits(placement, villages, {"R": [[0, 2, 3], [0, 1, 2, 3]]})
    assert [(u.unit, u.day, u.village) for u in schedule] == [
        (0, 0, "V1"),
        (0, 2, "V1"),
        (0, 3, "V2"),
        (1, 0, "V2"),
        (1, 1, "V2"),
        (1, 2, "V3"),
        (1, 3, "V3"),
    ]


def test_unit_days_beyond_the_free_ones_are_left_out() -> None:
    villages = [Village("V1", "R", 0.0, 0.0, (0, 0, 1))]
    placement = MobilePlacement({"V1": 5}, 0.0, 0.0, 0.0, "optimal")
    assert len(schedule_visits(placement, villages, {"R": [[0, 1]]})) == 2


def test_seats_are_split_as_evenly_as_whole_seats_go() -> None:
    assert split_seats(60, 8) == [8, 8, 8, 8, 7, 7, 7, 7]
    assert split_seats(3, 4) == [1, 1, 1, 0]
    assert split_seats(5, 0) == []
