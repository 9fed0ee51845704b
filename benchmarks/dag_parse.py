"""Airflow DAG parse time, measured in a clean subprocess with a throw-away AIRFLOW_HOME.

The scheduler's DAG processor re-parses the DAG file every few minutes; a slow parse (for
instance Cosmos running ``dbt ls``) costs on every cycle, so it is reported next to the runs.

    python -m benchmarks.dag_parse --dag-folder dags   # prints one JSON object
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.measure import run_measured
from imdb_elt.config import REPO_ROOT


def parse(dag_folder: str) -> dict:
    """Import Airflow, then parse the folder; the two costs are reported apart."""
    started = time.perf_counter()
    from airflow.dag_processing.dagbag import DagBag

    imported = time.perf_counter()
    bag = DagBag(dag_folder=dag_folder)
    parsed = time.perf_counter()
    return {
        "airflow_import_seconds": round(imported - started, 3),
        "parse_seconds": round(parsed - imported, 3),
        "dags": sorted(bag.dag_ids),
        "tasks": sum(len(d.tasks) for d in bag.dags.values()),
        "import_errors": {str(k): str(v)[-500:] for k, v in bag.import_errors.items()},
    }


def measure(dag_folder: Path = REPO_ROOT / "dags", extra_env: dict[str, str] | None = None) -> dict | None:
    """Parse ``dag_folder`` in a subprocess; None when there is no DAG folder."""
    if not dag_folder.is_dir() or not any(dag_folder.glob("*.py")):
        return None
    with tempfile.TemporaryDirectory(prefix="bench-airflow-") as home:
        env = {
            "AIRFLOW_HOME": home,
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(dag_folder),
            "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
            "AIRFLOW__COSMOS__CACHE_DIR": str(Path(home) / "cosmos"),
            "PYTHONPATH": str(REPO_ROOT),
            **(extra_env or {}),
        }
        m = run_measured([sys.executable, "-m", "benchmarks.dag_parse", "--dag-folder", str(dag_folder)],
                         env=env, cwd=REPO_ROOT)
    result: dict = {"ok": False, "process_seconds": round(m.seconds, 3),
                    "peak_rss_mib": round(m.peak_rss_mib, 1)}
    for line in reversed(m.output_tail.splitlines()):
        if line.startswith("{"):
            result.update(json.loads(line))
            result["ok"] = m.ok and not result.get("import_errors") and bool(result.get("dags"))
            break
    else:
        result["error"] = m.output_tail[-1000:]
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dag-folder", default=os.path.join(REPO_ROOT, "dags"))
    args = parser.parse_args(argv)
    print(json.dumps(parse(args.dag_folder)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
