"""Reading published results back from the warehouse, for summaries and checks."""

from __future__ import annotations

from collections.abc import Iterable

from imdb_elt.config import Settings


def count_rows(settings: Settings, schema: str, tables: Iterable[str]) -> dict[str, int]:
    """Rows per existing table of `schema`; tables that do not exist are left out."""
    tables = list(tables)
    if settings.dbt_target == "duckdb":
        import duckdb

        with duckdb.connect(settings.duckdb_path, read_only=True) as con:
            existing = {
                r[0]
                for r in con.execute(
                    "select table_name from information_schema.tables where table_schema = ?", [schema]
                ).fetchall()
            }
            return {
                t: con.execute(f'select count(*) from "{schema}"."{t}"').fetchone()[0]
                for t in tables
                if t in existing
            }
    if settings.dbt_target == "postgres":
        import psycopg
        from psycopg import sql

        with psycopg.connect() as con:  # PG* environment variables
            existing = {
                r[0]
                for r in con.execute(
                    "select table_name from information_schema.tables where table_schema = %s", [schema]
                ).fetchall()
            }
            return {
                t: con.execute(
                    sql.SQL("select count(*) from {}.{}").format(sql.Identifier(schema), sql.Identifier(t))
                ).fetchone()[0]
                for t in tables
                if t in existing
            }
    return {}
