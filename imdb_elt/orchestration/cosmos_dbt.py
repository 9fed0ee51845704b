"""The dbt part of the DAG, rendered by Cosmos: one task per model.

Two ways to run it (IMDB_DBT_EXECUTION_MODE; measured in docs/airflow.md):
- ``watcher`` (default): Cosmos' ExecutionMode.WATCHER. One producer task runs the run's models
  in a single `dbt build` (one dbt start-up and one parse per run); one light task per model
  reports that model's outcome from the producer's events, so the graph still shows every model.
  The tests run in one `dbt test` task (TestBehavior.AFTER_ALL) after the producer, beside the
  model tasks, before publish: a failing test fails that task and nothing is published.
- ``local``: one `dbt build --select <model>` per model task (TestBehavior.BUILD: the model,
  then its tests; tests on two models detached after both). Every task pays dbt's start-up and
  parse: several seconds each.

Common to both:
- LoadMode.DBT_MANIFEST from a manifest built ahead by `dbt parse` (dbt_manifest.py): the DAG
  parses in well under a second instead of running `dbt ls` (~4 s) at every parse.
- InvocationMode.DBT_RUNNER: dbt's Python API in the task's process, not a `dbt` subprocess.
  The DuckDB handle dbt-duckdb keeps afterwards is closed by a task callback.
- Every task that runs dbt is in the pool of one slot (IMDB_DBT_POOL): DuckDB allows one writer.
- The run's reconciliation figures and the plan's selection reach dbt through an interceptor
  (tasks.dbt_env_interceptor): IMDB_EXPECTED_ROWS, the same hand-over as the command line.
- Each dbt task leaves its node results in XCom (callback tasks.push_dbt_results): the publish
  and report tasks build the run report's dbt figures from them.
- Model tasks the run's plan does not select are skipped by the branch before the group
  (tasks.selected_dbt_tasks); trigger rule none_failed_min_one_success lets a selected model run
  when some of its parents were skipped.
- The environment handed to dbt is config.dbt_environment (settings only): the DAG is
  serialised into Airflow's database, so no secret goes in it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import ExecutionMode, InvocationMode, LoadMode, TestBehavior

from imdb_elt.config import DBT_PROFILE, DBT_PROJECT_DIR, PROFILES_DIR, Settings, dbt_environment
from imdb_elt.orchestration.tasks import dbt_env_interceptor, push_dbt_results, release_dbt_duckdb

#: Above the watchers' (Cosmos gives them 2): with more ready tasks than slots, the tests go first.
TESTS_PRIORITY_WEIGHT = 100


def dbt_task_group(settings: Settings, manifest: Path, group_id: str = "dbt") -> DbtTaskGroup:
    watcher = settings.dbt_execution_mode == "watcher"
    operator_args: dict[str, Any] = {
        "env": dbt_environment(settings),
        "interceptors": [dbt_env_interceptor],
        "callback": push_dbt_results,
        "trigger_rule": "none_failed_min_one_success",
        "install_deps": False,
        # No per-model Assets: the publish task carries the DAG's Assets.
        "emit_datasets": False,
        "on_success_callback": release_dbt_duckdb,
        "on_failure_callback": release_dbt_duckdb,
    }
    if not watcher:
        operator_args["pool"] = settings.dbt_pool
    group = DbtTaskGroup(
        group_id=group_id,
        project_config=ProjectConfig(
            dbt_project_path=DBT_PROJECT_DIR,
            manifest_path=manifest,
            install_dbt_deps=False,  # the package hub is out of reach; the project needs no packages
        ),
        profile_config=ProfileConfig(
            profile_name=DBT_PROFILE,
            target_name=settings.dbt_target,
            profiles_yml_filepath=PROFILES_DIR / "profiles.yml",
        ),
        execution_config=ExecutionConfig(
            execution_mode=ExecutionMode.WATCHER if watcher else ExecutionMode.LOCAL,
            invocation_mode=InvocationMode.DBT_RUNNER,
        ),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST,
            test_behavior=TestBehavior.AFTER_ALL if watcher else TestBehavior.BUILD,
            should_detach_multiple_parents_tests=not watcher,
        ),
        operator_args=operator_args,
    )
    if watcher:
        _wire_watchers(group, settings)
    return group


def _wire_watchers(group: DbtTaskGroup, settings: Settings) -> None:
    """Model tasks read the producer's outcome once it is known, each in one short process.

    Cosmos lets model watchers start alongside the producer and wait for it (in the triggerer,
    then a second process to finish); here they run after it succeeded (the DAG puts the
    selection branch between the two), so each finds its model's status at the first look. When
    the producer fails, they are upstream_failed: its log and the run report name the failing
    model, and no watcher falls back to a dbt run of its own outside the writer's pool.
    """
    from cosmos.operators._watcher.base import BaseConsumerSensor

    tasks = _walk(group)
    watchers = [t for t in tasks if isinstance(t, BaseConsumerSensor)]
    tests = [t for t in tasks if t.task_id.endswith(".dbt_project_test")]
    _flatten(watchers + tests)
    for test in tests:  # the longest task after the branch: queued before the watchers
        test.priority_weight = TESTS_PRIORITY_WEIGHT
        test.weight_rule = "absolute"
    for task in tasks:
        if task.task_id.endswith(".dbt_producer_watcher_done"):
            # Cosmos' gate after the producer (none_failed) would succeed in a run with nothing
            # new, where everything before it was skipped, and let publish start.
            task.trigger_rule = "none_failed_min_one_success"
        elif isinstance(task, BaseConsumerSensor):  # reads the producer's events, runs no dbt
            task.deferrable = False
            task.poke_interval = 2
            task.timeout = 600  # the status is there when it starts; never wait for days
        elif hasattr(task, "interceptors"):  # the producer and the tests run dbt: one writer
            task.pool = settings.dbt_pool


def _flatten(watchers: list[Any]) -> None:
    """Drop the edges between watchers (and the tests task): dbt already built the models in
    their order inside the producer, so a watcher waits for nothing but the producer, and a chain
    of six models no longer costs six task start-ups in a row. The tests read what the producer
    built, so they run beside the watchers, not after them. (The lineage is dbt's, in the docs.)
    """
    ids = {w.task_id for w in watchers}
    by_id = {w.task_id: w for w in watchers}
    for watcher in watchers:
        for upstream_id in list(watcher.upstream_task_ids & ids):
            watcher.upstream_task_ids.discard(upstream_id)
            by_id[upstream_id].downstream_task_ids.discard(watcher.task_id)


def producer(group: DbtTaskGroup) -> Any:
    """The watcher's producer (the one `dbt build` of the run), or None in local mode."""
    return next((t for t in _walk(group) if t.task_id.endswith(".dbt_producer_watcher")), None)


def dbt_tasks(group: DbtTaskGroup) -> dict[str, dict]:
    """Every task of the group and the dbt node it runs (unique id, type, parents), in order.

    Tasks that run for the whole selection (the watcher's gate after the producer, the tests
    after all) map to an empty node: the branch always follows them. The producer itself runs
    before the branch and is not listed.
    """
    found: dict[str, dict] = {}
    for task in _walk(group):
        if task.task_id.endswith(".dbt_producer_watcher"):
            continue
        node = (getattr(task, "extra_context", None) or {}).get("dbt_node_config")
        found[task.task_id] = {
            "unique_id": node["unique_id"],
            "resource_type": str(node["resource_type"]),
            "depends_on": list(node.get("depends_on", [])),
        } if node else {}
    return found


def _walk(group: Any) -> list[Any]:
    tasks: list[Any] = []
    for child in group.children.values():
        tasks.extend(_walk(child) if hasattr(child, "children") else [child])
    return tasks
