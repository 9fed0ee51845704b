"""The DAG folder imports cleanly, fast, and renders the dbt project as one task per model."""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path

import pytest

from imdb_elt.config import REPO_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def dagbag(dbt_manifest: Path):
    import airflow  # noqa: F401  (Airflow's own import is not the DAG's parse time)
    from airflow.dag_processing.dagbag import DagBag

    DagBag(dag_folder=str(REPO_ROOT / "dags"))  # warm-up: first-import costs of Cosmos and providers
    started = time.perf_counter()
    bag = DagBag(dag_folder=str(REPO_ROOT / "dags"))
    seconds = time.perf_counter() - started
    print(f"\nDAG folder parse time (warm): {seconds:.2f} s for {len(bag.dags)} DAG(s)")
    bag.parse_seconds = seconds
    return bag


def test_dag_folder_imports_without_errors(dagbag):
    assert dagbag.import_errors == {}
    assert "imdb_elt_hourly" in dagbag.dags
    assert dagbag.parse_seconds < 5  # generous: measured ~0.8 s; `dbt ls` parsing would be 4+ s


def test_schedule_and_run_policy(dagbag):
    dag = dagbag.dags["imdb_elt_hourly"]
    assert dag.max_active_runs == 1
    assert dag.catchup is False
    assert dag.schedule == "@hourly"  # IMDB_SCHEDULE's default
    publish = dag.get_task("publish_snapshot")
    assert publish.retry_exponential_backoff
    assert [a.name for a in publish.outlets] == ["imdb_elt_processed_snapshot"]
    assert [a.name for a in dag.get_task("publish_marts").outlets] == ["imdb_elt_marts"]


def _models(manifest: Path) -> dict[str, dict]:
    nodes = json.loads(manifest.read_text())["nodes"]
    return {n["name"]: n for n in nodes.values() if n["resource_type"] == "model"}


def _model_task(dag, name: str):
    """The task that runs a model: `dbt.<model>.run` (model with tests) or `dbt.<model>_run`."""
    for task_id in (f"dbt.{name}.run", f"dbt.{name}_run"):
        if task_id in dag.task_dict:
            return dag.task_dict[task_id]
    raise AssertionError(f"no task for model {name}")


def test_one_task_per_model_with_its_tests_after_it(dagbag, dbt_manifest):
    dag = dagbag.dags["imdb_elt_hourly"]
    models = _models(dbt_manifest)
    nodes = json.loads(dbt_manifest.read_text())["nodes"]
    tested = {dep for n in nodes.values() if n["resource_type"] == "test" for dep in n["depends_on"]["nodes"]}
    run_tasks = [t for t in dag.tasks if t.task_id.startswith("dbt.") and t.task_id.endswith("run")]
    assert len(run_tasks) == len(models)
    for name, node in models.items():
        task = _model_task(dag, name)
        assert task.pool == "imdb_elt_dbt"
        if node["unique_id"] in tested:
            assert f"dbt.{name}.test" in task.downstream_task_ids
        # dependency order: every upstream model's task (or its test) comes before this one
        for dep in node["depends_on"]["nodes"]:
            if dep.startswith("model."):
                upstream = _model_task(dag, dep.split(".")[-1])
                assert dag.has_task(upstream.task_id)
                assert upstream.task_id in task.get_flat_relative_ids(upstream=True)
    print(f"\n{len(models)} models, {len([t for t in dag.tasks if t.task_id.endswith('.test')])} test tasks")


def test_dbt_runs_after_staging_and_before_publish(dagbag):
    dag = dagbag.dags["imdb_elt_hourly"]
    dbt_tasks = [t for t in dag.tasks if t.task_id.startswith("dbt.")]
    roots = [t for t in dbt_tasks if not any(u.startswith("dbt.") for u in t.upstream_task_ids)]
    assert roots and all(t.upstream_task_ids == {"stage"} for t in roots)
    upstream_of_publish = dag.get_task("publish_marts").get_flat_relative_ids(upstream=True)
    assert {t.task_id for t in dbt_tasks} <= upstream_of_publish
    order = ["acquire", "detect", "has_new_deliveries", "clean", "prepare_snapshot", "stage"]
    for before, after in itertools.pairwise(order):
        assert before in dag.get_task(after).get_flat_relative_ids(upstream=True)
    assert dag.get_task("report").trigger_rule == "all_done"


def test_dbt_tasks_get_only_the_profile_environment(dagbag):
    dag = dagbag.dags["imdb_elt_hourly"]
    task = _model_task(dag, "movies")
    assert set(task.env) == {"DBT_TARGET", "DUCKDB_PATH", "IMDB_RAW_SCHEMA", "DBT_SEND_ANONYMOUS_USAGE_STATS"}
