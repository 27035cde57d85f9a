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
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Max, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from rekam.accounts import access
from rekam.accounts.access import OUTSIDE_JURISDICTION, Action
from rekam.elections.models import Election
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


def worklist_voters(
    election: Election,
    who: Any,
    *,
    within: str | None = None,
    tps: str | None = None,
    klass: str | None = None,
    first_time: bool | None = None,
    suket_expiring: bool | None = None,
) -> QuerySet[Voter]:
    """Voters on the current list inside ``within`` (and TPS ``tps`` of that village) and
    ``who``'s jurisdiction, with their latest verdict (``voter.verdict``)."""
    q = (
        Q(election=election, removed_in__isnull=True)
        & _scope_q(who, Action.VIEW_RESIDENT)
        & _within_q(who, Action.VIEW_RESIDENT, within)
    )
    if tps:
        q &= Q(tps=tps)
    if klass:
        q &= Q(verdict__klass=klass)
    if first_time is not None:
        q &= Q(verdict__first_time=first_time)
    if suket_expiring is not None:
        q &= Q(verdict__suket_until__isnull=not suket_expiring)
    return (
        Voter.objects.filter(q)
        .select_related("verdict", "village", "district", "regency")
        .order_by("village_id", "tps", "name_key", "id")
    )


@dataclass
class ElectionStatus:
    """When the list was last imported and reconciled (for the staff page)."""

    last_run: ReconciliationRun | None
    running: ReconciliationRun | None
    last_import: DptImport | None

    @property
    def stale(self) -> bool:
        """The list changed since the last reconciliation finished."""
        if self.last_import is None or self.last_run is None:
            return self.last_import is not None
        finished = self.last_import.finished_at
        return bool(finished and self.last_run.finished_at and finished > self.last_run.finished_at)


def election_status(election: Election) -> ElectionStatus:
    runs = ReconciliationRun.objects.filter(election=election)
    return ElectionStatus(
        last_run=runs.filter(status=ReconciliationRun.Status.DONE).order_by("-finished_at").first(),
        running=runs.filter(
            status__in=[ReconciliationRun.Status.QUEUED, ReconciliationRun.Status.RUNNING]
        ).first(),
        last_import=DptImport.objects.filter(election=election, finished_at__isnull=False)
        .order_by("-finished_at")
        .first(),
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
    "KELAS",
    "STATUS KTP-EL",
    "PEMILIH PEMULA",
    "SUKET BERLAKU S.D.",
]
# XLSX sheets hold at most 1,048,576 rows.
XLSX_MAX_ROWS = 1_000_000


def _state_label(state: str) -> str:
    return str(KtpState(state).label) if state in KtpState.values else state


def export_rows(voters: QuerySet[Voter]) -> Iterator[list[Any]]:
    """Rows of an export, in :data:`EXPORT_HEADER` order."""
    v: Voter
    for v in voters.iterator(chunk_size=5_000):
        verdict = getattr(v, "verdict", None)
        yield [
            v.nik,
            v.kk_number,
            v.name,
            v.birth_place,
            v.birth_date,
            v.sex,
            v.marital,
            v.street,
            v.rt,
            v.rw,
            v.tps,
            v.village_id,
            v.village.name,
            v.district.name,
            v.regency.name,
            verdict.get_klass_display() if verdict else "",
            _state_label(verdict.ktp_state) if verdict else "",
            "YA" if verdict and verdict.first_time else "",
            verdict.suket_until if verdict and verdict.suket_until else "",
        ]


def export_csv_chunks(voters: QuerySet[Voter]) -> Iterator[str]:
    """The export as CSV text (UTF-8 with a BOM for Excel), in pieces for streaming."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(EXPORT_HEADER)
    for n, row in enumerate(export_rows(voters), start=1):
        writer.writerow([c.strftime("%d-%m-%Y") if hasattr(c, "strftime") else c for c in row])
        if n % 2_000 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def export_xlsx(voters: QuerySet[Voter], out: Any) -> int:
    """Write the export as XLSX to the binary file ``out``; returns the rows written. NIK and
    KK numbers are text cells, so the spreadsheet never turns them into numbers."""
    return write_xlsx(out, "DPT", EXPORT_HEADER, export_rows(voters[:XLSX_MAX_ROWS]))
