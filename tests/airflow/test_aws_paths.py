"""The production path against moto: EMR step, EMR Serverless job run, Redshift Data COPY.

The operators are the Amazon provider's, built by imdb_elt.orchestration exactly as the DAG
builds them, and executed directly with a minimal context. moto keeps EMR steps RUNNING and
Redshift statements STARTED forever, so the tests set those states in moto's backend. The Spark
code bundle is deployed to moto's S3 first (the step builders refuse to submit without it).
"""

from __future__ import annotations

from typing import Any
from unittest import mock

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID

from imdb_elt import config, spark_bundle
from imdb_elt.orchestration import aws_spark, redshift_stage
from tests import fake_credentials as fake
from tests.moto_redshift import patch_redshift_data

pytestmark = pytest.mark.timeout(120)

REGION = "eu-west-1"
ROLE = "arn:aws:iam::123456789012:role/imdb-elt-redshift-copy"
PLAN = {  # as imdb_elt.pipeline.detect hands it on
    "run_id": "20261125T070000000000Z",
    "snapshot_id": "20261125T070000000000Z",
    "new_deliveries": ["title.basics.tsv.gz", "title.ratings.tsv.gz"],
    "deliveries": [
        {
            "file_name": "title.basics.tsv.gz",
            "uri": "s3://imdb-raw/title.basics.tsv.gz",
            "size": 10,
            "fingerprint": "abc",
        },
        {
            "file_name": "title.ratings.tsv.gz",
            "uri": "s3://imdb-raw/title.ratings.tsv.gz",
            "size": 5,
            "fingerprint": "def",
        },
    ],
    "already_processed": [],
    "missing": [],
}


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "IMDB_RAW_DIR": "s3://imdb-raw",
        "IMDB_LAKE_DIR": "s3://imdb-lake/lake",
        "IMDB_SPARK_CODE_URI": "s3://imdb-code/imdb-elt/",
        "IMDB_DEFERRABLE": "false",
        "IMDB_EMR_SERVERLESS_APP_ID": "",
        "IMDB_EMR_EXECUTION_ROLE_ARN": "arn:aws:iam::123456789012:role/emr-job",
        "REDSHIFT_IAM_ROLE_ARN": ROLE,
        "REDSHIFT_CLUSTER_ID": "imdb-cluster",
        "REDSHIFT_DATABASE": "imdb",
        "REDSHIFT_DB_USER": "loader",
        "DBT_TARGET": "redshift",
        # No aws_default connection exists in the test: the hook falls back to boto3's chain.
        "AIRFLOW_CONN_AWS_DEFAULT": '{"conn_type": "aws"}',
    }.items():
        monkeypatch.setenv(name, value)


def deploy_code() -> str:
    """`make deploy-code` into moto's S3; returns the version folder."""
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="imdb-code", CreateBucketConfiguration={"LocationConstraint": REGION})
    folder, _ = spark_bundle.upload(spark_bundle.build_bundle(with_jar=True), "s3://imdb-code/imdb-elt/", s3)
    return folder


def _context() -> dict[str, Any]:
    ti = mock.MagicMock()
    return {"ti": ti, "task_instance": ti}


EXPECTED_ARGS = [
    "--raw-dir",
    "s3://imdb-raw",
    "--lake-dir",
    "s3://imdb-lake/lake",
    "--snapshot-id",
    PLAN["snapshot_id"],
    "--files",
    "title.basics.tsv.gz,title.ratings.tsv.gz",
    "--threshold",
    "0.01",
    "--slices",
    "4",
    "--redshift-staging",
    "copy",
]
CLOUD_CONF = [
    "--conf",
    "spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs=false",
    "--conf",
    "spark.hadoop.parquet.summary.metadata.level=NONE",
]


# ---- EMR on EC2 ---------------------------------------------------------------------------------


def _cluster(emr: Any) -> str:
    return emr.run_job_flow(
        Name="imdb-elt",
        ReleaseLabel=config.load().emr_release_label,
        Instances={
            "MasterInstanceType": "m5.xlarge",
            "SlaveInstanceType": "m5.xlarge",
            "InstanceCount": 3,
            "KeepJobFlowAliveWhenNoSteps": True,
        },
        JobFlowRole="EMR_EC2_DefaultRole",
        ServiceRole="EMR_DefaultRole",
    )["JobFlowId"]


def _set_step_state(cluster_id: str, step_id: str, state: str) -> None:
    from moto.emr.models import emr_backends

    cluster = emr_backends[DEFAULT_ACCOUNT_ID][REGION].clusters[cluster_id]
    next(s for s in cluster.steps if s.id == step_id).state = state


@mock_aws
def test_emr_step_is_submitted_with_the_job_arguments_and_waited_for(aws_env, monkeypatch):
    emr = boto3.client("emr", region_name=REGION)
    cluster_id = _cluster(emr)
    monkeypatch.setenv("IMDB_EMR_CLUSTER_ID", cluster_id)
    settings = config.load()
    folder = deploy_code()

    steps = aws_spark.emr_steps(settings, PLAN)
    submit = aws_spark.add_emr_step(settings, steps)
    step_ids = submit.execute(_context())
    assert len(step_ids) == 1

    step = emr.describe_step(ClusterId=cluster_id, StepId=step_ids[0])["Step"]
    assert step["ActionOnFailure"] == "CONTINUE"
    assert step["Config"]["Jar"] == "command-runner.jar"
    assert step["Config"]["Args"] == [
        "spark-submit",
        "--deploy-mode",
        "cluster",
        *CLOUD_CONF,
        "--jars",
        f"{folder}/imdb-elt-checks.jar",
        "--py-files",
        f"{folder}/spark_jobs.zip",
        f"{folder}/clean_imdb.py",
        *EXPECTED_ARGS,
    ]

    sensor = aws_spark.wait_for_emr_step(settings)
    sensor.step_id = step_ids[0]  # what the template renders from the submit task's XCom
    assert sensor.deferrable is False and sensor.job_flow_id == cluster_id
    assert sensor.poke(_context()) is False  # still RUNNING in moto
    _set_step_state(cluster_id, step_ids[0], "COMPLETED")
    assert sensor.poke(_context()) is True


@mock_aws
def test_a_failed_emr_step_fails_the_sensor(aws_env, monkeypatch):
    emr = boto3.client("emr", region_name=REGION)
    cluster_id = _cluster(emr)
    monkeypatch.setenv("IMDB_EMR_CLUSTER_ID", cluster_id)
    settings = config.load()
    deploy_code()
    step_ids = aws_spark.add_emr_step(settings, aws_spark.emr_steps(settings, PLAN)).execute(_context())
    _set_step_state(cluster_id, step_ids[0], "FAILED")
    sensor = aws_spark.wait_for_emr_step(settings)
    sensor.step_id = step_ids[0]
    with pytest.raises(Exception, match=r"(?i)fail"):
        sensor.poke(_context())


def test_emr_modes_refuse_a_local_lake(aws_env, monkeypatch):
    monkeypatch.setenv("IMDB_LAKE_DIR", "/tmp/lake")
    with pytest.raises(aws_spark.AwsConfigError, match="IMDB_LAKE_DIR"):
        aws_spark.emr_steps(config.load(), PLAN)
    monkeypatch.setenv("IMDB_LAKE_DIR", "s3://imdb-lake/lake")
    monkeypatch.setenv("IMDB_SPARK_CODE_URI", "")
    with pytest.raises(aws_spark.AwsConfigError, match="IMDB_SPARK_CODE_URI"):
        aws_spark.emr_steps(config.load(), PLAN)


@mock_aws
def test_a_cluster_of_another_emr_release_is_refused_before_anything_is_submitted(aws_env, monkeypatch):
    emr = boto3.client("emr", region_name=REGION)
    good = _cluster(emr)
    monkeypatch.setenv("IMDB_EMR_RELEASE_LABEL", "emr-spark-8.0.0")
    aws_spark.check_emr_cluster_release(config.load(), good, emr)  # the expected release passes
    old = emr.run_job_flow(
        Name="imdb-elt-old", ReleaseLabel="emr-7.5.0", JobFlowRole="EMR_EC2_DefaultRole",
        ServiceRole="EMR_DefaultRole",
        Instances={"MasterInstanceType": "m5.xlarge", "InstanceCount": 1,
                   "KeepJobFlowAliveWhenNoSteps": True},
    )["JobFlowId"]
    with pytest.raises(aws_spark.AwsConfigError,
                       match=rf"cluster {old} runs EMR release 'emr-7\.5\.0'.*IMDB_EMR_RELEASE_LABEL="
                             r"'emr-spark-8\.0\.0' \(Spark 4\.0\.2\)"):
        aws_spark.check_emr_cluster_release(config.load(), old, emr)
    assert emr.list_steps(ClusterId=old)["Steps"] == []


@mock_aws
def test_an_emr_serverless_application_of_another_release_is_refused(aws_env):
    client = boto3.client("emr-serverless", region_name=REGION)
    settings = config.load()
    good = client.create_application(name="ok", releaseLabel=settings.emr_release_label, type="SPARK")
    good = good["applicationId"]
    aws_spark.check_emr_serverless_release(settings, good, client)
    old = client.create_application(name="old", releaseLabel="emr-7.5.0", type="SPARK")["applicationId"]
    with pytest.raises(aws_spark.AwsConfigError, match=rf"application {old} runs EMR release 'emr-7\.5\.0'"):
        aws_spark.check_emr_serverless_release(settings, old, client)


def test_the_cluster_id_falls_back_to_an_airflow_variable(aws_env, monkeypatch):
    monkeypatch.setenv("IMDB_EMR_CLUSTER_ID", "")
    assert aws_spark.emr_cluster_id(config.load()) == "{{ var.value.imdb_emr_cluster_id }}"


# ---- EMR Serverless -----------------------------------------------------------------------------


@mock_aws
def test_emr_serverless_job_run_is_started_with_the_job_arguments(aws_env, monkeypatch):
    client = boto3.client("emr-serverless", region_name=REGION)
    label = config.load().emr_release_label
    app_id = client.create_application(name="imdb-elt", releaseLabel=label, type="SPARK")["applicationId"]
    monkeypatch.setenv("IMDB_EMR_SERVERLESS_APP_ID", app_id)
    monkeypatch.setenv("IMDB_EMR_LOG_URI", "s3://imdb-logs/emr/")
    settings = config.load()
    folder = deploy_code()

    operator = aws_spark.start_emr_serverless_job(
        settings, aws_spark.emr_serverless_job_driver(settings, PLAN)
    )
    operator.name = "imdb_elt clean test"  # the template would render the run id
    job_run_id = operator.execute(_context())

    run = client.get_job_run(applicationId=app_id, jobRunId=job_run_id)["jobRun"]
    assert run["executionRole"] == "arn:aws:iam::123456789012:role/emr-job"
    submit = run["jobDriver"]["sparkSubmit"]
    assert submit["entryPoint"] == f"{folder}/clean_imdb.py"
    assert submit["entryPointArguments"] == EXPECTED_ARGS
    assert submit["sparkSubmitParameters"] == " ".join(
        [*CLOUD_CONF, "--jars", f"{folder}/imdb-elt-checks.jar", "--py-files", f"{folder}/spark_jobs.zip"]
    )
    overrides = run["configurationOverrides"]["monitoringConfiguration"]
    assert overrides["s3MonitoringConfiguration"]["logUri"] == "s3://imdb-logs/emr/"


@mock_aws
def test_a_failed_emr_serverless_job_fails_the_task(aws_env, monkeypatch):
    client = boto3.client("emr-serverless", region_name=REGION)
    label = config.load().emr_release_label
    app_id = client.create_application(name="imdb-elt", releaseLabel=label, type="SPARK")["applicationId"]
    monkeypatch.setenv("IMDB_EMR_SERVERLESS_APP_ID", app_id)
    settings = config.load()
    deploy_code()
    operator = aws_spark.start_emr_serverless_job(
        settings, aws_spark.emr_serverless_job_driver(settings, PLAN)
    )
    operator.waiter_delay, operator.waiter_max_attempts = 1, 3

    # moto creates every job run in one state (SUCCESS): make it FAILED for this test.
    monkeypatch.setattr("moto.emrserverless.models.JOB_STATUS", "FAILED")
    with pytest.raises(Exception, match=r"(?i)fail"):
        operator.execute(_context())


def test_emr_serverless_needs_the_application_id(aws_env):
    settings = config.load()
    with pytest.raises(aws_spark.AwsConfigError, match="IMDB_EMR_SERVERLESS_APP_ID"):
        aws_spark.start_emr_serverless_job(settings, {"sparkSubmit": {}})


# ---- Redshift -------------------------------------------------------------------------------------

MANIFEST = {
    "snapshot_id": PLAN["snapshot_id"],
    "datasets": {
        "title_basics": {
            "path": f"s3://imdb-lake/lake/processed/snapshots/{PLAN['snapshot_id']}/title_basics",
            "rows": 10,
            "snapshot_id": PLAN["snapshot_id"],
            "source_file": "title.basics.tsv.gz",
        },
        "title_ratings": {
            "path": f"s3://imdb-lake/lake/processed/snapshots/{PLAN['snapshot_id']}/title_ratings",
            "rows": 5,
            "snapshot_id": PLAN["snapshot_id"],
            "source_file": "title.ratings.tsv.gz",
        },
    },
}


@pytest.fixture
def redshift_data(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    return patch_redshift_data(monkeypatch, REGION)


def _redshift_operator() -> Any:
    settings = config.load()
    sql = redshift_stage.stage_statements(settings, MANIFEST)
    operator = redshift_stage.copy_into_redshift(settings, sql)
    operator.poll_interval = 0
    return sql, operator


@mock_aws
def test_redshift_copy_runs_the_rendered_statements_with_the_iam_role(aws_env, redshift_data):
    sql, operator = _redshift_operator()
    copies = [s for s in sql if s.startswith("COPY")]
    assert len(copies) == 2
    assert all(f"IAM_ROLE '{ROLE}'" in s and "FORMAT AS PARQUET" in s for s in copies)
    assert not any("ACCESS_KEY" in s.upper() or "testing" in s for s in sql)  # the role, never keys
    assert operator.wait_for_completion is True

    operator.execute(_context())
    [(kind, sqls, target)] = redshift_data["calls"]  # the whole list: one batch, one transaction
    assert (kind, sqls) == ("batch", sql)
    assert (target["cluster"], target["database"], target["db_user"]) == ("imdb-cluster", "imdb", "loader")


@mock_aws
def test_a_failed_copy_fails_the_stage_task(aws_env, redshift_data):
    redshift_data["status"] = "FAILED"
    _, operator = _redshift_operator()
    with pytest.raises(Exception, match=r"(?i)fail"):
        operator.execute(_context())


def test_access_keys_are_refused_for_copy(aws_env, monkeypatch):
    monkeypatch.setenv("REDSHIFT_COPY_CREDENTIALS", fake.copy_credentials())
    with pytest.raises(ValueError, match="refused"):
        redshift_stage.stage_statements(config.load(), MANIFEST)
