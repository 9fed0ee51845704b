"""Build the dbt manifest that Cosmos renders the DAG from (LoadMode.DBT_MANIFEST).

Reading a manifest costs Cosmos well under a second at every DAG parse, where `dbt ls` costs
four. The manifest is produced ahead by `dbt parse` into a known folder:

    python -m imdb_elt.orchestration.dbt_manifest [DIR]           # always re-parse (make parse)
    python -m imdb_elt.orchestration.dbt_manifest --if-stale [DIR]  # only when a file changed

The DAG file calls ``ensure_manifest()``: it re-parses only when a project file is newer than
the manifest (a stat walk of a few dozen files), so a fresh checkout works and an edited model
shows up at the next DAG parse.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from imdb_elt.config import DBT_PROJECT_DIR, PROFILES_DIR, dbt_environment, load

_PROJECT_PARTS = ("dbt_project.yml", "models", "macros", "tests", "seeds", "snapshots", "analyses")


def manifest_path(manifest_dir: str | None = None) -> Path:
    return Path(manifest_dir or load().dbt_manifest_dir) / "manifest.json"


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
        str(Path(sys.executable).with_name("dbt")), "parse",
        "--project-dir", str(DBT_PROJECT_DIR),
        "--profiles-dir", str(PROFILES_DIR),
        "--target-path", str(target),
        "--no-partial-parse",
    ]
    env = {**os.environ, **dbt_environment(load())}
    done = subprocess.run(cmd, env=env, cwd=DBT_PROJECT_DIR, capture_output=True, text=True,
                          timeout=timeout, check=False)
    path = manifest_path(manifest_dir)
    if done.returncode != 0 or not path.is_file():
        output = done.stdout[-4000:] + done.stderr[-2000:]
        raise RuntimeError(f"dbt parse failed (exit {done.returncode}):\n{output}")
    return path


def ensure_manifest(manifest_dir: str | None = None) -> Path:
    path = manifest_path(manifest_dir)
    return parse(manifest_dir) if is_stale(path) else path


def main(argv: list[str]) -> None:
    if_stale = "--if-stale" in argv
    rest = [a for a in argv if a != "--if-stale"]
    folder = rest[0] if rest else None
    print(ensure_manifest(folder) if if_stale else parse(folder))


if __name__ == "__main__":
    main(sys.argv[1:])
