"""The DAG's write-audit-publish gate under the real scheduler: a failing dbt test, no publish.

Runs on the session's Airflow (tests/fixtures/airflow_server.py) after the runs of
test_scheduler_runs.py (this file sorts after it), or on its own (a command-line run then
publishes the sample first). A new title.ratings is delivered and the run is triggered with
the pool every warehouse task runs in (``imdb_elt_dbt``) set to 0 slots through the REST API: ``clean`` runs,
``stage`` waits, queued. Then the new snapshot's Parquet loses a row after Spark reported its
count (a fault no cleaning rule can prevent), the slots come back, and the dbt reconciliation
test (in the tests task after every model) must fail: ``publish`` never runs (upstream_failed),
the report says failed, and the published marts, CURRENT and the ledger do not move.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Callable

import pytest

from devtools import sample
from imdb_elt.config import REPO_ROOT
from tests.fixtures.airflow_server import AirflowServer
from tests.reliability.helpers import Site, drop_last_row, excerpt, table_checksums

pytestmark = [pytest.mark.slow]

RATINGS = "title.ratings.tsv.gz"
#: The task that runs the selection's tests after every model (watcher mode): the gate.
TESTS_TASK = "dbt.dbt_project_test"
#: The scheduler's states of a task that has not started.
NOT_STARTED = (None, "none", "scheduled", "queued")


def _site(server: AirflowServer) -> Site:
    return Site(server.raw, server.lake, server.db)


def _state(site: Site) -> dict:
    return {"current": site.current(), "ledger": site.ledger(), "marts": table_checksums(site.db)}


def _set_pool_slots(server: AirflowServer, pool: dict, slots: int) -> None:
    # Airflow 3.3 wants the whole pool in the body even with an update mask (apache/airflow#73768).
    body = {"name": pool["name"], "slots": slots, "description": pool.get("description"),
            "include_deferred": pool.get("include_deferred", False)}
    server.request("PATCH", f"/api/v2/pools/{pool['name']}?update_mask=slots", body)


def _wait_for_tasks(server: AirflowServer, run_id: str, ready: Callable[[dict], bool], what: str,
                    timeout: float) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    while True:
        states = server.task_states(run_id)
        if ready(states):
            return states
        run = server.request("GET", f"/api/v2/dags/imdb_elt_hourly/dagRuns/{run_id}")
        if run["state"] in ("success", "failed") or time.monotonic() > deadline:
            raise AssertionError(f"{what} never happened (run {run['state']}): {states}")
        time.sleep(2)


def _wait_until_idle(server: AirflowServer, timeout: float) -> None:
    """No DAG run queued or running (max_active_runs=1 would queue ours behind it)."""
    deadline = time.monotonic() + timeout
    while server.request("GET", "/api/v2/dags/imdb_elt_hourly/dagRuns?state=queued&state=running")[
            "total_entries"]:
        if time.monotonic() > deadline:
            raise AssertionError(f"a DAG run was still active after {timeout:.0f} s")
        time.sleep(5)


@pytest.fixture(scope="module")
def published_site(airflow_server: AirflowServer) -> Site:
    """The server's lake with published marts: after the earlier scheduler tests, or else after
    one command-line run on the same lake and warehouse (minutes, where a first DAG run on this
    machine takes far longer; the gate under test is the DAG's, not the first publish)."""
    _wait_until_idle(airflow_server, timeout=1500)
    site = _site(airflow_server)
    if site.current() is None:
        started = time.perf_counter()
        env = {**airflow_server.env, "IMDB_LOCK_WAIT_SECONDS": "600"}
        proc = subprocess.run([sys.executable, "-m", "imdb_elt", "run"], cwd=REPO_ROOT, env=env,
                              capture_output=True, text=True, timeout=1500)
        print(f"\nnothing published yet: a command-line run published the sample in "
              f"{time.perf_counter() - started:.1f} s")
        assert proc.returncode == 0, excerpt(proc.stdout + proc.stderr)
    return site


@pytest.mark.timeout(3600)
def test_failing_dbt_test_in_the_dag_never_reaches_publish(airflow_server, published_site):
    server, site = airflow_server, published_site
    before = _state(site)
    delivered = (server.raw / RATINGS).read_bytes()
    stage_pool = server.request("GET", "/api/v2/dags/imdb_elt_hourly/tasks/stage")["pool"]
    pool = server.request("GET", f"/api/v2/pools/{stage_pool}")
    started = time.monotonic()
    try:
        _set_pool_slots(server, pool, 0)
        try:
            sample.generate(server.raw, inputs=[RATINGS], snapshot=2, changed_fraction=0.05)
            run_id = server.trigger()
            waiting = _wait_for_tasks(
                server, run_id, lambda s: s.get("clean") == "success" and s.get("stage") in NOT_STARTED,
                "clean done, stage waiting for a pool slot", timeout=900)
            snapshot = max(p.name for p in (site.lake / "processed" / "snapshots").iterdir()
                           if (p / "_MANIFEST.json").exists())
            assert snapshot != before["current"], "clean wrote no new snapshot"
            part, spark_rows = drop_last_row(site.lake, snapshot, "title_ratings")
            assert server.task_states(run_id).get("stage") in NOT_STARTED, "stage started before the fault"
        finally:
            _set_pool_slots(server, pool, pool["slots"])
        state, seconds = server.wait(run_id, timeout=1800)
        states, report = server.task_states(run_id), site.latest_report()
        after = _state(site)
    finally:
        (server.raw / RATINGS).write_bytes(delivered)  # the published delivery again: nothing new
    print(f"\nDAG run with {part.parent.name} changed after Spark ({spark_rows - 1} rows, Spark reported "
          f"{spark_rows}): {state} in {seconds:.1f} s ({time.monotonic() - started:.0f} s with the wait); "
          f"stage was {waiting.get('stage')!r} while the pool had 0 slots; {TESTS_TASK} "
          f"{states.get(TESTS_TASK)}, publish {states.get('publish')}, report {states.get('report')}; "
          f"report status {report['status']}")
    assert state == "failed"
    assert states[TESTS_TASK] == "failed"
    assert states["publish"] == "upstream_failed", states
    assert report["status"] == "failed" and report["orchestrator"] == "airflow"
    assert report["snapshot_id"] == snapshot, "the report is not this run's"
    assert "published marts and CURRENT unchanged" in (report.get("error") or ""), report.get("error")
    assert "reconcile_staged_rows" in report["error"], "the report does not name the failing test"
    assert after == before, "published marts, CURRENT or the ledger moved"
    print(f"report error: {json.dumps(report.get('error'))[:300]}")
    # One message for the run (the report task's), naming the failed task, the failing test with
    # its failing rows and the task's log; and the run in the warehouse's history at once.
    [told] = server.alerts_for(f"imdb-elt run {report['run_id']} failed in ", timeout=10)
    assert TESTS_TASK in told.splitlines()[0], told
    assert re.search(r"test reconcile_staged_rows: [1-9]\d* failing row", told), told
    assert f"task log: {server.base}/dags/imdb_elt_hourly/runs/" in told and "/tasks/dbt." in told
    status, trigger, failed_task, _ = server.ops_history()[report["run_id"]]
    assert (status, trigger) == ("failed", "airflow") and TESTS_TASK in failed_task
