"""Worklists: who on the voter list still has to record or get a card, counted per region and
TPS, and listed by name. What the staff pages, the invitation planner and the dashboard read.

Every function takes ``who``: a user (their jurisdiction and permissions apply, through
``rekam.accounts.access``) or a region code for code that acts for the office itself (``""``
for everywhere, ``"18.71"`` for a regency/city, ``"18.71.01"`` for a kecamatan).

Counts come from the latest reconciliation (:class:`WorklistCount`); people from the current
voter list with their latest verdict.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Case, CharField, F, Max, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce

from rekam.accounts import access
from rekam.accounts.access import OUTSIDE_JURISDICTION, Action
from rekam.elections.models import Election
from rekam.lib.csvcell import csv_safe
from rekam.lib.xlsx import write_xlsx
from rekam.regions.models import Region
from rekam.residents.states import KtpState

from .models import (
    NEEDS_WORK,
    DptImport,
    ReconciliationRun,
    Voter,
    VoterClass,
    WorklistCount,
)
from .services import class_for_state

LEVELS = ("regency", "district", "village", "tps")
# A region code's level by its number of parts: 18.71 / 18.71.01 / 18.71.01.1001
_LEVEL_OF_PARTS = {2: "regency", 3: "district", 4: "village"}


@dataclass
class WorklistRow:
    """Voters of one region (or TPS), by class and flag."""

    code: str
    name: str
    tps: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    first_time: int = 0
    suket_expiring: int = 0

    @property
    def voters(self) -> int:
        return sum(self.counts.values())

    def count(self, klass: str) -> int:
        return self.counts.get(klass, 0)

    @property
    def not_recorded(self) -> int:
        return self.count(VoterClass.NOT_RECORDED)

    @property
    def recorded_without_card(self) -> int:
        return self.count(VoterClass.PRR_NOT_PRINTED) + self.count(VoterClass.RECORDED_NOT_PRR)

    @property
    def not_in_registry(self) -> int:
        return self.count(VoterClass.NOT_IN_REGISTRY)

    @property
    def needs_work(self) -> int:
        return sum(self.count(k) for k in NEEDS_WORK)

    def ordered(self) -> list[int]:
        """Counts in the order of :class:`VoterClass` (for tables)."""
        return [self.count(k) for k in VoterClass.values]

    def add(self, klass: str, n: int, first_time: int, suket: int) -> None:
        self.counts[klass] = self.counts.get(klass, 0) + n
        self.first_time += first_time
        self.suket_expiring += suket


def _scope_q(who: Any, action: Any, field_name: str = "regency") -> Q:
    """Rows (with a regency foreign key ``field_name``) ``who`` may see for ``action``."""
    if isinstance(who, str):
        if who == "":
            return Q()
        level = _LEVEL_OF_PARTS.get(who.count(".") + 1)
        if level is None:
            return Q(**{f"{field_name}__code__startswith": who + "."})
        return Q(**{f"{level}_id": who})
    access.require(who, action)
    return access.scope_filter(who, field_name)


def _within_q(who: Any, action: Any, within: str | None) -> Q:
    """Rows inside the region ``within`` (any level), refused outside ``who``'s reach."""
    if not within:
        return Q()
    parts = within.count(".") + 1
    level = _LEVEL_OF_PARTS.get(parts)
    if level is None:
        if parts == 1:
            return Q(regency__code__startswith=within + ".")
        raise PermissionDenied(OUTSIDE_JURISDICTION)
    if isinstance(who, str):
        if not access.in_scope(who, within) and not (who and who.startswith(within + ".")):
            raise PermissionDenied(OUTSIDE_JURISDICTION)
    else:
        access.require(who, action, within)
    return Q(**{f"{level}_id": within})


def _filters(klass: str | None, first_time: bool | None, suket_expiring: bool | None) -> Q:
    q = Q()
    if klass:
        q &= Q(klass=klass)
    if first_time is not None:
        q &= Q(first_time=first_time)
    if suket_expiring is not None:
        q &= Q(suket_expiring=suket_expiring)
    return q


def worklist_counts(
    election: Election,
    who: Any,
    level: str,
    *,
    within: str | None = None,
    klass: str | None = None,
    first_time: bool | None = None,
    suket_expiring: bool | None = None,
) -> list[WorklistRow]:
    """One row per region of ``level`` (``regency``, ``district``, ``village`` or ``tps``)
    inside ``within`` and ``who``'s jurisdiction, with its voters by class and flags."""
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}")
    q = (
        Q(election=election)
        & _scope_q(who, Action.VIEW_REPORTS)
        & _within_q(who, Action.VIEW_REPORTS, within)
        & _filters(klass, first_time, suket_expiring)
    )
    key = "village_id" if level == "tps" else f"{level}_id"
    group = [key, "tps"] if level == "tps" else [key]
    data = (
        WorklistCount.objects.filter(q, voters__gt=0)
        .values(*group, "klass")
        .annotate(
            n=Sum("voters"),
            ft=Coalesce(Sum("voters", filter=Q(first_time=True)), 0),
            sk=Coalesce(Sum("voters", filter=Q(suket_expiring=True)), 0),
        )
        .order_by()
    )
    rows: dict[tuple[str, str], WorklistRow] = {}
    for item in data:
        slot = (item[key], item.get("tps", ""))
        row = rows.get(slot)
        if row is None:
            row = rows[slot] = WorklistRow(code=item[key], name="", tps=slot[1])
        row.add(item["klass"], int(item["n"]), int(item["ft"]), int(item["sk"]))
    names = dict(Region.objects.filter(code__in={c for c, _ in rows}).values_list("code", "name"))
    for row in rows.values():
        row.name = names.get(row.code, row.code)
    return sorted((r for r in rows.values() if r.voters), key=lambda r: (r.code, r.tps))


def worklist_total(
    election: Election,
    who: Any,
    *,
    within: str | None = None,
    klass: str | None = None,
    first_time: bool | None = None,
    suket_expiring: bool | None = None,
) -> WorklistRow:
    """All voters inside ``within`` and ``who``'s jurisdiction, by class and flags."""
    total = WorklistRow(code=within or "", name="")
    q = (
        Q(election=election)
        & _scope_q(who, Action.VIEW_REPORTS)
        & _within_q(who, Action.VIEW_REPORTS, within)
        & _filters(klass, first_time, suket_expiring)
    )
    data = (
        WorklistCount.objects.filter(q, voters__gt=0)
        .values("klass")
        .annotate(
            n=Sum("voters"),
            ft=Coalesce(Sum("voters", filter=Q(first_time=True)), 0),
            sk=Coalesce(Sum("voters", filter=Q(suket_expiring=True)), 0),
        )
        .order_by()
    )
    for item in data:
        total.add(item["klass"], int(item["n"]), int(item["ft"]), int(item["sk"]))
    return total


def _class_now() -> Case:
    """A voter's class by their resident's KTP-el state now (NULL when not matched)."""
    return Case(
        *[
            When(verdict__resident__ktp_state=state, then=Value(class_for_state(state)))
            for state in KtpState.values
        ],
        output_field=CharField(),
    )


def worklist_voters(
    election: Election,
    who: Any,
    *,
    within: str | None = None,
    tps: str | None = None,
    klass: str | None = None,
    first_time: bool | None = None,
    suket_expiring: bool | None = None,
    still: bool = False,
) -> QuerySet[Voter]:
    """Voters on the current list inside ``within`` (and TPS ``tps`` of that village) and
    ``who``'s jurisdiction, with their latest verdict (``voter.verdict``).

    Classes and flags are those of the latest reconciliation; ``still`` keeps only the voters
    whose resident's state now still gives that class (voters matched to no resident have no
    state to change). Each voter carries ``resident_nik`` and ``state_now``: the matched
    resident's NIK and KTP-el state now (``None`` when not matched), read in the same query.
    """
    q = (
        Q(election=election, removed_in__isnull=True)
        & _scope_q(who, Action.VIEW_RESIDENT)
        & _within_q(who, Action.VIEW_RESIDENT, within)
    )
    if within and within.count(".") == 2:
        # A kecamatan's voters through its villages: the voters' one index leads with the
        # village (a district alone would read every voter of the election).
        q &= Q(village_id__in=Region.objects.filter(parent_id=within).values("code"))
    if tps:
        q &= Q(tps=tps)
    if klass:
        q &= Q(verdict__klass=klass)
    if first_time is not None:
        q &= Q(verdict__first_time=first_time)
    if suket_expiring is not None:
        q &= Q(verdict__suket_until__isnull=not suket_expiring)
    voters = Voter.objects.annotate(
        resident_nik=F("verdict__resident__nik"), state_now=F("verdict__resident__ktp_state")
    )
    if still:
        voters = voters.annotate(class_now=_class_now())
        q &= Q(verdict__resident__isnull=True) | Q(class_now=F("verdict__klass"))
    return (
        voters.filter(q)
        .select_related("verdict", "village", "district", "regency")
        .order_by("village_id", "tps", "name_key", "id")
    )


def _overlaps(scope: str, regency: str) -> bool:
    """Whether the region ``scope`` (any level; ``""`` for everywhere) and the regency/city
    ``regency`` overlap: one lies inside the other."""
    return access.in_scope(scope, regency) or scope.startswith(regency + ".")


@dataclass(frozen=True)
class RegencyList:
    """One regency/city's voter list against its latest reconciliation."""

    code: str
    name: str
    # When the latest finished import touching it finished.
    imported_at: datetime | None
    # The latest finished reconciliation covering it: when it started (it read the list from
    # then on) and when it finished.
    read_from: datetime | None
    reconciled_at: datetime | None

    @property
    def stale(self) -> bool:
        """Its list changed after its latest reconciliation read it (or it never had one).
        Compared with the run's start, not its end: an import that finished while the run was
        reading may be missing from what the run read."""
        if self.imported_at is None:
            return False
        return self.read_from is None or self.imported_at > self.read_from


@dataclass
class ElectionStatus:
    """Where the voter list of the regencies/cities in view stands (for the staff pages)."""

    # The latest finished reconciliation covering one of the regencies/cities in view.
    last_run: ReconciliationRun | None
    # A run of the election queued or running (it holds back every other run of it).
    running: ReconciliationRun | None
    # The latest finished import touching one of the regencies/cities in view.
    last_import: DptImport | None
    regencies: list[RegencyList]

    @property
    def stale(self) -> list[RegencyList]:
        """The regencies/cities in view whose list changed after their last reconciliation."""
        return [regency for regency in self.regencies if regency.stale]


def _latest_per_regency(items: QuerySet[Any], codes: set[str]) -> tuple[dict[str, Any], Any | None]:
    """Walking ``items`` (imports or runs, newest first, each with ``regencies``): the newest
    one touching each of ``codes``, and the newest touching any. Stops once every code has
    one, so an election's long history is read only as far back as needed."""
    newest: dict[str, Any] = {}
    first = None
    if not codes:
        return newest, first
    for item in items.iterator(chunk_size=100):
        touched = codes.intersection(item.regencies).difference(newest)
        if touched and first is None:
            first = item
        newest.update(dict.fromkeys(touched, item))
        if len(newest) == len(codes):
            break
    return newest, first


def election_status(election: Election, who: Any, within: str | None = None) -> ElectionStatus:
    """The voter list of each of the election's regencies/cities inside ``who``'s jurisdiction
    (and inside ``within``, any level, when given) against its latest reconciliation. Four
    queries, however many regencies/cities and runs."""
    if isinstance(who, str):
        scope = who
    else:
        access.require(who, Action.VIEW_REPORTS)
        scope = access.region_scope(who) or ""
    names = {
        code: official or name
        for code, name, official in election.regions.values_list("code", "name", "official_name")
        if _overlaps(scope, code) and (not within or _overlaps(within, code))
    }
    codes = set(names)
    imports, last_import = _latest_per_regency(
        DptImport.objects.filter(election=election, finished_at__isnull=False).order_by(
            "-finished_at", "-pk"
        ),
        codes,
    )
    runs, last_run = _latest_per_regency(
        ReconciliationRun.objects.filter(
            election=election, status=ReconciliationRun.Status.DONE, finished_at__isnull=False
        )
        .order_by("-finished_at", "-pk")
        .defer("totals"),
        codes,
    )
    regencies = []
    for code in sorted(codes):
        batch, run = imports.get(code), runs.get(code)
        regencies.append(
            RegencyList(
                code=code,
                name=names[code],
                imported_at=batch.finished_at if batch else None,
                read_from=run.started_at if run else None,
                reconciled_at=run.finished_at if run else None,
            )
        )
    return ElectionStatus(
        last_run=last_run,
        running=ReconciliationRun.objects.filter(
            election=election,
            status__in=[ReconciliationRun.Status.QUEUED, ReconciliationRun.Status.RUNNING],
        ).first(),
        last_import=last_import,
        regencies=regencies,
    )


def elections_with_lists() -> QuerySet[Election]:
    return Election.objects.annotate(last_import=Max("dpt_imports__finished_at")).order_by(
        "-polling_day"
    )


# --- exports --------------------------------------------------------------------------------

EXPORT_HEADER = [
    "NIK",
    "NKK",
    "NAMA",
    "TEMPAT LAHIR",
    "TANGGAL LAHIR",
    "JK",
    "KAWIN",
    "ALAMAT",
    "RT",
    "RW",
    "TPS",
    "KODE DESA",
    "DESA/KELURAHAN",
    "KECAMATAN",
    "KABUPATEN/KOTA",
    "KELAS SAAT PENCOCOKAN",
    "STATUS KTP-EL SAAT PENCOCOKAN",
    "STATUS KTP-EL SEKARANG",
    "PEMILIH PEMULA",
    "SUKET BERLAKU S.D.",
]
# What each export row reads, in one query (no model per row): the voter's columns up to the
# regency/city's name are written as they are, the rest become labels.
_EXPORT_FIELDS = (
    "nik",
    "kk_number",
    "name",
    "birth_place",
    "birth_date",
    "sex",
    "marital",
    "street",
    "rt",
    "rw",
    "tps",
    "village_id",
    "village__name",
    "district__name",
    "regency__name",
    "verdict__klass",
    "verdict__ktp_state",
    "verdict__resident__ktp_state",
    "verdict__first_time",
    "verdict__suket_until",
)
# XLSX sheets hold at most 1,048,576 rows.
XLSX_MAX_ROWS = 1_000_000


def export_rows(voters: QuerySet[Voter]) -> Iterator[list[Any]]:
    """Rows of an export, in :data:`EXPORT_HEADER` order. Labels are taken in the language
    active now (the request's), once, not per row."""
    classes = {code: str(label) for code, label in VoterClass.choices}
    states = {code: str(label) for code, label in KtpState.choices}
    rows = voters.values_list(*_EXPORT_FIELDS)

    def generate() -> Iterator[list[Any]]:
        for *voter, klass, state_then, state_now, first_time, suket_until in rows.iterator(
            chunk_size=5_000
        ):
            yield [
                *voter,
                classes.get(klass, klass) if klass else "",
                states.get(state_then, state_then) if state_then else "",
                states.get(state_now, state_now) if state_now else "",
                "YA" if first_time else "",
                suket_until or "",
            ]

    return generate()


def export_csv_chunks(voters: QuerySet[Voter]) -> Iterator[str]:
    """The export as CSV text (UTF-8 with a BOM for Excel), in pieces for streaming. Text
    cells are :func:`csv_safe`: names and addresses come from KPU's file."""
    return _csv_chunks(export_rows(voters))


def _csv_chunks(rows: Iterator[list[Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(EXPORT_HEADER)
    for n, row in enumerate(rows, start=1):
        # Cells are text or dates (``is``: cheaper than isinstance over millions of cells).
        writer.writerow(
            [c.strftime("%d-%m-%Y") if c.__class__ is date else csv_safe(c) for c in row]
        )
        if n % 2_000 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def export_xlsx(voters: QuerySet[Voter], out: Any) -> int:
    """Write the export as XLSX to the binary file ``out``; returns the rows written. NIK and
    KK numbers are text cells, so the spreadsheet never turns them into numbers."""
    return write_xlsx(out, "DPT", EXPORT_HEADER, export_rows(voters[:XLSX_MAX_ROWS]))
