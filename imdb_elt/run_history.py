"""Run history in the warehouse: every run's report, appended to tables in ``IMDB_OPS_SCHEMA``.

The report (``pipeline.Plan``) is flattened into four append-only tables, one row per run, per
file, per quarantine reason and per dbt node. dbt's ops models (``dbt_project/models/ops``) are
views over them, so ``ops.run_history`` and its siblings are current as soon as a run is appended,
failed and nothing-new runs included, with no dbt build.

The append is a few ``INSERT`` statements in one transaction, keyed by run id (a re-append of
the same run replaces its rows: ``reports/latest.json`` is a copy, and each run counts once).
It never fails a run: when the warehouse cannot take it (an analyst holds the DuckDB file, the
server is down) the run id waits in ``<lake>/state/ops_pending.json`` and the next run appends it
first. ``python -m imdb_elt history`` appends every report of the lake the warehouse lacks.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from imdb_elt import catalog, storage
from imdb_elt.config import Settings

log = logging.getLogger(__name__)

PENDING_FILE = "ops_pending.json"


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[tuple[str, str], ...]  # (name, catalogue type): imdb_elt.warehouse.types maps it

    @property
    def column_names(self) -> list[str]:
        return [c for c, _ in self.columns]


#: The appended tables: the contract of dbt's ``ops`` source (tests/test_run_history.py checks
#: the sources YAML against it).
RUNS = Table("run_reports", (
    ("run_id", "string"), ("trigger", "string"), ("status", "string"),
    ("started_at", "timestamp"), ("finished_at", "timestamp"), ("seconds", "decimal(12,2)"),
    ("snapshot_id", "string"), ("dbt_target", "string"), ("rebuild", "boolean"),
    ("new_deliveries", "int"), ("failed_task", "string"), ("error", "string"),
    ("dbt_models_ok", "int"), ("dbt_models_failed", "int"), ("dbt_tests_passed", "int"),
    ("dbt_tests_warned", "int"), ("dbt_tests_failed", "int"), ("dbt_seconds", "decimal(12,2)"),
    ("log_url", "string"), ("report_uri", "string"), ("appended_at", "timestamp"),
))
FILES = Table("run_report_files", (
    ("run_id", "string"), ("dataset", "string"), ("file_name", "string"),
    ("rows_read", "bigint"), ("rows_written", "bigint"), ("rows_deduplicated", "bigint"),
    ("rows_quarantined", "bigint"), ("rows_per_second", "decimal(14,1)"),
))
QUARANTINE = Table("run_report_quarantine", (
    ("run_id", "string"), ("dataset", "string"), ("reason", "string"), ("rows", "bigint"),
))
NODES = Table("run_report_dbt_nodes", (
    ("run_id", "string"), ("unique_id", "string"), ("resource_type", "string"), ("name", "string"),
    ("status", "string"), ("failures", "bigint"), ("message", "string"), ("seconds", "decimal(12,3)"),
))
TABLES: tuple[Table, ...] = (RUNS, FILES, QUARANTINE, NODES)

#: Longest text kept per value (Redshift's VARCHAR(65535) counts bytes; the report keeps it all).
MAX_TEXT = 16000


# ---- the report, flattened ---------------------------------------------------------------------


def _timestamp(value: str | None) -> str | None:
    """ISO text as a naive UTC timestamp (the warehouses' TIMESTAMP)."""
    if not value:
        return None
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed.isoformat(sep=" ", timespec="seconds")


def _text(value: Any) -> str | None:
    return None if value is None else str(value)[:MAX_TEXT]


def rows(report: dict[str, Any], appended_at: str | None = None) -> dict[str, list[tuple]]:
    """The report as rows of each table (table name -> tuples in column order)."""
    run_id = report["run_id"]
    dbt = report.get("dbt") or {}
    appended = appended_at or datetime.now(UTC).isoformat(timespec="seconds")
    run = (
        run_id, report.get("orchestrator"), report.get("status"),
        _timestamp(report.get("started_at")), _timestamp(report.get("finished_at")), report.get("seconds"),
        report.get("snapshot_id"), report.get("dbt_target"), bool(report.get("rebuild")),
        len(report.get("new_deliveries") or []), report.get("failed_task"), _text(report.get("error")),
        dbt.get("models_ok"), dbt.get("models_failed"), dbt.get("tests_passed"),
        dbt.get("tests_warned"), dbt.get("tests_failed"), dbt.get("seconds"),
        report.get("log_url"), (report.get("logs") or {}).get("report"), _timestamp(appended),
    )
    files, reasons = [], []
    for dataset, st in (report.get("files") or {}).items():
        spec = catalog.BY_DATASET.get(dataset)
        files.append((
            run_id, dataset, spec.file_name if spec else st.get("source_file"),
            st.get("rows_read"), st.get("rows_written"), st.get("rows_deduplicated"),
            st.get("rows_quarantined"), st.get("rows_per_second"),
        ))
        for reason, count in sorted((st.get("quarantined_by_reason") or {}).items()):
            reasons.append((run_id, dataset, reason, count))
    nodes = [
        (run_id, n["unique_id"], n["resource_type"], n["name"], n["status"], n.get("failures"),
         _text(n.get("message")), n.get("seconds"))
        for n in dbt.get("nodes") or []
    ]
    return {RUNS.name: [run], FILES.name: files, QUARANTINE.name: reasons, NODES.name: nodes}


# ---- SQL ------------------------------------------------------------------------------------------


def _literal(value: Any, target: str) -> str:
    from imdb_elt.warehouse.identifiers import sql_string_literal

    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    text = str(value).replace("\x00", "")
    if target == "redshift":  # Redshift reads a backslash in a literal as an escape
        text = text.replace("\\", "\\\\")
    return sql_string_literal(text)


def _typed(value: Any, column_type: str, target: str) -> str:
    from imdb_elt.warehouse.types import warehouse_type

    literal = _literal(value, target)
    if literal == "NULL" or column_type in ("string", "int", "bigint", "boolean"):
        return literal
    return f"CAST({literal} AS {warehouse_type(column_type, target)})"


def create_statements(schema: str, target: str) -> list[str]:
    """``CREATE SCHEMA/TABLE IF NOT EXISTS`` for the appended tables."""
    from imdb_elt.warehouse.identifiers import qualified_name, quote_identifier
    from imdb_elt.warehouse.types import warehouse_type

    out = [f"CREATE SCHEMA IF NOT EXISTS {quote_identifier(schema)}"]
    for table in TABLES:
        cols = ", ".join(f"{quote_identifier(c)} {warehouse_type(t, target)}" for c, t in table.columns)
        out.append(f"CREATE TABLE IF NOT EXISTS {qualified_name(schema, table.name)} ({cols})")
    return out


def append_statements(schema: str, target: str, report_rows: dict[str, list[tuple]]) -> list[str]:
    """Delete the run's rows, then insert them: one transaction's statements, values inline
    (the Redshift Data API's batches take no parameters)."""
    from imdb_elt.warehouse.identifiers import qualified_name, quote_identifier

    run_id = report_rows[RUNS.name][0][0]
    out = []
    for table in TABLES:
        name = qualified_name(schema, table.name)
        out.append(f"DELETE FROM {name} WHERE run_id = {_literal(run_id, target)}")
        values = [
            "(" + ", ".join(_typed(v, t, target) for v, (_, t) in zip(row, table.columns, strict=True)) + ")"
            for row in report_rows[table.name]
        ]
        if values:
            cols = ", ".join(quote_identifier(c) for c in table.column_names)
            out.append(f"INSERT INTO {name} ({cols}) VALUES {', '.join(values)}")
    return out


# ---- executing them on each target -------------------------------------------------------------


def _execute(settings: Settings, statements: Sequence[str]) -> None:
    """Run the statements in one transaction on the dbt target."""
    target = settings.dbt_target
    if target == "duckdb":
        import duckdb

        # A short connection of its own: DuckDB has one writer per file, and dbt (in this
        # process) has closed its own by now (dbt_runner.release_duckdb).
        with duckdb.connect(settings.duckdb_path) as con:
            con.execute("BEGIN")
            for sql in statements:
                con.execute(sql)
            con.execute("COMMIT")
    elif target == "postgres":
        import psycopg

        with psycopg.connect("", connect_timeout=10) as conn, conn.transaction():
            for sql in statements:
                conn.execute(sql)  # type: ignore[arg-type]
    elif target == "redshift":
        from imdb_elt.warehouse.redshift_loader import (
            connect_redshift,
            execute_data_api,
            execute_dbapi,
            redshift_options,
        )

        options = redshift_options(settings)
        if options.method == "connector":
            connection = connect_redshift(settings)
            try:
                execute_dbapi(connection, statements)
            finally:
                connection.close()  # type: ignore[attr-defined]
        else:
            execute_data_api(statements, options)
    else:
        raise ValueError(f"unknown DBT_TARGET {target!r}")


def ensure_tables(settings: Settings) -> None:
    """Create the schema and tables if missing: dbt's ops views need them before their first
    build, which can come before the first append."""
    _execute(settings, create_statements(settings.ops_schema, settings.dbt_target))


def _pending_uri(settings: Settings) -> str:
    return f"{settings.state_dir}/{PENDING_FILE}"


def _read_pending(settings: Settings) -> list[str]:
    uri = _pending_uri(settings)
    return json.loads(storage.read_text(uri)) if storage.exists(uri) else []


def _write_pending(settings: Settings, run_ids: Iterable[str]) -> None:
    ids = sorted(set(run_ids))
    uri = _pending_uri(settings)
    if ids:
        storage.write_text_atomic(uri, json.dumps(ids) + "\n")
    elif storage.exists(uri):
        storage.delete_tree(uri)


def _read_report(settings: Settings, run_id: str) -> dict | None:
    uri = f"{settings.reports_dir}/{run_id}.json"
    return json.loads(storage.read_text(uri)) if storage.exists(uri) else None


def append_reports(settings: Settings, reports: Sequence[dict[str, Any]]) -> None:
    """Append reports in one transaction (tables created first if missing)."""
    target = settings.dbt_target
    statements = create_statements(settings.ops_schema, target)
    for rep in reports:
        statements += append_statements(settings.ops_schema, target, rows(rep))
    _execute(settings, statements)


def append(settings: Settings, report: dict[str, Any], *, defer: bool = False) -> bool:
    """Append this run's report, and any an earlier run could not; never raises.

    ``defer``: only record the run as pending. A run refused the lake's lease does that: only
    the lease holder writes the warehouse, so an append never takes DuckDB's single-writer lock
    from under another run's dbt. Returns whether the warehouse took the report now.
    """
    run_id = report["run_id"]
    try:
        pending = [r for r in _read_pending(settings) if r != run_id]
    except (OSError, ValueError) as exc:
        log.warning("run history: cannot read %s (%s); appending this run only", PENDING_FILE, exc)
        pending = []
    if defer:
        _keep_pending(settings, [*pending, run_id])
        return False
    earlier = [rep for rep in (_read_report(settings, r) for r in pending) if rep is not None]
    try:
        append_reports(settings, [*earlier, report])
    except Exception as exc:
        reason = (str(exc).strip().splitlines() or [""])[0][:300]
        log.warning("run history: the %s warehouse did not take run %s (%s: %s); kept in %s for "
                    "the next run", settings.dbt_target, run_id, type(exc).__name__, reason,
                    _pending_uri(settings))
        _keep_pending(settings, [*pending, run_id])
        return False
    if pending:
        try:  # re-read: a refused run may have added itself meanwhile
            _write_pending(settings, set(_read_pending(settings)) - set(pending))
        except (OSError, ValueError) as exc:
            log.warning("run history: cannot update %s: %s", PENDING_FILE, exc)
    return True


def _keep_pending(settings: Settings, run_ids: list[str]) -> None:
    try:
        _write_pending(settings, run_ids)
    except OSError as exc:
        log.error("run history: cannot record runs %s as pending: %s", run_ids, exc)


def report_run_ids(settings: Settings) -> list[str]:
    """Every run report in the lake (``latest.json`` is a copy, not a run)."""
    names = [f.name for f in storage.list_files(settings.reports_dir)]
    return sorted(n.removesuffix(".json") for n in names if n.endswith(".json") and n != "latest.json")


def backfill(settings: Settings, batch: int = 50) -> int:
    """Append every report of the lake (idempotent: a run already there is replaced, not doubled)."""
    ids = report_run_ids(settings)
    for start in range(0, len(ids), batch):
        found = [rep for rep in (_read_report(settings, r) for r in ids[start:start + batch]) if rep]
        append_reports(settings, found)
    _write_pending(settings, [])
    return len(ids)
