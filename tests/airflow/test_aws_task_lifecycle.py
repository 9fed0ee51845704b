"""The AWS tasks around their work (moto): an EMR Serverless application that auto-stopped is
started before the job run, and a killed task stops what it started (the job run, the Redshift
statement: Airflow calls ``on_kill`` when a running task is marked failed, times out or its run
is stopped). These calls are also part of what the Airflow role must allow
(tests/infra/test_permissions.py records them).
"""

from __future__ import annotations

from typing import Any
from unittest import mock

import boto3
import pytest

from imdb_elt import config
from imdb_elt.orchestration import aws_spark, redshift_stage
from tests.fixtures.aws import REGION
from tests.moto_redshift import patch_redshift_data

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def env(mocked_aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AIRFLOW_CONN_AWS_DEFAULT": '{"conn_type": "aws"}',
        "IMDB_DEFERRABLE": "false",
        "IMDB_EMR_EXECUTION_ROLE_ARN": "arn:aws:iam::123456789012:role/imdb-elt-spark-job",
        "REDSHIFT_IAM_ROLE_ARN": "arn:aws:iam::123456789012:role/imdb-elt-redshift",
        "REDSHIFT_WORKGROUP": "imdb-elt",
        "REDSHIFT_DATABASE": "dev",
    }.items():
        monkeypatch.setenv(name, value)


def _context() -> dict[str, Any]:
    ti = mock.MagicMock()
    return {"ti": ti, "task_instance": ti}


def _application(monkeypatch: pytest.MonkeyPatch) -> tuple[Any, str]:
    client = boto3.client("emr-serverless", region_name=REGION)
    app_id = client.create_application(name="imdb-elt", releaseLabel=config.load().emr_release_label,
                                       type="SPARK")["applicationId"]
    monkeypatch.setenv("IMDB_EMR_SERVERLESS_APP_ID", app_id)
    return client, app_id


def test_an_application_that_stopped_is_started_before_the_job_run(env, monkeypatch) -> None:
    client, app_id = _application(monkeypatch)
    client.stop_application(applicationId=app_id)  # what auto-stop does after idle minutes
    assert client.get_application(applicationId=app_id)["application"]["state"] == "STOPPED"
    operator = aws_spark.start_emr_serverless_job(config.load(), {"sparkSubmit": {"entryPoint": "s3://c/e.py"}})
    operator.name, operator.waiter_delay = "imdb_elt clean test", 0
    job_run_id = operator.execute(_context())
    assert client.get_application(applicationId=app_id)["application"]["state"] == "STARTED"
    assert client.get_job_run(applicationId=app_id, jobRunId=job_run_id)["jobRun"]["state"] == "SUCCESS"


def test_a_killed_spark_task_cancels_its_job_run(env, monkeypatch) -> None:
    client, app_id = _application(monkeypatch)
    operator = aws_spark.start_emr_serverless_job(config.load(), {"sparkSubmit": {"entryPoint": "s3://c/e.py"}})
    operator.name = "imdb_elt clean test"
    monkeypatch.setattr("moto.emrserverless.models.JOB_STATUS", "RUNNING")  # still running when killed
    operator.wait_for_completion = False
    operator.waiter_delay = 0  # on_kill polls until the run is cancelled
    job_run_id = operator.execute(_context())
    assert client.get_job_run(applicationId=app_id, jobRunId=job_run_id)["jobRun"]["state"] == "RUNNING"

    operator.on_kill()
    assert client.get_job_run(applicationId=app_id, jobRunId=job_run_id)["jobRun"]["state"] == "CANCELLED"


def test_a_killed_staging_task_cancels_its_statement(env, monkeypatch) -> None:
    api = patch_redshift_data(monkeypatch, REGION)
    api["status"] = "STARTED"  # the task is killed mid-way
    settings = config.load()
    operator = redshift_stage.copy_into_redshift(settings, ["SELECT 1"])
    operator.wait_for_completion = False
    operator.execute(_context())
    client = boto3.client("redshift-data", region_name=REGION)
    assert client.describe_statement(Id=operator.statement_id)["Status"] == "STARTED"

    operator.on_kill()
    assert client.describe_statement(Id=operator.statement_id)["Status"] == "ABORTED"
