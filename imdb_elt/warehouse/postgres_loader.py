"""Stage processed Parquet into PostgreSQL tables with COPY FROM STDIN.

Each dataset is loaded into a fresh ``<dataset>__staging`` table, then all of them are swapped in
(drop old, rename new) in the same transaction as the loads: readers keep seeing the previous
``raw.*`` tables during the copy and see all new ones at commit, and any failure rolls back to the
previous tables. Dropping an old table cascades to views over it (dbt's staging views): the dbt
run that follows staging rebuilds them.

The connection comes from libpq's environment (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE),
which psycopg reads natively, so no credential passes through this code or its logs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping, Sequence

import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads

from imdb_elt.catalog import INPUTS, Column
from imdb_elt.warehouse.identifiers import qualified_name, quote_identifier, validate_identifier
from imdb_elt.warehouse.types import parse_decimal, staged_columns, warehouse_type

log = logging.getLogger(__name__)

STAGING_SUFFIX = "__staging"
DEFAULT_BATCH_ROWS = 50_000

# Binary COPY needs each column's type by name (no type modifiers): what psycopg dumps into.
_COPY_TYPES = {
    "string": "text",
    "int": "int4",
    "bigint": "int8",
    "boolean": "bool",
    "timestamp": "timestamp",
    "array<string>": "text[]",
}


def copy_type(spark_type: str) -> str:
    return "numeric" if parse_decimal(spark_type) else _COPY_TYPES[spark_type]


def create_table_sql(schema: str, table: str, dataset: str) -> str:
    cols = ", ".join(
        f"{quote_identifier(c.name)} {warehouse_type(c.type, 'postgres')}"
        + ("" if c.nullable else " NOT NULL")
        for c in staged_columns(dataset)
    )
    return f"CREATE TABLE {qualified_name(schema, table)} ({cols})"


def _as_python_column(array: pa.ChunkedArray | pa.Array) -> list:
    if pa.types.is_timestamp(array.type):
        # Spark's UTC-adjusted timestamps arrive tz-aware; the column is `timestamp` (UTC wall time).
        if array.type.tz is not None:
            array = pc.cast(array, pa.timestamp(array.type.unit))
        # datetime objects are the slowest conversion and _loaded_at holds one value per
        # snapshot: convert the distinct values once, then index.
        encoded = pc.dictionary_encode(array)
        if isinstance(encoded, pa.ChunkedArray):
            encoded = encoded.combine_chunks()
        values = encoded.dictionary.to_pylist()
        return [None if i is None else values[i] for i in encoded.indices.to_pylist()]
    return array.to_pylist()


def parquet_rows(
    folder: str, columns: Sequence[Column], batch_rows: int = DEFAULT_BATCH_ROWS
) -> Iterator[list[tuple]]:
    """Yield batches of row tuples in ``columns`` order, read with pyarrow (local or s3://).

    pyarrow's dataset discovery skips ``_``/``.`` files such as Spark's ``_SUCCESS``.
    """
    dataset = pads.dataset(folder, format="parquet")
    names = [c.name for c in columns]
    missing = [n for n in names if n not in dataset.schema.names]
    if missing:
        raise ValueError(f"Parquet at {folder} lacks catalogue columns {missing}")
    for batch in dataset.to_batches(columns=names, batch_size=batch_rows):
        yield list(zip(*(_as_python_column(batch.column(i)) for i in range(len(names))), strict=True))


def copy_parquet(conn: psycopg.Connection, schema: str, table: str, dataset: str, folder: str) -> int:
    """Binary COPY of one dataset folder into ``schema.table``; returns rows written."""
    columns = staged_columns(dataset)
    col_list = ", ".join(quote_identifier(c.name) for c in columns)
    rows = 0
    with (
        conn.cursor() as cur,
        cur.copy(f"COPY {qualified_name(schema, table)} ({col_list}) FROM STDIN (FORMAT BINARY)") as copy,
    ):
        copy.set_types([copy_type(c.type) for c in columns])
        for batch in parquet_rows(folder, columns):
            for row in batch:
                copy.write_row(row)
            rows += len(batch)
    return rows


def stage_postgres(schema: str, datasets: Mapping[str, str], conninfo: str = "") -> dict[str, int]:
    """Load and swap every ``<schema>.<dataset>`` table in one transaction; return rows per table.

    ``conninfo`` defaults to "" (everything from PG* environment variables); tests pass one.
    """
    validate_identifier(schema)
    unknown = sorted(set(datasets) - {i.dataset for i in INPUTS})
    if unknown:
        raise ValueError(f"unknown datasets {unknown}")
    counts: dict[str, int] = {}
    started = time.perf_counter()
    # The context manager commits on success and rolls back on any exception.
    with psycopg.connect(conninfo) as conn:
        # Two concurrent stagers would otherwise collide on the __staging tables.
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"imdb_elt.stage.{schema}"])
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_identifier(schema)}")
        for spec in INPUTS:
            staging = validate_identifier(spec.dataset + STAGING_SUFFIX)
            conn.execute(f"DROP TABLE IF EXISTS {qualified_name(schema, staging)}")
            conn.execute(create_table_sql(schema, staging, spec.dataset))
            folder = datasets.get(spec.dataset)
            t0 = time.perf_counter()
            counts[spec.dataset] = copy_parquet(conn, schema, staging, spec.dataset, folder) if folder else 0
            seconds = time.perf_counter() - t0
            log.info(
                "copied %s.%s: %d rows in %.2fs (%.0f rows/s)",
                schema,
                spec.dataset,
                counts[spec.dataset],
                seconds,
                counts[spec.dataset] / seconds if seconds > 0 else 0.0,
            )
        for spec in INPUTS:
            live = qualified_name(schema, spec.dataset)
            staging = qualified_name(schema, spec.dataset + STAGING_SUFFIX)
            conn.execute(f"DROP TABLE IF EXISTS {live} CASCADE")
            conn.execute(f"ALTER TABLE {staging} RENAME TO {quote_identifier(spec.dataset)}")
    log.info(
        "staged %d PostgreSQL tables in %s.* (%d rows) in %.2fs",
        len(counts),
        schema,
        sum(counts.values()),
        time.perf_counter() - started,
    )
    return counts
