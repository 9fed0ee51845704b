"""A worker SIGKILLed while the cleaning runs: Spark re-runs what the lost executor held on the
other one, and the job ends with the same lake as the local run (docs/spark-cluster.md, "A worker
lost mid-job").

The kill lands while the doomed executor runs a task, after it has finished a few (so shuffle
files and cached blocks of it are lost too). Before the fix in ``spark_jobs/clean_file.py``
(the line count observed in the stage that writes, not in the map stage before the repartition)
the re-run map stage counted every line twice and the run failed with nothing published.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from imdb_elt import spark_cluster
from imdb_elt.config import REPO_ROOT
from imdb_elt.spark_cluster import PID_FILE
from tests.cluster.helpers import (
    cluster_dir,
    cluster_processes,
    cluster_site,
    comparable_stats,
    compare_datasets,
)
from tests.fixtures.sample_site import SampleSite

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

#: A gzip with repeated keys (dedup) and the Kaggle CSV (quarantine, read in three splits).
FILES = ["name.basics.tsv.gz", "movie_metadata.csv"]
DATASETS = ["name_basics", "movie_metadata"]
#: The engine's clean step alone (detect, clean, report): what a lost worker can break ends there.
CLEAN_ONLY = (
    "from imdb_elt import config, pipeline\n"
    "settings = config.load()\n"
    "plan = pipeline.detect(settings)\n"
    "try:\n"
    "    pipeline.clean(settings, plan)\n"
    "    plan.status = pipeline.SUCCESS\n"
    "except Exception as exc:\n"
    "    pipeline.fail(plan, exc)\n"
    "print(pipeline.finish(settings, plan), flush=True)\n"
)


def _worker_busy(folder: Path, worker: str, finished: int) -> bool:
    """The worker's executor has finished ``finished`` tasks and is running another one."""
    for log in (folder / "work" / worker).glob("app-*/*/stderr"):
        text = log.read_text(errors="replace")
        done = text.count("Finished task")
        if done >= finished and text.count("Running task") > done:
            return True
    return False


def test_a_worker_killed_mid_job_leaves_the_same_lake(tmp_path: Path, sample_site: SampleSite) -> None:
    site, env = cluster_site(tmp_path, FILES)
    folder = cluster_dir(site)
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", CLEAN_ONLY], cwd=REPO_ROOT, env=site.env(**env),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    killed_at = None
    try:
        while proc.poll() is None and killed_at is None:
            if _worker_busy(folder, "worker-1", finished=3):
                pid = json.loads((folder / PID_FILE).read_text())["pids"]["worker-1"]
                os.kill(pid, signal.SIGKILL)
                killed_at = time.perf_counter()
            time.sleep(0.05)
        out, _ = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        left = cluster_processes(folder)
        spark_cluster.stop(folder)  # nothing stays behind, even when a check below fails
    ended = time.perf_counter()
    assert killed_at is not None, f"the job ended before worker-1 was busy:\n{out[-3000:]}"
    print(f"\nworker-1 SIGKILLed {killed_at - started:.1f} s into the run; the run ended "
          f"{ended - killed_at:.1f} s later (exit {proc.returncode})")

    report = site.latest_report()
    assert proc.returncode == 0 and report["status"] == "success", out[-4000:]
    spark = report["spark"]
    lost = {i: e for i, e in spark["executors"].items() if e["removed"]}
    assert len(lost) == 1 and "worker lost" in next(iter(lost.values()))["removed"], spark["executors"]
    survivor = next(e for i, e in spark["executors"].items() if i not in lost)
    assert survivor["tasks"] > 0 and spark["completed"]
    assert "lost: worker lost" in out

    # The same figures and the same rows as the local run, line numbers and reasons included.
    local = sample_site.first_report
    assert comparable_stats(report["files"]) == comparable_stats({d: local["files"][d] for d in DATASETS})
    assert compare_datasets(site.lake, report["snapshot_id"], sample_site.site.lake,
                            local["snapshot_id"], DATASETS) == []
    # The run's own cluster is gone, the killed worker's executor with it.
    assert left == [] and not (folder / PID_FILE).exists()
