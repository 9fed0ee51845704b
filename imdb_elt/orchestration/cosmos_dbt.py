"""The dbt part of the DAG, rendered by Cosmos: one task per model that builds it and runs its tests.

Choices, measured in docs/airflow.md:
- LoadMode.DBT_MANIFEST from a manifest built ahead by `dbt parse` (dbt_manifest.py): the DAG
  parses in well under a second instead of running `dbt ls` (~4 s) at every parse.
- TestBehavior.BUILD: each model's task runs `dbt build --select <model>`, i.e. the model (after
  its unit tests) and then its data tests, in one dbt process. A failing test still fails that
  task and stops everything downstream, but a run starts half as many dbt processes as with one
  task per model plus one per test (AFTER_EACH), and each process costs seconds of start-up.
- Tests on two models (relationships, reconciliation) get their own task after both parents
  (should_detach_multiple_parents_tests): inside one parent's build they would run before the
  other parent was built.
- ExecutionMode.LOCAL with every dbt task in a pool of one slot: DuckDB allows one writer per
  file, and parallel dbt processes fail on its lock. WATCHER mode also serialises dbt, but under
  `dag.test()` its consumer tasks can poll forever, so the tested path is LOCAL + pool.
- InvocationMode.DBT_RUNNER: dbt's Python API in the task's process, not a `dbt` subprocess
  (measured: ~4 s per task instead of ~19 s on a loaded 2-core machine, most of the difference
  being the subprocess's interpreter start and dbt imports). The DuckDB handle dbt-duckdb keeps
  afterwards is closed by a task callback (tasks.release_dbt_duckdb).
- The run's dbt vars reach each task through an interceptor (tasks.dbt_vars_interceptor).
- The environment handed to dbt is only what profiles.yml reads (DBT_TARGET, DUCKDB_PATH,
  IMDB_RAW_SCHEMA): the DAG is serialised into Airflow's database, so no secret goes in it.
"""

from __future__ import annotations

from pathlib import Path

from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import ExecutionMode, InvocationMode, LoadMode, TestBehavior

from imdb_elt.config import DBT_PROJECT_DIR, PROFILES_DIR, Settings
from imdb_elt.dbt_runner import dbt_executable
from imdb_elt.orchestration.tasks import dbt_vars_interceptor, release_dbt_duckdb

PROFILE_NAME = "imdb_elt"


def dbt_environment(settings: Settings) -> dict[str, str]:
    return {
        "DBT_TARGET": settings.dbt_target,
        "DUCKDB_PATH": settings.duckdb_path,
        "IMDB_RAW_SCHEMA": settings.raw_schema,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        "IMDB_ENV": "prod",
    }


def dbt_task_group(settings: Settings, manifest: Path, group_id: str = "dbt") -> DbtTaskGroup:
    return DbtTaskGroup(
        group_id=group_id,
        project_config=ProjectConfig(
            dbt_project_path=DBT_PROJECT_DIR,
            manifest_path=manifest,
            install_dbt_deps=False,  # the package hub is out of reach; the project needs no packages
        ),
        profile_config=ProfileConfig(
            profile_name=PROFILE_NAME,
            target_name=settings.dbt_target,
            profiles_yml_filepath=PROFILES_DIR / "profiles.yml",
        ),
        execution_config=ExecutionConfig(
            execution_mode=ExecutionMode.LOCAL,
            invocation_mode=InvocationMode.DBT_RUNNER,
            dbt_executable_path=dbt_executable(),
        ),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST,
            test_behavior=TestBehavior.BUILD,
            should_detach_multiple_parents_tests=True,
        ),
        operator_args={
            "env": dbt_environment(settings),
            "interceptors": [dbt_vars_interceptor],
            "pool": settings.dbt_pool,
            "install_deps": False,
            # No per-model Assets: publish_marts/publish_snapshot carry the DAG's Assets, and the
            # lineage bookkeeping cost ~1 s per dbt task under dag.test().
            "emit_datasets": False,
            # dbt runs in the task's process: free the DuckDB file whatever the outcome
            "on_success_callback": release_dbt_duckdb,
            "on_failure_callback": release_dbt_duckdb,
        },
    )
