"""dbt-duckdb plugin (profiles.yml): a development build's own DuckDB file gets what staging
gives the production one.

A development build (any dbt invocation without IMDB_ENV=prod) on DuckDB writes the person's own
file, never the pipeline's: DuckDB allows one writer or many readers per file, and the hourly run
must not wait for, or fail on, an analyst's build. That file still needs the sources, so at
connection time the plugin points ``raw.<dataset>`` at the lake's current snapshot with the
production loader's views (nothing is copied).

A deferred build (``--defer --state``) reads production's relations for the parents it does not
build, so the production file is then attached read-only under its own database name. While such
a build runs the pipeline cannot write the file: on a machine that runs the hourly pipeline,
defer on PostgreSQL or Redshift instead (README, "For analysts").

A production connection is left alone: the pipeline stages it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin
from duckdb import DuckDBPyConnection

from imdb_elt import config, lake, run_history
from imdb_elt.warehouse.duckdb_loader import stage_views
from imdb_elt.warehouse.identifiers import quote_identifier, sql_string_literal


def _deferring() -> bool:
    from dbt.flags import get_flags

    return bool(getattr(get_flags(), "DEFER", False))


class Plugin(BasePlugin):
    def update_connection_config(self, creds: Any, duckdb_config: dict[str, Any]) -> None:
        if config.production_build():
            return
        settings = config.load()
        if os.path.abspath(os.path.expanduser(creds.path)) == os.path.abspath(settings.duckdb_path):
            raise RuntimeError(
                f"a development build would write the production DuckDB file {settings.duckdb_path}: "
                "set IMDB_DEV_DUCKDB_PATH to a file of your own (or leave it unset)"
            )
        Path(creds.path).expanduser().parent.mkdir(parents=True, exist_ok=True)

    def configure_connection(self, conn: DuckDBPyConnection) -> None:
        if config.production_build():
            return
        settings = config.load()
        current = lake.current_manifest(settings) if not settings.lake_dir.startswith("s3://") else None
        tables = conn.execute(
            "select count(*) from information_schema.tables where table_schema = ?", [settings.raw_schema]
        ).fetchone()
        if current:
            stage_views(conn, settings.raw_schema, {n: d["path"] for n, d in current["datasets"].items()})
        elif not (tables and tables[0]):
            # Nothing published yet: typed, empty sources, so the project still builds.
            stage_views(conn, settings.raw_schema, {})
        # The run history's tables, empty: the ops views build (the history is production's).
        for sql in run_history.create_statements(settings.ops_schema, "duckdb"):
            conn.execute(sql)
        if _deferring() and Path(settings.duckdb_path).is_file():
            alias = Path(settings.duckdb_path).stem
            conn.execute(f"attach if not exists {sql_string_literal(settings.duckdb_path)} "
                         f"as {quote_identifier(alias)} (read_only)")
