"""The invitation planner: which village's invitees go to which session, before polling day.

A pure function over a grouped instance: villages with invitee counts per priority rank (rank 0
first: first-time voters and the earliest Suket expiry), service points with their sessions
(invitation seats), and straight-line km times a road factor between them. No database here.

The plan is one exact min-cost flow (OR-Tools ``SimpleMinCostFlow``) over

    source -> (village, rank) -> village -> service point -> sink
                  \\-> unserved -> sink

with integer costs in metres, ordered so that the optimum is lexicographic:

1. fairness: each village's first ``floor(share x invitees)`` seats, ``share`` being the served
   share of its regency in a first solve, carry a bonus larger than anything else;
2. priority: leaving a rank-0 invitee unserved costs more than leaving a rank-1 one;
3. travel: the km of everyone served.

A point's sessions are interchangeable for travel, so the flow goes to points and each point then
fills its sessions in time order with its invitees by rank: the higher ranks get the earliest
sessions. Min-cost flow is integral and its LP is exact, so on the complete village x point graph
the lower bound (the LP optimum) equals the plan; when the graph is pruned to the nearest points,
the bound is the LP dual over every arc, left-out ones too.
"""

from __future__ import annotations

import math
import time as _time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from ortools.graph.python import min_cost_flow
from ortools.linear_solver import pywraplp

from rekam.lib.geo import EARTH_KM, haversine_km

# Costs are metres; a unit of unserved demand costs more than any trip on Earth.
_UNSERVED_BASE = 100_000_000


@dataclass(frozen=True)
class Village:
    code: str
    regency: str
    lat: float
    lon: float
    # Invitees per priority rank, rank 0 served first.
    invitees: tuple[int, ...]

    @property
    def total(self) -> int:
        return sum(self.invitees)


@dataclass(frozen=True)
class Slot:
    """One session's invitation seats."""

    id: int
    starts_at: datetime
    ends_at: datetime
    seats: int
    is_open: bool = True


@dataclass(frozen=True)
class Point:
    id: int
    lat: float
    lon: float
    kind: str  # ServicePoint.Kind value: the baseline sends villages to "kecamatan" first
    slots: tuple[Slot, ...]
    regency: str = ""


@dataclass(frozen=True)
class Settings:
    deadline: datetime  # the last useful session ends by then (polls close on polling day)
    road_factor: float = 1.3
    no_show_rate: float = 0.0  # invitations over-booked by 1 / (1 - rate)
    fair: bool = True
    # Arcs village -> point kept: all of them up to this many, else each village's nearest.
    max_arcs: int = 3_000_000


@dataclass(frozen=True)
class Assignment:
    village: str
    rank: int
    point: int
    slot: int
    count: int
    km: float  # one way, per person


@dataclass
class Plan:
    assignments: list[Assignment]
    invitees: int
    served: int
    total_km: float
    solve_seconds: float = 0.0
    lower_bound_km: float = 0.0
    unserved: dict[str, int] = field(default_factory=dict)  # village -> people left out
    slot_load: dict[int, int] = field(default_factory=dict)
    slot_seats: dict[int, int] = field(default_factory=dict)

    @property
    def mean_km(self) -> float:
        return self.total_km / self.served if self.served else 0.0

    @property
    def gap(self) -> float:
        """Relative distance of the plan's km to the lower bound (0.0 is proven optimal)."""
        if self.total_km <= 0:
            return 0.0
        return max(0.0, (self.total_km - self.lower_bound_km) / self.total_km)

    @property
    def slots_full(self) -> int:
        return sum(1 for s, n in self.slot_load.items() if n >= self.slot_seats.get(s, 0) > 0)

    @property
    def shortfall(self) -> int:
        return self.invitees - self.served

    def shortfall_by_regency(self, villages: Sequence[Village]) -> dict[str, int]:
        regency = {v.code: v.regency for v in villages}
        out: dict[str, int] = defaultdict(int)
        for code, n in self.unserved.items():
            if n:
                out[regency[code]] += n
        return dict(out)

    def sessions_to_close_gap(self, seats_per_session: int) -> int:
        """Extra sessions (of that many invitation seats) that would serve everyone."""
        return math.ceil(self.shortfall / seats_per_session) if seats_per_session > 0 else 0


def usable_seats(slot: Slot, settings: Settings) -> int:
    """Invitations a session may take: none when closed or ending after the deadline, else its
    seats over-booked by the no-show rate."""
    if not slot.is_open or slot.seats <= 0 or slot.ends_at > settings.deadline:
        return 0
    rate = min(max(settings.no_show_rate, 0.0), 0.9)
    return math.floor(slot.seats / (1.0 - rate) + 1e-9)


def _metres_matrix(
    villages: Sequence[Village], points: Sequence[Point], settings: Settings
) -> np.ndarray:
    """Road metres from each village (rows) to each point (columns), as int64."""
    vlat = np.radians(np.array([v.lat for v in villages], dtype=np.float64))[:, None]
    vlon = np.radians(np.array([v.lon for v in villages], dtype=np.float64))[:, None]
    plat = np.radians(np.array([p.lat for p in points], dtype=np.float64))[None, :]
    plon = np.radians(np.array([p.lon for p in points], dtype=np.float64))[None, :]
    a = (
        np.sin((plat - vlat) / 2) ** 2
        + np.cos(vlat) * np.cos(plat) * np.sin((plon - vlon) / 2) ** 2
    )
    km = 2 * EARTH_KM * np.arcsin(np.minimum(1.0, np.sqrt(a)))
    return np.rint(km * 1000 * settings.road_factor).astype(np.int64)


# Villages per block when a village x point matrix is computed in pieces.
_BLOCK = 2_000
# Most Bellman-Ford rounds for the dual bound of a pruned graph.
_ROUNDS = 5_000


@dataclass
class _Arcs:
    """Village -> point arcs: village index, point index, road metres (numpy int64)."""

    tail: np.ndarray
    head: np.ndarray
    metres: np.ndarray
    complete: bool  # every village linked to every point


def _distances(villages: Sequence[Village], points: Sequence[Point], settings: Settings) -> _Arcs:
    """Every village to every point, or to its nearest ones when that exceeds the arc budget."""
    keep = len(points)
    if villages and len(villages) * len(points) > settings.max_arcs:
        keep = max(1, settings.max_arcs // len(villages))
    tails, heads, metres = [], [], []
    for lo in range(0, len(villages), _BLOCK):
        block = _metres_matrix(villages[lo : lo + _BLOCK], points, settings)
        rows = np.arange(lo, lo + block.shape[0], dtype=np.int64)[:, None]
        if keep < len(points):
            idx = np.argpartition(block, keep - 1, axis=1)[:, :keep].astype(np.int64)
        else:
            idx = np.broadcast_to(np.arange(len(points), dtype=np.int64), block.shape)
        tails.append(np.broadcast_to(rows, idx.shape).ravel())
        heads.append(idx.ravel())
        metres.append(np.take_along_axis(block, idx, axis=1).ravel())
    if not tails:
        empty = np.zeros(0, dtype=np.int64)
        return _Arcs(empty, empty, empty, True)
    return _Arcs(
        np.concatenate(tails), np.concatenate(heads), np.concatenate(metres), keep >= len(points)
    )


@dataclass
class _Solved:
    flow_vp: dict[tuple[int, int], int]  # (village index, point index) -> people
    served_rank: list[list[int]]  # village index -> served per rank
    cost_m: int  # metres of travel (without the ranking terms)
    arc_flow: np.ndarray  # flow on each village -> point arc, in the order of _Arcs


def _solve(
    villages: Sequence[Village],
    seats: list[int],
    arcs: _Arcs,
    floors: list[int] | None,
) -> _Solved:
    ranks = max((len(v.invitees) for v in villages), default=1)
    bonus = _UNSERVED_BASE * (ranks + 2)
    nv, np_ = len(villages), len(seats)
    totals = [v.total for v in villages]
    # Nodes: 0 source, 1 sink, 2 unserved, then villages (hub in / hub out), points, groups.
    hub_in = 3
    hub_out = hub_in + nv
    point0 = hub_out + nv
    group0 = point0 + np_
    tails: list[int] = []
    heads: list[int] = []
    caps: list[int] = []
    costs: list[int] = []
    group_arcs: list[list[int]] = []  # per village and rank: its arc to the hub, or -1
    node = group0
    total = 0
    for i, v in enumerate(villages):
        per = []
        for r, n in enumerate(v.invitees):
            if n <= 0:
                per.append(-1)
                continue
            # source -> group, group -> hub, group -> unserved (higher ranks cost more to leave
            # out; the fairness bonus lifts every term equally).
            tails += [0, node, node]
            heads += [node, hub_in + i, 2]
            caps += [n, n, n]
            costs += [0, 0, bonus + _UNSERVED_BASE * (ranks - r)]
            per.append(len(tails) - 2)
            node += 1
            total += n
        group_arcs.append(per)
        floor_n = floors[i] if floors else 0
        if floor_n > 0:
            tails.append(hub_in + i)
            heads.append(hub_out + i)
            caps.append(floor_n)
            costs.append(0)
        tails.append(hub_in + i)
        heads.append(hub_out + i)
        caps.append(totals[i])
        costs.append(bonus)
    for j, cap in enumerate(seats):
        if cap > 0:
            tails.append(point0 + j)
            heads.append(1)
            caps.append(cap)
            costs.append(0)
    tails.append(2)
    heads.append(1)
    caps.append(total)
    costs.append(0)
    mcf = min_cost_flow.SimpleMinCostFlow()
    mcf.add_arcs_with_capacity_and_unit_cost(
        np.array(tails, dtype=np.int32),
        np.array(heads, dtype=np.int32),
        np.array(caps, dtype=np.int64),
        np.array(costs, dtype=np.int64),
    )
    open_arcs = np.flatnonzero(np.array(seats, dtype=np.int64)[arcs.head] > 0)
    first_vp = len(tails)
    if open_arcs.size:
        mcf.add_arcs_with_capacity_and_unit_cost(
            (hub_out + arcs.tail[open_arcs]).astype(np.int32),
            (point0 + arcs.head[open_arcs]).astype(np.int32),
            np.array(totals, dtype=np.int64)[arcs.tail[open_arcs]],
            arcs.metres[open_arcs],
        )
    supplies = np.zeros(node, dtype=np.int64)
    supplies[0], supplies[1] = total, -total
    mcf.set_nodes_supplies(np.arange(node, dtype=np.int32), supplies)
    status = mcf.solve()
    if status != mcf.OPTIMAL:
        raise RuntimeError(f"min-cost flow failed with status {status}")
    arc_flow = np.zeros(arcs.tail.size, dtype=np.int64)
    if open_arcs.size:
        arc_flow[open_arcs] = mcf.flows(np.arange(first_vp, first_vp + open_arcs.size))
    used = np.flatnonzero(arc_flow)
    flow_vp = {(int(arcs.tail[a]), int(arcs.head[a])): int(arc_flow[a]) for a in used.tolist()}
    cost_m = int((arc_flow * arcs.metres).sum())
    group_flow = mcf.flows(
        np.array([a for per in group_arcs for a in per if a >= 0], dtype=np.int32)
    )
    it = iter(group_flow.tolist())
    served_rank = [[next(it) if a >= 0 else 0 for a in per] for per in group_arcs]
    return _Solved(flow_vp=flow_vp, served_rank=served_rank, cost_m=cost_m, arc_flow=arc_flow)


def _fair_floors(villages: Sequence[Village], solved: _Solved) -> list[int]:
    """Each village's share of seats: its invitees times its regency's served share."""
    demand: dict[str, int] = defaultdict(int)
    served: dict[str, int] = defaultdict(int)
    for v, per in zip(villages, solved.served_rank, strict=True):
        demand[v.regency] += v.total
        served[v.regency] += sum(per)
    return [
        math.floor(v.total * served[v.regency] / demand[v.regency] + 1e-9)
        if demand[v.regency]
        else 0
        for v in villages
    ]


def _lower_bound_m(
    villages: Sequence[Village],
    points: Sequence[Point],
    seats: list[int],
    arcs: _Arcs,
    solved: _Solved,
    settings: Settings,
) -> int:
    """A bound on the metres of any plan that serves the same people per village.

    Complete graph: the flow's own cost (min-cost flow is exact). Pruned: the LP dual of the
    transport part. Point prices come from shortest paths in the residual graph of the pruned
    optimum (bounded Bellman-Ford rounds); each village then pays its cheapest point, price
    included, over every point, left-out arcs too. Any non-negative prices give a valid bound, so
    stopping the rounds early only loosens it.
    """
    if arcs.complete:
        return solved.cost_m
    nv, np_ = len(villages), len(points)
    tail, head, cost, flow = arcs.tail, arcs.head, arcs.metres, solved.arc_flow
    cap = np.array(seats, dtype=np.int64)
    load = np.zeros(np_, dtype=np.int64)
    np.add.at(load, head, flow)
    slack, used, carries = load < cap, load > 0, flow > 0
    pv = np.zeros(nv, dtype=np.int64)
    pp = np.zeros(np_, dtype=np.int64)
    pt = 0
    for _ in range(min(4 * (nv + np_) + 10, _ROUNDS)):
        before_v, before_p, before_t = pv.copy(), pp.copy(), pt
        np.minimum.at(pp, head, pv[tail] + cost)
        if carries.any():
            np.minimum.at(pv, tail[carries], pp[head[carries]] - cost[carries])
        if slack.any():
            pt = min(pt, int(pp[slack].min()))
        pp[used] = np.minimum(pp[used], pt)
        if pt == before_t and np.array_equal(pv, before_v) and np.array_equal(pp, before_p):
            break
    price = np.maximum(0, pt - pp)
    served = np.array([sum(r) for r in solved.served_rank], dtype=np.int64)
    bound = -int((price * cap).sum())
    for lo in range(0, nv, _BLOCK):
        block = _metres_matrix(villages[lo : lo + _BLOCK], points, settings)
        block = np.where(cap[None, :] > 0, block + price[None, :], np.iinfo(np.int64).max // 4)
        bound += int((block.min(axis=1) * served[lo : lo + _BLOCK]).sum())
    return max(0, min(bound, solved.cost_m))


def plan(villages: Sequence[Village], points: Sequence[Point], settings: Settings) -> Plan:
    """The optimal plan (see the module's docstring)."""
    started = _time.perf_counter()
    seats = [sum(usable_seats(s, settings) for s in p.slots) for p in points]
    arcs = _distances(villages, points, settings)
    solved = _solve(villages, seats, arcs, None)
    if settings.fair and any(
        sum(r) < v.total for v, r in zip(villages, solved.served_rank, strict=True)
    ):
        solved = _solve(villages, seats, arcs, _fair_floors(villages, solved))
    lower = _lower_bound_m(villages, points, seats, arcs, solved, settings)
    elapsed = _time.perf_counter() - started
    return _to_sessions(villages, points, settings, solved, lower, elapsed)


def _to_sessions(
    villages: Sequence[Village],
    points: Sequence[Point],
    settings: Settings,
    solved: _Solved,
    lower_m: int,
    elapsed: float,
) -> Plan:
    """Each point fills its sessions in time order, higher ranks first (then village code)."""
    # People of each (village, rank) placed at each point: split the village's flow by rank,
    # higher ranks to the nearest points (equal cost for travel, and it keeps ranks together).
    per_point: dict[int, list[tuple[int, str, int, int]]] = defaultdict(list)
    by_village: dict[int, list[tuple[tuple[int, int], int]]] = defaultdict(list)
    for key, f in solved.flow_vp.items():
        by_village[key[0]].append((key, f))
    for i, v in enumerate(villages):
        flows = sorted(
            ((j, f) for (vi, j), f in by_village.get(i, [])),
            key=lambda t: (haversine_km(v.lat, v.lon, points[t[0]].lat, points[t[0]].lon), t[0]),
        )
        if not flows:
            continue
        remaining = list(solved.served_rank[i])
        for j, f in flows:
            for r in range(len(remaining)):
                if f <= 0:
                    break
                take = min(f, remaining[r])
                if take:
                    per_point[j].append((r, v.code, i, take))
                    remaining[r] -= take
                    f -= take
    assignments: list[Assignment] = []
    slot_load: dict[int, int] = {}
    slot_seats: dict[int, int] = {}
    total_km = 0.0
    for j, p in enumerate(points):
        for s in p.slots:
            n_seats = usable_seats(s, settings)
            if n_seats > 0:
                slot_seats[s.id] = n_seats
        if j not in per_point:
            continue
        slots = sorted(
            (s for s in p.slots if s.id in slot_seats), key=lambda s: (s.starts_at, s.id)
        )
        queue = sorted(per_point.get(j, []))
        k = 0
        left = slot_seats[slots[0].id] if slots else 0
        for r, code, i, n in queue:
            v = villages[i]
            km = settings.road_factor * haversine_km(v.lat, v.lon, p.lat, p.lon)
            while n > 0:
                while left == 0 and k + 1 < len(slots):
                    k += 1
                    left = slot_seats[slots[k].id]
                if left == 0:
                    raise RuntimeError("a point received more people than its seats")
                take = min(n, left)
                sid = slots[k].id
                assignments.append(Assignment(code, r, p.id, sid, take, km))
                slot_load[sid] = slot_load.get(sid, 0) + take
                total_km += take * km
                left -= take
                n -= take
    invitees = sum(v.total for v in villages)
    served = sum(a.count for a in assignments)
    unserved = {
        v.code: v.total - sum(solved.served_rank[i])
        for i, v in enumerate(villages)
        if v.total - sum(solved.served_rank[i]) > 0
    }
    lower_km = total_km * (lower_m / solved.cost_m) if solved.cost_m else 0.0
    return Plan(
        assignments=assignments,
        invitees=invitees,
        served=served,
        total_km=total_km,
        solve_seconds=elapsed,
        lower_bound_km=lower_km,
        unserved=unserved,
        slot_load=slot_load,
        slot_seats=slot_seats,
    )


def baseline(villages: Sequence[Village], points: Sequence[Point], settings: Settings) -> Plan:
    """How offices plan by hand: each regency/city office plans its own villages, in code order,
    each to its nearest kecamatan office, first come first served into the earliest session
    with room, overflow to the next nearest kecamatan office; then its own other points
    (regency/city office, UPT), then, once all its own are full, the nearest points of other
    regencies. A point of unknown regency counts as the village's own."""
    started = _time.perf_counter()
    left: dict[int, int] = {}
    slot_seats: dict[int, int] = {}
    ordered_slots: list[list[Slot]] = []
    for p in points:
        slots = sorted(
            (s for s in p.slots if usable_seats(s, settings) > 0), key=lambda s: (s.starts_at, s.id)
        )
        for s in slots:
            slot_seats[s.id] = left[s.id] = usable_seats(s, settings)
        ordered_slots.append(slots)
    cursor = [0] * len(points)
    assignments: list[Assignment] = []
    slot_load: dict[int, int] = {}
    unserved: dict[str, int] = {}
    total_km = 0.0
    # Visiting order per village: 0 its regency's kecamatan offices, 1 its regency's other
    # points, 2 everything else; nearest first within each group.
    regency_ids: dict[str, int] = {"": -1}
    point_regency = np.array(
        [regency_ids.setdefault(p.regency, len(regency_ids)) for p in points], dtype=np.int64
    )
    not_kecamatan = np.array([p.kind != "kecamatan" for p in points], dtype=np.int8)
    in_order = sorted(villages, key=lambda x: x.code)
    for lo in range(0, len(in_order), _BLOCK):
        chunk = in_order[lo : lo + _BLOCK]
        matrix = _metres_matrix(chunk, points, settings) if points else None
        visit: np.ndarray | None = None
        if matrix is not None:
            village_regency = np.array(
                [regency_ids.get(v.regency, -2) for v in chunk], dtype=np.int64
            )
            own = (point_regency[None, :] == village_regency[:, None]) | (point_regency == -1)
            group = np.where(own, not_kecamatan[None, :], 2)
            # Stable sorts: by distance (equals in index order), then by group keeping that order.
            by_km = np.argsort(matrix, axis=1, kind="stable")
            in_group = np.argsort(np.take_along_axis(group, by_km, axis=1), axis=1, kind="stable")
            visit = np.take_along_axis(by_km, in_group, axis=1)
        for r_, v in enumerate(chunk):
            ordered = visit[r_].tolist() if visit is not None else []
            for r, n in enumerate(v.invitees):
                for j in ordered:
                    if n <= 0:
                        break
                    slots = ordered_slots[j]
                    while n > 0 and cursor[j] < len(slots):
                        s = slots[cursor[j]]
                        take = min(n, left[s.id])
                        if take:
                            assert matrix is not None
                            km = int(matrix[r_, j]) / 1000
                            assignments.append(Assignment(v.code, r, points[j].id, s.id, take, km))
                            left[s.id] -= take
                            slot_load[s.id] = slot_load.get(s.id, 0) + take
                            total_km += take * km
                            n -= take
                        if left[s.id] == 0:
                            cursor[j] += 1
                if n > 0:
                    unserved[v.code] = unserved.get(v.code, 0) + n
    return Plan(
        assignments=assignments,
        invitees=sum(v.total for v in villages),
        served=sum(a.count for a in assignments),
        total_km=total_km,
        solve_seconds=_time.perf_counter() - started,
        lower_bound_km=0.0,
        unserved=unserved,
        slot_load=slot_load,
        slot_seats=slot_seats,
    )


@dataclass
class MobilePlacement:
    """Unit-days per village for the mobile units, and how good the placement is."""

    visits: dict[str, int]  # village code -> days a unit spends there
    objective: float  # metres of travel + the unserved penalty, as the MIP counts them
    bound: float  # the MIP's best bound on that objective
    seconds: float
    status: str
    solver: str = ""  # the MIP solver and its version, e.g. "SCIP 10.0.0"

    @property
    def method(self) -> str:
        return f"MIP ({self.solver} through OR-Tools)"

    @property
    def gap(self) -> float:
        if self.objective <= 0:
            return 0.0
        return max(0.0, (self.objective - self.bound) / self.objective)


def place_mobile_units(
    villages: Sequence[Village],
    points: Sequence[Point],
    settings: Settings,
    *,
    units: Mapping[str, int],
    per_day: int,
    days: int,
    unit_days: Mapping[str, int] | None = None,
    nearest: int = 8,
    time_limit_s: float = 60.0,
) -> MobilePlacement:
    """Where ``units[regency]`` mobile units, each serving ``per_day`` people a day in the
    village it visits, spend their ``days``: a MIP (SCIP through OR-Tools) over

        min  sum road metres x  +  penalty x unserved
        s.t. village: sum_p x_vp + m_v + u_v = invitees_v
             point:   sum_v x_vp <= seats_p
             visit:   m_v <= per_day * k_v,   k_v integer >= 0
             regency: sum_{v in R} k_v <= unit-days_R

    with each village linked to its ``nearest`` open points (the exact flow then re-plans
    everyone with the chosen visits as extra points). A regency's unit-days are
    ``units_R x days`` unless ``unit_days`` says fewer (days its units already work elsewhere).
    Villages far from offices with many invitees are where visits save most, which is what the
    objective rewards."""
    started = _time.perf_counter()
    solver = pywraplp.Solver.CreateSolver("SCIP")
    if solver is None:
        raise RuntimeError("SCIP is not available in this OR-Tools build")
    solver.SetTimeLimit(int(time_limit_s * 1000))
    seats = [sum(usable_seats(s, settings) for s in p.slots) for p in points]
    open_idx = [j for j, s in enumerate(seats) if s > 0]
    penalty = float(_UNSERVED_BASE)
    by_point: dict[int, list[Any]] = defaultdict(list)
    by_regency: dict[str, list[Any]] = defaultdict(list)
    objective = solver.Objective()
    visits: list[Any] = []
    matrix = _metres_matrix(villages, [points[j] for j in open_idx], settings) if open_idx else None
    for i, v in enumerate(villages):
        d = v.total
        served_terms = []
        if matrix is not None:
            row = matrix[i]
            order = np.argsort(row, kind="stable")[:nearest]
            for col in order.tolist():
                x = solver.NumVar(0, d, "")
                objective.SetCoefficient(x, float(row[col]))
                by_point[open_idx[col]].append(x)
                served_terms.append(x)
        cap_units = _unit_days_of(v.regency, units, days, unit_days)
        k = solver.IntVar(0, cap_units, "") if cap_units and d else None
        if k is not None:
            m = solver.NumVar(0, d, "")
            solver.Add(m <= per_day * k)
            # A metre per unit-day: a day that serves nobody is not planned.
            objective.SetCoefficient(k, 1.0)
            by_regency[v.regency].append(k)
            served_terms.append(m)
        u = solver.NumVar(0, d, "")
        objective.SetCoefficient(u, penalty)
        solver.Add(solver.Sum(served_terms) + u == d)
        visits.append(k)
    for j, xs in by_point.items():
        solver.Add(solver.Sum(xs) <= seats[j])
    for regency, ks in by_regency.items():
        solver.Add(solver.Sum(ks) <= _unit_days_of(regency, units, days, unit_days))
    objective.SetMinimization()
    status = solver.Solve()
    names = {
        pywraplp.Solver.OPTIMAL: "optimal",
        pywraplp.Solver.FEASIBLE: "feasible (time limit)",
    }
    if status not in names:
        raise RuntimeError(f"mobile-unit MIP failed with status {status}")
    chosen = {
        v.code: round(k.solution_value())
        for v, k in zip(villages, visits, strict=True)
        if k is not None and round(k.solution_value()) > 0
    }
    return MobilePlacement(
        visits=chosen,
        objective=objective.Value(),
        bound=objective.BestBound(),
        seconds=_time.perf_counter() - started,
        status=names[status],
        solver=solver.SolverVersion().split(" [")[0],
    )


def _unit_days_of(
    regency: str, units: Mapping[str, int], days: int, unit_days: Mapping[str, int] | None
) -> int:
    most = units.get(regency, 0) * days
    return most if unit_days is None else min(most, unit_days.get(regency, 0))


@dataclass(frozen=True)
class UnitDay:
    """One day's work of one mobile unit: the village it serves that day."""

    regency: str
    unit: int  # the regency's unit, from 0
    day: int  # days after the first day of the plan
    village: str


def schedule_visits(
    placement: MobilePlacement,
    villages: Sequence[Village],
    free_days: Mapping[str, Sequence[Sequence[int]]],
) -> list[UnitDay]:
    """The placement's unit-days as dated work for each unit. ``free_days[regency][unit]`` are
    the days that unit can work. Per regency the units' free days are taken in turn (unit 0's
    first, then unit 1's) and each village, in code order, takes the next ones: its visits fall
    on consecutive free days of one unit, split over two units only at a unit's last day
    (McNaughton's wrap-around). Unit-days beyond the free ones are left out."""
    regency_of = {v.code: v.regency for v in villages}
    wanted: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for code, n in sorted(placement.visits.items()):
        wanted[regency_of[code]].append((code, n))
    out: list[UnitDay] = []
    for regency, visits in sorted(wanted.items()):
        pairs = [
            (unit, day)
            for unit, days in enumerate(free_days.get(regency, ()))
            for day in sorted(days)
        ]
        turn = iter(pairs)
        for code, n in visits:
            # range first: zip stops on it without drawing one more day from ``turn``.
            for _, (unit, day) in zip(range(n), turn, strict=False):
                out.append(UnitDay(regency, unit, day, code))
    return sorted(out, key=lambda u: (u.regency, u.unit, u.day))


def split_seats(total: int, parts: int) -> list[int]:
    """``total`` seats over ``parts`` sessions, as evenly as whole seats go (earlier ones get
    the remainder)."""
    if parts <= 0:
        return []
    base, extra = divmod(max(0, total), parts)
    return [base + (1 if k < extra else 0) for k in range(parts)]


def mobile_points(
    villages: Sequence[Village],
    schedule: Sequence[UnitDay],
    *,
    per_day: int,
    first_day: datetime,
    first_id: int,
    sessions_per_day: int = 8,
) -> list[Point]:
    """The scheduled visits as points of kind ``mobile`` to plan with the offices' points: one
    per unit and village, whose slots are that unit's days there, each day ``sessions_per_day``
    hourly sessions from ``first_day``'s time of day sharing ``per_day`` seats. Point ids are
    negative, slot ids count up from ``first_id``."""
    where = {v.code: v for v in villages}
    days: dict[tuple[str, int, str], list[int]] = defaultdict(list)
    for u in schedule:
        days[(u.regency, u.unit, u.village)].append(u.day)
    seats = split_seats(per_day, sessions_per_day)
    out = []
    slot_id = first_id
    for n, ((regency, _unit, code), on) in enumerate(sorted(days.items())):
        v = where[code]
        slots = []
        for d in sorted(on):
            for k, n_seats in enumerate(seats):
                start = first_day + timedelta(days=d, hours=k)
                slots.append(Slot(slot_id, start, start + timedelta(hours=1), n_seats))
                slot_id += 1
        out.append(Point(-(n + 1), v.lat, v.lon, "mobile", tuple(slots), regency))
    return out
