"""What each Airflow task does, as plain functions of the settings and the upstream XComs.

The DAG wraps these in ``@task`` one-liners. They call ``imdb_elt.pipeline`` rather than
re-implement it, so ``python -m imdb_elt run`` and the DAG run the very same steps. Values that
cross task boundaries (XComs) are JSON: the detection "plan", the Spark stats and the manifest.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any

from imdb_elt import build_state, lake, pipeline, report
from imdb_elt.config import Settings

log = logging.getLogger(__name__)

# Task ids other tasks read XComs from (the Cosmos interceptor and the report).
DETECT_TASK = "detect"
PREPARE_TASK = "prepare_snapshot"
PUBLISH_SNAPSHOT_TASK = "publish_snapshot"


def acquire_raw(settings: Settings) -> dict[str, Any]:
    """Download changed IMDb dumps into the raw zone (IMDB_ACQUIRE), else do nothing."""
    if not settings.acquire:
        return {"acquire": "off"}
    from imdb_elt.orchestration.acquire import acquire

    results = acquire(settings.datasets_url, settings.raw_dir, timeout=settings.acquire_timeout)
    return {"acquire": "on", "files": [asdict(r) for r in results]}


def detect_deliveries(settings: Settings) -> dict[str, Any]:
    """The run's plan: a fresh snapshot id and the deliveries the ledger has not seen."""
    found = pipeline.detect(settings)
    plan = {
        "snapshot_id": lake.new_snapshot_id(),
        "new": [asdict(d) for d in found.new],
        "already_processed": [d.file_name for d in found.already_processed],
        "missing": found.missing,
    }
    log.info("new deliveries: %s; already processed: %s; missing: %s",
             [d.file_name for d in found.new] or "none", plan["already_processed"], found.missing)
    return plan


def deliveries(plan: dict[str, Any]) -> list[lake.Delivery]:
    return [lake.Delivery(**d) for d in plan["new"]]


def has_new_deliveries(plan: dict[str, Any]) -> bool:
    """The short-circuit: False skips Spark, staging, dbt and publish (no JVM, no dbt)."""
    return bool(plan["new"])


def clean_locally(settings: Settings, plan: dict[str, Any]) -> dict[str, Any]:
    return pipeline.clean(settings, plan["snapshot_id"], deliveries(plan))


def prepare_snapshot(settings: Settings, plan: dict[str, Any], spark_stats: dict | None = None) -> dict:
    """Write the snapshot's manifest. EMR modes pass no stats: the job left them in the lake.

    The DAG rebuilds every model, so a saved selective-build state no longer describes the
    audit schema once its dbt tasks start: forget it here, ahead of them, on every target.
    """
    build_state.forget(settings)
    snapshot_id = plan["snapshot_id"]
    if spark_stats is None:
        if not lake.spark_completed(settings, snapshot_id):
            raise pipeline.PipelineError(
                f"the Spark job reported success but {settings.snapshot_dir(snapshot_id)}/"
                f"{lake.SPARK_DONE_MARKER} is missing"
            )
        spark_stats = lake.read_spark_stats(settings, snapshot_id)
    return pipeline.prepare_snapshot(settings, snapshot_id, spark_stats)


def stage_locally(settings: Settings, manifest: dict) -> dict[str, int]:
    return pipeline.stage(settings, manifest)


def dbt_vars_interceptor(context: Any, operator: Any) -> None:
    """Cosmos interceptor: hand the run's dbt vars (snapshot_id, expected_rows) to each dbt task.

    Cosmos templates ``vars`` as strings, which would turn the ``expected_rows`` mapping into a
    string; an interceptor sets the real mapping just before the dbt command line is built.
    """
    manifest = context["ti"].xcom_pull(task_ids=PREPARE_TASK)
    if manifest:
        operator.vars = {**(operator.vars or {}), **pipeline.dbt_vars(manifest)}


def release_dbt_duckdb(context: Any = None) -> None:
    """Close the DuckDB file dbt-duckdb leaves open after an in-process dbt call.

    With InvocationMode.DBT_RUNNER, dbt runs inside the task's process. After the command,
    dbt-duckdb keeps its environment (and the DuckDB file lock) in a class attribute, so the
    next process that opens the file (`dbt run-operation publish_marts`, a reader) fails with
    "Could not set lock on file". Run as the dbt tasks' success and failure callback; a no-op
    on other targets. (Under the scheduler each task is its own process, which frees the lock
    at exit anyway; under `dag.test()` every task shares one process.)
    """
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # dbt-duckdb not installed: nothing to release
        return
    with DuckDBConnectionManager._LOCK:
        env, DuckDBConnectionManager._ENV = DuckDBConnectionManager._ENV, None
    if env is not None:
        env.close()


def publish_marts(settings: Settings, manifest: dict) -> None:
    outcome = pipeline.publish_marts(settings)
    if not outcome.ok:
        raise pipeline.PipelineError("publishing the marts failed: published marts are unchanged")


def publish_snapshot(settings: Settings, manifest: dict, plan: dict[str, Any]) -> dict[str, Any]:
    pruned = pipeline.publish_snapshot(settings, manifest, deliveries(plan))
    return {"snapshot_id": manifest["snapshot_id"], "pruned": pruned}


def run_report(
    settings: Settings,
    plan: dict | None,
    manifest: dict | None,
    published: dict | None,
    staged: dict | None = None,
) -> dict[str, Any]:
    """Write the run report whatever happened; raise afterwards if the run failed.

    The report task runs with trigger rule ``all_done`` so that failed runs get a report too;
    raising keeps the DagRun failed (a successful leaf would otherwise mark it success).
    """
    run_id = (plan or {}).get("snapshot_id") or lake.new_snapshot_id()
    rep = report.new_report(run_id, settings)
    if plan:
        rep["new_deliveries"] = [d["file_name"] for d in plan["new"]]
        rep["already_processed"] = plan["already_processed"]
        rep["missing_inputs"] = plan["missing"]
    if manifest:
        rep["snapshot_id"] = manifest["snapshot_id"]
    rep["staged_rows"] = staged or {}
    rep["orchestrator"] = "airflow"
    if plan is not None and not plan["new"]:
        rep["status"] = "nothing_new"
        rep["snapshot_id"] = lake.current_snapshot_id(settings)
    elif published:
        rep["status"] = "success"
        rep["pruned_snapshots"] = published.get("pruned", [])
        if settings.dbt_target in ("duckdb", "postgres"):
            try:
                rep["marts"] = report.mart_row_counts(settings)
            except Exception as exc:  # counts are informative: never fail a published run on them
                log.warning("could not count mart rows: %s", exc)
    else:
        rep["status"] = "failed"
        rep["error"] = ("a step failed before publish (see its task log): "
                        "published marts and CURRENT unchanged")
    uri = report.write_report(settings, rep)
    log.info("run report: %s\n%s", uri, report.format_summary(rep))
    if rep["status"] == "failed":
        raise pipeline.PipelineError(rep["error"])
    return {"status": rep["status"], "report": uri}
