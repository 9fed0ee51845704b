"""`make cluster-run`: the bundled sample cleaned by the packaged bundle on a 2-worker standalone
cluster gives the same lake and the same marts as `make run` (the session's local run).

The cluster is started as a person would (`make cluster-start`), the pipeline submits to it, and
the master's own record of the application is read before the cluster is stopped. Spark is asked
(spark-defaults.conf) to take the big files' path on every file, so that every file's lines are
numbered in one task and then spread over both executors.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from benchmarks import marts_checksum
from imdb_elt import spark_events
from imdb_elt.config import REPO_ROOT
from imdb_elt.spark_cluster import PID_FILE
from spark_jobs import key_order, line_check
from tests.cluster.helpers import (
    cluster_dir,
    cluster_processes,
    cluster_site,
    comparable_stats,
    compare_datasets,
)
from tests.fixtures.sample_site import SampleSite
from tests.reliability.helpers import RunOutput, Site, excerpt, run_cli

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


@dataclass
class ClusterRun:
    site: Site
    run: RunOutput
    report: dict
    master: dict  # the master's /json/ after the run, before the stop
    start: subprocess.CompletedProcess
    stop: subprocess.CompletedProcess
    left_after_stop: list[int]


def _cluster_command(command: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "imdb_elt.spark_cluster", command], cwd=REPO_ROOT,
                          env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def cluster_run(tmp_path_factory: pytest.TempPathFactory, sample_site: SampleSite) -> ClusterRun:
    site, env = cluster_site(tmp_path_factory.mktemp("cluster_site"))
    full_env = site.env(**env)
    start = _cluster_command("start", full_env)
    assert start.returncode == 0, start.stdout + start.stderr
    try:
        run = run_cli(site, **env)
        print(f"\nthe sample on a 2-worker standalone cluster: exit {run.code} in {run.seconds:.1f} s")
        pid_file = json.loads((cluster_dir(site) / PID_FILE).read_text())
        with urllib.request.urlopen(f"{pid_file['webui_url']}/json/", timeout=10) as response:
            master = json.load(response)
    finally:
        stop = _cluster_command("stop", full_env)
    return ClusterRun(site, run, site.latest_report(), master, start, stop,
                      cluster_processes(cluster_dir(site)))


def test_the_cluster_run_succeeds_on_both_executors_of_the_master(cluster_run: ClusterRun) -> None:
    assert cluster_run.run.code == 0, excerpt(cluster_run.run.out)
    spark = cluster_run.report["spark"]
    assert cluster_run.report["status"] == "success"
    assert spark["mode"] == "standalone" and spark["deploy_mode"] == "client"
    assert spark["completed"] and spark["failed_tasks"] == 0
    # The master's own record: the application ran there, on both workers' cores, and finished.
    [app] = [a for a in cluster_run.master["completedapps"] if a["id"] == spark["application_id"]]
    assert app["state"] == "FINISHED" and app["cores"] == 2
    assert spark["master"] == cluster_run.master["url"]
    # Spark's event log: two executors (one per worker), each ran tasks of the job.
    executors = spark["executors"]
    assert len(executors) == 2 and all(e["cores"] == 1 and e["tasks"] > 0 for e in executors.values())
    assert f"spark: {spark['master']} (client mode), 2 executors: " in cluster_run.run.out
    # Every file split into tasks: its lines numbered in one task, parsed in two. Which executor
    # takes a task depends on which is free at the time (the files run side by side), so one
    # executor may take all of a small file's tasks: the split is asserted per file, both
    # executors across the job.
    groups = spark["tasks_by_group"]
    files = [f"clean {st['source_file']}" for st in cluster_run.report["files"].values()]
    assert sorted(files) == sorted(g for g in groups if g), groups
    assert all(sum(groups[g].values()) >= 3 for g in files), groups
    assert set().union(*(groups[g] for g in files)) == set(executors), groups
    assert {st["output_files"] for st in cluster_run.report["files"].values()} == {2}
    # The executors ran no Python: every plan is native expressions (no Python UDF to evaluate).
    plans = [e["physicalPlanDescription"] for e in spark_events.events(Path(spark["event_log"]))
             if e["Event"].endswith("SparkListenerSQLExecutionStart")]
    assert plans and not [p for p in plans if "EvalPython" in p or "PythonUDF" in p]
    # The compiled checks travelled with --jars: the executors ran them.
    assert [p for p in plans if line_check.FUNCTION_NAME in p]
    assert [p for p in plans if key_order.FUNCTION_NAME in p]
    # Spread by key over both executors, the sorted files still proved their keys unique in pass 1.
    checks = {st["source_file"]: st["key_check"] for st in cluster_run.report["files"].values()}
    assert "keys in order (pass 1)" in checks.values(), checks


def test_the_lake_equals_the_local_runs_row_for_row(cluster_run: ClusterRun, sample_site: SampleSite) -> None:
    """Processed rows, quarantine (line numbers, reasons, raw bytes) and dedup records."""
    ours, local = cluster_run.report, sample_site.first_report
    assert comparable_stats(ours["files"]) == comparable_stats(local["files"])
    for dataset, st in ours["files"].items():
        accounted = st["rows_written"] + st["rows_deduplicated"] + st["rows_quarantined"]
        assert st["rows_read"] == accounted, dataset
    assert sum(st["rows_quarantined"] + st["rows_deduplicated"] for st in ours["files"].values()) > 0
    problems = compare_datasets(cluster_run.site.lake, ours["snapshot_id"], sample_site.site.lake,
                                local["snapshot_id"], sorted(ours["files"]))
    assert problems == []
    # The step definition's options keep files COPY cannot read out of the dataset folders.
    processed = cluster_run.site.lake / "processed" / "snapshots" / ours["snapshot_id"]
    names = {p.name for folder in processed.iterdir() if folder.is_dir() for p in folder.iterdir()}
    assert names and all(n.startswith(("part-", ".part-")) for n in names), names


def test_the_published_marts_equal_the_local_runs(cluster_run: ClusterRun, sample_site: SampleSite) -> None:
    ours = marts_checksum.checksum_marts(cluster_run.site.db)
    assert len(ours) >= 10
    assert marts_checksum.compare(ours, marts_checksum.checksum_marts(sample_site.site.db)) == []


def test_no_spark_process_survives_the_stop(cluster_run: ClusterRun) -> None:
    assert "Spark cluster spark://127.0.0.1:" in cluster_run.start.stdout
    assert cluster_run.stop.returncode == 0
    assert "stopped master, worker-1, worker-2" in cluster_run.stop.stdout
    assert cluster_run.left_after_stop == []
    assert not (cluster_dir(cluster_run.site) / PID_FILE).exists()
    # The run used the cluster it found, and left it for `make cluster-stop`.
    assert "(make cluster-start)" in cluster_run.run.out
    assert "Spark cluster stopped" not in cluster_run.run.out


def test_executor_logs_stay_in_the_clusters_folder(cluster_run: ClusterRun) -> None:
    work = cluster_dir(cluster_run.site) / "work"
    stderr = sorted(work.glob("worker-*/app-*/*/stderr"))
    assert len(stderr) == 2  # one executor per worker
    assert all(Path(p).stat().st_size > 0 for p in stderr)
