"""The Spark step on AWS: EMR on EC2 (a step on a running cluster) or EMR Serverless (a job run).

Both submit ``spark_jobs/clean_imdb.py`` as ``imdb_elt.spark_submit.job_submission`` defines every
submitted run (the standalone cluster's too): the same options and arguments, here with ``s3://``
raw and lake URIs. The code is the versioned bundle `make deploy-code` uploaded to
IMDB_SPARK_CODE_URI/<version>/ (``imdb_elt.spark_bundle``): the version is computed from the code
this DAG runs, and a missing or different bundle fails the task before anything is submitted; so
does a cluster or application whose EMR release is not IMDB_EMR_RELEASE_LABEL (the Spark the job is
built and tested for). Everything is the Amazon provider's operators; the run-specific parts
(snapshot id, files) come from the ``detect`` XCom through a small task that builds the step / job
driver, passed to the operators' templated fields as an XComArg.
"""

from __future__ import annotations

from typing import Any

from imdb_elt.config import EMR_RELEASES, Settings
from imdb_elt.spark_submit import JobSubmission, job_submission


class AwsConfigError(ValueError):
    """A required id, ARN or s3:// location is not configured."""


def _require(value: str, name: str, what: str) -> str:
    if not value:
        raise AwsConfigError(f"{name} is not set: {what}")
    return value


def _check_s3(settings: Settings) -> None:
    for name, value in (("IMDB_RAW_DIR", settings.raw_dir), ("IMDB_LAKE_DIR", settings.lake_dir)):
        if not value.startswith("s3://"):
            raise AwsConfigError(f"{name}={value!r}: EMR reads and writes s3:// URIs only")


def code_locations(settings: Settings, s3: Any = None) -> tuple[str, str, str]:
    """(entry point, --py-files archive, --jars jar) of this code's bundle, checked on S3 (fails fast)."""
    from imdb_elt.spark_bundle import build_bundle, verify_deployed

    base = _require(settings.spark_code_uri, "IMDB_SPARK_CODE_URI", "the s3:// folder holding the Spark code")
    if not base.startswith("s3://"):
        raise AwsConfigError(f"IMDB_SPARK_CODE_URI={base!r} must be an s3:// folder")
    if s3 is None:
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        s3 = S3Hook(aws_conn_id=settings.aws_conn_id).get_conn()
    return verify_deployed(build_bundle(), base, s3)


def submission(settings: Settings, plan: dict[str, Any], s3: Any = None) -> JobSubmission:
    """The run's submission, from s3:// zones and the deployed bundle of this code."""
    _check_s3(settings)
    entry, py_files, jars = code_locations(settings, s3)
    return job_submission(settings, plan, entry, py_files, jars)


def check_release(settings: Settings, found: str | None, what: str) -> None:
    """Fail fast when the cluster / application runs another EMR release than the job is built for."""
    expected = settings.emr_release_label
    if found == expected:
        return
    known = EMR_RELEASES.get(found or "")
    runs = f"Spark {known.spark}" if known else "a Spark the job is not built for"
    raise AwsConfigError(
        f"{what} runs EMR release {found!r} ({runs}), but IMDB_EMR_RELEASE_LABEL={expected!r} "
        f"(Spark {settings.emr_release.spark}): the job is built and tested for that Spark only. "
        f"Point the DAG at a {expected} {what.split()[0]} or change the setting."
    )


def check_emr_cluster_release(settings: Settings, cluster_id: str, emr: Any = None) -> None:
    if emr is None:
        from airflow.providers.amazon.aws.hooks.emr import EmrHook

        emr = EmrHook(aws_conn_id=settings.aws_conn_id).get_conn()
    cluster = emr.describe_cluster(ClusterId=cluster_id)["Cluster"]
    check_release(settings, cluster.get("ReleaseLabel"), f"cluster {cluster_id}")


def check_emr_serverless_release(settings: Settings, application_id: str, client: Any = None) -> None:
    if client is None:
        from airflow.providers.amazon.aws.hooks.emr import EmrServerlessHook

        client = EmrServerlessHook(aws_conn_id=settings.aws_conn_id).conn
    application = client.get_application(applicationId=application_id)["application"]
    check_release(settings, application.get("releaseLabel"), f"application {application_id}")


def emr_steps(settings: Settings, plan: dict[str, Any], s3: Any = None) -> list[dict]:
    """One EMR step: spark-submit in cluster mode through command-runner.jar."""
    job = submission(settings, plan, s3)
    return [{
        "Name": f"imdb_elt clean {plan['run_id']}",
        # CONTINUE: a failed step fails this run (the sensor sees FAILED) but keeps a shared cluster up.
        "ActionOnFailure": "CONTINUE",
        "HadoopJarStep": {
            "Jar": "command-runner.jar",
            "Args": ["spark-submit", "--deploy-mode", "cluster", *job.spark_submit_arguments()],
        },
    }]


def emr_serverless_job_driver(settings: Settings, plan: dict[str, Any], s3: Any = None) -> dict:
    job = submission(settings, plan, s3)
    return {"sparkSubmit": {
        "entryPoint": job.entry,
        "entryPointArguments": list(job.arguments),
        "sparkSubmitParameters": " ".join(job.submit_parameters()),
    }}


def emr_serverless_overrides(settings: Settings) -> dict:
    if not settings.emr_log_uri:
        return {}
    return {"monitoringConfiguration": {"s3MonitoringConfiguration": {"logUri": settings.emr_log_uri}}}


# ---- operator builders (called inside the DAG context) -----------------------------------------


def emr_cluster_id(settings: Settings) -> str:
    """The env var wins; otherwise the Airflow Variable, read when the task runs (not at parse)."""
    return settings.emr_cluster_id or "{{ var.value.imdb_emr_cluster_id }}"


def resolved_cluster_id(settings: Settings) -> str:
    """The cluster id inside a running task: the env var, else the Airflow Variable."""
    if settings.emr_cluster_id:
        return settings.emr_cluster_id
    from airflow.sdk import Variable

    return Variable.get("imdb_emr_cluster_id")


def add_emr_step(settings: Settings, steps: Any, task_id: str = "submit_emr_step"):
    from airflow.providers.amazon.aws.operators.emr import EmrAddStepsOperator

    return EmrAddStepsOperator(
        task_id=task_id,
        job_flow_id=emr_cluster_id(settings),
        steps=steps,
        aws_conn_id=settings.aws_conn_id,
        wait_for_completion=False,  # the sensor below waits (and can defer)
    )


def wait_for_emr_step(settings: Settings, submit_task_id: str = "submit_emr_step",
                      task_id: str = "wait_for_emr_step"):
    from airflow.providers.amazon.aws.sensors.emr import EmrStepSensor

    return EmrStepSensor(
        task_id=task_id,
        job_flow_id=emr_cluster_id(settings),
        step_id="{{ ti.xcom_pull(task_ids='" + submit_task_id + "')[0] }}",
        aws_conn_id=settings.aws_conn_id,
        deferrable=settings.deferrable,
        poke_interval=30,
        timeout=6 * 3600,
    )


def start_emr_serverless_job(
    settings: Settings, job_driver: Any, task_id: str = "emr_serverless_job"
):
    from airflow.providers.amazon.aws.operators.emr import EmrServerlessStartJobOperator

    return EmrServerlessStartJobOperator(
        task_id=task_id,
        application_id=_require(settings.emr_serverless_app_id, "IMDB_EMR_SERVERLESS_APP_ID",
                                "the EMR Serverless application id"),
        execution_role_arn=_require(settings.emr_execution_role_arn, "IMDB_EMR_EXECUTION_ROLE_ARN",
                                    "the job's execution role ARN"),
        job_driver=job_driver,
        configuration_overrides=emr_serverless_overrides(settings),
        name="imdb_elt clean {{ run_id }}",
        aws_conn_id=settings.aws_conn_id,
        wait_for_completion=True,
        deferrable=settings.deferrable,
    )


def spark_job_tasks(settings: Settings, plan: Any) -> Any:
    """The DAG's Spark step on AWS (IMDB_SPARK_MODE emr | emr-serverless); returns its last task.

    ``plan`` is the detect task's XComArg; the step/job definition is built from it by a small
    task and handed to the operator's templated field.
    """
    from airflow.sdk import task

    if settings.spark_mode == "emr":

        @task
        def emr_step(plan: dict[str, Any]) -> list[dict]:
            check_emr_cluster_release(settings, resolved_cluster_id(settings))
            return emr_steps(settings, plan)

        submit = add_emr_step(settings, emr_step(plan))
        wait = wait_for_emr_step(settings)
        submit >> wait
        return wait
    if settings.spark_mode == "emr-serverless":

        @task
        def emr_serverless_driver(plan: dict[str, Any]) -> dict:
            check_emr_serverless_release(settings, settings.emr_serverless_app_id)
            return emr_serverless_job_driver(settings, plan)

        return start_emr_serverless_job(settings, emr_serverless_driver(plan))
    raise AwsConfigError(
        f"IMDB_SPARK_MODE={settings.spark_mode!r}: expected local, standalone, emr or emr-serverless"
    )
