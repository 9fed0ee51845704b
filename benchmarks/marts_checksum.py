"""A checksum of every published marts table in a DuckDB warehouse, for comparing two builds.

Two warehouses built from the same raw files at different times differ in their lineage columns
(snapshot ids, load times) and nowhere else, so those are left out. History tables keep one row
per change; their current state (the latest row per key) is what a fresh load must equal.
Doubles are rounded so that a different summation order cannot flip the last bit.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

MARTS_SCHEMA = "marts"
LINEAGE_COLUMNS = frozenset({"snapshot_id", "loaded_at"})
#: History tables: natural key -> compare only the latest row per key (ordered by snapshot_id).
HISTORY_TABLES: dict[str, tuple[str, ...]] = {"fct_title_ratings": ("tconst",)}
_FLOAT_TYPES = ("DOUBLE", "FLOAT", "REAL")


@dataclass(frozen=True)
class TableChecksum:
    table: str
    rows: int
    digest: str


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def table_sql(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> str:
    """One text line per row (compared columns only), sorted, hashed."""
    columns = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, table],
    ).fetchall()
    kept = [(n, t) for n, t in columns if n not in LINEAGE_COLUMNS and not n.startswith("_")]
    exprs = [f"round({_quote(n)}, 6)" if t.upper() in _FLOAT_TYPES else _quote(n) for n, t in kept]
    source = f"{_quote(schema)}.{_quote(table)}"
    if table in HISTORY_TABLES and "snapshot_id" in {n for n, _ in columns}:
        key = ", ".join(_quote(k) for k in HISTORY_TABLES[table])
        source = (f"(select * from {source} qualify row_number() over "
                  f"(partition by {key} order by snapshot_id desc) = 1)")
    row_text = f"cast(row({', '.join(exprs)}) as varchar)" if exprs else "''"
    return (f"select count(*), coalesce(md5(string_agg(r, chr(10) order by r)), '') "
            f"from (select {row_text} as r from {source} as t)")


def checksum_marts(duckdb_path: str | Path, schema: str = MARTS_SCHEMA) -> dict[str, TableChecksum]:
    """Checksums of every table in ``schema``, by table name."""
    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        tables = [r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = ? order by 1", [schema]
        ).fetchall()]
        out = {}
        for table in tables:
            rows, digest = con.execute(table_sql(con, schema, table)).fetchone()
            out[table] = TableChecksum(table, int(rows), str(digest))
    return out


def compare(left: dict[str, TableChecksum], right: dict[str, TableChecksum]) -> list[str]:
    """Differences as readable lines; empty when the two sets of marts are equal."""
    problems = []
    for table in sorted(set(left) | set(right)):
        a, b = left.get(table), right.get(table)
        if a is None or b is None:
            problems.append(f"{table}: only in {'the fresh load' if a is None else 'the soak run'}")
        elif (a.rows, a.digest) != (b.rows, b.digest):
            problems.append(
                f"{table}: soak {a.rows:,} rows {a.digest[:12]} vs fresh {b.rows:,} rows {b.digest[:12]}"
            )
    return problems
