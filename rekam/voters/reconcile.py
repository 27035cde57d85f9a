"""Reconciling an election's voter list with the registry: who has not recorded, who has no
card yet, who is not in the registry at all, and where they live.

Every voter gets one class, by NIK (or by a candidate match a person confirmed):
``CARD_PRINTED``, ``PRR_NOT_PRINTED``, ``RECORDED_NOT_PRR`` (with the central state),
``NOT_RECORDED``, ``NOT_IN_REGISTRY`` or ``NIK_INVALID``; and two flags: first-time voter
(``rekam.residents.eligibility`` by polling day) and a Suket that expires before polling day.
For ``NOT_IN_REGISTRY`` and ``NIK_INVALID`` voters, residents with the same normalised name,
birth date and village are proposed as candidate matches; nothing is merged automatically.

The join runs in DuckDB on the registry and the voters read in bulk from the database; only
verdicts that changed since the last run are written back, with the counts per TPS that the
pages and the other modules read (:mod:`rekam.voters.worklists`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.utils import timezone

from rekam.accounts.access import Action, can, region_scope, require
from rekam.audit.services import audit_record
from rekam.elections.models import Election
from rekam.residents.eligibility import ELECTION_CYCLE_YEARS, KTP_AGE
from rekam.residents.models import Resident
from rekam.residents.states import KtpState
from rekam.suket.models import Suket

from . import bulk
from .models import CandidateMatch, ReconciliationRun, Voter, VoterCheck, WorklistCount
from .signals import reconciled

_VOTERS = Voter._meta.db_table
_CHECKS = VoterCheck._meta.db_table
_COUNTS = WorklistCount._meta.db_table
_CANDIDATES = CandidateMatch._meta.db_table
_RESIDENTS = Resident._meta.db_table
_SUKETS = Suket._meta.db_table

# A run that has not reported progress for this long is taken to have died.
STALE_AFTER = timedelta(minutes=30)
STAGES = 6

_NORM = (
    "CREATE OR REPLACE MACRO norm_name(s) AS "
    "trim(regexp_replace(regexp_replace(upper(s), '[^A-Z ]', ' ', 'g'), ' +', ' ', 'g'))"
)
_CHECK_FIELDS = (
    "voter_id",
    "klass",
    "ktp_state",
    "resident_id",
    "via_match",
    "first_time",
    "suket_until",
)


class ReconcileRefused(Exception):
    """A reconciliation that cannot start; ``message`` is for the person."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def scope_regencies(
    election: Election, acting_user: Any, wanted: Sequence[str] | None
) -> list[str]:
    """The election's regencies/cities a run for ``acting_user`` covers (``wanted`` or all
    of them in the user's jurisdiction)."""
    codes = sorted(election.regions.values_list("code", flat=True))
    if wanted:
        unknown = sorted(set(wanted) - set(codes))
        if unknown:
            raise ReconcileRefused(
                f"kabupaten/kota {', '.join(unknown)} tidak mengadakan {election.name}"
            )
        codes = sorted(set(wanted))
    if acting_user is None:
        return codes
    outside = [c for c in codes if not can(acting_user, Action.RECONCILE, c)]
    if wanted and outside:
        require(acting_user, Action.RECONCILE, outside[0])
    mine = [c for c in codes if c not in outside]
    if not mine:
        raise PermissionDenied(
            "Tidak ada kabupaten/kota pemilihan ini di wilayah kerja Anda."
            if region_scope(acting_user) is not None
            else "Anda tidak berwenang."
        )
    return mine


def _active(election: Election) -> ReconciliationRun | None:
    fresh = timezone.now() - STALE_AFTER
    return (
        ReconciliationRun.objects.filter(
            election=election,
            status__in=[ReconciliationRun.Status.QUEUED, ReconciliationRun.Status.RUNNING],
            updated_at__gte=fresh,
        )
        .order_by("-created_at")
        .first()
    )


def reconciliation_start(
    *, election: Election, acting_user: Any = None, regencies: Sequence[str] | None = None
) -> ReconciliationRun:
    """Record a run to be carried out (by :func:`reconciliation_run`, in a task or a command).

    Refused while another run of the same election is queued or running.
    """
    if acting_user is not None:
        require(acting_user, Action.RECONCILE)
    codes = scope_regencies(election, acting_user, regencies)
    with transaction.atomic():
        # Serialises starts of the same election (PostgreSQL; SQLite's writes are serial).
        Election.objects.select_for_update().filter(pk=election.pk).first()
        running = _active(election)
        if running is not None:
            raise ReconcileRefused(
                f"Pencocokan pemilihan ini sedang berjalan (#{running.pk}); tunggu sampai selesai."
            )
        run = ReconciliationRun.objects.create(
            election=election,
            regencies=codes,
            acting_user=acting_user if getattr(acting_user, "pk", None) else None,
        )
        audit_record(
            acting_user=acting_user,
            action="reconciliation.start",
            obj=run,
            changes={"regencies": [None, codes]},
        )
    return run


def _progress(run: ReconciliationRun, stage: str, done: int, **fields: Any) -> None:
    """Written at once (its own statement, outside the run's write transaction)."""
    run.stage, run.done, run.total = stage, done, STAGES
    for name, value in fields.items():
        setattr(run, name, value)
    ReconciliationRun.objects.filter(pk=run.pk).update(
        stage=stage, done=done, total=STAGES, updated_at=timezone.now(), **fields
    )


def reconciliation_run(
    *, run: ReconciliationRun, on_stage: Callable[[str], None] | None = None
) -> ReconciliationRun:
    """Carry out a recorded run; its status, progress and totals are kept on ``run``."""
    say = on_stage or (lambda text: None)
    claimed = ReconciliationRun.objects.filter(
        pk=run.pk, status=ReconciliationRun.Status.QUEUED
    ).update(status=ReconciliationRun.Status.RUNNING, started_at=timezone.now())
    if not claimed:
        raise ReconcileRefused(f"Pencocokan #{run.pk} sudah dijalankan.")
    run.refresh_from_db()
    try:
        _carry_out(run, say)
    except Exception as exc:
        message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
        _progress(
            run,
            run.stage,
            run.done,
            status=ReconciliationRun.Status.FAILED,
            error=str(message)[:500],
            finished_at=timezone.now(),
        )
        raise
    return run


def reconcile(
    *,
    election: Election,
    acting_user: Any = None,
    regencies: Sequence[str] | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> ReconciliationRun:
    """Start and carry out a run at once (the ``reconcile`` command, the demo)."""
    run = reconciliation_start(election=election, acting_user=acting_user, regencies=regencies)
    return reconciliation_run(run=run, on_stage=on_stage)


def _carry_out(run: ReconciliationRun, say: Callable[[str], None]) -> None:
    election = run.election
    codes = list(run.regencies)
    marks = ", ".join(["%s"] * len(codes)) or "NULL"
    with bulk.workspace("reconcile-") as (con, work):
        con.execute(_NORM)

        def stage(text: str, done: int) -> None:
            say(text)
            _progress(run, text, done)

        stage("membaca data penduduk", 0)
        bulk.export(
            con,
            table="registry",
            sql=f"SELECT id, nik, ktp_state, name_key, birth_date, village_id FROM {_RESIDENTS}",
            params=[],
            columns=[
                ("id", "BIGINT"),
                ("nik", "VARCHAR"),
                ("ktp_state", "VARCHAR"),
                ("name_key", "VARCHAR"),
                ("birth_date", "DATE"),
                ("village_id", "VARCHAR"),
            ],
            work=work,
        )
        stage("membaca daftar pemilih", 1)
        voters = bulk.export(
            con,
            table="voters",
            sql=f"SELECT id, nik, nik_problem, name_key, birth_date, marital, regency_id, "
            f"district_id, village_id, tps FROM {_VOTERS} WHERE election_id = %s "
            f"AND removed_in_id IS NULL AND regency_id IN ({marks})",
            params=[election.pk, *codes],
            columns=[
                ("id", "BIGINT"),
                ("nik", "VARCHAR"),
                ("nik_problem", "VARCHAR"),
                ("name_key", "VARCHAR"),
                ("birth_date", "DATE"),
                ("marital", "VARCHAR"),
                ("regency_id", "VARCHAR"),
                ("district_id", "VARCHAR"),
                ("village_id", "VARCHAR"),
                ("tps", "VARCHAR"),
            ],
            work=work,
        )
        _export_small(con, election, codes, marks, work)
        stage("mencocokkan", 2)
        _classify(con, election)
        stage("mencari kandidat kecocokan", 3)
        _candidates(con)
        stage("menyimpan hasil", 4)
        now = timezone.now()
        with transaction.atomic():
            changed = _store(con, run, codes, marks, work, now)
            # Before the counts' reset (a receiver) reads the verdicts just written.
            bulk.analyze(_CHECKS, _CANDIDATES, _COUNTS)
            reconciled.send(
                sender=ReconciliationRun,
                election=election,
                regencies=codes,
                read_from=run.started_at,
            )
            totals = _totals(con)
            (found,) = con.execute("SELECT count(*) FROM candidates").fetchone() or (0,)
            _progress(
                run,
                "selesai",
                STAGES,
                status=ReconciliationRun.Status.DONE,
                finished_at=timezone.now(),
                voters=voters,
                changed=changed,
                candidates=int(found),
                totals=totals,
            )
            audit_record(
                acting_user=run.acting_user,
                action="reconciliation.finish",
                obj=run,
                changes={"changed": [0, changed], "candidates": [0, int(found)]},
            )
        say("selesai")


def _export_small(
    con: duckdb.DuckDBPyConnection, election: Election, codes: list[str], marks: str, work: Path
) -> None:
    bulk.export(
        con,
        table="confirmed",
        sql=f"SELECT voter_id, resident_id FROM {_CANDIDATES} "
        "WHERE election_id = %s AND status = %s",
        params=[election.pk, CandidateMatch.Status.CONFIRMED],
        columns=[("voter_id", "BIGINT"), ("resident_id", "BIGINT")],
        work=work,
    )
    bulk.export(
        con,
        table="pairs",
        sql=f"SELECT voter_id, resident_id FROM {_CANDIDATES} WHERE election_id = %s",
        params=[election.pk],
        columns=[("voter_id", "BIGINT"), ("resident_id", "BIGINT")],
        work=work,
    )
    bulk.export(
        con,
        table="sukets",
        sql=f"SELECT resident_id, max(valid_until) FROM {_SUKETS} "
        "WHERE revoked_at IS NULL GROUP BY resident_id",
        params=[],
        columns=[("resident_id", "BIGINT"), ("valid_until", "DATE")],
        work=work,
    )
    columns = "c.voter_id, c.klass, c.ktp_state, c.resident_id, c.via_match, c.first_time, "
    everywhere = set(codes) >= set(election.regions.values_list("code", flat=True))
    bulk.export(
        con,
        table="existing",
        # A run over all the election's regions needs no join to find its voters' verdicts.
        sql=f"SELECT {columns} c.suket_until FROM {_CHECKS} c WHERE c.election_id = %s"
        if everywhere
        else f"SELECT {columns} c.suket_until FROM {_CHECKS} c "
        f"JOIN {_VOTERS} v ON v.id = c.voter_id "
        f"WHERE c.election_id = %s AND v.regency_id IN ({marks})",
        params=[election.pk] if everywhere else [election.pk, *codes],
        columns=[
            ("voter_id", "BIGINT"),
            ("klass", "VARCHAR"),
            ("ktp_state", "VARCHAR"),
            ("resident_id", "BIGINT"),
            ("via_match", "BOOLEAN"),
            ("first_time", "BOOLEAN"),
            ("suket_until", "DATE"),
        ],
        work=work,
    )


def _classify(con: duckdb.DuckDBPyConnection, election: Election) -> None:
    polling = election.polling_day.isoformat()
    first_time_age = KTP_AGE + ELECTION_CYCLE_YEARS
    con.execute(
        f"""
        CREATE TABLE verdicts AS
        WITH by_nik AS (
            SELECT v.id AS voter_id, r.id AS rid, r.ktp_state AS state
            FROM voters v JOIN registry r ON r.nik = v.nik
            WHERE v.nik_problem = ''
        ), by_match AS (
            SELECT m.voter_id, r.id AS rid, r.ktp_state AS state
            FROM confirmed m JOIN registry r ON r.id = m.resident_id
        ), j AS (
            SELECT v.id, v.nik_problem, v.birth_date, v.marital,
                   coalesce(bm.rid, bn.rid) AS rid, coalesce(bm.state, bn.state) AS state,
                   bm.rid IS NOT NULL AS via_match,
                   year(DATE '{polling}') - year(v.birth_date)
                   - CASE WHEN strftime(v.birth_date, '%m-%d') > '{polling[5:]}' THEN 1 ELSE 0
                     END AS age
            FROM voters v
            LEFT JOIN by_match bm ON bm.voter_id = v.id
            LEFT JOIN by_nik bn ON bn.voter_id = v.id
        ), k AS (
            SELECT j.*, CASE
                WHEN rid IS NULL AND nik_problem <> '' THEN 'NIK_INVALID'
                WHEN rid IS NULL THEN 'NOT_IN_REGISTRY'
                WHEN state = '{KtpState.CARD_PRINTED}' THEN 'CARD_PRINTED'
                WHEN state = '{KtpState.PRINT_READY_RECORD}' THEN 'PRR_NOT_PRINTED'
                WHEN state = '{KtpState.BELUM_REKAM}' THEN 'NOT_RECORDED'
                ELSE 'RECORDED_NOT_PRR' END AS klass
            FROM j
        )
        SELECT k.id AS voter_id, klass, coalesce(state, '') AS ktp_state, rid AS resident_id,
               via_match,
               (age >= {KTP_AGE} OR marital IN ('S', 'P')) AND age < {first_time_age}
                   AS first_time,
               CASE WHEN s.valid_until < DATE '{polling}' AND klass <> 'CARD_PRINTED'
                    THEN s.valid_until END AS suket_until
        FROM k LEFT JOIN sukets s ON s.resident_id = k.rid
        """
    )


def _candidates(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        """
        CREATE TABLE candidates AS
        WITH u AS (
            SELECT v.id, v.birth_date, v.village_id, norm_name(v.name_key) AS name
            FROM verdicts n JOIN voters v ON v.id = n.voter_id
            WHERE n.klass IN ('NOT_IN_REGISTRY', 'NIK_INVALID') AND NOT n.via_match
        ), near AS (
            SELECT r.id, r.birth_date, r.village_id, norm_name(r.name_key) AS name
            FROM registry r
            SEMI JOIN (SELECT DISTINCT birth_date, village_id FROM u) k
                 ON k.birth_date = r.birth_date AND k.village_id = r.village_id
        )
        SELECT DISTINCT u.id AS voter_id, near.id AS resident_id
        FROM u JOIN near ON near.birth_date = u.birth_date AND near.village_id = u.village_id
             AND near.name = u.name
        ANTI JOIN pairs p ON p.voter_id = u.id AND p.resident_id = near.id
        """
    )


def _store(
    con: duckdb.DuckDBPyConnection,
    run: ReconciliationRun,
    codes: list[str],
    marks: str,
    work: Path,
    now: Any,
) -> int:
    """Write the verdicts that changed, new candidates and the counts; returns the changes."""
    differs = " OR ".join(f"n.{f} IS DISTINCT FROM e.{f}" for f in _CHECK_FIELDS[1:])
    con.execute(
        f"""
        CREATE TABLE delta AS
        SELECT n.*, e.voter_id IS NOT NULL AS existed
        FROM verdicts n LEFT JOIN existing e ON e.voter_id = n.voter_id
        WHERE e.voter_id IS NULL OR {differs}
        """
    )
    con.execute(
        """
        CREATE TABLE gone AS
        SELECT voter_id FROM delta WHERE existed
        UNION ALL
        SELECT voter_id FROM existing ANTI JOIN verdicts USING (voter_id)
        """
    )
    bulk.run_with_ids(
        con,
        query="SELECT voter_id FROM gone",
        statement=f"DELETE FROM {_CHECKS} WHERE voter_id IN (SELECT id FROM bulk_rows)",
        work=work,
        temp_columns=[("id", "bigint")],
    )
    election_id, run_id = int(run.election_id), int(run.pk)
    changed = bulk.load(
        con,
        query=f"SELECT voter_id, {election_id}, {run_id}, klass, ktp_state, resident_id, "
        "via_match, first_time, CAST(suket_until AS VARCHAR) FROM delta ORDER BY voter_id",
        table=_CHECKS,
        columns=[
            "voter_id",
            "election_id",
            "run_id",
            "klass",
            "ktp_state",
            "resident_id",
            "via_match",
            "first_time",
            "suket_until",
        ],
        work=work,
    )
    stamp = str(connection.ops.adapt_datetimefield_value(now))
    bulk.load(
        con,
        query=f"SELECT {election_id}, voter_id, resident_id, {run_id}, 'proposed', "
        f"'{stamp}', '' FROM candidates",
        table=_CANDIDATES,
        columns=[
            "election_id",
            "voter_id",
            "resident_id",
            "found_in_id",
            "status",
            "created_at",
            "reason",
        ],
        work=work,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {_COUNTS} WHERE election_id = %s AND regency_id IN ({marks})",
            [election_id, *codes],
        )
    bulk.load(
        con,
        query=f"""
            SELECT {election_id}, {run_id}, v.regency_id, v.district_id, v.village_id, v.tps,
                   n.klass, n.ktp_state, n.first_time, n.suket_until IS NOT NULL, count(*)
            FROM verdicts n JOIN voters v ON v.id = n.voter_id
            GROUP BY ALL
        """,
        table=_COUNTS,
        columns=[
            "election_id",
            "run_id",
            "regency_id",
            "district_id",
            "village_id",
            "tps",
            "klass",
            "ktp_state",
            "first_time",
            "suket_expiring",
            "voters",
        ],
        work=work,
    )
    return changed


def _totals(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    totals = {
        k: int(n)
        for k, n in con.execute("SELECT klass, count(*) FROM verdicts GROUP BY klass").fetchall()
    }
    row = con.execute(
        "SELECT count(*) FILTER (WHERE first_time), "
        "count(*) FILTER (WHERE suket_until IS NOT NULL) FROM verdicts"
    ).fetchone()
    assert row is not None
    totals["first_time"], totals["suket_expiring"] = int(row[0]), int(row[1])
    return totals
