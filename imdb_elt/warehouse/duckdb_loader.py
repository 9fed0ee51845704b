"""Stage processed Parquet into DuckDB as views: ``raw.<dataset>`` over ``read_parquet``.

DuckDB reads the snapshot's Parquet in place, so staging costs no copy: a view per dataset with
the catalogue columns in catalogue order, cast to the warehouse types. All views are replaced in
one transaction (DuckDB DDL is transactional), so a failure leaves the previous views in place.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from pathlib import Path

import duckdb

from imdb_elt.catalog import INPUTS
from imdb_elt.warehouse.identifiers import (
    qualified_name,
    quote_identifier,
    sql_string_literal,
    validate_identifier,
)
from imdb_elt.warehouse.types import staged_columns, warehouse_type

log = logging.getLogger(__name__)

# The job writes `_loaded_at` as a zoneless UTC wall time (TIMESTAMP, read as is: DuckDB then
# answers dbt's max(_loaded_at) from the Parquet statistics). Snapshots written before that hold
# TIMESTAMP_MICROS adjusted to UTC, which DuckDB reads as TIMESTAMPTZ: converted, row by row.
_TSTZ = "TIMESTAMP WITH TIME ZONE"


def parquet_glob(folder: str) -> str:
    """The files of one processed dataset folder (Spark's part files; _SUCCESS is not matched)."""
    return f"{folder.rstrip('/')}/*.parquet"


def _column_expression(name: str, source_type: str, target_type: str) -> str:
    col = quote_identifier(name)
    if source_type == target_type:
        return col
    if source_type == _TSTZ and target_type == "TIMESTAMP":
        # A plain cast would use the reading session's time zone; pin UTC instead.
        return f"timezone('UTC', {col}) AS {col}"
    return f"CAST({col} AS {target_type}) AS {col}"


def parquet_select(con: duckdb.DuckDBPyConnection, dataset: str, folder: str) -> str:
    """``SELECT <catalogue columns> FROM read_parquet(...)``, checked against the files' schema."""
    source = f"read_parquet({sql_string_literal(parquet_glob(folder))})"
    described = con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
    source_types = {row[0]: row[1] for row in described}
    columns = staged_columns(dataset)
    missing = [c.name for c in columns if c.name not in source_types]
    if missing:
        raise ValueError(f"{dataset}: Parquet at {folder} lacks catalogue columns {missing}")
    exprs = [
        _column_expression(c.name, source_types[c.name], warehouse_type(c.type, "duckdb")) for c in columns
    ]
    return f"SELECT {', '.join(exprs)} FROM {source}"


def empty_select(dataset: str) -> str:
    """A typed, empty relation with the catalogue columns: dbt sees the source, with no rows."""
    exprs = [
        f"CAST(NULL AS {warehouse_type(c.type, 'duckdb')}) AS {quote_identifier(c.name)}"
        for c in staged_columns(dataset)
    ]
    return f"SELECT {', '.join(exprs)} WHERE false"


def _drop_base_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> None:
    # CREATE OR REPLACE VIEW cannot replace a table of the same name (e.g. one made by hand).
    found = con.execute(
        "SELECT 1 FROM information_schema.tables "
        "WHERE table_schema = ? AND table_name = ? AND table_type = 'BASE TABLE'",
        [schema, table],
    ).fetchone()
    if found:
        con.execute(f"DROP TABLE {qualified_name(schema, table)}")


def stage_duckdb(duckdb_path: str, schema: str, datasets: Mapping[str, str]) -> dict[str, int]:
    """Replace every ``<schema>.<dataset>`` view in one transaction; return rows per view.

    ``datasets`` maps catalogue dataset → Parquet folder; catalogue datasets not in it become
    empty typed views. The connection is closed before returning: DuckDB allows one writer and
    dbt opens the file right after, in another process.
    """
    Path(duckdb_path).parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    con = duckdb.connect(duckdb_path)
    try:
        counts = stage_views(con, schema, datasets)
    finally:
        con.close()
    log.info(
        "staged %d DuckDB views in %s.* (%d rows) in %.2fs",
        len(counts),
        schema,
        sum(counts.values()),
        time.perf_counter() - started,
    )
    return counts


def stage_views(con: duckdb.DuckDBPyConnection, schema: str, datasets: Mapping[str, str]) -> dict[str, int]:
    """The views of :func:`stage_duckdb` on an open connection (a development build's own file
    gets them the same way, imdb_elt/dev_duckdb.py)."""
    validate_identifier(schema)
    unknown = sorted(set(datasets) - {i.dataset for i in INPUTS})
    if unknown:
        raise ValueError(f"unknown datasets {unknown}")
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_identifier(schema)}")
        counts: dict[str, int] = {}
        for spec in INPUTS:
            name = qualified_name(schema, spec.dataset)
            folder = datasets.get(spec.dataset)
            select = parquet_select(con, spec.dataset, folder) if folder else empty_select(spec.dataset)
            _drop_base_table(con, schema, spec.dataset)
            con.execute(f"CREATE OR REPLACE VIEW {name} AS {select}")
            row = con.execute(f"SELECT count(*) FROM {name}").fetchone()
            counts[spec.dataset] = int(row[0]) if row else 0
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return counts
