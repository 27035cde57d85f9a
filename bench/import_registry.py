"""Registry import benchmark: ``python -m bench import_registry [--rows N] [--postgres URL]``.

Generates a deterministic registry CSV of valid, realistic rows for Lampung's villages (cached
under ``var/bench/``), then measures on each database:

- the ceiling: the same file read with :mod:`csv` and loaded as-is into a bare table with the
  file's columns (SQLite ``executemany`` in one transaction; PostgreSQL ``COPY`` with
  ``write_row``);
- ``rekam import_registry`` of the file into a fresh database (migrated, regions loaded; only
  the import is timed), and a re-run of the same file (every row unchanged).

Prints rows/s for each and the ratio import/ceiling. SQLite always runs; PostgreSQL runs
against ``--postgres URL``, else ``DATABASE_URL`` when it names PostgreSQL, else
``postgres://postgres@127.0.0.1:5432``, in a database it creates and drops (``--no-postgres``
skips it).
"""

from __future__ import annotations

import argparse
import bisect
import csv
import itertools
import json
import os
import random
import sqlite3
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from rekam.lib.nik import make_nik

PROJECT = Path(__file__).resolve().parent.parent
REGIONS = PROJECT / "data" / "regions" / "lampung"
WORK = PROJECT / "var" / "bench"
# Bump when the generator changes so cached files are not reused.
GENERATOR_VERSION = 1
REFERENCE_DAY = date(2020, 12, 9)  # ages are computed against the 2020 polling day

HEADER = [
    "nik",
    "no_kk",
    "nama",
    "tempat_lahir",
    "tanggal_lahir",
    "jenis_kelamin",
    "agama",
    "status_perkawinan",
    "pekerjaan",
    "alamat",
    "rt",
    "rw",
    "kode_desa",
    "telepon",
    "status_ktp",
]


def _words(text: str, sep: str | None = None) -> list[str]:
    return text.split(sep)


MALE = _words(
    "Agus Budi Dedi Eko Fajar Hendra Iwan Joko Slamet Rahmat Andi Bambang Dwi Heru Wahyu "
    "Yusuf Ahmad Muhammad Rudi Teguh Sutrisno Suparman Hadi Imam Ilham Rizki Dimas Arif Bayu "
    "Gunawan Nur Sigit Taufik Usman Zainal Firman Hasan Irfan Kurniawan Lukman"
)
FEMALE = _words(
    "Siti Sri Dewi Rina Ani Yuni Wati Nur Lestari Ratna Fitri Dian Eka Indah Kartika Lina "
    "Maya Novi Putri Rini Sari Tuti Umi Wulan Yanti Ayu Desi Endang Fatimah Hartini Ika "
    "Juwita Kurnia Mega Nining Purwanti Rohmah Suryani Tri Utami"
)
FAMILY = _words(
    "Saputra Susanto Wijaya Hidayat Setiawan Pratama Kusuma Nugroho Santoso Purnomo Rahman "
    "Hakim Syahputra Siregar Harahap Nasution Lubis Gultom Simanjuntak Hutapea Sembiring "
    "Ginting Tarigan Purba Pane Effendi Suhendra Firmansyah Maulana Ramadhan Kurniawan "
    "Hermawan Gunadi Sulaiman Anwar Basri Zulkarnain Fauzi Ismail Yahya"
)
STREETS = _words(
    "Raden Intan|Teuku Umar|Diponegoro|Sudirman|Kartini|Imam Bonjol|Pangeran Antasari|"
    "Sultan Agung|Ki Maja|Pagar Alam|Zainal Abidin|Ratu Dibalau|Soekarno-Hatta|Way Halim|"
    "Cut Nyak Dien|Pramuka|Kenanga|Melati|Mawar|Flamboyan|Cempaka|Teratai|Anggrek|Dahlia",
    "|",
)
JOBS = _words(
    "PETANI/PEKEBUN|WIRASWASTA|BURUH HARIAN LEPAS|KARYAWAN SWASTA|MENGURUS RUMAH TANGGA|"
    "PEDAGANG|NELAYAN/PERIKANAN|PEGAWAI NEGERI SIPIL|GURU|SOPIR|PENSIUNAN|PERANGKAT DESA|"
    "BURUH TANI/PERKEBUNAN|TUKANG BATU|PERAWAT|BIDAN|TNI|POLRI",
    "|",
)
MOBILE_PREFIXES = _words(
    "0811 0812 0813 0821 0822 0823 0852 0853 0857 0858 0877 0878 0895 0896 0838"
)
RELIGIONS = (
    ("ISLAM", 95.0),
    ("KRISTEN", 2.0),
    ("KATOLIK", 1.4),
    ("HINDU", 0.9),
    ("BUDDHA", 0.6),
    ("KONGHUCU", 0.05),
    ("KEPERCAYAAN", 0.05),
)
ADULT_STATES = (
    ("SUDAH CETAK", 88.0),
    ("PRR", 4.0),
    ("BELUM REKAM", 4.0),
    ("SENT_FOR_ENROLLMENT", 1.0),
    ("RECEIVED_AT_CENTRAL", 1.2),
    ("BIO_CAPTURED", 0.9),
    ("ADJUDICATE_RECORD", 0.5),
    ("DUPLICATE_RECORD", 0.2),
    ("ENROLL_FAILURE", 0.1),
    ("SEARCH_FAILURE", 0.1),
)


def _weighted(pairs: tuple[tuple[str, float], ...]) -> tuple[list[str], list[float]]:
    values = [v for v, _ in pairs]
    cum = list(itertools.accumulate(w for _, w in pairs))
    return values, cum


def _villages() -> tuple[list[tuple[str, str, str]], list[float]]:
    """(village code, district code, regency name) weighted by the regency's population."""
    with (REGIONS / "lampung_population.csv").open(encoding="utf-8") as f:
        population = {
            r["code"]: int(r["total"]) for r in csv.DictReader(f) if r["level"] == "regency"
        }
    with (REGIONS / "lampung_regencies.csv").open(encoding="utf-8") as f:
        regency_names = {r["code"]: r["name"] for r in csv.DictReader(f)}
    with (REGIONS / "lampung_villages.csv").open(encoding="utf-8") as f:
        villages = [(r["code"], r["district_code"]) for r in csv.DictReader(f)]
    per_regency: dict[str, int] = {}
    for code, _ in villages:
        per_regency[code[:5]] = per_regency.get(code[:5], 0) + 1
    rows = [(code, district, regency_names[code[:5]]) for code, district in villages]
    weights = [population.get(code[:5], 100_000) / per_regency[code[:5]] for code, _ in villages]
    return rows, list(itertools.accumulate(weights))


def generate(path: Path, rows: int, seed: int = 2020) -> None:
    """Write ``rows`` valid registry rows, household by household, deterministically."""
    rng = random.Random(seed)
    villages, village_cum = _villages()
    religions, religion_cum = _weighted(RELIGIONS)
    states, state_cum = _weighted(ADULT_STATES)
    nik_serial: dict[tuple[str, date, str], int] = {}
    kk_serial: dict[tuple[str, date], int] = {}
    tmp = path.with_suffix(".tmp")
    written = 0

    def person(age_lo: int, age_hi: int, sex: str, village: tuple[str, str, str]) -> list[str]:
        age_days = rng.randint(age_lo * 365, age_hi * 365 + 364)
        birth = REFERENCE_DAY - timedelta(days=age_days)
        district = village[1]
        key = (district, birth, sex)
        serial = nik_serial[key] = nik_serial.get(key, 0) + 1
        nik = make_nik(district, birth, sex, serial)
        given = rng.choice(MALE if sex == "L" else FEMALE)
        name = f"{given} {rng.choice(FAMILY)}".upper()
        age = age_days // 365
        if age < 17:
            marital, job, state = "BELUM KAWIN", "PELAJAR/MAHASISWA", "BELUM REKAM"
        else:
            if age < 25:
                marital = "BELUM KAWIN" if rng.random() < 0.7 else "KAWIN"
            else:
                r = rng.random()
                widowed = 0.03 + max(age - 50, 0) * 0.006
                marital = (
                    "BELUM KAWIN"
                    if r < 0.1
                    else "CERAI HIDUP"
                    if r < 0.14
                    else "CERAI MATI"
                    if r < 0.14 + widowed
                    else "KAWIN"
                )
            job = rng.choice(JOBS)
            state = states[bisect.bisect(state_cum, rng.random() * state_cum[-1])]
        phone = ""
        if age >= 17 and rng.random() < 0.65:
            phone = f"{rng.choice(MOBILE_PREFIXES)}{rng.randrange(10**7, 10**8)}"
        birth_place = village[2] if rng.random() < 0.8 else rng.choice(villages)[2]
        return [
            nik,
            "",
            name,
            birth_place.upper(),
            f"{birth:%d-%m-%Y}",
            sex,
            "",
            marital,
            job,
            "",
            "",
            "",
            village[0],
            phone,
            state,
        ]

    with tmp.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        while written < rows:
            village = villages[bisect.bisect(village_cum, rng.random() * village_cum[-1])]
            issued = date(2005, 1, 1) + timedelta(days=rng.randrange(5800))
            kk_key = (village[1], issued)
            kk_serial[kk_key] = kk_serial.get(kk_key, 0) + 1
            kk = f"{village[1].replace('.', '')}{issued:%d%m%y}{kk_serial[kk_key]:04d}"
            religion = religions[bisect.bisect(religion_cum, rng.random() * religion_cum[-1])]
            street = f"JL. {rng.choice(STREETS).upper()} NO. {rng.randint(1, 250)}"
            rt, rw = f"{rng.randint(1, 25):03d}", f"{rng.randint(1, 12):03d}"
            head_sex = "L" if rng.random() < 0.85 else "P"
            members = [person(25, 75, head_sex, village)]
            if rng.random() < 0.8:
                members.append(person(22, 70, "P" if head_sex == "L" else "L", village))
            for _ in range(rng.choice((0, 1, 1, 2, 2, 2, 3, 4))):
                members.append(person(0, 24, rng.choice("LP"), village))
            for m in members[: rows - written]:
                m[1], m[6], m[9], m[10], m[11] = kk, religion, street, rt, rw
                w.writerow(m)
                written += 1
    tmp.replace(path)


def registry_file(rows: int, seed: int) -> Path:
    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / f"registry-v{GENERATOR_VERSION}-{rows}-s{seed}.csv"
    if not path.exists():
        print(f"generating {rows:,} rows into {path} ...", flush=True)
        t = time.perf_counter()
        generate(path, rows, seed)
        print(f"  generated in {time.perf_counter() - t:.1f} s", flush=True)
    return path


# --- ceilings --------------------------------------------------------------------------------


def ceiling_sqlite(path: Path) -> tuple[int, float]:
    """csv.reader -> executemany into a bare table, one transaction, the app's pragmas."""
    db_path = WORK / "ceiling.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    db = sqlite3.connect(db_path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(f"CREATE TABLE registry ({', '.join(f'{c} TEXT' for c in HEADER)})")
    marks = ", ".join("?" * len(HEADER))
    t = time.perf_counter()
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        next(reader)
        db.execute("BEGIN IMMEDIATE")
        db.executemany(f"INSERT INTO registry VALUES ({marks})", reader)
        db.execute("COMMIT")
    elapsed = time.perf_counter() - t
    (n,) = db.execute("SELECT count(*) FROM registry").fetchone()
    db.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    return n, elapsed


def ceiling_postgres(path: Path, url: str) -> tuple[int, float]:
    """csv.reader -> COPY ... FROM STDIN (write_row) into a bare, logged table, one transaction.

    ``url`` names the fresh benchmark database; the table is dropped afterwards.
    """
    import psycopg

    with psycopg.connect(url) as conn:
        conn.execute(f"CREATE TABLE bench_registry ({', '.join(f'{c} text' for c in HEADER)})")
        conn.commit()
        t = time.perf_counter()
        with path.open(newline="", encoding="utf-8") as f, conn.cursor() as cur:
            reader = csv.reader(f)
            next(reader)
            with cur.copy(f"COPY bench_registry ({', '.join(HEADER)}) FROM STDIN") as copy:
                for row in reader:
                    copy.write_row(row)
        conn.commit()
        elapsed = time.perf_counter() - t
        (n,) = conn.execute("SELECT count(*) FROM bench_registry").fetchone()  # type: ignore[misc]
        conn.execute("DROP TABLE bench_registry")
        conn.commit()
    return n, elapsed


# --- the import, in a child process with its own database ------------------------------------


def _server_cpu() -> float:
    """CPU seconds the PostgreSQL backend serving this connection has used (same machine)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return 0.0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _child(database_url: str, path: Path, profile: Path | None) -> None:
    """Migrate a fresh database, load regions, then time ``rekam import_registry`` twice."""
    import resource

    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "rekam.settings"
    os.environ["REKAM_DATA_DIR"] = str(WORK / "data")
    import django

    django.setup()
    from django.core.management import call_command

    from rekam.residents.models import ImportBatch

    runs = []
    with open(os.devnull, "w") as out:
        call_command("migrate", verbosity=0)
        call_command("load_regions", verbosity=0, stdout=out)
        for run in range(2):
            server = _server_cpu()
            cpu = time.process_time()
            children = resource.getrusage(resource.RUSAGE_CHILDREN)
            t = time.perf_counter()
            if profile is not None and run == 0:
                import cProfile

                # One process, so that the profile shows reading, checking and writing.
                cProfile.runctx(
                    "call_command('import_registry', path, '--no-progress', '--single-process', "
                    "stdout=out)",
                    globals(),
                    {"call_command": call_command, "path": str(path), "out": out},
                    str(profile),
                )
            else:
                call_command("import_registry", str(path), "--no-progress", stdout=out)
            wall = time.perf_counter() - t
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            runs.append(
                {
                    "wall": wall,
                    "cpu_main": time.process_time() - cpu,
                    "cpu_reader": (after.ru_utime + after.ru_stime)
                    - (children.ru_utime + children.ru_stime),
                    "cpu_server": _server_cpu() - server,
                }
            )
    batches = list(ImportBatch.objects.order_by("pk").values("rows_read", "created", "unchanged"))
    print(json.dumps({"runs": runs, "batches": batches}))


def run_import(database_url: str, path: Path, profile: Path | None = None) -> dict:
    cmd = [sys.executable, "-m", "bench.import_registry", "--child", database_url, str(path)]
    if profile is not None:
        cmd += ["--profile", str(profile)]
    proc = subprocess.run(cmd, cwd=PROJECT, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"import failed:\n{proc.stdout}\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _server(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{dbname}", parts.query, ""))


def _postgres_admin(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(_server(url, "postgres"), autocommit=True) as conn:
        conn.execute(sql)


def _line(label: str, rows: int, seconds: float, ceiling: float | None = None) -> str:
    rate = rows / seconds if seconds else 0.0
    text = f"  {label:<44} {rows:>10,} rows {seconds:>8.2f} s {rate:>12,.0f} rows/s"
    if ceiling:
        text += f"   ratio {rate / ceiling:.2f}"
    return text


def _measure(engine: str, path: Path, url: str, profile: Path | None) -> None:
    if engine == "sqlite":
        n, seconds = ceiling_sqlite(path)
        db_path = WORK / "import.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db_path}{suffix}").unlink(missing_ok=True)
        target = f"sqlite:///{db_path}"
    else:
        dbname = "rekam_bench_import"
        _postgres_admin(url, f"DROP DATABASE IF EXISTS {dbname}")
        _postgres_admin(url, f"CREATE DATABASE {dbname}")
        target = _server(url, dbname)
        n, seconds = ceiling_postgres(path, target)
    ceiling = n / seconds
    label = "csv + executemany" if engine == "sqlite" else "csv + COPY"
    print(f"{engine}:")
    print(_line(f"ceiling ({label}, bare table)", n, seconds), flush=True)
    try:
        result = run_import(target, path, profile)
    finally:
        if engine == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(f"{WORK / 'import.sqlite3'}{suffix}").unlink(missing_ok=True)
        else:
            _postgres_admin(url, "DROP DATABASE IF EXISTS rekam_bench_import")
    first, again = result["batches"]
    for label, batch, run in (
        ("rekam import_registry (fresh database)", first, result["runs"][0]),
        ("re-run of the same file (all unchanged)", again, result["runs"][1]),
    ):
        print(_line(label, batch["rows_read"], run["wall"], ceiling))
        cpu = f"    CPU s: importer {run['cpu_main']:.1f}, reader process {run['cpu_reader']:.1f}"
        if engine != "sqlite":
            cpu += f", PostgreSQL backend {run['cpu_server']:.1f}"
        print(cpu)
    if first["created"] != n or again["unchanged"] != n:
        print(f"  ! expected {n} created and unchanged, got {first} / {again}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench import_registry",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument("--postgres", help="PostgreSQL server URL (a database is created there)")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--profile", type=Path, help="write a cProfile of each first import here")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child[0], Path(args.child[1]), args.profile)
        return 0
    path = registry_file(args.rows, args.seed)
    size = path.stat().st_size / 1e6
    print(f"Registry import: {args.rows:,} rows, {size:.0f} MB ({path.relative_to(PROJECT)})")
    if not args.no_sqlite:
        profile = args.profile.with_suffix(".sqlite.prof") if args.profile else None
        _measure("sqlite", path, "", profile)
    if not args.no_postgres:
        env_url = os.environ.get("DATABASE_URL", "")
        url = args.postgres or (env_url if env_url.startswith("postgres") else "")
        url = url or "postgres://postgres@127.0.0.1:5432"
        profile = args.profile.with_suffix(".postgres.prof") if args.profile else None
        _measure("postgresql", path, url, profile)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
