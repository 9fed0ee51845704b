"""Warehouse staging: processed Parquet → ``<raw_schema>.<dataset>`` in the dbt target.

``stage_snapshot`` is what the pipeline and the Airflow DAG call. Loaders are imported on use so
that importing this package (at DAG parse time) pulls in no database driver.
"""

from __future__ import annotations

from collections.abc import Mapping

from imdb_elt.config import Settings


def stage_snapshot(settings: Settings, datasets: Mapping[str, str]) -> dict[str, int]:
    """Stage ``datasets`` (catalogue dataset → Parquet folder / s3:// prefix) into the target.

    The target is ``settings.dbt_target``; catalogue datasets missing from ``datasets`` are staged
    empty with their columns. All raw relations are replaced in one transaction. Returns rows
    per raw relation. The run history's tables are created too if missing: dbt's ops views read
    them, and a first build can come before the first run is appended.
    """
    from imdb_elt import run_history

    rows = _stage(settings, datasets)
    run_history.ensure_tables(settings)
    return rows


def _stage(settings: Settings, datasets: Mapping[str, str]) -> dict[str, int]:
    target = settings.dbt_target
    if target == "duckdb":
        from imdb_elt.warehouse.duckdb_loader import stage_duckdb

        return stage_duckdb(settings.duckdb_path, settings.raw_schema, datasets)
    if target == "postgres":
        from imdb_elt.warehouse.postgres_loader import stage_postgres

        return stage_postgres(settings.raw_schema, datasets)
    if target == "redshift":
        from imdb_elt.warehouse.redshift_loader import (
            connect_redshift,
            redshift_options,
            stage_redshift,
        )

        options = redshift_options(settings)
        connection = connect_redshift(settings) if options.method == "connector" else None
        try:
            return stage_redshift(settings.raw_schema, datasets, options, connection=connection)
        finally:
            if connection is not None:
                connection.close()  # type: ignore[attr-defined]
    raise ValueError(f"unknown DBT_TARGET {target!r}: expected duckdb, postgres or redshift")


__all__ = ["stage_snapshot"]
