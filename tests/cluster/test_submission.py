"""One definition of a submitted run: the standalone cluster's spark-submit, the EMR step and the EMR
Serverless job carry the same options, archive, entry point and job arguments; where the run goes
is read back from Spark's event log. No JVM: pure builders and a synthetic event log."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import boto3
import pyarrow as pa
import pytest

from imdb_elt import config, spark_bundle, spark_events, spark_submit
from imdb_elt.orchestration import aws_spark
from imdb_elt.report import spark_placement

PLAN = {"run_id": "20261204T070000000000Z", "new_deliveries": ["title.ratings.tsv.gz", "movie_metadata.csv"],
        "deliveries": [{"size": 3000}, {"size": 40000}]}
CODE_URI = "s3://imdb-code/imdb-elt"


def _split(args: list[str], options: int) -> dict[str, Any]:
    """The ``options`` arguments before --jars, the jar, the archive, the entry, the job's arguments."""
    at = args.index("--jars")
    assert args[at + 2] == "--py-files", args
    return {"before": args[:at - options], "options": args[at - options:at], "jars": Path(args[at + 1]).name,
            "py_files": Path(args[at + 3]).name, "entry": Path(args[at + 4]).name, "arguments": args[at + 5:]}


def _three_ways(tmp_path: Path, options: int) -> dict[str, dict[str, Any]]:
    """Each of the three submissions of the same plan, split as ``_split`` does."""
    settings = config.load()
    s3 = boto3.client("s3", region_name="eu-west-1")
    s3.create_bucket(Bucket="imdb-code", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    spark_bundle.upload(spark_bundle.build_bundle(with_jar=True), CODE_URI, s3)
    emr = aws_spark.emr_steps(settings, PLAN, s3)[0]["HadoopJarStep"]["Args"]
    serverless = aws_spark.emr_serverless_job_driver(settings, PLAN, s3)["sparkSubmit"]
    standalone = spark_submit.standalone_command(
        settings, PLAN, "spark://127.0.0.1:7077", tmp_path / "code", tmp_path / "python",
        tmp_path / "events", local_cluster=True,
    )
    return {
        "emr": _split(emr, options),
        "serverless": _split([*shlex.split(serverless["sparkSubmitParameters"]), serverless["entryPoint"],
                              *serverless["entryPointArguments"]], options),
        "standalone": _split(standalone, options),
    }


@pytest.fixture
def s3_zones(mocked_aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMDB_RAW_DIR", "s3://imdb-raw")
    monkeypatch.setenv("IMDB_LAKE_DIR", "s3://imdb-lake/lake")
    monkeypatch.setenv("IMDB_SPARK_CODE_URI", CODE_URI)
    monkeypatch.setenv("IMDB_REDSHIFT_SLICES", "8")


def test_the_three_submissions_cannot_drift(s3_zones, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    # A new option in the one definition reaches all three.
    monkeypatch.setitem(spark_submit.JOB_SPARK_CONF, "spark.imdb_elt.drift_check", "1")
    expected = spark_submit.job_submission(config.load(), PLAN, "e", "p", "j").conf_arguments()
    assert "spark.imdb_elt.drift_check=1" in expected
    ways = _three_ways(tmp_path, len(expected))
    for name, way in ways.items():
        assert way["options"] == expected, name
        assert (way["jars"], way["py_files"], way["entry"]) == (
            "imdb-elt-checks.jar", "spark_jobs.zip", "clean_imdb.py"), name
        # Every setting the job reads travels as an argument (on EMR the driver has not this
        # process's environment): the Redshift slices too.
        assert way["arguments"] == spark_submit.job_arguments(config.load(), PLAN), name
        at = way["arguments"].index("--slices")
        assert way["arguments"][at:at + 2] == ["--slices", "8"], name
    assert ways["emr"]["before"] == ["spark-submit", "--deploy-mode", "cluster"]
    assert ways["serverless"]["before"] == []

    # The standalone run adds only where and how it deploys: client mode, its Python, the event log.
    before = ways["standalone"]["before"]
    assert before[0].endswith("/pyspark/bin/spark-submit")
    assert before[1:5] == ["--master", "spark://127.0.0.1:7077", "--deploy-mode", "client"]
    confs = dict(a.split("=", 1) for a in before if a.startswith("spark."))
    assert confs["spark.pyspark.python"] == confs["spark.pyspark.driver.python"] == str(tmp_path / "python")
    assert confs["spark.eventLog.enabled"] == "true"
    assert confs["spark.eventLog.dir"] == (tmp_path / "events").as_uri()
    assert not set(confs) & set(spark_submit.JOB_SPARK_CONF)


def test_the_submit_environment_holds_no_project_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMDB_REDSHIFT_SLICES", "8")
    monkeypatch.setenv("PYTHONPATH", "/somewhere")
    monkeypatch.setenv("SPARK_CONF_DIR", "/etc/spark")
    env = spark_submit.scrubbed_environment()
    assert "IMDB_REDSHIFT_SLICES" not in env and "PYTHONPATH" not in env
    assert env["SPARK_CONF_DIR"] == "/etc/spark" and "PATH" in env


def test_the_isolated_python_cannot_import_the_project(tmp_path: Path) -> None:
    """Only the bundle's zip (--py-files) can then provide the job's modules."""
    import subprocess

    python = spark_submit.isolated_python(tmp_path)
    blind = subprocess.run([str(python), "-c", "import imdb_elt"], cwd=tmp_path, capture_output=True,
                           env=spark_submit.scrubbed_environment(), timeout=60)
    assert blind.returncode != 0 and b"No module named 'imdb_elt'" in blind.stderr
    zipped = tmp_path / "spark_jobs.zip"
    zipped.write_bytes(spark_bundle.build_bundle().archive)
    seen = subprocess.run([str(python), "-c", "import imdb_elt.layout as m; print(m.__file__)"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          env=spark_submit.scrubbed_environment(PYTHONPATH=str(zipped)))
    assert seen.returncode == 0 and seen.stdout.strip().startswith(str(zipped)), seen.stderr


# ---- the event log ------------------------------------------------------------------------------------


def _event_log(folder: Path, events: list[dict]) -> Path:
    """A rolling event log as Spark 4 writes it: zstd-compressed JSON lines, in two files."""
    app = folder / "eventlog_v2_app-1"
    app.mkdir(parents=True)
    lines = [json.dumps(e) for e in events]
    half = len(lines) // 2
    for n, chunk in ((1, lines[:half]), (2, lines[half:])):
        data = ("\n".join(chunk) + "\n").encode()
        with pa.output_stream(str(app / f"events_{n}_app-1.zstd"), compression="zstd") as out:
            out.write(data)
    return app


def _task(stage: int, executor: str, failed: bool = False, seconds: float = 1.0) -> dict:
    return {"Event": "SparkListenerTaskEnd", "Stage ID": stage,
            "Task Info": {"Executor ID": executor, "Failed": failed, "Killed": False,
                          "Launch Time": 1_000_000, "Finish Time": 1_000_000 + int(seconds * 1000)}}


def _job(stages: list[int], submitted: int, description: str | None) -> dict:
    properties = {"spark.jobGroup.id": "clean title.principals.tsv.gz"}
    if description is not None:
        properties["spark.job.description"] = description
    return {"Event": "SparkListenerJobStart", "Submission Time": submitted, "Stage IDs": stages,
            "Properties": properties}


def _cpu(stage: int, cpu_ns: int, deserialize_ns: int = 0) -> dict:
    metrics = {"Executor Deserialize CPU Time": deserialize_ns, "Executor CPU Time": cpu_ns}
    return {"Event": "SparkListenerTaskEnd", "Stage ID": stage, "Task Metrics": metrics}


def test_executor_cpu_is_charged_to_its_job_description(tmp_path: Path) -> None:
    """`make profile`'s executor CPU per file and step (jobs described ``clean <file>: <step>``)."""
    pass_1, key_check = "clean title.principals.tsv.gz: pass 1", "clean title.principals.tsv.gz: key check"
    app = _event_log(tmp_path, [
        {"Event": "SparkListenerLogStart", "Spark Version": "4.0.2"},
        _job([0, 1], 1000, pass_1), _cpu(0, 4_000_000_000, 25_000_000), _cpu(1, 1_000_000_000),
        _cpu(1, 500_000_000),
        _job([2], 2000, key_check), _cpu(2, 2_000_000_000),
        _job([3], 2500, None), _cpu(3, 100_000_000),
        _job([4], 9000, pass_1), _cpu(4, 7_000_000_000),  # after the profiled job
    ])  # fmt: skip
    spent = spark_events.executor_cpu_by_description(spark_events.events(app))
    assert spent == pytest.approx({pass_1: 12.525, key_check: 2.0, spark_events.NO_DESCRIPTION: 0.1})
    until = spark_events.executor_cpu_by_description(spark_events.events(app), until_ms=5000)
    assert until[pass_1] == pytest.approx(5.525)


def test_where_spark_ran_is_read_from_the_event_log(tmp_path: Path) -> None:
    events = [
        {"Event": "SparkListenerApplicationStart", "App ID": "app-1"},
        {"Event": "SparkListenerEnvironmentUpdate",
         "Spark Properties": {"spark.master": "spark://127.0.0.1:7077", "spark.submit.deployMode": "client"}},
        *({"Event": "SparkListenerExecutorAdded", "Executor ID": i,
           "Executor Info": {"Host": "127.0.0.1", "Total Cores": 1}} for i in ("0", "1")),
        {"Event": "SparkListenerJobStart", "Stage IDs": [0, 1],
         "Properties": {"spark.jobGroup.id": "clean title.ratings.tsv.gz"}},
        _task(0, "0", seconds=7.5), _task(1, "0"), _task(1, "1"), _task(1, "1", failed=True),
        {"Event": "SparkListenerExecutorRemoved", "Executor ID": "1", "Removed Reason": "worker lost"},
        _task(1, "0"),
        {"Event": "SparkListenerApplicationEnd"},
    ]
    _event_log(tmp_path, events)
    found = spark_events.latest_placement(tmp_path)
    assert found is not None
    assert (found["application_id"], found["master"], found["deploy_mode"]) == (
        "app-1", "spark://127.0.0.1:7077", "client")
    assert found["executors"] == {
        "0": {"host": "127.0.0.1", "cores": 1, "tasks": 3, "failed_tasks": 0, "task_seconds": 9.5,
              "removed": None},
        "1": {"host": "127.0.0.1", "cores": 1, "tasks": 1, "failed_tasks": 1, "task_seconds": 2.0,
              "removed": "worker lost"},
    }
    assert (found["tasks"], found["failed_tasks"], found["completed"]) == (4, 1, True)
    assert found["tasks_by_group"] == {"clean title.ratings.tsv.gz": {"0": 3, "1": 1}}
    assert found["longest_task_seconds"] == {"clean title.ratings.tsv.gz": 7.5}
    line = spark_placement({"mode": "standalone", **found})
    assert line == ("spark: spark://127.0.0.1:7077 (client mode), 2 executors: 0 ran 3 tasks; "
                    "1 ran 1 tasks (1 failed), lost: worker lost")
    assert spark_events.latest_placement(tmp_path / "none") is None
    assert spark_placement({"mode": "local", "master": "local[2]"}).startswith("spark: local[2] (local mode")


def test_a_cluster_run_without_the_packaged_bundle_fails_before_anything_starts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As the DAG refuses to submit to EMR without the deployed bundle: no cluster is started."""
    from imdb_elt import pipeline

    monkeypatch.setattr(spark_bundle, "DEFAULT_OUT", tmp_path / "dist")
    for name, value in {"IMDB_SPARK_MODE": "standalone", "IMDB_LOG_DIR": str(tmp_path / "logs"),
                        "IMDB_LAKE_DIR": str(tmp_path / "lake")}.items():
        monkeypatch.setenv(name, value)
    delivery = {"file_name": "title.ratings.tsv.gz", "uri": "x", "size": 1, "fingerprint": "f"}
    plan = pipeline.Plan(run_id="S1", orchestrator="cli", started_at="", raw_dir="", lake_dir="",
                         dbt_target="", deliveries=[delivery], new_deliveries=["title.ratings.tsv.gz"])
    with pytest.raises(pipeline.PipelineError,
                       match=r"could not start on a cluster.*run `make package` first"):
        pipeline.clean(config.load(), plan)
    assert not (tmp_path / "logs" / "spark-cluster").exists()
