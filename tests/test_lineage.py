"""OpenLineage plumbing without a pipeline run: off when unset, names by the naming rules, the
settings a Spark driver on EMR receives from Airflow's provider, and a broken transport that
never fails a run. The graph of a whole run: tests/test_pipeline_e2e.py; the Spark job's FAIL:
tests/spark/test_lineage_spark.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from imdb_elt import config, lineage, run_lineage
from spark_jobs import lineage as spark_lineage


def read_events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture
def no_transport(monkeypatch, tmp_path):
    """An environment with no OpenLineage configuration at all (not even ~/.openlineage)."""
    for key in list(__import__("os").environ):
        if key.startswith("OPENLINEAGE"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def file_transport(no_transport, monkeypatch, tmp_path) -> Path:
    events = tmp_path / "events.jsonl"
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TYPE", "file")
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__LOG_FILE_PATH", str(events))
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__APPEND", "true")
    return events


def test_configured_the_ways_the_client_and_airflow_read(no_transport, tmp_path):
    assert not lineage.configured({})
    assert lineage.configured({"OPENLINEAGE__TRANSPORT__TYPE": "console"})
    assert lineage.configured({"OPENLINEAGE_URL": "http://127.0.0.1:5000"})
    assert not lineage.configured({"OPENLINEAGE__TRANSPORT__TYPE": ""})
    assert not lineage.configured({"OPENLINEAGE_URL": "http://127.0.0.1:5000",
                                   "OPENLINEAGE_DISABLED": "true"})
    config_file = tmp_path / "ol.yml"
    assert not lineage.configured({"OPENLINEAGE_CONFIG": str(config_file)})  # named but absent
    config_file.write_text("transport:\n  type: console\n")
    assert lineage.configured({"OPENLINEAGE_CONFIG": str(config_file)})
    (tmp_path / "openlineage.yml").write_text("transport:\n  type: console\n")  # the working directory
    assert lineage.configured({})


def test_off_when_unset_imports_and_emits_nothing(no_transport, tmp_path):
    """No transport: a whole job run goes by without the client even being imported."""
    code = (
        "import sys\n"
        "from imdb_elt import lineage\n"
        "run = lineage.JobRun(lineage.Emitter('ns'), 'job', inputs=[lineage.path_dataset('/x')])\n"
        "with lineage.job_runs([run]):\n"
        "    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('openlineage')))\n"
    )
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("OPENLINEAGE")}
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env={**env, "HOME": str(tmp_path)},
                         capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
    assert list(tmp_path.iterdir()) == []  # and no event written anywhere here


def test_dataset_names_follow_the_naming_rules(tmp_path):
    assert lineage.path_dataset("s3://imdb-raw/zone/title.basics.tsv.gz").key == (
        "s3://imdb-raw", "zone/title.basics.tsv.gz")
    # Spark's s3a:// and a trailing slash name the same dataset.
    assert lineage.path_dataset("s3a://imdb-lake/lake/processed/snapshots/S/title_basics/").key == (
        "s3://imdb-lake", "lake/processed/snapshots/S/title_basics")
    assert lineage.path_dataset(str(tmp_path / "a" / ".." / "raw.tsv.gz")).key == (
        "file", str(tmp_path / "raw.tsv.gz"))
    # What the Spark job writes is what staging reads: one function for both, the snapshot as version.
    parquet = lineage.processed_dataset("s3://imdb-lake/lake", "S1", "title_basics")
    assert parquet.key == ("s3://imdb-lake", "lake/processed/snapshots/S1/title_basics")
    assert parquet.version == "S1"


@pytest.mark.parametrize(
    ("target", "env", "namespace", "table"),
    [
        ("postgres", {"PGHOST": "db.internal", "PGPORT": "5433", "PGDATABASE": "imdb"},
         "postgres://db.internal:5433", "imdb.raw.title_basics"),
        ("redshift", {"REDSHIFT_HOST": "wh.abc123.eu-west-1.redshift.amazonaws.com", "REDSHIFT_PORT": "5439",
                      "REDSHIFT_DATABASE": "analytics"},
         "redshift://wh.abc123.eu-west-1.redshift.amazonaws.com:5439", "analytics.raw.title_basics"),
    ],
)
def test_warehouse_tables_are_named_as_the_dbt_integration_names_them(monkeypatch, target, env, namespace,
                                                                      table):
    for key, value in {"DBT_TARGET": target, **env}.items():
        monkeypatch.setenv(key, value)
    wh = run_lineage.warehouse(config.load())
    assert wh.table("raw", "title_basics").key == (namespace, table)


def test_duckdb_is_named_by_its_absolute_file(monkeypatch, tmp_path):
    monkeypatch.setenv("DBT_TARGET", "duckdb")
    monkeypatch.setenv("DUCKDB_PATH", str(tmp_path / "wh" / "imdb.duckdb"))
    wh = run_lineage.warehouse(config.load())
    assert wh.table("marts", "movies").key == (f"duckdb://{tmp_path}/wh/imdb.duckdb", "imdb.marts.movies")


def test_a_spark_driver_on_emr_reads_what_airflows_provider_injects(no_transport):
    """The provider's spark_inject_parent_job_info / spark_inject_transport_info properties, in
    the Spark listener's format, become the driver's parent run and client configuration."""
    conf = {
        "spark.openlineage.parentJobNamespace": "airflow",
        "spark.openlineage.parentJobName": "imdb_elt_hourly.emr_serverless_job",
        "spark.openlineage.parentRunId": "01930000-0000-7000-8000-000000000001",
        "spark.openlineage.rootParentJobNamespace": "airflow",
        "spark.openlineage.rootParentJobName": "imdb_elt_hourly",
        "spark.openlineage.rootParentRunId": "01930000-0000-7000-8000-000000000000",
        "spark.openlineage.transport.type": "http",
        "spark.openlineage.transport.url": "http://127.0.0.1:5000",
        "spark.openlineage.transport.endpoint": "api/v1/lineage",
        "spark.openlineage.transport.timeoutInMillis": "5000",
        "spark.openlineage.transport.auth.type": "api_key",
        "spark.openlineage.transport.auth.apiKey": "not-a-real-key",
        "spark.openlineage.transport.headers.X-Team": "data",
    }
    found = spark_lineage.parent(conf)
    root = ("airflow", "imdb_elt_hourly", "01930000-0000-7000-8000-000000000000")
    assert found == lineage.Parent("airflow", "imdb_elt_hourly.emr_serverless_job",
                                   "01930000-0000-7000-8000-000000000001", root=root)
    client_config = spark_lineage.client_config(conf)
    emitter = lineage.Emitter("imdb_elt", client_config)
    transport = emitter._client.transport
    assert transport.kind == "http"
    assert transport.url == "http://127.0.0.1:5000" and transport.endpoint == "api/v1/lineage"
    assert transport.timeout == 5.0
    assert transport.config.auth.get_bearer() == "Bearer not-a-real-key"
    assert transport.config.custom_headers == {"X-Team": "data"}
    # Nothing injected: no client config from Spark, and the local runner's parent from the environment.
    assert spark_lineage.client_config({}) is None
    assert spark_lineage.parent({}) is None


def test_the_local_runner_hands_its_run_to_the_spark_job_as_parent(file_transport, monkeypatch):
    run = lineage.JobRun(lineage.Emitter("imdb_elt"), lineage.RUN_JOB)
    with lineage.parent(run.as_parent()):
        env = lineage.child_env()
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert spark_lineage.parent({}) == lineage.Parent("imdb_elt", lineage.RUN_JOB, run.run_id,
                                                      root=("imdb_elt", lineage.RUN_JOB, run.run_id))
    assert lineage.child_env() == {}  # outside the run: no parent to hand on


def test_job_runs_report_start_then_complete_or_fail_with_the_parent(file_transport):
    emitter = lineage.Emitter("imdb_elt")
    top = lineage.JobRun(emitter, "top").start()
    with lineage.parent(top.as_parent()):
        ok = lineage.JobRun(emitter, "ok", inputs=[lineage.path_dataset("/in")],
                            outputs=[lineage.path_dataset("/out", rows=3, fields=(("id", "bigint"),))])
        bad = lineage.JobRun(emitter, "bad")
        with lineage.job_runs([ok]):
            pass
        with pytest.raises(ValueError, match="broken"), lineage.job_runs([bad]):
            raise ValueError("broken")
    events = read_events(file_transport)
    assert [(e["job"]["name"], e["eventType"]) for e in events] == [
        ("top", "START"), ("ok", "START"), ("ok", "COMPLETE"), ("bad", "START"), ("bad", "FAIL")]
    complete, fail = events[2], events[4]
    assert complete["run"]["facets"]["parent"]["run"]["runId"] == top.run_id
    assert complete["outputs"][0]["outputFacets"]["outputStatistics"]["rowCount"] == 3
    assert complete["outputs"][0]["facets"]["schema"]["fields"][0]["name"] == "id"
    assert fail["run"]["facets"]["errorMessage"]["message"] == "ValueError: broken"
    assert "raise ValueError" in fail["run"]["facets"]["errorMessage"]["stackTrace"]


def test_a_transport_that_fails_never_fails_the_run(no_transport, monkeypatch, tmp_path, caplog):
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TYPE", "file")
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__LOG_FILE_PATH", str(tmp_path / "missing" / "dir" / "events"))
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__APPEND", "true")
    with lineage.job_runs([lineage.JobRun(lineage.Emitter("imdb_elt"), "job")]):
        pass
    assert "OpenLineage event for job not sent" in caplog.text


def test_the_spark_bundle_ships_the_lineage_code_but_not_the_client():
    """The driver's lineage is first-party code in spark_jobs.zip; the client is an optional
    dependency installed on the cluster (docs/lineage.md), and the orchestrator's side stays out."""
    from imdb_elt.spark_bundle import imported_modules

    modules = imported_modules()
    assert {"imdb_elt.lineage", "spark_jobs.lineage"} <= set(modules)
    orchestrator_side = ("openlineage", "imdb_elt.run_lineage", "imdb_elt.dbt_runner")
    assert not any(m.startswith(orchestrator_side) for m in modules)
