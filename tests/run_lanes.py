"""`make test`: every test, in two pytest processes side by side ("lanes").

- ``airflow``: tests/airflow and tests/browser, which share one real Airflow (scheduler, API
  server, DAG processor, triggerer) and spend much of their time waiting on the scheduler's
  loops; with them every other test that reads the session's run on the sample (the end-to-end,
  console, run-history and standalone cluster tests), so that run happens once, and the bench
  smoke, deploy and AWS stack tests, so that both lanes take about as long.
- ``main``: everything else (Spark, dbt, warehouses, reliability).

One process ran them one after the other in about 25 minutes on two cores with the CPU half idle
(user + sys about 14 of 25 minutes). pytest-xdist cannot keep the Airflow suites on one worker:
its ``loadgroup`` grouping does not take effect under pytest 9 (it rewrites ``_nodeid``, which
pytest 9 no longer reads), and two Airflow servers would not fit.

The main lane prints as it goes; the airflow lane's output follows when both are done. Each lane
has its own pytest temporary folder, kept when a lane fails. Extra arguments go to both lanes
(``python -m tests.run_lanes -k ratings``); a lane they leave empty counts as passed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from imdb_elt.config import REPO_ROOT

#: The airflow lane's tests, in this order: the session's Airflow starts with the first test that
#: needs it and runs until the lane ends, so the tests without it go first. The main lane runs
#: every other test.
AIRFLOW_LANE = ["tests/test_pipeline_e2e.py", "tests/test_console.py", "tests/test_run_history.py",
                "tests/cluster", "tests/test_bench_smoke.py", "tests/deploy", "tests/infra",
                "tests/airflow", "tests/browser"]
#: pytest's arguments per lane (paths relative to the repository).
LANES: dict[str, list[str]] = {
    "airflow": AIRFLOW_LANE,
    "main": ["tests", *(f"--ignore={path}" for path in AIRFLOW_LANE)],
}
#: pytest's exit code when the selection holds no test.
NO_TESTS_COLLECTED = 5


def _command(lane: str, basetemp: Path, extra: list[str]) -> list[str]:
    return [sys.executable, "-m", "pytest", *LANES[lane], f"--basetemp={basetemp / lane}", *extra]


def main(extra: list[str]) -> int:
    root = Path(tempfile.mkdtemp(prefix="imdb-elt-tests-"))
    started = time.perf_counter()
    log_path = root / "airflow-lane.log"
    with log_path.open("w") as log:
        background = subprocess.Popen(_command("airflow", root, extra), cwd=REPO_ROOT, stdout=log,
                                      stderr=subprocess.STDOUT)
        print(f"airflow lane running beside this one (pid {background.pid}, output: {log_path})",
              flush=True)
        codes = {"main": subprocess.call(_command("main", root, extra), cwd=REPO_ROOT)}
        main_seconds = time.perf_counter() - started
        codes["airflow"] = background.wait()
    seconds = {"main": main_seconds, "airflow": time.perf_counter() - started}
    print(f"\n{'=' * 30} airflow lane: {' '.join(LANES['airflow'])} {'=' * 30}", flush=True)
    sys.stdout.write(log_path.read_text(errors="replace"))
    failed = [lane for lane, code in codes.items() if code not in (0, NO_TESTS_COLLECTED)]
    print("\n" + "  ".join(f"lane {lane}: exit {codes[lane]}, {seconds[lane] / 60:.1f} min" for lane in LANES)
          + f"; all done in {(time.perf_counter() - started) / 60:.1f} min")
    if failed:
        print(f"FAILED lanes: {', '.join(failed)}; their temporary files are kept in {root}")
        return 1
    shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
