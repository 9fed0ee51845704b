"""The Airflow tasks of imdb_elt_hourly: the run engine's steps, one task each.

The DAG file only wires these together. Each task takes the run's plan (``pipeline.Plan``) from
the task before it through XCom, runs the very step ``python -m imdb_elt run`` runs, and hands
the updated plan on. Only ``detect`` decides whether the run has work; the scheduler then skips
what follows without starting a process for it (see the trigger rules in the DAG file).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from imdb_elt import locking, pipeline, run_lineage
from imdb_elt.config import Settings
from imdb_elt.pipeline import Plan

log = logging.getLogger(__name__)

# Task ids other tasks read XComs from.
DETECT_TASK = "detect"
CLEAN_TASK = "clean"
RECORD_TASK = "record_snapshot"
STAGE_TASK = "stage"
SELECT_TASK = "select_models"  # inside the dbt task group: dbt.select_models
PUBLISH_TASK = "publish"
#: Tasks that hand the plan on, in run order: the newest one present holds the latest plan.
PLAN_TASKS = (DETECT_TASK, CLEAN_TASK, RECORD_TASK, STAGE_TASK, PUBLISH_TASK)
#: XCom key under which a dbt task leaves its node results, and a failed step its plan.
DBT_RESULTS_KEY = "dbt_results"
FAILED_PLAN_KEY = "failed_plan"


def acquire_raw(settings: Settings) -> dict[str, Any]:
    """Download changed IMDb dumps into the raw zone (IMDB_ACQUIRE), else do nothing."""
    if not settings.acquire:
        return {"acquire": "off"}
    from imdb_elt.orchestration.acquire import acquire

    results = acquire(settings.datasets_url, settings.raw_dir, timeout=settings.acquire_timeout)
    return {"acquire": "on", "files": [asdict(r) for r in results]}


def detect(settings: Settings) -> dict[str, Any] | None:
    """The run's plan, or None (the short-circuit) when there is nothing to do.

    A run with nothing to do (or refused: another run holds the lease) is finished here, report
    and summary included, so that nothing after this task needs to start. A raw zone the plan
    cannot be made from (an input delivered under two names) fails the task, after its report.
    """
    plan = pipeline.detect(settings, orchestrator="airflow")
    if plan.active:
        log.info("plan: snapshot %s, new deliveries %s, dbt selection %s", plan.snapshot_id,
                 plan.new_deliveries, "all models" if plan.models is None else plan.models)
        return plan.to_dict()
    log.info("%s", pipeline.finish(settings, plan))
    if plan.status == pipeline.FAILED:
        raise pipeline.PipelineError(plan.error or "detect failed")
    return None


def run_step(settings: Settings, step: Callable[[Settings, Plan], None], plan_dict: dict,
             context: dict[str, Any]) -> dict[str, Any]:
    """One engine step on the plan, the run's lease renewed while it works.

    A failing step leaves its plan (with the error) in XCom for the report, then fails the task.
    """
    plan = Plan.from_dict(plan_dict)
    try:
        # The step's lineage events (Spark, staging, publish) name this task's run as parent.
        with locking.kept_alive(settings, plan.run_id), run_lineage.airflow_task(context):
            step(settings, plan)
    except Exception as exc:
        ti = context["ti"]
        pipeline.fail(plan, exc, ti.task_id)
        plan.log_url = getattr(ti, "log_url", None)
        ti.xcom_push(key=FAILED_PLAN_KEY, value=plan.to_dict())
        raise
    return plan.to_dict()


# ---- dbt through Cosmos ------------------------------------------------------------------------


def selected_dbt_tasks(plan_dict: dict, dbt_tasks: dict[str, dict], publish_task: str) -> list[str]:
    """The Cosmos tasks this run's plan builds (the branch after staging skips the others).

    ``dbt_tasks`` maps each task id to its dbt node (``extra_context["dbt_node_config"]``). A
    model runs when the plan selects it; a test task (a test on several models) when any of its
    parents is selected, as dbt's eager test selection does on the command line.
    """
    plan = Plan.from_dict(plan_dict)
    if plan.selection is None:
        return [*dbt_tasks, publish_task]
    models = set(plan.selection["models"])
    sources = {s.removeprefix("source:") for s in plan.selection["nodes"] if s.startswith("source:")}

    def selected(unique_id: str) -> bool:
        kind, _, rest = unique_id.partition(".")
        if kind == "model":
            return rest.rsplit(".", 1)[-1] in models
        return kind == "source" and rest in sources

    chosen = [
        task_id for task_id, node in dbt_tasks.items()
        if not node or selected(node["unique_id"]) or (
            node["resource_type"] != "model" and any(selected(p) for p in node.get("depends_on", []))
        )
    ]
    return [*chosen, publish_task]


def dbt_env_interceptor(context: Any, operator: Any) -> None:
    """Cosmos interceptor: hand the run's reconciliation figures to the dbt task's environment,
    and the plan's selection to a task that runs dbt for the whole selection (the watcher's
    producer, the tests after all models).

    Figures in an environment variable, not a dbt var: a var that changes every run costs dbt a
    full re-parse of the project, and the command line hands them over the same way.
    """
    plan_dict = context["ti"].xcom_pull(task_ids=STAGE_TASK)
    if not plan_dict:
        return
    plan = Plan.from_dict(plan_dict)
    operator.env = {**(operator.env or {}), **pipeline.dbt_run_env(plan)}
    whole_selection = not (getattr(operator, "extra_context", None) or {}).get("dbt_node_config")
    if whole_selection and plan.selection is not None:
        operator.select = " ".join(plan.selection["nodes"])


def push_dbt_results(project_dir: str, context: Any = None, **_: Any) -> None:
    """Cosmos callback (after the dbt command, failed or not): leave its node results in XCom,
    and report the watcher's models to OpenLineage one by one (run_lineage.watcher_build).

    dbt writes run_results.json under DBT_TARGET_PATH when that is set, else in the copy of the
    project Cosmos ran it in. A file older than this task is another task's, and is ignored.
    """
    from imdb_elt.dbt_runner import node_results

    if context is None:
        return
    target = os.environ.get("DBT_TARGET_PATH")
    results_file = (Path(target) if target else Path(project_dir) / "target") / "run_results.json"
    started = getattr(context["ti"], "start_date", None)
    if not results_file.is_file() or (started and results_file.stat().st_mtime < started.timestamp()):
        log.warning("no run_results.json from this dbt command at %s", results_file)
        return
    context["ti"].xcom_push(key=DBT_RESULTS_KEY, value=node_results(json.loads(results_file.read_text())))
    run_lineage.watcher_build(context, str(results_file.parent))


def release_dbt_duckdb(context: Any = None) -> None:
    """Task callback: close the DuckDB file dbt-duckdb keeps open after an in-process run."""
    from imdb_elt.dbt_runner import release_duckdb

    release_duckdb()


# ---- publish and report ------------------------------------------------------------------------


def failed_task_ids(ti: Any) -> list[str]:
    """This DAG run's failed tasks (upstream_failed ones are their consequence, not listed)."""
    try:
        states = ti.get_task_states(dag_id=ti.dag_id, run_ids=[ti.run_id])
    except Exception as exc:
        log.warning("cannot read the run's task states: %s", exc)
        return []
    return sorted(t for t, state in (states.get(ti.run_id) or {}).items() if state == "failed")


def task_log_url(ti: Any, task_id: str) -> str:
    """The UI page of another task of this run (its log), as Airflow writes ``ti.log_url``."""
    from urllib.parse import quote

    own = getattr(ti, "log_url", "") or ""
    base = own.split("/dags/", 1)[0] if "/dags/" in own else "http://localhost:8080"
    return f"{base}/dags/{ti.dag_id}/runs/{quote(ti.run_id)}/tasks/{task_id}"


def unplanned_failure(settings: Settings, task_id: str) -> Plan:
    """A run whose first tasks failed before detect made a plan: reported and told all the same."""
    from imdb_elt import lake

    plan = Plan(run_id=lake.new_snapshot_id(), orchestrator="airflow", started_at=pipeline._now(),
                raw_dir=settings.raw_dir, lake_dir=settings.lake_dir, dbt_target=settings.dbt_target,
                marts_schema=settings.marts_schema)
    pipeline.fail(plan, pipeline.PipelineError(
        f"task {task_id} failed before the run was planned: nothing was cleaned or published"), task_id)
    return plan


def collect_dbt_results(ti: Any, dbt_task_ids: list[str]) -> list[dict]:
    found = ti.xcom_pull(task_ids=dbt_task_ids, key=DBT_RESULTS_KEY) or []
    if isinstance(found, dict):  # a single task id returns its value, not a list
        found = [found]
    return [node for results in found if results for node in results]


def publish(settings: Settings, plan_dict: dict, ti: Any, dbt_task_ids: list[str]) -> dict[str, Any]:
    """Record what the dbt tasks built, then publish (the same step as the command line)."""
    if not plan_dict:  # defensive: the trigger rules never start publish without a staged plan
        raise pipeline.PipelineError("publish started without a staged plan: nothing published")
    plan = Plan.from_dict(plan_dict)
    results = collect_dbt_results(ti, dbt_task_ids)
    if not any(r["resource_type"] == "model" for r in results):
        # Never publish blind: which marts a selective build rebuilt comes from these results.
        raise pipeline.PipelineError("the dbt tasks left no model results in XCom: nothing published")
    pipeline.record_build(settings, plan, results, sum(r["seconds"] for r in results))
    return run_step(settings, pipeline.publish, plan.to_dict(), {"ti": ti})


def report(settings: Settings, ti: Any, dbt_task_ids: list[str]) -> dict[str, Any]:
    """Write the run report whatever happened and give the lease back; raise if the run failed.

    Runs with trigger rule ``all_done``: the newest plan a task handed on, or the plan a failed
    step left, says how far the run got. Raising keeps the DagRun failed.
    """
    failed = [p for p in (ti.xcom_pull(task_ids=list(PLAN_TASKS), key=FAILED_PLAN_KEY) or []) if p]
    plans = [p for p in (ti.xcom_pull(task_ids=list(PLAN_TASKS)) or []) if p]
    failed_tasks = failed_task_ids(ti)
    if not plans and not failed:
        if not failed_tasks:
            return {"status": "skipped"}  # detect finished the run (nothing new, refused)
        plan = unplanned_failure(settings, failed_tasks[0])  # acquire or detect itself failed
    else:
        plan = Plan.from_dict(failed[-1] if failed else plans[-1])
    if not plan.dbt:
        results = collect_dbt_results(ti, dbt_task_ids)
        if results:
            pipeline.record_build(settings, plan, results, sum(r["seconds"] for r in results))
    if plan.status == pipeline.RUNNING:  # a task failed without handing on its plan (a dbt task)
        failures = "; ".join(plan.dbt.get("failures", [])[:5]) if plan.dbt else ""
        pipeline.fail(plan, pipeline.PipelineError(
            "a step failed before publish (see its task log): published marts and CURRENT unchanged"
            + (f". {failures}" if failures else "")), ", ".join(failed_tasks) or None)
    if plan.status == pipeline.FAILED and not plan.log_url and failed_tasks:
        plan.log_url = task_log_url(ti, failed_tasks[0])
    summary = pipeline.finish(settings, plan)
    log.info("%s", summary)
    if plan.status == pipeline.FAILED:
        raise pipeline.PipelineError(plan.error)
    return {"status": plan.status, "report": plan.logs.get("report")}
