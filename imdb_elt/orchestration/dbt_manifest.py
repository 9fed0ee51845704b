"""Build the dbt manifest that Cosmos renders the DAG from (LoadMode.DBT_MANIFEST).

Reading a manifest costs Cosmos well under a second at every DAG parse, where `dbt ls` costs
four. The manifest is produced ahead by `dbt parse` into a known folder:

    python -m imdb_elt.orchestration.dbt_manifest        # or: make parse

The DAG file calls ``ensure_manifest()``: it re-parses only when a project file is newer than
the manifest (a stat walk of a few dozen files), so a fresh checkout works and an edited model
shows up at the next DAG parse.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from imdb_elt.config import DBT_PROJECT_DIR, PROFILES_DIR, load
from imdb_elt.dbt_runner import dbt_env, dbt_executable
from imdb_elt.orchestration.settings import OrchestrationSettings

_PROJECT_PARTS = ("dbt_project.yml", "models", "macros", "tests", "seeds", "snapshots", "analyses")


def manifest_path(manifest_dir: str | None = None) -> Path:
    return Path(manifest_dir or OrchestrationSettings().dbt_manifest_dir) / "manifest.json"


def _newest_project_mtime() -> float:
    newest = 0.0
    for part in _PROJECT_PARTS:
        root = DBT_PROJECT_DIR / part
        paths = [root] if root.is_file() else root.rglob("*") if root.is_dir() else []
        for path in paths:
            newest = max(newest, path.stat().st_mtime)
    return newest


def is_stale(path: Path) -> bool:
    return not path.is_file() or path.stat().st_mtime < _newest_project_mtime()


def parse(manifest_dir: str | None = None, timeout: float = 300) -> Path:
    """Run `dbt parse` into ``manifest_dir`` and return the manifest's path."""
    target = manifest_path(manifest_dir).parent
    cmd = [
        dbt_executable(), "parse",
        "--project-dir", str(DBT_PROJECT_DIR),
        "--profiles-dir", str(PROFILES_DIR),
        "--target-path", str(target),
        "--no-partial-parse",
    ]
    done = subprocess.run(cmd, env=dbt_env(load()), cwd=DBT_PROJECT_DIR, capture_output=True, text=True,
                          timeout=timeout, check=False)
    path = manifest_path(manifest_dir)
    if done.returncode != 0 or not path.is_file():
        output = done.stdout[-4000:] + done.stderr[-2000:]
        raise RuntimeError(f"dbt parse failed (exit {done.returncode}):\n{output}")
    return path


def ensure_manifest(manifest_dir: str | None = None) -> Path:
    path = manifest_path(manifest_dir)
    return parse(manifest_dir) if is_stale(path) else path


if __name__ == "__main__":
    print(parse(sys.argv[1] if len(sys.argv) > 1 else None))
