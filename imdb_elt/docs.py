"""The dbt docs site as analysts read it (`make docs`, `python -m imdb_elt docs`).

The site describes what analysts query: every mart at its published relation, `marts.<name>`,
with the catalogue (columns, types, row counts) read from the published schema, not from the
audit schema the build writes. Nothing is built or rebuilt: `dbt docs generate` parses and
compiles the project and reads the warehouse's catalogue, then `dbt docs serve` serves the
folder. The lineage graph runs from the sources to the exposures (the DAG, the analysts' report).
"""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path

from imdb_elt.config import DBT_PROJECT_DIR, PROFILES_DIR, Settings, dbt_environment, load
from imdb_elt.dbt_runner import DbtOutcome, run_dbt


def published(settings: Settings) -> Settings:
    """The settings as analysts see the warehouse: the marts where publish puts them."""
    return dataclasses.replace(settings, audit_schema=settings.marts_schema)


def generate(settings: Settings, target_path: str) -> DbtOutcome:
    """manifest.json and catalog.json in ``target_path``, for the published marts."""
    return run_dbt(published(settings), ["docs", "generate"], target_path=target_path,
                   log_path=str(Path(target_path) / "logs"))


def main() -> int:
    settings = load()
    if settings.dbt_target == "duckdb" and not Path(settings.duckdb_path).is_file():
        print(f"no warehouse at {settings.duckdb_path}: run the pipeline first (make run)", file=sys.stderr)
        return 1
    print(f"generating the dbt docs for the published marts ({settings.marts_schema}.*) "
          f"into {settings.docs_target_path}", flush=True)
    outcome = generate(settings, settings.docs_target_path)
    if not outcome.ok:
        print(f"dbt docs generate failed: {outcome.error or '; '.join(outcome.failures)} "
              f"(log: {outcome.log_file})", file=sys.stderr)
        return 1
    print(f"\n  dbt docs:  http://127.0.0.1:{settings.docs_port}   (Ctrl-C stops)\n", flush=True)
    dbt = str(Path(sys.executable).with_name("dbt"))
    env = {**os.environ, **dbt_environment(published(settings))}
    os.execve(dbt, [dbt, "docs", "serve", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir",
                    str(PROFILES_DIR), "--target", settings.dbt_target, "--target-path",
                    settings.docs_target_path, "--host", "127.0.0.1", "--port", str(settings.docs_port),
                    "--no-browser"], env)
    return 0  # not reached: the server replaces this process
