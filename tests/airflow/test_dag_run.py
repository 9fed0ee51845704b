"""The DAG end to end under `dag.test()` on the bundled sample (temp lake, temp DuckDB).

One module, one Airflow home and metadata DB, three runs in order (only the first is a full
pipeline; the third re-delivers one changed file on top of the first run's state):
1. the first run cleans all eight files, builds every model and publishes: marts filled;
2. a second run with no new delivery stops after `detect` (clean, stage, dbt skipped), fast;
3. a delivery whose cleaned rows break a guarantee the marts are tested on (a repeated episode
   key, injected after Spark: no raw row can do it) fails the run and publishes nothing:
   CURRENT, the ledger and the published marts stay as they were.
"""

from __future__ import annotations

import gzip
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from imdb_elt import config, lake

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, airflow_db: Path, dbt_manifest: Path):
    root = tmp_path_factory.mktemp("dag_run")
    raw = root / "raw"
    shutil.copytree(config.SAMPLE_DIR, raw)
    values = {
        "IMDB_RAW_DIR": str(raw),
        "IMDB_LAKE_DIR": str(root / "lake"),
        "DUCKDB_PATH": str(root / "warehouse" / "imdb.duckdb"),
        "DBT_TARGET": "duckdb",
        "IMDB_SPARK_MODE": "local",
    }
    (root / "warehouse").mkdir()
    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run(
        [str(airflow), "pools", "set", "imdb_elt_dbt", "1", "one DuckDB writer"],
        check=True,
        timeout=120,
        capture_output=True,
    )
    with pytest.MonkeyPatch.context() as mp:
        for key, value in values.items():
            mp.setenv(key, value)
        yield {"root": root, "raw": raw, **values}


def _run_dag():
    """Parse the DAG folder with the current environment and run the DAG once."""
    from airflow.dag_processing.dagbag import DagBag

    started = time.perf_counter()
    bag = DagBag(dag_folder=str(config.REPO_ROOT / "dags"))
    print(f"\nDAG folder parse: {time.perf_counter() - started:.2f} s")
    assert bag.import_errors == {}
    dag = bag.dags["imdb_elt_hourly"]
    started = time.perf_counter()
    dag_run = dag.test()
    return dag_run, time.perf_counter() - started


def _task_instances(dag_run) -> list[tuple[str, str, float]]:
    """(task id, state, seconds) of every task instance of the run."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        tis = session.query(TaskInstance).filter(
            TaskInstance.dag_id == dag_run.dag_id, TaskInstance.run_id == dag_run.run_id
        )
        return [
            (ti.task_id, str(ti.state.value if hasattr(ti.state, "value") else ti.state), ti.duration or 0.0)
            for ti in tis
        ]


def _states(dag_run) -> dict[str, str]:
    return {task_id: state for task_id, state, _ in _task_instances(dag_run)}


def _print_costs(dag_run) -> None:
    """Where the time went: the dbt tasks (one process each) against the rest."""
    tis = _task_instances(dag_run)
    dbt = [(t, s) for t, state, s in tis if t.startswith("dbt.") and state in ("success", "failed")]
    others = sorted(((s, t) for t, state, s in tis if not t.startswith("dbt.") and s), reverse=True)
    if dbt:
        total = sum(s for _, s in dbt)
        print(f"dbt tasks run: {len(dbt)}, {total:.1f} s in all, {total / len(dbt):.1f} s per task "
              f"(min {min(s for _, s in dbt):.1f}, max {max(s for _, s in dbt):.1f})")
    print("other tasks: " + ", ".join(f"{t} {s:.1f} s" for s, t in others))


def _marts(duckdb_path: str) -> dict[str, object]:
    with duckdb.connect(duckdb_path, read_only=True) as con:
        return {
            "movies": con.execute("select count(*) from marts.movies").fetchone()[0],
            "dim_titles": con.execute("select count(*) from marts.dim_titles").fetchone()[0],
            "snapshots": sorted(
                r[0] for r in con.execute("select distinct snapshot_id from marts.dim_titles").fetchall()
            ),
        }


@pytest.mark.timeout(900)
def test_first_run_builds_and_publishes_the_marts(env):
    dag_run, seconds = _run_dag()
    states = _states(dag_run)
    print(f"full dag.test() run: {seconds:.1f} s, {len(states)} tasks")
    _print_costs(dag_run)
    assert dag_run.state == "success", {k: v for k, v in states.items() if v != "success"}
    dbt_tasks = [t for t in states if t.startswith("dbt.")]
    assert dbt_tasks and all(states[t] == "success" for t in dbt_tasks)

    settings = config.load()
    current = lake.current_snapshot_id(settings)
    assert current is not None
    assert len(lake.read_ledger(settings)) == 8
    marts = _marts(env["DUCKDB_PATH"])
    assert marts["movies"] > 0 and marts["dim_titles"] > 0
    report = (Path(env["IMDB_LAKE_DIR"]) / "reports" / "latest.json").read_text()
    assert '"status": "success"' in report and current in report


@pytest.mark.timeout(300)
def test_no_new_delivery_skips_the_heavy_steps(env):
    settings = config.load()
    before = (lake.current_snapshot_id(settings), len(lake.read_ledger(settings)))
    dag_run, seconds = _run_dag()
    states = _states(dag_run)
    print(f"no-new-data dag.test() run: {seconds:.1f} s")
    assert dag_run.state == "success"
    assert states["has_new_deliveries"] == "success"
    skipped = ["clean", "prepare_snapshot", "stage", "publish_marts", "publish_snapshot"]
    assert all(states[t] == "skipped" for t in skipped), states
    assert all(v == "skipped" for k, v in states.items() if k.startswith("dbt."))
    assert states["report"] == "success"
    assert (lake.current_snapshot_id(settings), len(lake.read_ledger(settings))) == before
    assert '"status": "nothing_new"' in (Path(env["IMDB_LAKE_DIR"]) / "reports" / "latest.json").read_text()


def _break_a_title_type(raw: Path) -> None:
    """Give one movie an unknown titleType: a new delivery, valid data (dbt only warns)."""
    path = raw / "title.basics.tsv.gz"
    lines = gzip.decompress(path.read_bytes()).decode().split("\n")
    for i, line in enumerate(lines[1:], start=1):
        fields = line.split("\t")
        if len(fields) == 9 and fields[1] == "movie":
            fields[1] = "notATitleType"
            lines[i] = "\t".join(fields)
            break
    path.write_bytes(gzip.compress("\n".join(lines).encode()))


def _repeat_an_episode(stage):
    """Stage after writing one episode row a second time into the cleaned snapshot.

    The cleaning rules never let a repeated key through, and dbt gates only on what they
    guarantee, so a failing dbt test needs rows that did not come from Spark."""

    def staged_with_a_repeat(settings, manifest):
        folder = Path(manifest["datasets"]["title_episode"]["path"])
        first = sorted(folder.glob("*.parquet"))[0]
        pq.write_table(pq.read_table(first).slice(0, 1), folder / "part-repeated.parquet")
        return stage(settings, manifest)

    return staged_with_a_repeat


@pytest.mark.timeout(900)
def test_a_failing_dbt_test_fails_the_run_and_publishes_nothing(env, monkeypatch):
    from imdb_elt.orchestration import tasks

    settings = config.load()
    current_before = lake.current_snapshot_id(settings)
    ledger_before = lake.read_ledger(settings)
    marts_before = _marts(env["DUCKDB_PATH"])
    _break_a_title_type(env["raw"])
    monkeypatch.setattr(tasks, "stage_locally", _repeat_an_episode(tasks.stage_locally))

    dag_run, seconds = _run_dag()
    states = _states(dag_run)
    print(f"failing dag.test() run: {seconds:.1f} s")
    _print_costs(dag_run)
    assert dag_run.state == "failed"
    assert states["clean"] == "success" and states["stage"] == "success"
    # The unknown titleType only warns; `dbt build` of fct_episodes builds it, then its unique
    # test fails, and everything after it stops.
    assert states["dbt.dim_titles_model_build"] == "success"
    assert states["dbt.fct_episodes_model_build"] == "failed"
    assert states["dbt.dangling_references_model_build"] == "upstream_failed"
    assert states["publish_marts"] == "upstream_failed"
    assert states["publish_snapshot"] == "upstream_failed"
    assert states["report"] == "failed"  # the report is written, then fails the run

    assert lake.current_snapshot_id(settings) == current_before
    assert lake.read_ledger(settings) == ledger_before
    assert _marts(env["DUCKDB_PATH"]) == marts_before
    report = (Path(env["IMDB_LAKE_DIR"]) / "reports" / "latest.json").read_text()
    assert '"status": "failed"' in report
