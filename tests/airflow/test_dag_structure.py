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
    publish = dag.get_task("publish")
    assert publish.retry_exponential_backoff
    assert sorted(a.name for a in publish.outlets) == ["imdb_elt_marts", "imdb_elt_processed_snapshot"]


def _models(manifest: Path) -> dict[str, dict]:
    nodes = json.loads(manifest.read_text())["nodes"]
    return {n["name"]: n for n in nodes.values() if n["resource_type"] == "model"}


def _model_task(dag, name: str):
    """The task that shows a model (watcher mode: it reports the producer's build of the model)."""
    task_id = f"dbt.{name}_run"
    assert task_id in dag.task_dict, f"no task for model {name}"
    return dag.task_dict[task_id]


def test_one_task_per_model_after_the_one_build(dagbag, dbt_manifest):
    """dbt builds the models in their order inside the producer; each model's task reports its
    model afterwards and waits for nothing else (no chain of task start-ups)."""
    dag = dagbag.dags["imdb_elt_hourly"]
    models = _models(dbt_manifest)
    model_tasks = [t for t in dag.tasks if t.task_id.startswith("dbt.") and t.task_id.endswith("_run")]
    assert len(model_tasks) == len(models)
    for name in models:
        task = _model_task(dag, name)
        assert task.pool != "imdb_elt_dbt"  # watchers run no dbt: they never wait for the writer
        assert task.upstream_task_ids == {"dbt.select_models"}
        assert "dbt.dbt_producer_watcher" in task.get_flat_relative_ids(upstream=True)
    print(f"\n{len(models)} models, {len(dag.tasks)} tasks in all")


def test_one_dbt_build_then_the_tests_before_publish(dagbag):
    """The producer builds the run's models in one dbt process; the tests read what it built, so
    they start with the model tasks (first in the queue), not after them, and gate publish."""
    dag = dagbag.dags["imdb_elt_hourly"]
    producer, tests = dag.get_task("dbt.dbt_producer_watcher"), dag.get_task("dbt.dbt_project_test")
    assert producer.pool == tests.pool == "imdb_elt_dbt"  # the only dbt writers, one at a time
    assert tests.base_cmd == ["test"]
    assert tests.upstream_task_ids == {"dbt.select_models"}
    assert producer.task_id in tests.get_flat_relative_ids(upstream=True)
    model_tasks = [t for t in dag.tasks if t.task_id.endswith("_run")]
    assert all(tests.priority_weight > t.priority_weight for t in model_tasks)  # weight rule: absolute
    assert "dbt.dbt_project_test" in dag.get_task("publish").upstream_task_ids


def test_the_engine_steps_in_order_and_the_branch_before_every_dbt_task(dagbag):
    dag = dagbag.dags["imdb_elt_hourly"]
    order = ["acquire", "detect", "clean", "stage", "dbt.dbt_producer_watcher", "dbt.select_models",
             "dbt.dbt_producer_watcher_done", "publish", "report"]
    for before, after in itertools.pairwise(order):
        assert before in dag.get_task(after).upstream_task_ids
    dbt_tasks = [t for t in dag.tasks if t.task_id.startswith("dbt.")
                 and t.task_id not in ("dbt.select_models", "dbt.dbt_producer_watcher")]
    # The branch is a direct parent of every dbt task after the producer's build: it skips the
    # unselected ones outright (nothing it follows may lead to one it does not).
    assert all("dbt.select_models" in t.upstream_task_ids for t in dbt_tasks)
    upstream_of_publish = dag.get_task("publish").get_flat_relative_ids(upstream=True)
    assert {t.task_id for t in dbt_tasks} <= upstream_of_publish
    # After detect's short-circuit, a step runs when nothing upstream failed and something ran.
    steps = [dag.get_task(t) for t in ("stage", "dbt.select_models", "publish", "dbt.dbt_producer_watcher")]
    assert {t.trigger_rule for t in steps + dbt_tasks} == {"none_failed_min_one_success"}
    # detect skips clean and report directly when there is nothing to do; report runs otherwise.
    assert {"clean", "report"} <= dag.get_task("detect").downstream_task_ids
    assert dag.get_task("report").trigger_rule == "all_done"


def test_dbt_tasks_get_the_settings_environment_and_no_secret(dagbag):
    from imdb_elt import config

    dag = dagbag.dags["imdb_elt_hourly"]
    task = _model_task(dag, "movies")
    assert task.env == config.dbt_environment(config.load())
    assert task.env["IMDB_ENV"] == "prod"
    assert not {"PGPASSWORD", "REDSHIFT_PASSWORD", "AWS_SECRET_ACCESS_KEY"} & set(task.env)
