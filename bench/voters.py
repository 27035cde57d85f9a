"""Voter list benchmark: ``python -m bench voters [--scale S] [--database-url URL]``.

At ``--scale 1`` Lampung's numbers: a registry of 9.1 M residents and a DPT of 3.9 M voters
(Pilkada 2020). Generates both as CSV files with DuckDB (deterministic, cached under
``var/bench/``): the registry in the layout of the residents table (NIKs valid for Lampung's
villages, KTP-el states), the DPT as KPU publishes it (title rows, KPU headers, place names,
TPS of at most 500 voters) with 2 % voters unknown to the registry and 1.5 % mangled NIKs.

Untimed: a fresh database (PostgreSQL by default, in a database this creates; ``--sqlite``
for a SQLite file), migrated, regions loaded, an election in all 15 regencies/cities, and the
registry loaded with the database's bulk path.

Timed, in this order:

- the bare join: DuckDB (same thread count as the app) reads both CSV files, left-joins the
  DPT to the registry on NIK and counts voters per class;
- ``rekam import_dpt`` of the DPT and then ``rekam reconcile``, each as a child process,
  end to end (Django start-up included);
- with ``--rerun``, both commands again (nothing changed: nothing is written);
- on PostgreSQL, the floors: the database work any design that keeps the voter list and the
  verdicts in the database must do, whatever runs around it. The voters and verdicts the
  commands stored are copied out (untimed) and loaded back by ``COPY`` into a bare table (no
  key, no index) and into a table shaped like the live one (its key and index); the registry's
  NIKs and states are read out by ``COPY``, as the reconciliation must.

Prints each time, the ratio (import + reconcile) / bare join, and the peak memory
(``ru_maxrss``) of this process (the bare join) and of the largest child (the commands).
The database server's own memory is not included.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import duckdb

PROJECT = Path(__file__).resolve().parent.parent
REGIONS = PROJECT / "data" / "regions" / "lampung"
WORK = PROJECT / "var" / "bench"
REKAM = [sys.executable, "-m", "rekam"]
GENERATOR_VERSION = 1
REGISTRY_ROWS = 9_100_000
DPT_ROWS = 3_900_000
ELECTION = "bench-voters"
DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432"
DB_NAME = "rekam_bench_voters"

REGISTRY_COLUMNS = [
    "nik",
    "kk_number",
    "name",
    "name_key",
    "birth_place",
    "birth_date",
    "sex",
    "religion",
    "marital_status",
    "occupation",
    "citizenship",
    "village_id",
    "regency_id",
    "rt",
    "rw",
    "street",
    "phone",
    "whatsapp_consent",
    "whatsapp_consent_source",
    "ktp_state",
    "created_at",
    "updated_at",
]
FIRST = [
    "AGUS", "BUDI", "DEDI", "EKO", "FAJAR", "HENDRA", "IWAN", "JOKO", "SLAMET", "RAHMAT",
    "SITI", "SRI", "DEWI", "RINA", "ANI", "YUNI", "WATI", "NUR", "LESTARI", "RATNA",
]  # fmt: skip
FAMILY = [
    "SAPUTRA", "SUSANTO", "WIJAYA", "HIDAYAT", "SETIAWAN", "PRATAMA", "KUSUMA", "NUGROHO",
    "SANTOSO", "PURNOMO", "RAHMAN", "HAKIM", "SIREGAR", "HARAHAP", "NASUTION", "LUBIS",
]  # fmt: skip


def _duck() -> duckdb.DuckDBPyConnection:
    return duckdb.connect(config={"threads": 2, "memory_limit": "2GB"})


def generate(scale: float, seed: int) -> tuple[Path, Path, int, int]:
    """The registry and DPT files for ``scale`` (made once, then reused)."""
    n_registry = max(1_000, round(REGISTRY_ROWS * scale))
    share = DPT_ROWS / REGISTRY_ROWS
    stem = f"voters-v{GENERATOR_VERSION}-s{scale:g}-seed{seed}"
    registry = WORK / f"{stem}-registry.csv"
    dpt = WORK / f"{stem}-dpt.csv"
    if registry.exists() and dpt.exists():
        con = _duck()
        (n_dpt,) = con.execute(f"SELECT count(*) FROM read_csv('{dpt}', skip=3)").fetchone() or (0,)
        con.close()
        return registry, dpt, n_registry, int(n_dpt)
    WORK.mkdir(parents=True, exist_ok=True)
    con = _duck()
    con.execute(
        f"""
        CREATE TABLE villages AS
        SELECT v.code, v.district_code, v.name AS village_name, d.name AS district_name,
               r.official_name AS regency_name, row_number() OVER (ORDER BY v.code) - 1 AS vi
        FROM read_csv('{REGIONS / "lampung_villages.csv"}') v
        JOIN read_csv('{REGIONS / "lampung_districts.csv"}') d ON d.code = v.district_code
        JOIN read_csv('{REGIONS / "lampung_regencies.csv"}') r ON r.code = d.regency_code
        """
    )
    (n_villages,) = con.execute("SELECT count(*) FROM villages").fetchone() or (1,)
    firsts = "[" + ", ".join(f"'{n}'" for n in FIRST) + "]"
    families = "[" + ", ".join(f"'{n}'" for n in FAMILY) + "]"
    states = (
        "CASE WHEN h % 100 < 3 THEN 'BELUM_REKAM' WHEN h % 100 < 5 THEN 'SENT_FOR_ENROLLMENT' "
        "WHEN h % 100 < 9 THEN 'PRINT_READY_RECORD' ELSE 'CARD_PRINTED' END"
    )
    con.execute(
        f"""
        CREATE TABLE people AS
        WITH base AS (
            SELECT i, hash(i, {seed}) AS h,
                   DATE '1940-01-01' + CAST(hash(i, {seed} + 1) % 29000 AS INTEGER) AS birth,
                   CASE WHEN hash(i, {seed} + 2) % 2 = 0 THEN 'L' ELSE 'P' END AS sex,
                   hash(i, {seed} + 3) % {n_villages} AS vi
            FROM range({n_registry}) t(i)
        )
        SELECT b.*, v.code AS village, v.district_code, substr(v.code, 1, 5) AS regency,
               v.village_name, v.district_name, v.regency_name,
               replace(v.district_code, '.', '')
               || lpad(CAST(day(birth) + CASE WHEN sex = 'P' THEN 40 ELSE 0 END AS VARCHAR),
                       2, '0')
               || strftime(birth, '%m%y')
               || lpad(CAST(row_number() OVER (PARTITION BY v.district_code, birth, sex
                                               ORDER BY i) AS VARCHAR), 4, '0') AS nik,
               {firsts}[1 + CAST(h % {len(FIRST)} AS INTEGER)] || ' '
               || {families}[1 + CAST((h // 100) % {len(FAMILY)} AS INTEGER)] AS name,
               {states} AS ktp_state
        FROM base b JOIN villages v ON v.vi = b.vi
        """
    )
    con.execute(
        f"""
        COPY (
            SELECT nik, replace(district_code, '.', '') || '0101200001' AS kk_number, name,
                   name AS name_key, 'LAMPUNG' AS birth_place, birth AS birth_date, sex,
                   'ISLAM' AS religion,
                   CASE WHEN birth < DATE '1998-01-01' THEN 'KAWIN' ELSE 'BELUM KAWIN' END,
                   '' AS occupation, 'WNI' AS citizenship, village AS village_id,
                   regency AS regency_id, '001' AS rt, '002' AS rw, 'JL. MERDEKA' AS street,
                   '' AS phone, false, '', ktp_state,
                   '2020-11-01 00:00:00+00' AS created_at, '2020-11-01 00:00:00+00'
            FROM people ORDER BY nik
        ) TO '{registry}' (FORMAT csv, HEADER true)
        """
    )
    keep = round(1000 * share)
    con.execute(
        f"""
        CREATE TABLE listed AS
        WITH chosen AS (
            SELECT *, hash(i, {seed} + 7) % 1000 AS luck FROM people
            WHERE hash(i, {seed} + 5) % 1000 < {keep}
        ), strangers AS (
            SELECT * REPLACE (substr(nik, 1, 12) || '9' || substr(nik, 14) AS nik,
                              500 AS luck)
            FROM chosen WHERE luck < 20
        )
        SELECT * FROM chosen UNION ALL SELECT * FROM strangers
        """
    )
    body = WORK / f"{stem}-dpt.body"
    con.execute(
        f"""
        COPY (
            SELECT row_number() OVER (ORDER BY village, nik),
                   replace(district_code, '.', '') || '0101200001',
                   CASE WHEN luck >= 995 THEN substr(nik, 1, 6) || '****' || substr(nik, 11)
                        WHEN luck >= 990 THEN printf('%.5E', CAST(nik AS DOUBLE))
                        WHEN luck >= 985 THEN substr(nik, 1, 15)
                             || CAST((CAST(substr(nik, 16) AS INTEGER) + 1) % 10 AS VARCHAR)
                        ELSE nik END,
                   name, 'LAMPUNG', strftime(birth, '%d-%m-%Y'),
                   CASE WHEN birth < DATE '1998-01-01' THEN 'S' ELSE 'B' END, sex,
                   'JL. MERDEKA', '1', '2',
                   lpad(CAST(1 + (row_number() OVER (PARTITION BY village ORDER BY nik) - 1)
                             // 480 AS VARCHAR), 3, '0'),
                   village_name, district_name, regency_name
            FROM listed ORDER BY village, nik
        ) TO '{body}' (FORMAT csv, HEADER false)
        """
    )
    (n_dpt,) = con.execute("SELECT count(*) FROM listed").fetchone() or (0,)
    con.close()
    with dpt.open("w", encoding="utf-8") as out, body.open() as src:
        out.write("DAFTAR PEMILIH TETAP (DPT) PEMILIHAN SERENTAK 2020\nPROVINSI LAMPUNG\n\n")
        out.write(
            "NO,NKK,NIK,NAMA,TEMPAT LAHIR,TANGGAL LAHIR,KAWIN,JENIS KELAMIN,ALAMAT,RT,RW,TPS,"
            "KELURAHAN,KECAMATAN,KABUPATEN/KOTA\n"
        )
        while data := src.read(1 << 20):
            out.write(data)
    body.unlink()
    return registry, dpt, n_registry, int(n_dpt)


def bare_join(registry: Path, dpt: Path) -> tuple[float, dict[str, int]]:
    started = time.perf_counter()
    con = _duck()
    rows = con.execute(
        f"""
        SELECT CASE WHEN r.nik IS NULL THEN 'NOT_IN_REGISTRY'
                    WHEN r.ktp_state = 'CARD_PRINTED' THEN 'CARD_PRINTED'
                    WHEN r.ktp_state = 'PRINT_READY_RECORD' THEN 'PRR_NOT_PRINTED'
                    WHEN r.ktp_state = 'BELUM_REKAM' THEN 'NOT_RECORDED'
                    ELSE 'RECORDED_NOT_PRR' END AS klass, count(*)
        FROM read_csv('{dpt}', skip=3, header=true, all_varchar=true) d
        LEFT JOIN read_csv('{registry}', header=true, all_varchar=true) r ON r.nik = d.NIK
        GROUP BY ALL
        """
    ).fetchall()
    con.close()
    return time.perf_counter() - started, {k: int(n) for k, n in rows}


def _env(url: str) -> dict[str, str]:
    env = dict(os.environ)
    env["DATABASE_URL"] = url
    env["REKAM_DATA_DIR"] = str(WORK / "voters-data")
    return env


_SETUP = f"""
import django
django.setup()
from datetime import date
from pathlib import Path
from django.conf import settings
from django.core.management import call_command
from rekam.elections.loader import election_ensure, read_election_regions
from rekam.regions.loader import load_province
call_command("migrate", verbosity=0)
load_province(Path(settings.REGION_DATA_DIR) / "lampung")
election_ensure(
    slug="{ELECTION}", name="Benchmark", polling_day=date(2020, 12, 9),
    suket_issue_until=date(2020, 12, 9), suket_valid_until=date(2020, 12, 31),
    regions=read_election_regions(),
)
"""


def prepare_database(url: str, registry: Path) -> None:
    """A fresh database with the regions, the election and the registry (untimed)."""
    if url.startswith("sqlite"):
        path = Path(urlsplit(url).path)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        import psycopg

        parts = urlsplit(url)
        admin = urlunsplit(parts._replace(path="/postgres"))
        with psycopg.connect(admin, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{parts.path[1:]}" WITH (FORCE)')
            c.execute(f'CREATE DATABASE "{parts.path[1:]}"')
    env = _env(url)
    env["DJANGO_SETTINGS_MODULE"] = "rekam.settings"
    subprocess.run([sys.executable, "-c", _SETUP], env=env, check=True, cwd=PROJECT)
    cols = ", ".join(REGISTRY_COLUMNS)
    if url.startswith("sqlite"):
        import sqlite3

        con = _duck()
        db = sqlite3.connect(urlsplit(url).path)
        marks = ", ".join(["?"] * len(REGISTRY_COLUMNS))
        result = con.execute(
            f"SELECT * REPLACE (CAST(birth_date AS VARCHAR) AS birth_date) "
            f"FROM read_csv('{registry}', header=true)"
        )
        while rows := result.fetchmany(100_000):
            db.executemany(f"INSERT INTO residents_resident ({cols}) VALUES ({marks})", rows)
        db.commit()
        db.execute("ANALYZE")
        db.close()
        con.close()
        return
    import psycopg

    with psycopg.connect(url, autocommit=True) as c:
        with (
            c.cursor() as cur,
            cur.copy(
                f"COPY residents_resident ({cols}) FROM STDIN (FORMAT csv, HEADER true)"
            ) as copy,
            registry.open("rb") as f,
        ):
            while data := f.read(1 << 20):
                copy.write(data)
        c.execute("VACUUM ANALYZE")


def reuse_database(url: str, n_registry: int) -> bool:
    """Empty the voter list of an earlier run's database whose registry holds ``n_registry``
    residents; False (nothing done) when there is no such database."""
    if url.startswith("sqlite"):
        return False
    import psycopg

    try:
        with psycopg.connect(url, autocommit=True) as c:
            (count,) = c.execute("SELECT count(*) FROM residents_resident").fetchone() or (0,)
            if count != n_registry:
                return False
            c.execute(
                "TRUNCATE voters_voter, voters_votercheck, voters_worklistcount, "
                "voters_candidatematch, voters_reconciliationrun, voters_dptimport CASCADE"
            )
            c.execute("VACUUM ANALYZE")
    except psycopg.Error:
        return False
    return True


def timed(label: str, command: list[str], url: str) -> float:
    started = time.perf_counter()
    subprocess.run(command, env=_env(url), check=True, cwd=PROJECT, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    print(f"  {label:<28} {seconds:8.1f} s")
    return seconds


def _copy_seconds(cursor: Any, statement: str, source: Path) -> float:
    started = time.perf_counter()
    with cursor.copy(statement) as copy, source.open("rb") as f:
        while data := f.read(1 << 20):
            copy.write(data)
    return time.perf_counter() - started


def floors(url: str, join_s: float) -> float:
    """Time the database work the stored voter list needs (see the module docstring); prints
    each as a ratio to the bare join and returns the sum of the live-table floors."""
    import psycopg

    dump = WORK / "floor-rows.csv"
    live_total = 0.0
    with psycopg.connect(url, autocommit=True) as c, c.cursor() as cur:
        for table in ("voters_voter", "voters_votercheck"):
            with dump.open("wb") as out, cur.copy(f"COPY {table} TO STDOUT") as copy:
                for data in copy:
                    out.write(data)
            (rows,) = cur.execute(f"SELECT count(*) FROM {table}").fetchone() or (0,)
            for shape, like in (
                ("a bare table", ""),
                ("a table like the live one", " INCLUDING ALL"),
            ):
                cur.execute(
                    f"DROP TABLE IF EXISTS bench_floor; CREATE TABLE bench_floor "
                    f"(LIKE {table}{like})"
                )
                seconds = _copy_seconds(cur, "COPY bench_floor FROM STDIN", dump)
                cur.execute("DROP TABLE bench_floor")
                label = f"COPY {rows:,} rows of {table} into {shape}"
                print(f"  {label:<66} {seconds:6.1f} s = {seconds / join_s:5.2f} x the join")
                if like:
                    live_total += seconds
        dump.unlink()
        started = time.perf_counter()
        with cur.copy("COPY (SELECT id, nik, ktp_state FROM residents_resident) TO STDOUT") as copy:
            for _ in copy:
                pass
        seconds = time.perf_counter() - started
        live_total += seconds
        label = "COPY the registry's ids, NIKs and states out"
        print(f"  {label:<66} {seconds:6.1f} s = {seconds / join_s:5.2f} x the join")
    print(
        f"  {'floors with the live tables, together':<66} {live_total:6.1f} s = "
        f"{live_total / join_s:5.2f} x the join"
    )
    return live_total


def _mb(kilobytes: int) -> str:
    return f"{kilobytes / 1024:,.0f} MB"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench voters",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--scale", type=float, default=0.1, help="1 = 9.1 M residents, 3.9 M voters"
    )
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument(
        "--database-url",
        help=f"PostgreSQL server or database URL (default {DEFAULT_POSTGRES}/{DB_NAME}; "
        "the database is dropped and created)",
    )
    parser.add_argument("--sqlite", action="store_true", help="a SQLite file instead")
    parser.add_argument("--rerun", action="store_true", help="also time both commands again")
    parser.add_argument(
        "--reuse-database",
        action="store_true",
        help="PostgreSQL: keep the database of an earlier run when its registry is complete "
        "(its voter list and reconciliations are emptied), instead of loading it again",
    )
    args = parser.parse_args(argv)
    if args.sqlite:
        url = f"sqlite:///{WORK / 'voters-bench.sqlite3'}"
    else:
        url = args.database_url or f"{DEFAULT_POSTGRES}/{DB_NAME}"
        if urlsplit(url).path in {"", "/"}:
            url = url.rstrip("/") + f"/{DB_NAME}"
    started = time.perf_counter()
    registry, dpt, n_registry, n_dpt = generate(args.scale, args.seed)
    print(
        f"Voter list: scale {args.scale:g}: registry {n_registry:,} residents "
        f"({registry.stat().st_size / 1e6:,.0f} MB), DPT {n_dpt:,} voters "
        f"({dpt.stat().st_size / 1e6:,.0f} MB); files ready in "
        f"{time.perf_counter() - started:.0f} s"
    )
    started = time.perf_counter()
    if not (args.reuse_database and reuse_database(url, n_registry)):
        prepare_database(url, registry)
    database = "SQLite" if args.sqlite else "PostgreSQL"
    print(f"{database} ready (registry loaded) in {time.perf_counter() - started:.0f} s")
    join_s, classes = bare_join(registry, dpt)
    print(f"  {'bare DuckDB join':<28} {join_s:8.1f} s   {classes}")
    import_s = timed(
        "rekam import_dpt", [*REKAM, "import_dpt", str(dpt), "--election", ELECTION, "-v", "0"], url
    )
    reconcile_s = timed("rekam reconcile", [*REKAM, "reconcile", "--election", ELECTION], url)
    if args.rerun:
        timed(
            "import_dpt again (same file)",
            [*REKAM, "import_dpt", str(dpt), "--election", ELECTION, "-v", "0"],
            url,
        )
        timed("reconcile again", [*REKAM, "reconcile", "--election", ELECTION], url)
    total = import_s + reconcile_s
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(
        f"import + reconcile {total:.1f} s = {total / join_s:.2f} x the bare join "
        f"({join_s:.1f} s) on {database}"
    )
    print(f"peak memory: commands {_mb(children)}, bare join (this process) {_mb(own)}")
    if not args.sqlite:
        print("floors (PostgreSQL's share of any design that stores the list):")
        floors(url, join_s)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
