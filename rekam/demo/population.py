"""A synthetic population of Lampung for the demo and the benchmarks.

Residents are spread over the regencies/cities by their real populations (Dukcapil 2024) and
over each regency's kecamatan by the 2010 census (kecamatan missing there get the average of the
others). They live in households that share a KK number, each household in a village of its
kecamatan chosen with roughly even odds, with an age pyramid, sex ratio, religions, marital
status and occupations in the spirit of Lampung's.

KTP-el states: among the residents who must hold a KTP-el, the share not yet recorded in each
regency follows the KPU's 2020 figures (DPT voters not recorded / DPT); non-electing regencies
take the electing regencies' average. The others are mostly printed, some print ready (PRR) and
a few in the central pipeline, failed or duplicate. Each recorded resident gets a record event
for its latest move so timelines are not empty.

Rows are generated per regency from a seed (the same seed gives the same people), handed over a
kecamatan at a time, and written with ``executemany`` (SQLite) or ``COPY`` (PostgreSQL), not one
ORM save per row: ``--scale 1`` writes Lampung's 9.1 million residents.
"""

from __future__ import annotations

import bisect
import csv
import gc
import hashlib
import itertools
import math
import random
import time
from collections.abc import Callable, Container, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.models import Max
from django.utils import timezone
from tqdm import tqdm

from rekam.accounts.access import Action, require
from rekam.audit.services import audit_record
from rekam.elections.loader import read_election_regions
from rekam.regions.models import Level, Region
from rekam.residents.eligibility import birth_date_limit
from rekam.residents.models import ImportBatch, MaritalStatus, RecordEvent, Religion, Resident
from rekam.residents.states import KtpState, MoveSource, move_sources

from . import names as N

GENERATOR_VERSION = 1
BATCH_PREFIX = "populasi-sintetis-demo"
DEFAULT_SCALE = 0.01
DEFAULT_SEED = 2020
ACTOR_LABEL_OFFICE = "Disdukcapil (data awal demo)"
ACTOR_LABEL_CENTRAL = "SIAK (data awal demo)"
CONSENT_SOURCE = "data awal demo"
# KTP-el recording started in late 2011: no card was printed before this.
FIRST_PRINT = date(2011, 10, 1)

S = KtpState
# Where a record that is in each state now came from, for its one timeline event.
PREVIOUS_STATE: dict[str, str] = {
    S.BIO_CAPTURED.value: S.BELUM_REKAM.value,
    S.SENT_FOR_ENROLLMENT.value: S.BIO_CAPTURED.value,
    S.RECEIVED_AT_CENTRAL.value: S.SENT_FOR_ENROLLMENT.value,
    S.ENROLL_FAILURE.value: S.RECEIVED_AT_CENTRAL.value,
    S.SEARCH_FAILURE.value: S.RECEIVED_AT_CENTRAL.value,
    S.ADJUDICATE_RECORD.value: S.RECEIVED_AT_CENTRAL.value,
    S.DUPLICATE_RECORD.value: S.ADJUDICATE_RECORD.value,
    S.PRINT_READY_RECORD.value: S.RECEIVED_AT_CENTRAL.value,
    S.CARD_PRINTED.value: S.PRINT_READY_RECORD.value,
}
# Shares of the states of recorded residents, and how many days ago (min, max) they got there.
RECORDED_STATES: dict[str, tuple[float, int, int]] = {
    S.CARD_PRINTED.value: (93.5, 0, 0),  # dated from the 17th birthday, see below
    S.PRINT_READY_RECORD.value: (3.5, 1, 240),
    S.BIO_CAPTURED.value: (0.3, 1, 3),
    S.SENT_FOR_ENROLLMENT.value: (0.6, 1, 10),
    S.RECEIVED_AT_CENTRAL.value: (0.6, 2, 25),
    S.ENROLL_FAILURE.value: (0.3, 3, 90),
    S.SEARCH_FAILURE.value: (0.2, 3, 90),
    S.ADJUDICATE_RECORD.value: (0.3, 5, 60),
    S.DUPLICATE_RECORD.value: (0.7, 10, 400),
}

RESIDENT_COLUMNS = (
    "id", "nik", "kk_number", "name", "name_key", "birth_place", "birth_date", "sex",
    "religion", "marital_status", "occupation", "citizenship", "village_id", "regency_id", "rt",
    "rw", "street", "phone", "whatsapp_consent", "whatsapp_consent_at",
    "whatsapp_consent_source", "ktp_state", "ktp_state_at", "import_batch_id", "created_at",
    "updated_at",
)  # fmt: skip
EVENT_COLUMNS = (
    "resident_id", "from_state", "to_state", "at", "recorded_at", "source", "actor_id",
    "actor_label", "reason",
)  # fmt: skip


# --- Plan: how many residents live where -------------------------------------------------


@dataclass(frozen=True)
class VillagePlan:
    code: str
    is_kelurahan: bool
    # Households choose a village of their kecamatan in proportion to this.
    weight: float


@dataclass(frozen=True)
class DistrictPlan:
    code: str
    residents: int
    villages: tuple[VillagePlan, ...]


@dataclass(frozen=True)
class RegencyPlan:
    code: str
    name: str
    is_city: bool
    # Share of residents who must hold a KTP-el and have not recorded.
    unrecorded_share: float
    districts: tuple[DistrictPlan, ...]

    @property
    def residents(self) -> int:
        return sum(d.residents for d in self.districts)


def apportion(total: int, weights: Sequence[float]) -> list[int]:
    """Split ``total`` in proportion to ``weights`` (largest remainder); the parts add up."""
    if not weights:
        return []
    weight_sum = sum(weights)
    if weight_sum <= 0:
        weights, weight_sum = [1.0] * len(weights), float(len(weights))
    exact = [total * w / weight_sum for w in weights]
    parts = [math.floor(x) for x in exact]
    by_remainder = sorted(range(len(exact)), key=lambda i: (parts[i] - exact[i], i))
    for i in by_remainder[: total - sum(parts)]:
        parts[i] += 1
    return parts


def census_2010_district_weights() -> dict[str, int]:
    """Kecamatan populations of the 2010 census by Kemendagri code, from every province folder."""
    weights: dict[str, int] = {}
    for path in sorted(Path(settings.REGION_DATA_DIR).glob("*/*_population_kec_sp2010.csv")):
        with path.open(newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                code = row.get("kemendagri_district_code_by_name", "").strip()
                if code and row.get("total"):
                    weights[code] = weights.get(code, 0) + int(row["total"])
    return weights


def unrecorded_shares() -> tuple[dict[str, float], float]:
    """2020 share of DPT voters not recorded per electing regency, and their pooled average."""
    shares: dict[str, float] = {}
    dpt = unrecorded = 0
    for r in read_election_regions():
        if r.holds_election and r.dpt and r.dpt_unrecorded is not None:
            shares[r.regency_code] = r.dpt_unrecorded / r.dpt
            dpt += r.dpt
            unrecorded += r.dpt_unrecorded
    return shares, (unrecorded / dpt if dpt else 0.0)


def plan_population(*, scale: float, seed: int) -> list[RegencyPlan]:
    """Residents per regency, kecamatan and village for ``scale`` times the real population."""
    if scale <= 0:
        raise ValueError("scale must be positive")
    regencies = list(Region.objects.filter(level=Level.REGENCY).order_by("code"))
    if not regencies:
        raise ValueError("no regions loaded")
    known = [r.population for r in regencies if r.population]
    mean_population = sum(known) / len(known) if known else 1.0
    populations = [float(r.population or mean_population) for r in regencies]
    totals = apportion(round(sum(populations) * scale), populations)

    districts_of: dict[str, list[str]] = {}
    district_rows = Region.objects.filter(level=Level.DISTRICT).values_list("code", "parent_id")
    for code, parent in district_rows:
        districts_of.setdefault(str(parent), []).append(code)
    villages_of: dict[str, list[tuple[str, bool]]] = {}
    village_rows = Region.objects.filter(level=Level.VILLAGE).values_list(
        "code", "parent_id", "kind"
    )
    for code, parent, kind in village_rows:
        villages_of.setdefault(str(parent), []).append((code, kind == "kelurahan"))
    census = census_2010_district_weights()
    shares, average_share = unrecorded_shares()

    plans = []
    for regency, total in zip(regencies, totals, strict=True):
        district_codes = sorted(d for d in districts_of.get(regency.code, []) if villages_of.get(d))
        known_weights = [census[d] for d in district_codes if d in census]
        fill = sum(known_weights) / len(known_weights) if known_weights else 1.0
        counts = apportion(total, [float(census.get(d, fill)) for d in district_codes])
        districts = []
        for district_code, count in zip(district_codes, counts, strict=True):
            rng = random.Random(f"{seed}:villages:{district_code}")
            villages = tuple(
                VillagePlan(code=code, is_kelurahan=kel, weight=0.6 + 0.8 * rng.random())
                for code, kel in sorted(villages_of[district_code])
            )
            districts.append(DistrictPlan(code=district_code, residents=count, villages=villages))
        plans.append(
            RegencyPlan(
                code=regency.code,
                name=regency.name,
                is_city=regency.kind == "kota",
                unrecorded_share=shares.get(regency.code, average_share),
                districts=tuple(districts),
            )
        )
    return plans


def move_source(from_state: str, to_state: str) -> str:
    """Who made the move in the demo's history: the office where it may, else the centre."""
    sources = move_sources(from_state, to_state)
    if not sources:
        raise ValueError(f"{from_state} -> {to_state} is not an allowed move")
    return MoveSource.OFFICE.value if MoveSource.OFFICE in sources else MoveSource.CENTRAL.value


# --- Generation ------------------------------------------------------------------------------


def _bag(weights: dict[Any, float], size: int = 1000) -> tuple[Any, ...]:
    """A tuple in which each value appears in proportion to its weight: pick with one index."""
    keys = list(weights)
    counts = apportion(size, [float(weights[k]) for k in keys])
    return tuple(k for k, n in zip(keys, counts, strict=True) for _ in range(n))


# Age (in whole years) of household heads: five-year bands from 20, then a year within it.
_HEAD_AGE_BAND = _bag(
    {20: 6, 25: 13, 30: 14, 35: 13, 40: 12, 45: 10, 50: 9, 55: 7, 60: 6, 65: 4, 70: 3, 75: 2}
)
_KIDS_WANTED = _bag({0: 6, 1: 16, 2: 31, 3: 24, 4: 13, 5: 7, 6: 3})
_RECORDED_STATE = _bag({s: share for s, (share, _lo, _hi) in RECORDED_STATES.items()}, 10_000)
_RELIGION = {
    is_city: _bag({str(r): share for r, share in shares.items()}, 10_000)
    for is_city, shares in ((False, N.RELIGIONS_REGENCY), (True, N.RELIGIONS_CITY))
}
_OCCUPATION = {group: _bag(shares) for group, shares in N.OCCUPATIONS.items()}
_NAME_TRADITION: dict[str, str] = {
    Religion.ISLAM: "muslim",
    Religion.KEPERCAYAAN: "muslim",
    Religion.KRISTEN: "christian",
    Religion.KATOLIK: "christian",
    Religion.HINDU: "balinese",
    Religion.BUDDHA: "chinese",
    Religion.KONGHUCU: "chinese",
}
SINGLE, MARRIED = MaritalStatus.SINGLE.value, MaritalStatus.MARRIED.value
DIVORCED, WIDOWED = MaritalStatus.DIVORCED.value, MaritalStatus.WIDOWED.value

# A person before their KTP-el state is known: sex, age in years, marital status.
Member = tuple[str, int, str]


def _household(rnd: Callable[[], float]) -> list[Member]:
    """The members of one household (KK), head first."""
    head_age = _HEAD_AGE_BAND[int(rnd() * 1000)] + int(rnd() * 5)
    r = rnd()
    members: list[Member]
    mother_age = 0
    if r < 0.08:  # living alone
        sex = "L" if rnd() < 0.5 else "P"
        if head_age < 30 or rnd() < 0.2:
            status = SINGLE
        else:
            status = WIDOWED if head_age >= 55 and rnd() < 0.7 else DIVORCED
        members = [(sex, head_age, status)]
    elif r < 0.16:  # a parent alone with children, most often a mother
        sex = "P" if rnd() < 0.8 else "L"
        status = WIDOWED if head_age >= 50 and rnd() < 0.7 else DIVORCED
        members = [(sex, head_age, status)]
        mother_age = head_age if sex == "P" else max(16, head_age - int(rnd() * 6))
    else:  # a married couple
        wife_age = max(16, head_age - 2 + int(rnd() * 9))
        members = [("L", head_age, MARRIED), ("P", wife_age, MARRIED)]
        mother_age = wife_age
    if mother_age:
        age_at_birth = 18 + int(rnd() * 13)
        for _ in range(_KIDS_WANTED[int(rnd() * 1000)]):
            child_age = mother_age - age_at_birth
            if child_age < 0 or age_at_birth > 45:
                break
            # Grown children mostly have their own household (or live elsewhere).
            stays = child_age < 19 or rnd() < (0.65 if child_age < 25 else 0.15)
            if stays:
                married = child_age >= 19 and rnd() < 0.08
                members.append(
                    ("L" if rnd() < 0.51 else "P", child_age, MARRIED if married else SINGLE)
                )
            age_at_birth += 2 + int(rnd() * 4)
    if rnd() < 0.07 and head_age + 24 <= 92:  # an elderly parent lives with them
        members.append(("P" if rnd() < 0.7 else "L", head_age + 24 + int(rnd() * 10), WIDOWED))
    return members


class _DayStrings:
    """ISO date strings and NIK date parts per day ordinal, each computed once."""

    def __init__(self) -> None:
        self.iso: dict[int, str] = {}
        self.nik: dict[int, tuple[str, str]] = {}

    def iso_of(self, ordinal: int) -> str:
        s = self.iso.get(ordinal)
        if s is None:
            s = self.iso[ordinal] = date.fromordinal(ordinal).isoformat()
        return s

    def nik_of(self, ordinal: int) -> tuple[str, str]:
        """``DDMMYY`` for a man and for a woman (day + 40) born on this day."""
        parts = self.nik.get(ordinal)
        if parts is None:
            d = date.fromordinal(ordinal)
            tail = f"{d.month:02d}{d.year % 100:02d}"
            parts = self.nik[ordinal] = (f"{d.day:02d}{tail}", f"{d.day + 40:02d}{tail}")
        return parts

    def stamp(self, ordinal: int, seconds: int) -> str:
        """A timestamp as Django stores it (naive UTC, ``YYYY-MM-DD HH:MM:SS``)."""
        hh, mm, ss = seconds // 3600, seconds // 60 % 60, seconds % 60
        return f"{self.iso_of(ordinal)} {hh:02d}:{mm:02d}:{ss:02d}"


_DAYS = _DayStrings()


@dataclass
class DistrictRows:
    district_code: str
    residents: list[list[Any]] = field(default_factory=list)
    events: list[tuple[Any, ...]] = field(default_factory=list)


def _history() -> dict[str, tuple[str, str, str, bool]]:
    """Per recorded state: the state before it, who moved it, the label, and whether by day."""
    history = {}
    for state, previous in PREVIOUS_STATE.items():
        source = move_source(previous, state)
        office = source == MoveSource.OFFICE.value
        label = ACTOR_LABEL_OFFICE if office else ACTOR_LABEL_CENTRAL
        history[state] = (previous, source, label, office)
    return history


_HISTORY = _history()


_GIVEN = {
    ("muslim", "L"): N.MUSLIM_MALE,
    ("muslim", "P"): N.MUSLIM_FEMALE,
    ("christian", "L"): N.CHRISTIAN_MALE,
    ("christian", "P"): N.CHRISTIAN_FEMALE,
    ("balinese", "L"): N.BALINESE_MALE,
    ("balinese", "P"): N.BALINESE_FEMALE,
    ("chinese", "L"): N.CHINESE_MALE,
    ("chinese", "P"): N.CHINESE_FEMALE,
}
_SECOND = {
    ("muslim", "L"): N.MUSLIM_SECOND_MALE,
    ("muslim", "P"): N.MUSLIM_SECOND_FEMALE,
    ("christian", "L"): N.CHRISTIAN_SECOND,
    ("christian", "P"): N.CHRISTIAN_SECOND,
    ("chinese", "L"): N.CHINESE_SECOND,
    ("chinese", "P"): N.CHINESE_SECOND,
}


def _person_name(rnd: Callable[[], float], tradition: str, sex: str) -> str:
    given = _GIVEN[tradition, sex]
    first = given[int(rnd() * len(given))]
    if tradition == "balinese":
        order = N.BALINESE_ORDER[int(rnd() * len(N.BALINESE_ORDER))]
        return f"{'I' if sex == 'L' else 'Ni'} {order} {first}"
    r = rnd()
    if r < 0.22:
        return first
    second = _SECOND[tradition, sex]
    last = second[int(rnd() * len(second))]
    if r > 0.9:
        middle = given[int(rnd() * len(given))]
        if middle not in (first, last):
            return f"{first} {middle} {last}"
    return first if last == first else f"{first} {last}"


# Names drawn once per tradition and sex, with their search keys: picking one is one index.
_NAME_POOL_SIZE = 4096


def _name_pools() -> dict[tuple[str, str], tuple[tuple[str, str], ...]]:
    rng = random.Random("rekam-demo-names")
    pools = {}
    for tradition, sex in _GIVEN:
        names = [_person_name(rng.random, tradition, sex) for _ in range(_NAME_POOL_SIZE)]
        pools[tradition, sex] = tuple((name, name.upper()) for name in names)
    return pools


_NAME_POOLS = _name_pools()


def _unrecorded_weight(age: float) -> float:
    """First-time voters and the very old record last; others a little earlier."""
    if age < 19:
        return 4.0
    if age < 22:
        return 2.0
    if age < 30:
        return 1.2
    return 0.8 if age < 60 else 1.3


# Columns of a generated resident row (see RESIDENT_COLUMNS).
_STATE, _STATE_AT = RESIDENT_COLUMNS.index("ktp_state"), RESIDENT_COLUMNS.index("ktp_state_at")


def generate_regency(
    plan: RegencyPlan,
    *,
    seed: int,
    today: date,
    now: datetime,
    batch_id: int,
    first_id: int,
    taken: Container[str] = frozenset(),
) -> Iterator[DistrictRows]:
    """The residents of one regency (ids from ``first_id``) and their events, per kecamatan.

    Rows follow :data:`RESIDENT_COLUMNS` and :data:`EVENT_COLUMNS`. The result depends only on
    the plan, ``seed``, ``today``, ``now`` and the NIKs already ``taken`` (skipped), so a seed
    always gives the same people.
    """
    rng = random.Random(f"{seed}:{plan.code}")
    rnd = rng.random
    days = _DAYS
    iso_of, nik_of = days.iso_of, days.nik_of
    today_ord = today.toordinal()
    adult_limit = birth_date_limit(today).toordinal()
    kk_first = date(2006, 1, 1).toordinal()
    now_stamp = str(now.astimezone(UTC).replace(tzinfo=None))
    religions = _RELIGION[plan.is_city]
    occupations = _OCCUPATION
    man_group = "man_city" if plan.is_city else "man_regency"
    woman_group = "woman_city" if plan.is_city else "woman_regency"
    phone_share = 0.7 if plan.is_city else 0.55
    home_place, other_places = plan.name, N.OTHER_BIRTH_PLACES
    streets, prefixes, hamlets = N.STREETS, N.MOBILE_PREFIXES, N.HAMLET_NUMERALS
    belum_rekam = S.BELUM_REKAM.value
    regency_code = plan.code

    first_print = FIRST_PRINT.toordinal()
    history = _HISTORY
    nik_serials: dict[str, int] = {}
    kk_serials: dict[str, int] = {}
    resident_id = first_id
    # Systematic sampling over the whole regency (see pass 2): its running sum and next mark.
    running, threshold = 0.0, rnd()
    for district in plan.districts:
        # Pass 1: people, all not recorded; those who must hold a KTP-el are remembered.
        rows = DistrictRows(district.code)
        residents, events = rows.residents, rows.events
        must_index: list[int] = []
        must_birth: list[int] = []
        must_weight: list[float] = []
        district_digits = district.code.replace(".", "")
        # Per village: how many RW and RT it has, and how far it lags behind in recording (a
        # factor on its residents' odds of not having recorded).
        villages = district.villages
        village_rw = [2 + int(rnd() * 9) for _ in villages]
        village_rt = [3 + int(rnd() * 5) for _ in villages]
        village_factor = [rng.lognormvariate(0.0, 0.5) for _ in villages]
        cumulative = list(itertools.accumulate(v.weight for v in villages))
        last_village = len(villages) - 1
        remaining = district.residents
        while remaining > 0:
            members = _household(rnd)[:remaining]
            remaining -= len(members)
            v = min(bisect.bisect(cumulative, rnd() * cumulative[-1]), last_village)
            village = villages[v]
            village_code, factor = village.code, village_factor[v]
            religion = religions[int(rnd() * 10_000)]
            tradition = _NAME_TRADITION[religion]
            names_male, names_female = _NAME_POOLS[tradition, "L"], _NAME_POOLS[tradition, "P"]
            births = []
            for _sex, age, _status in members:
                # Older residents more often have 1 January or 31 December on record.
                if age >= 50 and rnd() < 0.12:
                    year = today.year - age - (1 if rnd() < 0.5 else 0)
                    birth = date(year, 1, 1) if rnd() < 0.7 else date(year, 12, 31)
                    births.append(min(birth.toordinal(), today_ord - 1))
                else:
                    births.append(today_ord - int((age + rnd()) * 365.2425) - 1)
            # The KK was last issued after its youngest member was born.
            kk_low = max(kk_first, max(births) + 1)
            kk_ord = kk_low + int(rnd() * (today_ord - kk_low))
            kk_key = district_digits + nik_of(kk_ord)[0]
            kk_serial = kk_serials.get(kk_key, 0) + 1
            kk_serials[kk_key] = kk_serial
            kk_number = f"{kk_key}{kk_serial:04d}"
            rw = 1 + int(rnd() * village_rw[v])
            rt = f"{1 + int(rnd() * village_rt[v]):03d}"
            if village.is_kelurahan or rnd() < 0.3:
                street = f"{streets[int(rnd() * len(streets))]} No. {1 + int(rnd() * 120)}"
            else:
                street = f"Dusun {hamlets[(rw - 1) % len(hamlets)]}"
            rw_text = f"{rw:03d}"
            for (sex, age, status), birth_ord in zip(members, births, strict=True):
                nik_key = district_digits + nik_of(birth_ord)[1 if sex == "P" else 0]
                serial = nik_serials.get(nik_key, 0) + 1
                nik = f"{nik_key}{serial:04d}"
                while nik in taken:
                    serial += 1
                    nik = f"{nik_key}{serial:04d}"
                if serial > 9999:
                    raise ValueError(f"NIK serials exhausted for {nik_key}")
                nik_serials[nik_key] = serial
                name, name_key = (names_female if sex == "P" else names_male)[
                    int(rnd() * _NAME_POOL_SIZE)
                ]
                if age < 5:
                    group = occupations["child"]
                elif age < 18:
                    group = occupations["student"]
                elif age < 23:
                    group = occupations["young"]
                elif age >= 65:
                    group = occupations["old"]
                else:
                    group = occupations[man_group if sex == "L" else woman_group]
                if rnd() < (0.3 if age >= 40 else 0.12):
                    birth_place = other_places[int(rnd() * len(other_places))]
                else:
                    birth_place = home_place
                phone, consent, consent_at, consent_source = "", False, None, ""
                if age >= 17 and rnd() < phone_share:
                    prefix = prefixes[int(rnd() * len(prefixes))]
                    phone = f"+628{prefix}{10_000_000 + int(rnd() * 90_000_000)}"
                    if rnd() < 0.7:
                        consent, consent_source = True, CONSENT_SOURCE
                        consent_at = days.stamp(
                            today_ord - 1 - int(rnd() * 365), int(rnd() * 86_400)
                        )
                if birth_ord <= adult_limit or status != SINGLE:
                    must_index.append(len(residents))
                    must_birth.append(birth_ord)
                    age_years = (today_ord - birth_ord) / 365.2425
                    must_weight.append(_unrecorded_weight(age_years) * factor)
                residents.append(
                    [
                        resident_id,
                        nik,
                        kk_number,
                        name,
                        name_key,
                        birth_place,
                        iso_of(birth_ord),
                        sex,
                        religion,
                        status,
                        group[int(rnd() * len(group))],
                        "WNI",
                        village_code,
                        regency_code,
                        rt,
                        rw_text,
                        street,
                        phone,
                        consent,
                        consent_at,
                        consent_source,
                        belum_rekam,
                        None,
                        batch_id,
                        now_stamp,
                        now_stamp,
                    ]
                )
                resident_id += 1

        # Pass 2: systematic sampling picks share x must-hold residents of the kecamatan, each
        # with odds by weight, as not recorded (the running sum carries over, so the regency's
        # total is exact too); the others get a recorded state and its latest event.
        scale = plan.unrecorded_share * len(must_index) / (sum(must_weight) or 1.0)
        for index, birth_ord, weight in zip(must_index, must_birth, must_weight, strict=True):
            running += min(1.0, weight * scale)
            if running >= threshold:
                threshold += 1.0
                continue
            state = _RECORDED_STATE[int(rnd() * 10_000)]
            _share, lo, hi = RECORDED_STATES[state]
            if hi == 0:  # printed: some day between the 17th birthday and a few days ago
                earliest = min(max(first_print, birth_ord + 17 * 365 + 5), today_ord - 30)
                day = earliest + int(rnd() * (today_ord - 3 - earliest))
            else:
                day = today_ord - lo - int(rnd() * (hi - lo + 1))
            previous, source, label, by_office = history[state]
            # Offices work 08:00-15:00 WIB (01:00-08:00 UTC); the centre at any hour.
            seconds = 3600 + int(rnd() * 25_200) if by_office else int(rnd() * 86_400)
            at = days.stamp(day, seconds)
            row = residents[index]
            row[_STATE], row[_STATE_AT] = state, at
            events.append((row[0], previous, state, at, now_stamp, source, None, label, ""))
        yield rows


# --- Writing ---------------------------------------------------------------------------------


class _BulkWriter:
    """Inserts many rows into one table: ``executemany`` on SQLite, ``COPY`` on PostgreSQL.

    Columns the generator does not fill (added to the model later) get their defaults.
    """

    def __init__(self, model: type[models.Model], columns: Sequence[str]) -> None:
        self.table = model._meta.db_table
        extra_columns: list[str] = []
        extra_values: list[Any] = []
        for f in model._meta.concrete_fields:
            if f.column in columns or f.primary_key:
                continue
            if f.has_default():
                value = f.get_db_prep_save(f.get_default(), connection)
            elif f.null:
                value = None
            else:
                raise ValueError(f"{model.__name__}.{f.name} needs a value in the demo data")
            extra_columns.append(str(f.column))
            extra_values.append(value)
        self.columns = [*columns, *extra_columns]
        self.extra = tuple(extra_values)

    def write(self, rows: Iterable[Sequence[Any]]) -> None:
        if self.extra:
            rows = ((*row, *self.extra) for row in rows)
        quote = connection.ops.quote_name
        column_list = ", ".join(quote(c) for c in self.columns)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                copy_sql = f"COPY {quote(self.table)} ({column_list}) FROM STDIN"
                with cursor.cursor.copy(copy_sql) as copy:
                    for row in rows:
                        copy.write_row(row)
        elif connection.vendor == "sqlite":
            connection.ensure_connection()
            marks = ", ".join("?" * len(self.columns))
            sql = f"INSERT INTO {quote(self.table)} ({column_list}) VALUES ({marks})"
            connection.connection.executemany(sql, rows)
        else:
            marks = ", ".join(["%s"] * len(self.columns))
            sql = f"INSERT INTO {quote(self.table)} ({column_list}) VALUES ({marks})"
            with connection.cursor() as cursor:
                cursor.executemany(sql, list(rows))


def _sqlite_drop_indexes(tables: Sequence[str]) -> list[str]:
    """Drop the tables' secondary indexes, returning the SQL that recreates them.

    Building an index once over sorted data is much faster than updating it row by row; the
    caller recreates them in the same transaction, so nobody ever sees them missing.
    """
    with connection.cursor() as cursor:
        marks = ", ".join(["%s"] * len(tables))
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            f"AND tbl_name IN ({marks})",
            list(tables),
        )
        found = cursor.fetchall()
        for name, _sql in found:
            cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
    return [sql for _name, sql in found]


def _delete_population(batch: ImportBatch) -> None:
    """Remove a demo population built with other settings, quickly when nothing else uses it.

    Its record events go in one statement; the residents too, unless other records (a Suket,
    a queue ticket...) point at them: then the ORM applies each relation's on-delete rule.
    """
    RecordEvent.objects.filter(resident__import_batch=batch).delete()
    residents = Resident.objects.filter(import_batch=batch)
    used_elsewhere = any(
        rel.related_model._base_manager.filter(**{f"{rel.field.name}__in": residents}).exists()
        for rel in Resident._meta.related_objects
        if rel.related_model is not RecordEvent
    )
    if used_elsewhere:
        residents.delete()
    else:
        table = connection.ops.quote_name(Resident._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE import_batch_id = %s", [batch.pk])
    batch.delete()


def _prepare_bulk_load() -> list[str]:
    """Ready the database for a bulk load; returns the index SQL to run afterwards (SQLite)."""
    tables = [Resident._meta.db_table, RecordEvent._meta.db_table]
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            # A bigger page cache for this connection while the build runs.
            cursor.execute("PRAGMA cache_size = -262144")
        return _sqlite_drop_indexes(tables)
    if connection.vendor == "postgresql":
        # Rows get ids counted from the highest one: nobody else may insert meanwhile.
        with connection.cursor() as cursor:
            cursor.execute(
                f"LOCK TABLE {connection.ops.quote_name(tables[0])} IN SHARE ROW EXCLUSIVE MODE"
            )
    return []


def _finish_bulk_load(recreate: list[str]) -> None:
    with connection.cursor() as cursor:
        for sql in recreate:
            cursor.execute(sql)
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA cache_size = -2000")
        else:
            # Ids were given explicitly: move the sequence past them.
            for sql in connection.ops.sequence_reset_sql(no_style(), [Resident]):
                cursor.execute(sql)


# --- Building --------------------------------------------------------------------------------


@dataclass
class PopulationResult:
    batch: ImportBatch
    residents: int
    events: int
    seconds: float
    reused: bool

    @property
    def per_second(self) -> float:
        return self.residents / self.seconds if self.seconds else 0.0


def population_key(*, scale: float, seed: int) -> str:
    return hashlib.sha256(
        f"{BATCH_PREFIX}:v{GENERATOR_VERSION}:scale={scale!r}:seed={seed}".encode()
    ).hexdigest()


def population_label(*, scale: float, seed: int) -> str:
    return f"{BATCH_PREFIX} (skala {scale:g}, seed {seed})"


def _demo_batches() -> models.QuerySet[ImportBatch]:
    return ImportBatch.objects.filter(
        kind=ImportBatch.Kind.REGISTRY, file_name__startswith=BATCH_PREFIX
    )


def population_build(
    *,
    scale: float = DEFAULT_SCALE,
    seed: int = DEFAULT_SEED,
    today: date | None = None,
    now: datetime | None = None,
    acting_user: Any = None,
    progress: bool = False,
) -> PopulationResult:
    """Build the synthetic population, or reuse it if one for ``scale`` and ``seed`` exists.

    A demo population built with other settings is removed first; residents that came from
    anywhere else are left alone. Everything is written in one transaction.
    """
    now = now or timezone.now()
    today = today or timezone.localdate(now)
    key = population_key(scale=scale, seed=seed)
    existing = _demo_batches().filter(sha256=key, finished_at__isnull=False).first()
    if existing is not None:
        return PopulationResult(existing, existing.created, 0, 0.0, reused=True)

    started = time.perf_counter()
    plans = plan_population(scale=scale, seed=seed)
    if acting_user is not None:
        for plan in plans:
            require(acting_user, Action.IMPORT_REGISTRY, plan.code)
    total = sum(p.residents for p in plans)
    resident_writer = _BulkWriter(Resident, RESIDENT_COLUMNS)
    event_writer = _BulkWriter(RecordEvent, EVENT_COLUMNS)
    events = 0
    # Millions of short-lived rows: the cycle collector would only slow the build down.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        with transaction.atomic():
            for old in _demo_batches():
                _delete_population(old)
            # Residents from elsewhere (imports) keep their NIKs; the demo skips them.
            taken = set(Resident.objects.values_list("nik", flat=True))
            batch = ImportBatch.objects.create(
                kind=ImportBatch.Kind.REGISTRY,
                file_name=population_label(scale=scale, seed=seed),
                sha256=key,
                acting_user=acting_user if getattr(acting_user, "pk", None) else None,
            )
            recreate = _prepare_bulk_load()
            next_id = (Resident.objects.aggregate(top=Max("id"))["top"] or 0) + 1
            with tqdm(
                total=total, unit=" penduduk", disable=None if progress else True, smoothing=0.1
            ) as bar:
                for plan in plans:
                    for rows in generate_regency(
                        plan,
                        seed=seed,
                        today=today,
                        now=now,
                        batch_id=batch.pk,
                        first_id=next_id,
                        taken=taken,
                    ):
                        resident_writer.write(rows.residents)
                        event_writer.write(rows.events)
                        next_id += len(rows.residents)
                        events += len(rows.events)
                        bar.update(len(rows.residents))
            _finish_bulk_load(recreate)
            ImportBatch.objects.filter(pk=batch.pk).update(
                rows_read=total, created=total, finished_at=timezone.now()
            )
            batch.refresh_from_db()
            audit_record(
                acting_user=acting_user,
                action="population.demo_build",
                obj=batch,
                changes={"residents": [None, total], "record_events": [None, events]},
                reason=f"skala {scale:g}, seed {seed}",
            )
    finally:
        if gc_was_enabled:
            gc.enable()
    return PopulationResult(batch, total, events, time.perf_counter() - started, reused=False)
