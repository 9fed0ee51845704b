"""Running dbt from the pipeline: one subprocess per command, results read from run_results.json.

A subprocess (rather than dbt's in-process runner) keeps dbt's global state and its DuckDB
connection out of the pipeline process, the same way Cosmos runs it under Airflow.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from imdb_elt.config import DBT_PROJECT_DIR, PROFILES_DIR, Settings


@dataclass
class DbtOutcome:
    command: list[str]
    returncode: int
    seconds: float = 0.0
    statuses: Counter = field(default_factory=Counter)  # (resource_type, status) -> n
    failures: list[str] = field(default_factory=list)
    built_models: list[str] = field(default_factory=list)  # names of models built successfully
    warnings: dict[str, int] = field(default_factory=dict)  # warn-severity test -> rows it flagged

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def count(self, resource_type: str, *statuses: str) -> int:
        return sum(n for (rt, st), n in self.statuses.items() if rt == resource_type and st in statuses)


def dbt_env(settings: Settings) -> dict[str, str]:
    """Environment for dbt: profiles.yml reads these with env_var()."""
    env = dict(os.environ)
    env.update(
        {
            "DBT_TARGET": settings.dbt_target,
            "DUCKDB_PATH": settings.duckdb_path,
            "IMDB_RAW_SCHEMA": settings.raw_schema,
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
            "IMDB_ENV": "prod",  # reconciliation fails instead of warning when figures are missing
        }
    )
    return env


def dbt_executable() -> str:
    candidate = Path(sys.executable).with_name("dbt")
    return str(candidate) if candidate.exists() else "dbt"


def run_dbt(
    settings: Settings,
    args: list[str],
    *,
    target_path: str | None = None,
    echo: bool = True,
    extra_env: dict[str, str] | None = None,
) -> DbtOutcome:
    """Run one dbt command against the project; never raises on dbt failure (check ``ok``)."""
    target_dir = Path(target_path or settings.dbt_target_path)
    cmd = [
        dbt_executable(),
        *args,
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(PROFILES_DIR),
        "--target",
        settings.dbt_target,
        "--target-path",
        str(target_dir),
    ]
    results_file = target_dir / "run_results.json"
    results_file.unlink(missing_ok=True)
    proc = subprocess.Popen(
        cmd,
        env={**dbt_env(settings), **(extra_env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=DBT_PROJECT_DIR,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if echo:
            print(f"  dbt | {line.rstrip()}", flush=True)
    returncode = proc.wait()
    outcome = DbtOutcome(command=cmd, returncode=returncode)
    if results_file.exists():
        results = json.loads(results_file.read_text())
        outcome.seconds = float(results.get("elapsed_time", 0.0))
        for result in results.get("results", []):
            resource_type = result["unique_id"].split(".", 1)[0]
            outcome.statuses[(resource_type, result["status"])] += 1
            if resource_type == "model" and result["status"] == "success":
                outcome.built_models.append(result["unique_id"].rsplit(".", 1)[-1])
            if result["status"] == "warn":
                outcome.warnings[result["unique_id"].split(".")[2]] = int(result.get("failures") or 0)
            if result["status"] in ("fail", "error"):
                outcome.failures.append(f"{result['unique_id']}: {result.get('message')}")
    return outcome
