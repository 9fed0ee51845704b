"""The DAG's OpenLineage events under the real scheduler (the file transport of the session's
Airflow, tests/fixtures/airflow_server.py): Airflow's provider reports the DAG's tasks,
the steps report their Spark, staging, dbt model and publish runs under the task that ran them,
and together they connect every raw file to every mart it feeds, as on the command line.

Reads the runs test_scheduler_runs.py made (this file runs after it); run alone, it triggers one.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imdb_elt.catalog import BY_FILE_NAME
from imdb_elt.report import published_mart_names
from tests.lineage_graph import raw_files_behind, raw_files_reaching, read_events

pytestmark = [pytest.mark.slow]

DAG_ID = "imdb_elt_hourly"


@pytest.mark.timeout(1500)
def test_the_dags_events_connect_every_raw_file_to_every_mart_it_feeds(airflow_server):
    def events() -> list[dict]:
        path = airflow_server.lineage_events
        return read_events(path) if path.exists() else []

    if not any(e["job"]["name"] == f"{DAG_ID}.publish" and e["eventType"] == "COMPLETE" for e in events()):
        state, _ = airflow_server.wait(airflow_server.trigger(), timeout=1200)
        assert state == "success"
    found = events()

    # Airflow's provider: each task run, START then COMPLETE (the DAG run's own events are off in
    # the test server: tests/fixtures/airflow_server.py says why).
    task_runs: dict[str, set[str]] = {}
    for e in found:
        if e["job"]["name"].startswith(f"{DAG_ID}.") and e["eventType"] == "COMPLETE":
            task_runs.setdefault(e["job"]["name"].removeprefix(f"{DAG_ID}."), set()).add(e["run"]["runId"])
    assert {"detect", "clean", "stage", "dbt.dbt_producer_watcher", "publish", "report"} <= set(task_runs)

    # The steps' own runs name the task run that ran them as parent (the provider's run ids).
    def parent_task(event: dict) -> str | None:
        parent = event["run"]["facets"].get("parent")
        if parent is None or not parent["job"]["name"].startswith(f"{DAG_ID}."):
            return None
        task = parent["job"]["name"].removeprefix(f"{DAG_ID}.")
        assert parent["run"]["runId"] in task_runs[task], event["job"]["name"]
        return task

    ours = [e for e in found if e["eventType"] == "COMPLETE" and not e["job"]["name"].startswith(DAG_ID)]
    by_prefix = {
        "imdb_elt.clean": "clean", "imdb_elt.stage.": "stage", "imdb_elt.publish.": "publish",
        "imdb.marts_audit.": "dbt.dbt_producer_watcher", "imdb.staging.": "dbt.dbt_producer_watcher",
    }
    for prefix, task in by_prefix.items():
        matching = [e for e in ours if e["job"]["name"].startswith(prefix)]
        assert matching, prefix
        if prefix == "imdb_elt.clean":  # the files' runs are children of the Spark application's
            matching = [e for e in matching if e["job"]["name"] == "imdb_elt.clean"]
        assert {parent_task(e) for e in matching} == {task}, prefix
    # One task building every model reports no datasets of its own (each model is its own run).
    producer = [e for e in found if e["job"]["name"] == f"{DAG_ID}.dbt.dbt_producer_watcher"]
    assert all(not e["inputs"] and not e["outputs"] for e in producer)

    # The graph: each published mart reached from exactly the raw files dbt says it is built from.
    manifest = json.loads((Path(airflow_server.env["DBT_TARGET_PATH"]) / "manifest.json").read_text())
    marts = {m: (f"duckdb://{airflow_server.db}", f"imdb.marts.{m}") for m in published_mart_names(manifest)}
    raw_files = {("file", str(airflow_server.raw / f)): f for f in BY_FILE_NAME}
    assert len(marts) == 13 and len(raw_files) == 8
    expected = {m: raw_files_behind(manifest, f"model.imdb_elt.{m}") for m in marts}
    assert raw_files_reaching(found, raw_files, marts) == expected
