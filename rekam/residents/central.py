"""The central system (SIAK) as Rekam sees it: a source of KTP-el state updates.

There is no public Dukcapil API, so states arrive through one interface with two
implementations: a file exported by SIAK (:class:`FileCentralSystem`) and a simulator that
advances recorded residents with realistic delays and failure rates (for the demo and tests).
An HTTP implementation can be added behind the same interface where an office has a service.
Whatever the source, :func:`apply_updates` applies the updates through the move table.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from django.db import connection, transaction
from django.utils import timezone

from rekam.accounts.access import OUTSIDE_JURISDICTION, Action, can, require
from rekam.lib.dates import DateError, parse_datetime
from rekam.lib.nik import NikError, clean_nik
from rekam.lib.progress import progress_bar
from rekam.lib.tabular import REJECTED, WARNING, RowIssue, open_table
from rekam.regions.models import Region

from .models import RecordEvent, Resident
from .services import MoveRefused, check_move
from .signals import records_moved_send
from .states import KtpState as S
from .states import MoveSource


@dataclass(frozen=True)
class StatusUpdate:
    """The central system says the record of ``nik`` reached ``state`` at ``at``."""

    nik: str
    state: str
    at: datetime
    line: int | None = None  # the source line, for reports on file imports


class CentralSystem(Protocol):
    """Anything that yields state updates; ``name`` labels the moves it causes."""

    name: str

    def updates(self) -> Iterable[StatusUpdate]: ...


# --- state spellings -------------------------------------------------------------------------


def _state_key(text: str) -> str:
    return " ".join(re.sub(r"[_\-./]+", " ", text).upper().split())


# How exports and office spreadsheets name the states, besides the state codes themselves.
_STATE_SPELLINGS: dict[str, tuple[str, ...]] = {
    S.BELUM_REKAM: ("BELUM REKAM", "BELUM PEREKAMAN", "BELUM DIREKAM", "BELUM MELAKUKAN PEREKAMAN"),
    S.BIO_CAPTURED: ("SUDAH REKAM", "SUDAH PEREKAMAN", "SUDAH DIREKAM", "TELAH REKAM", "REKAM"),
    S.SENT_FOR_ENROLLMENT: ("SENT FOR ENROLMENT", "SENT", "TERKIRIM", "DIKIRIM"),
    S.RECEIVED_AT_CENTRAL: ("RECEIVED", "DITERIMA PUSAT", "PROSES PENUNGGALAN", "PENUNGGALAN"),
    S.ENROLL_FAILURE: ("ENROLLMENT FAILURE", "ENROLMENT FAILURE", "GAGAL ENROLL"),
    S.SEARCH_FAILURE: ("GAGAL SEARCH",),
    S.ADJUDICATE_RECORD: ("ADJUDICATE", "ADJUDIKASI"),
    S.DUPLICATE_RECORD: ("DUPLICATE", "DUPLIKAT", "GANDA", "DATA GANDA", "REKAM GANDA"),
    S.PRINT_READY_RECORD: ("PRR", "PRINT READY", "SIAP CETAK"),
    S.CARD_PRINTED: (
        "CETAK",
        "SUDAH CETAK",
        "TERCETAK",
        "DICETAK",
        "SUDAH DICETAK",
        "KTP EL TERCETAK",
        "PRINTED",
    ),
}
_STATES_BY_KEY: dict[str, str] = {}
for _state, _spellings in _STATE_SPELLINGS.items():
    for _spelling in (_state, *_spellings):
        _STATES_BY_KEY[_state_key(_spelling)] = str(_state)


def parse_ktp_state(text: object) -> str | None:
    """The KtpState value a file means (``PRR``, ``BELUM REKAM``, ``sudah cetak``...), or None."""
    return _STATES_BY_KEY.get(_state_key(str(text)))


# --- applying updates ------------------------------------------------------------------------


@dataclass
class ApplyResult:
    """What :func:`apply_updates` did with each update."""

    read: int = 0
    moved: int = 0
    unchanged: int = 0
    stale: int = 0
    rejected: int = 0
    # Of the rejected: residents of a regency/city outside the acting user's jurisdiction.
    outside_jurisdiction: int = 0
    issues: list[RowIssue] = field(default_factory=list)

    def summary(self) -> list[str]:
        return [
            f"Pembaruan dibaca: {self.read}",
            f"Status berpindah: {self.moved}",
            f"Tidak berubah: {self.unchanged}",
            f"Diabaikan karena lebih lama dari status saat ini: {self.stale}",
            f"Ditolak: {self.rejected}",
        ]


# Residents handled per transaction.
_CHUNK = 2000
# How far ahead of this server's clock a central timestamp may be (clocks drift). A later one
# is refused: stored, it would make every real update after it look stale and freeze the record.
CLOCK_SKEW = timedelta(minutes=10)


def future_reason(at: datetime) -> str:
    return (
        f"waktu status di masa depan ({timezone.localtime(at):%d-%m-%Y %H:%M}); "
        "periksa jam komputer atau sistem yang membuat berkas"
    )


def outside_jurisdiction(regency_code: str | None) -> str:
    """Why an import refuses a row of a regency/city outside the user's jurisdiction, naming
    the regency/city (a whole file of another regency then says which one it is)."""
    names = Region.objects.filter(code=regency_code or "").values_list("official_name", "name")
    found = names.first()
    if found is None:
        return OUTSIDE_JURISDICTION
    return f"{found[0] or found[1]} di luar wilayah kerja kantor Anda"


def state_label(state: str) -> str:
    """A KtpState as people read it in a reason (the code stays in the record's columns)."""
    return str(S(state).label) if state in S.values else state


def _fetch(niks: list[str]) -> dict[str, tuple[int, str, datetime | None, str]]:
    rows = Resident.objects.filter(nik__in=niks).values_list(
        "nik", "pk", "ktp_state", "ktp_state_at", "regency_id"
    )
    return {nik: (pk, state, at, regency) for nik, pk, state, at, regency in rows}


def apply_updates(
    system: CentralSystem,
    *,
    acting_user: Any = None,
    progress: bool = False,
    on_progress: Callable[[int, int | None], None] | None = None,
) -> ApplyResult:
    """Apply the system's updates through the move table, in bulk.

    Per update: a timestamp later than now (plus :data:`CLOCK_SKEW`) is rejected; an unknown
    NIK is rejected; the state the record already has is unchanged;
    an update older than the record's current state is ignored as stale (and reported,
    unless it is one already applied, as on a re-run); a move :func:`check_move` refuses is
    rejected with its reason. Several updates for one NIK apply in timestamp order. Each move
    writes a :class:`RecordEvent` labelled with the system's name and sets the resident's
    ``ktp_state``/``ktp_state_at``; each chunk sends
    :data:`~rekam.residents.signals.records_moved` before it commits. ``on_progress`` gets
    the NIKs done and the NIKs in all after each chunk.
    """
    if acting_user is not None:
        require(acting_user, Action.IMPORT_STATUSES)
    result = ApplyResult()
    by_nik: dict[str, list[StatusUpdate]] = {}
    for update in system.updates():
        result.read += 1
        by_nik.setdefault(update.nik, []).append(update)
    label = system.name[:120]
    user_id = getattr(acting_user, "pk", None)
    refusals: dict[str, str] = {}  # regency -> why its rows are refused ("": they are not)
    niks = list(by_nik)
    with progress_bar(total=len(niks), unit=" NIK", enabled=progress) as bar:
        for start in range(0, len(niks), _CHUNK):
            chunk = niks[start : start + _CHUNK]
            _apply_chunk(chunk, by_nik, result, acting_user, user_id, label, refusals)
            bar.update(len(chunk))
            if on_progress is not None:
                on_progress(start + len(chunk), len(niks))
    result.issues.sort(key=lambda i: (i.line, i.key))
    return result


def _apply_chunk(
    niks: list[str],
    by_nik: dict[str, list[StatusUpdate]],
    result: ApplyResult,
    acting_user: Any,
    user_id: int | None,
    label: str,
    refusals: dict[str, str],
) -> None:
    def issue(u: StatusUpdate, level: str, reason: str) -> None:
        result.issues.append(RowIssue(u.line or 0, u.nik, level, reason))

    now = timezone.now()
    latest = now + CLOCK_SKEW
    with transaction.atomic():
        residents = _fetch(niks)
        # Updates older than the record's state: already applied (a re-run) or stale.
        older: list[tuple[int, StatusUpdate]] = []
        events: list[RecordEvent] = []
        moved: list[tuple[str, datetime, int]] = []
        for nik in niks:
            updates = []
            for u in sorted(by_nik[nik], key=lambda u: (u.at, u.line or 0)):
                if u.at > latest:
                    result.rejected += 1
                    issue(u, REJECTED, future_reason(u.at))
                else:
                    updates.append(u)
            found = residents.get(nik)
            if found is None:
                for u in updates:
                    result.rejected += 1
                    issue(u, REJECTED, "NIK tidak terdaftar di data penduduk")
                continue
            pk, state, state_at, regency = found
            if acting_user is not None:
                refusal = refusals.get(regency)
                if refusal is None:
                    # Never the stored resident's regency/city by name: a file of bare NIKs
                    # would otherwise tell where another regency's residents live.
                    ok = can(acting_user, Action.IMPORT_STATUSES, regency)
                    refusal = refusals[regency] = "" if ok else OUTSIDE_JURISDICTION
                if refusal:
                    for u in updates:
                        result.rejected += 1
                        result.outside_jurisdiction += 1
                        issue(u, REJECTED, refusal)
                    continue
            start_state = state
            for u in updates:
                if u.state == state:
                    result.unchanged += 1
                    continue
                if state_at is not None and u.at < state_at:
                    older.append((pk, u))
                    continue
                try:
                    check_move(state, u.state, MoveSource.CENTRAL)
                except MoveRefused as exc:
                    result.rejected += 1
                    # The refusal names both states by their labels.
                    issue(u, REJECTED, exc.message)
                    continue
                events.append(
                    RecordEvent(
                        resident_id=pk,
                        from_state=state,
                        to_state=u.state,
                        at=u.at,
                        source=MoveSource.CENTRAL,
                        actor_id=user_id,
                        actor_label=label,
                    )
                )
                result.moved += 1
                state, state_at = u.state, u.at
            if state != start_state:
                assert state_at is not None
                moved.append((state, state_at, pk))
        if older:
            _sort_older(older, result, issue)
        if events:
            RecordEvent.objects.bulk_create(events, batch_size=1000)
        if moved:
            adapt = connection.ops.adapt_datetimefield_value
            with connection.cursor() as cursor:
                cursor.executemany(
                    f"UPDATE {Resident._meta.db_table} SET ktp_state = %s, ktp_state_at = %s, "
                    "updated_at = %s WHERE id = %s",
                    [(s, adapt(at), adapt(now), pk) for s, at, pk in moved],
                )
            records_moved_send(
                moves=[(pk, s, at) for s, at, pk in moved],
                source=MoveSource.CENTRAL,
                acting_user=acting_user,
                label=label,
            )


def _sort_older(
    older: list[tuple[int, StatusUpdate]],
    result: ApplyResult,
    issue: Callable[[StatusUpdate, str, str], None],
) -> None:
    applied = set(
        RecordEvent.objects.filter(
            resident_id__in={pk for pk, _ in older}, source=MoveSource.CENTRAL
        ).values_list("resident_id", "to_state", "at")
    )
    for pk, u in older:
        if (pk, u.state, u.at) in applied:
            result.unchanged += 1
        else:
            result.stale += 1
            issue(
                u,
                WARNING,
                f"diabaikan: pembaruan ke {state_label(u.state)} "
                f"({timezone.localtime(u.at):%d-%m-%Y %H:%M}) lebih lama dari status saat ini",
            )


# --- the central system's export file --------------------------------------------------------

STATUS_COLUMNS: dict[str, tuple[str, ...]] = {
    "nik": ("nik", "no_nik", "nomor_nik"),
    # The first spelling names the column to people (rekam.lib.tabular.column_label).
    "state": (
        "status",
        "state",
        "status_ktp",
        "status_ktp_el",
        "status_rekam",
        "status_record",
        "ktp_state",
        "record_status",
    ),
    "at": (
        "tanggal",
        "timestamp",
        "waktu",
        "tanggal_status",
        "tgl_status",
        "tanggal_update",
        "tgl_update",
        "updated_at",
        "last_update",
        "at",
    ),
}


class FileCentralSystem:
    """A status export from SIAK (CSV or XLSX): ``NIK, status, timestamp`` per row.

    :meth:`updates` yields one :class:`StatusUpdate` per valid row (with its line number) and
    keeps the rows it could not read in :attr:`rejections`; :attr:`rows_read` counts both.
    Timestamps take the date formats of :mod:`rekam.lib.dates` plus a time; a timestamp
    without a zone is Asia/Jakarta.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.name = f"import:{self.path.name}"
        self.rejections: list[RowIssue] = []
        self.rows_read = 0
        self.sha256 = ""

    def updates(self) -> Iterator[StatusUpdate]:
        self.rejections = []
        self.rows_read = 0
        with open_table(self.path, STATUS_COLUMNS, required=("nik", "state", "at")) as table:
            self.sha256 = table.sha256
            for line, row in table.rows():
                self.rows_read += 1
                update = self._parse(line, row)
                if update is not None:
                    yield update

    def _parse(self, line: int, row: dict[str, Any]) -> StatusUpdate | None:
        errors: list[str] = []
        raw_nik = row.get("nik", "")
        nik = str(raw_nik).strip()
        try:
            nik = clean_nik(raw_nik)
        except NikError as exc:
            errors.append(exc.message)
        raw_state = row.get("state", "")
        state = parse_ktp_state(raw_state)
        if state is None:
            errors.append(
                f"status tidak dikenali ({raw_state})" if raw_state != "" else "status kosong"
            )
        at: datetime | None = None
        try:
            at = parse_datetime(row.get("at", ""), label="waktu status")
        except DateError as exc:
            errors.append(exc.message)
        if errors or state is None or at is None:
            self.rejections.append(RowIssue(line, nik, REJECTED, "; ".join(errors)))
            return None
        return StatusUpdate(nik=nik, state=state, at=at, line=line)
