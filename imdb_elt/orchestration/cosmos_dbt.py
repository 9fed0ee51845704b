"""The dbt part of the DAG, rendered by Cosmos: one task per model, its tests right after it.

Choices, measured in docs/airflow.md:
- LoadMode.DBT_MANIFEST from a manifest built ahead by `dbt parse` (dbt_manifest.py): the DAG
  parses in well under a second instead of running `dbt ls` (~4 s) at every parse.
- ExecutionMode.LOCAL with every dbt task in a pool of one slot: DuckDB allows one writer per
  file, and parallel dbt processes fail on its lock. WATCHER mode also serialises dbt, but under
  `dag.test()` its consumer tasks can poll forever, so the tested path is LOCAL + pool.
- The run's dbt vars reach each task through an interceptor (tasks.dbt_vars_interceptor).
- The environment handed to dbt is only what profiles.yml reads (DBT_TARGET, DUCKDB_PATH,
  IMDB_RAW_SCHEMA): the DAG is serialised into Airflow's database, so no secret goes in it.
"""

from __future__ import annotations

from pathlib import Path

from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import ExecutionMode, LoadMode, TestBehavior

from imdb_elt.config import DBT_PROJECT_DIR, PROFILES_DIR, Settings
from imdb_elt.dbt_runner import dbt_executable
from imdb_elt.orchestration.settings import OrchestrationSettings
from imdb_elt.orchestration.tasks import dbt_vars_interceptor

PROFILE_NAME = "imdb_elt"


def dbt_environment(settings: Settings) -> dict[str, str]:
    return {
        "DBT_TARGET": settings.dbt_target,
        "DUCKDB_PATH": settings.duckdb_path,
        "IMDB_RAW_SCHEMA": settings.raw_schema,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    }


def dbt_task_group(settings: Settings, orch: OrchestrationSettings, manifest: Path,
                   group_id: str = "dbt") -> DbtTaskGroup:
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
            dbt_executable_path=dbt_executable(),
        ),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST,
            test_behavior=TestBehavior.AFTER_EACH,
            # A test on two models (relationships, reconciliation) gets its own task after both:
            # attached to one parent it would run before the other parent was built.
            should_detach_multiple_parents_tests=True,
        ),
        operator_args={
            "env": dbt_environment(settings),
            "interceptors": [dbt_vars_interceptor],
            "pool": orch.dbt_pool,
            "install_deps": False,
        },
    )
