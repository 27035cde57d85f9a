"""Moving millions of rows between the project's database and DuckDB, without a row loop.

DuckDB reads files and does the joins; the database keeps what people work on. Rows travel
between the two as CSV files in a working directory: PostgreSQL writes and reads them with
``COPY ... TO STDOUT`` / ``COPY ... FROM STDIN`` (psycopg streams the bytes), SQLite's rows
are fetched and stored in large ``fetchmany`` / ``executemany`` batches (the loops over the
rows run inside the sqlite3 and csv modules' C code). Both sides use CSV's own distinction
between NULL (an empty, unquoted field) and an empty string (``""``). On PostgreSQL the file
is a named pipe, so that the database and DuckDB work at the same time.
"""

from __future__ import annotations

import csv
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import duckdb
from django.conf import settings
from django.db import connection

# Rows per fetchmany/executemany batch on SQLite.
SQLITE_BATCH = 50_000
_COPY_CHUNK = 1 << 20


@contextmanager
def workspace(prefix: str) -> Iterator[tuple[duckdb.DuckDBPyConnection, Path]]:
    """An in-memory DuckDB (spilling to disk if it must) and a working directory, both gone
    afterwards."""
    base = Path(settings.VOTERS_WORK_DIR)
    base.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=prefix, dir=base))
    con = duckdb.connect(
        config={
            "threads": int(settings.VOTERS_DUCKDB_THREADS),
            "memory_limit": str(settings.VOTERS_DUCKDB_MEMORY),
            "temp_directory": str(work / "spill"),
            "preserve_insertion_order": True,
        }
    )
    try:
        yield con, work
    finally:
        con.close()
        shutil.rmtree(work, ignore_errors=True)


def postgres() -> bool:
    return connection.vendor == "postgresql"


def analyze(*tables: str) -> None:
    """Refresh PostgreSQL's statistics of tables a bulk write has just filled: with autovacuum
    off or behind, the next queries on them (the dashboard's, a record move's voter look-up)
    would be planned without statistics. Inside a transaction it counts its own new rows."""
    if not postgres():
        return
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")


def csv_source(path: Path, columns: Sequence[tuple[str, str]]) -> str:
    """A DuckDB ``read_csv`` call for a headerless CSV file written by :func:`export`."""
    spec = ", ".join(f"'{name}': '{kind}'" for name, kind in columns)
    return (
        f"read_csv('{_quote(path)}', header=false, auto_detect=false, delim=',', quote='\"', "
        f"escape='\"', allow_quoted_nulls=false, columns={{{spec}}})"
    )


def _quote(path: Path) -> str:
    return str(path).replace("'", "''")


def _through_pipe[T](path: Path, writer: Callable[[], None], reader: Callable[[], T]) -> T:
    """Run ``writer`` (in a thread) and ``reader`` (here) on the named pipe ``path``, so that
    the side producing rows and the side consuming them work at the same time.

    If the reader fails, the pipe is opened and closed once so that a writer blocked on it
    gets an error instead of waiting for ever.
    """
    os.mkfifo(path)
    failure: list[BaseException] = []

    def produce() -> None:
        try:
            writer()
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=produce, name=f"pipe-{path.name}", daemon=True)
    thread.start()
    try:
        result = reader()
    except BaseException:
        for mode in (os.O_RDONLY | os.O_NONBLOCK, os.O_WRONLY | os.O_NONBLOCK):
            with suppress(OSError):
                os.close(os.open(path, mode))
        thread.join(timeout=60)
        raise
    finally:
        thread.join(timeout=600)
        path.unlink(missing_ok=True)
    if failure:
        raise failure[0]
    return result


def export(
    con: duckdb.DuckDBPyConnection,
    *,
    table: str,
    sql: str,
    params: Sequence[Any],
    columns: Sequence[tuple[str, str]],
    work: Path,
) -> int:
    """Run ``sql`` (``%s`` placeholders) on the project's database and load its rows into the
    DuckDB table ``table`` with ``columns`` (name, DuckDB type). Returns the row count."""
    path = work / f"{table}.csv"
    connection.ensure_connection()
    create = f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM {csv_source(path, columns)}"
    if postgres():
        # The database's own connection, handed to one thread while this one only reads.
        raw = connection.connection

        def copy_out() -> None:
            with (
                raw.cursor() as cursor,
                # libpq hands COPY data over a row at a time: write to the pipe in large blocks.
                path.open("wb", buffering=_COPY_CHUNK) as out,
                cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)", params) as copy,
            ):
                for data in copy:
                    out.write(data)

        _through_pipe(path, copy_out, lambda: con.execute(create))
    else:
        raw = connection.connection.cursor()
        try:
            raw.execute(sql.replace("%s", "?"), list(params))
            with path.open("w", newline="", encoding="utf-8") as out:
                # QUOTE_NOTNULL: a NULL stays an empty field, an empty string becomes "".
                writer = csv.writer(out, quoting=csv.QUOTE_NOTNULL)
                while rows := raw.fetchmany(SQLITE_BATCH):
                    writer.writerows(rows)
        finally:
            raw.close()
        con.execute(create)
        path.unlink()
    (count,) = con.execute(f"SELECT count(*) FROM {table}").fetchone() or (0,)
    return int(count)


def load(
    con: duckdb.DuckDBPyConnection,
    *,
    query: str,
    table: str,
    columns: Sequence[str],
    work: Path,
) -> int:
    """Append the rows of the DuckDB ``query`` (its columns in ``columns`` order; dates as
    ISO text) to the project's database table ``table``. Returns the row count."""
    cols = ", ".join(columns)
    if postgres():
        path = work / f"load-{table}.csv"

        def copy_in() -> int:
            with connection.cursor() as cursor:
                with (
                    cursor.copy(f"COPY {table} ({cols}) FROM STDIN (FORMAT csv)") as copy,
                    path.open("rb") as f,
                ):
                    while data := f.read(_COPY_CHUNK):
                        copy.write(data)
                return int(cursor.rowcount)

        def copy_out() -> None:
            con.execute(f"COPY ({query}) TO '{_quote(path)}' (FORMAT csv, HEADER false)")

        return _through_pipe(path, copy_out, copy_in)
    marks = ", ".join(["?"] * len(columns))
    insert = f"INSERT INTO {table} ({cols}) VALUES ({marks})"
    connection.ensure_connection()
    raw = connection.connection.cursor()
    written = 0
    try:
        result = con.execute(query)
        while rows := result.fetchmany(SQLITE_BATCH):
            raw.executemany(insert, rows)
            written += len(rows)
    finally:
        raw.close()
    return written


def run_with_ids(
    con: duckdb.DuckDBPyConnection,
    *,
    query: str,
    statement: str,
    work: Path,
    temp_columns: Sequence[tuple[str, str]],
) -> int:
    """Apply ``statement`` to the rows of the DuckDB ``query`` inside the project's database.

    The rows go into a temporary table ``bulk_rows`` (``temp_columns``: name, SQL type) and
    ``statement`` refers to it (``UPDATE ... FROM bulk_rows``, ``DELETE ... WHERE id IN
    (SELECT id FROM bulk_rows)``). Returns the number of rows sent.
    """
    spec = ", ".join(f"{name} {kind}" for name, kind in temp_columns)
    names = [name for name, _ in temp_columns]
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bulk_rows")
        cursor.execute(f"CREATE TEMPORARY TABLE bulk_rows ({spec})")
        try:
            sent = load(con, query=query, table="bulk_rows", columns=names, work=work)
            if sent:
                cursor.execute(statement)
        finally:
            cursor.execute("DROP TABLE IF EXISTS bulk_rows")
    return sent


def write_csv_report(
    con: duckdb.DuckDBPyConnection, *, query: str, header: Sequence[str], path: Path
) -> None:
    """A CSV report from a DuckDB query, UTF-8 with a BOM so that Excel shows it right."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = path.with_suffix(".body.csv")
    con.execute(f"COPY ({query}) TO '{_quote(body)}' (FORMAT csv, HEADER false)")
    with path.open("w", newline="", encoding="utf-8-sig") as out:
        csv.writer(out).writerow(header)
    with path.open("ab") as out, body.open("rb") as src:
        shutil.copyfileobj(src, out, _COPY_CHUNK)
    body.unlink()
