"""The demo's voter lists: a DPT built from the synthetic population, imported and reconciled.

Voters are the residents of the electing regencies/cities who must hold a KTP-el on polling day
(17 or older, or ever married), listed by village in TPS of at most :data:`TPS_SIZE` voters,
households together. As in real lists, about :data:`NOT_IN_REGISTRY_PER_MILLE` per thousand
voters are people the registry does not know, and about :data:`MANGLED_PER_MILLE` per
thousand NIKs arrive mangled (masked digits, a spreadsheet's scientific notation, a typo).
The file is written as KPU publishes it (title rows, KPU's headers, place names) and goes
through the real ``import_dpt`` and ``reconcile`` path. Everything follows from the seed and
the population, so building again changes nothing.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from rekam.elections.models import Election
from rekam.residents.eligibility import KTP_AGE
from rekam.residents.models import MaritalStatus, Resident

from . import bulk
from .importer import DptResult, dpt_import
from .models import DptImport, ReconciliationRun
from .reconcile import reconcile

TPS_SIZE = 500
NOT_IN_REGISTRY_PER_MILLE = 20
MANGLED_PER_MILLE = 15

HEADER = [
    "NO",
    "NKK",
    "NIK",
    "NAMA",
    "TEMPAT LAHIR",
    "TANGGAL LAHIR",
    "STATUS PERKAWINAN (B/S/P)",
    "JENIS KELAMIN (L/P)",
    "ALAMAT",
    "RT",
    "RW",
    "TPS",
    "KELURAHAN/DESA",
    "KECAMATAN",
    "KABUPATEN/KOTA",
]


@dataclass
class DemoVoters:
    election: Election
    path: Path
    rows: int
    imported: DptResult | None
    run: ReconciliationRun | None

    @property
    def reused(self) -> bool:
        return self.imported is None


def _write_file(election: Election, seed: int, path: Path) -> int:
    codes = sorted(election.regions.values_list("code", flat=True))
    marks = ", ".join(["%s"] * len(codes)) or "NULL"
    polling = election.polling_day
    table = Resident._meta.db_table
    with bulk.workspace("demo-dpt-") as (con, work):
        bulk.export(
            con,
            table="residents",
            sql=f"SELECT r.id, r.nik, r.kk_number, r.name, r.birth_place, r.birth_date, r.sex, "
            f"r.marital_status, r.street, r.rt, r.rw, r.village_id, v.name, d.name, g.name "
            f"FROM {table} r JOIN regions_region v ON v.code = r.village_id "
            f"JOIN regions_region d ON d.code = v.parent_id "
            f"JOIN regions_region g ON g.code = r.regency_id "
            f"WHERE r.regency_id IN ({marks}) AND r.citizenship = 'WNI'",
            params=codes,
            columns=[
                ("id", "BIGINT"),
                ("nik", "VARCHAR"),
                ("kk", "VARCHAR"),
                ("name", "VARCHAR"),
                ("birth_place", "VARCHAR"),
                ("birth_date", "DATE"),
                ("sex", "VARCHAR"),
                ("marital", "VARCHAR"),
                ("street", "VARCHAR"),
                ("rt", "VARCHAR"),
                ("rw", "VARCHAR"),
                ("village", "VARCHAR"),
                ("village_name", "VARCHAR"),
                ("district_name", "VARCHAR"),
                ("regency_name", "VARCHAR"),
            ],
            work=work,
        )
        single = MaritalStatus.SINGLE.value
        married = MaritalStatus.MARRIED.value
        polling_md = polling.strftime("%m-%d")
        con.execute(
            f"""
            CREATE TABLE voters AS
            WITH eligible AS (
                SELECT *, hash(nik || '{seed}') % 1000 AS luck,
                    year(DATE '{polling}') - year(birth_date)
                    - CASE WHEN strftime(birth_date, '%m-%d') > '{polling_md}' THEN 1 ELSE 0 END
                    AS age
                FROM residents
            ), listed AS (
                SELECT * FROM eligible WHERE age >= {KTP_AGE} OR marital <> '{single}'
            ), strangers AS (
                -- People the registry does not know: a new NIK in the same household's place.
                SELECT id + 1000000000 AS id,
                       substr(nik, 1, 12) || lpad(CAST(9000 + luck AS VARCHAR), 4, '0') AS nik,
                       kk, name_other AS name, birth_place, birth_date, sex, marital, street,
                       rt, rw, village, village_name, district_name, regency_name, 500 AS luck
                FROM (SELECT *, lead(name, 7, name) OVER (ORDER BY nik) AS name_other
                      FROM listed)
                WHERE luck < {NOT_IN_REGISTRY_PER_MILLE}
            ), everyone AS (
                SELECT id, nik, kk, name, birth_place, birth_date, sex, marital, street, rt, rw,
                       village, village_name, district_name, regency_name, luck
                FROM listed
                UNION ALL SELECT * FROM strangers
            ), placed AS (
                SELECT *,
                    row_number() OVER (PARTITION BY village ORDER BY rw, rt, kk, nik) - 1 AS k,
                    count(*) OVER (PARTITION BY village) AS n
                FROM everyone
            )
            SELECT *,
                1 + floor(k * ceil(n / {TPS_SIZE}) / n)::INTEGER AS tps,
                CASE
                    WHEN luck >= {1000 - MANGLED_PER_MILLE // 3}
                        THEN substr(nik, 1, 6) || '****' || substr(nik, 11)
                    WHEN luck >= {1000 - 2 * (MANGLED_PER_MILLE // 3)}
                        THEN printf('%.5E', CAST(nik AS DOUBLE))
                    WHEN luck >= {1000 - MANGLED_PER_MILLE}
                        THEN substr(nik, 1, 15)
                             || CAST((CAST(substr(nik, 16) AS INTEGER) + 1) % 10 AS VARCHAR)
                    ELSE nik
                END AS listed_nik
            FROM placed
            """
        )
        (rows,) = con.execute("SELECT count(*) FROM voters").fetchone() or (0,)
        path.parent.mkdir(parents=True, exist_ok=True)
        body = work / "body.csv"
        con.execute(
            f"""
            COPY (
                SELECT row_number() OVER (ORDER BY village, tps, rw, rt, kk, nik), kk,
                       listed_nik, name, birth_place, strftime(birth_date, '%d-%m-%Y'),
                       CASE marital WHEN '{single}' THEN 'B' WHEN '{married}' THEN 'S'
                            ELSE 'P' END,
                       sex, street, rt, rw, lpad(CAST(tps AS VARCHAR), 3, '0'),
                       village_name, district_name, regency_name
                FROM voters ORDER BY village, tps, rw, rt, kk, nik
            ) TO '{body}' (FORMAT csv, HEADER false)
            """
        )
        with path.open("w", newline="", encoding="utf-8") as out:
            out.write(f"DAFTAR PEMILIH TETAP (DPT) {election.name.upper()}\n")
            out.write("PROVINSI LAMPUNG\n\n")
            csv.writer(out).writerow(HEADER)
            with body.open() as src:
                while data := src.read(1 << 20):
                    out.write(data)
    return int(rows)


def voters_demo_build(*, election: Election, seed: int) -> DemoVoters:
    """Build, import and reconcile the demo voter list of ``election``; idempotent."""
    path = Path(settings.DATA_DIR) / "demo" / f"dpt-{election.slug}-s{seed}.csv"
    rows = _write_file(election, seed, path)
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    latest = (
        DptImport.objects.filter(election=election, finished_at__isnull=False)
        .order_by("-finished_at")
        .first()
    )
    done = (
        ReconciliationRun.objects.filter(election=election, status=ReconciliationRun.Status.DONE)
        .order_by("-finished_at")
        .first()
    )
    if (
        latest is not None
        and latest.sha256 == digest.hexdigest()
        and done is not None
        and done.finished_at
        and latest.finished_at
        and done.finished_at > latest.finished_at
    ):
        return DemoVoters(election=election, path=path, rows=rows, imported=None, run=None)
    imported = dpt_import(path=path, election=election)
    run = reconcile(election=election)
    return DemoVoters(election=election, path=path, rows=rows, imported=imported, run=run)
