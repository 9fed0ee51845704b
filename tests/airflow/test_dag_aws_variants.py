"""The DAG's AWS variants (IMDB_SPARK_MODE=emr | emr-serverless, DBT_TARGET=redshift with
REDSHIFT_STAGING=copy | spectrum): each parses, has the tasks and dependencies it should, and its
AWS tasks run against moto in dependency order, each reading its inputs from the XComs of the
tasks before it (the EMR step id goes from submit to sensor through the template, never by hand).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID

from imdb_elt import config, spark_bundle
from imdb_elt.config import REPO_ROOT
from imdb_elt.orchestration import aws_spark
from tests.moto_redshift import patch_redshift_data

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

REGION = "eu-west-1"
ROLE = "arn:aws:iam::123456789012:role/imdb-elt-redshift"
SNAPSHOT = "20261125T070000000000Z"
MANIFEST = {
    "snapshot_id": SNAPSHOT,
    "datasets": {
        "title_ratings": {
            "path": f"s3://imdb-lake/lake/processed/snapshots/{SNAPSHOT}/title_ratings",
            "rows": 5,
            "snapshot_id": SNAPSHOT,
            "source_file": "title.ratings.tsv.gz",
        }
    },
}
#: The run's plan as detect hands it on (imdb_elt.pipeline.Plan), then after the Spark job.
PLAN = {
    "run_id": SNAPSHOT,
    "snapshot_id": SNAPSHOT,
    "status": "running",
    "deliveries": [
        {"file_name": "title.ratings.tsv.gz", "uri": "s3://imdb-raw/title.ratings.tsv.gz",
         "size": 5, "fingerprint": "abc"}
    ],
    "new_deliveries": ["title.ratings.tsv.gz"],
}
RECORDED = {**PLAN, "manifest": MANIFEST}


@pytest.fixture
def aws(mocked_aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AIRFLOW_CONN_AWS_DEFAULT": '{"conn_type": "aws"}',
        "IMDB_RAW_DIR": "s3://imdb-raw",
        "IMDB_LAKE_DIR": "s3://imdb-lake/lake",
        "IMDB_SPARK_CODE_URI": "s3://imdb-code/imdb-elt",
        "IMDB_DEFERRABLE": "false",
        "IMDB_EMR_EXECUTION_ROLE_ARN": "arn:aws:iam::123456789012:role/emr-job",
        "REDSHIFT_IAM_ROLE_ARN": ROLE,
        "REDSHIFT_CLUSTER_ID": "imdb-cluster",
        "REDSHIFT_DATABASE": "imdb",
        "REDSHIFT_DB_USER": "loader",
    }.items():
        monkeypatch.setenv(name, value)


def parse_dag(monkeypatch: pytest.MonkeyPatch, **env: str):
    """The DAG as the DAG processor builds it from the environment (one DagBag parse)."""
    from airflow.dag_processing.dagbag import DagBag

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    bag = DagBag(dag_folder=str(REPO_ROOT / "dags"))
    assert bag.import_errors == {}
    return bag.dags["imdb_elt_hourly"]


class Run:
    """Runs a DAG's tasks one by one: templates rendered, XComArgs resolved from earlier results."""

    def __init__(self, dag: Any) -> None:
        self.dag = dag
        self.results: dict[str, Any] = {"detect": PLAN, "record_snapshot": RECORDED}
        self.dag_id = dag.dag_id
        self.stats_tags: dict[str, str] = {}

    # the slice of the TaskInstance API templates and operators use
    def xcom_pull(
        self, task_ids: str | None = None, key: str = "return_value", default: Any = None, **_: Any
    ) -> Any:
        return self.results.get(task_ids, default) if key == "return_value" else default

    def xcom_push(self, key: str, value: Any, **_: Any) -> None:
        pass

    def context(self) -> dict[str, Any]:
        return {"ti": self, "task_instance": self, "run_id": "manual__test", "params": {}, "var": {}}

    def run(self, task_id: str, **expand: Any) -> Any:
        task = self.dag.get_task(task_id)
        if expand:  # one map index of a mapped task, as the scheduler would unmap it
            task = task.unmap(expand)
        context = self.context()
        task.render_template_fields(context)
        self.results[task_id] = task.execute(context)
        return self.results[task_id]


def upstream(dag: Any, task_id: str) -> set[str]:
    return set(dag.get_task(task_id).upstream_task_ids)


def test_emr_and_redshift_copy(aws, monkeypatch, dbt_manifest: Path) -> None:
    emr = boto3.client("emr", region_name=REGION)
    cluster_id = emr.run_job_flow(
        Name="imdb-elt",
        ReleaseLabel=config.load().emr_release_label,
        JobFlowRole="EMR_EC2_DefaultRole",
        ServiceRole="EMR_DefaultRole",
        Instances={
            "MasterInstanceType": "m5.xlarge",
            "InstanceCount": 1,
            "KeepJobFlowAliveWhenNoSteps": True,
        },
    )["JobFlowId"]
    dag = parse_dag(
        monkeypatch,
        IMDB_SPARK_MODE="emr",
        DBT_TARGET="redshift",
        REDSHIFT_STAGING="copy",
        IMDB_EMR_CLUSTER_ID=cluster_id,
    )
    ids = {t.task_id for t in dag.tasks if not t.task_id.startswith("dbt.")}
    assert ids == {
        "acquire",
        "detect",
        "emr_step",
        "submit_emr_step",
        "wait_for_emr_step",
        "record_snapshot",
        "copy_statements",
        "copy_into_redshift",
        "stage",
        "publish",
        "report",
    }
    assert upstream(dag, "emr_step") == {"detect"}
    assert upstream(dag, "submit_emr_step") == {"emr_step"}
    assert upstream(dag, "wait_for_emr_step") == {"submit_emr_step"}
    assert upstream(dag, "record_snapshot") == {"detect", "wait_for_emr_step"}
    assert upstream(dag, "copy_statements") == {"record_snapshot"}
    assert upstream(dag, "copy_into_redshift") == {"copy_statements"}
    assert upstream(dag, "stage") == {"record_snapshot", "copy_into_redshift"}
    dbt_roots = [
        t
        for t in dag.tasks
        if t.task_id.startswith("dbt.") and not any(u.startswith("dbt.") for u in t.upstream_task_ids)
    ]
    assert dbt_roots and all(t.upstream_task_ids == {"stage"} for t in dbt_roots)
    assert dbt_roots[0].env["REDSHIFT_STAGING"] == "copy"

    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="imdb-code", CreateBucketConfiguration={"LocationConstraint": REGION})
    run = Run(dag)
    with pytest.raises(spark_bundle.BundleError, match="make package deploy-code"):
        run.run("emr_step")  # nothing deployed: fails before anything is submitted
    assert emr.list_steps(ClusterId=cluster_id)["Steps"] == []
    folder, _ = spark_bundle.upload(spark_bundle.build_bundle(with_jar=True), "s3://imdb-code/imdb-elt", s3)

    # A cluster of another EMR release is refused before anything is submitted.
    from moto.emr.models import emr_backends

    cluster = emr_backends[DEFAULT_ACCOUNT_ID][REGION].clusters[cluster_id]
    cluster.release_label = "emr-7.5.0"
    with pytest.raises(aws_spark.AwsConfigError, match=r"runs EMR release 'emr-7\.5\.0'"):
        run.run("emr_step")
    cluster.release_label = config.load().emr_release_label

    run.run("emr_step")
    step_ids = run.run("submit_emr_step")
    step = emr.describe_step(ClusterId=cluster_id, StepId=step_ids[0])["Step"]
    assert f"{folder}/clean_imdb.py" in step["Config"]["Args"]
    sensor_task = dag.get_task("wait_for_emr_step")
    sensor_task.render_template_fields(run.context())
    assert sensor_task.step_id == step_ids[0]  # rendered from submit's XCom
    assert sensor_task.poke(run.context()) is False  # moto keeps the step RUNNING
    next(s for s in cluster.steps if s.id == step_ids[0]).state = "COMPLETED"
    assert sensor_task.poke(run.context()) is True

    api = patch_redshift_data(monkeypatch, REGION)
    statements = run.run("copy_statements")
    run.run("copy_into_redshift")
    [(kind, sqls, target)] = api["calls"]
    assert (kind, sqls, target["cluster"]) == ("batch", statements, "imdb-cluster")
    assert sum(s.startswith('COPY "raw"."title_ratings__staging"') for s in sqls) == 1


def test_emr_serverless_and_redshift_spectrum(aws, monkeypatch, dbt_manifest: Path) -> None:
    app_id = boto3.client("emr-serverless", region_name=REGION).create_application(
        name="imdb-elt", releaseLabel=config.load().emr_release_label, type="SPARK"
    )["applicationId"]
    dag = parse_dag(
        monkeypatch,
        IMDB_SPARK_MODE="emr-serverless",
        DBT_TARGET="redshift",
        REDSHIFT_STAGING="spectrum",
        IMDB_RAW_SCHEMA="raw_ext",
        IMDB_EMR_SERVERLESS_APP_ID=app_id,
    )
    ids = {t.task_id for t in dag.tasks if not t.task_id.startswith("dbt.")}
    assert ids == {
        "acquire",
        "detect",
        "emr_serverless_driver",
        "emr_serverless_job",
        "record_snapshot",
        "external_schema_sql",
        "create_external_schema",
        "external_table_sql",
        "point_external_tables",
        "stage",
        "publish",
        "report",
    }
    assert upstream(dag, "emr_serverless_driver") == {"detect"}
    assert upstream(dag, "emr_serverless_job") == {"emr_serverless_driver"}
    assert upstream(dag, "record_snapshot") == {"detect", "emr_serverless_job"}
    assert upstream(dag, "create_external_schema") == {"external_schema_sql"}
    assert upstream(dag, "external_table_sql") == {"record_snapshot", "create_external_schema"}
    assert upstream(dag, "point_external_tables") == {"external_table_sql"}
    assert upstream(dag, "stage") == {"record_snapshot", "point_external_tables"}
    mapped = dag.get_task("point_external_tables")
    assert mapped.is_mapped and mapped.operator_class.__name__ == "RedshiftDataOperator"
    dbt_tasks = [t for t in dag.tasks if t.task_id.startswith("dbt.")]
    dbt_roots = [t for t in dbt_tasks if not any(u.startswith("dbt.") for u in t.upstream_task_ids)]
    assert dbt_roots and all(t.upstream_task_ids == {"stage"} for t in dbt_roots)
    assert (
        dbt_roots[0].env["REDSHIFT_STAGING"] == "spectrum"
        and dbt_roots[0].env["IMDB_RAW_SCHEMA"] == "raw_ext"
    )

    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="imdb-code", CreateBucketConfiguration={"LocationConstraint": REGION})
    folder, _ = spark_bundle.upload(spark_bundle.build_bundle(with_jar=True), "s3://imdb-code/imdb-elt", s3)
    run = Run(dag)
    run.run("emr_serverless_driver")
    job_run_id = run.run("emr_serverless_job")
    job = boto3.client("emr-serverless", region_name=REGION).get_job_run(
        applicationId=app_id, jobRunId=job_run_id
    )
    assert job["jobRun"]["jobDriver"]["sparkSubmit"]["entryPoint"] == f"{folder}/clean_imdb.py"

    # Staging by Spectrum: every statement is its own Data API call (no batch, no transaction).
    api = patch_redshift_data(monkeypatch, REGION)
    schema_sql = run.run("external_schema_sql")
    run.run("create_external_schema")
    table_sql = run.run("external_table_sql")  # Glue (moto) holds no table yet: CREATE each
    for sql in table_sql:
        run.run("point_external_tables", sql=sql)
    assert [kind for kind, _, _ in api["calls"]] == ["execute"] * 9
    assert [sql for _, sql, _ in api["calls"]] == [schema_sql, *table_sql]
    assert schema_sql == (
        'CREATE EXTERNAL SCHEMA IF NOT EXISTS "raw_ext" FROM DATA CATALOG DATABASE '
        f"'imdb_elt_raw' IAM_ROLE '{ROLE}' CREATE EXTERNAL DATABASE IF NOT EXISTS"
    )
    assert table_sql[1] == (
        'CREATE EXTERNAL TABLE "raw_ext"."title_ratings" ("tconst" VARCHAR(65535), '
        '"averageRating" DECIMAL(3,1), "numVotes" BIGINT, "_snapshot_id" VARCHAR(65535), '
        '"_loaded_at" TIMESTAMP) STORED AS PARQUET '
        f"LOCATION '{MANIFEST['datasets']['title_ratings']['path']}/'"
    )
    assert {target["cluster"] for _, _, target in api["calls"]} == {"imdb-cluster"}

    # Once Redshift has registered the tables in Glue, the next run moves them in place.
    glue = boto3.client("glue", region_name=REGION)
    glue.create_database(DatabaseInput={"Name": "imdb_elt_raw"})
    for sql in table_sql:
        name = sql.split('"')[3]
        glue.create_table(
            DatabaseName="imdb_elt_raw",
            TableInput={
                "Name": name,
                "StorageDescriptor": {
                    "Location": sql.rsplit("LOCATION ", 1)[1].strip("'"),
                    "Columns": [
                        {"Name": c.split('"')[1].lower(), "Type": "x"}
                        for c in sql.split("(", 1)[1].split(", ")
                    ],
                },
            },
        )
    assert all(s.startswith("ALTER TABLE") for s in run.run("external_table_sql"))
