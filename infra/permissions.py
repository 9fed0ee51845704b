"""Every IAM statement of the stack, one function per role, each derived from what the code does.

The roles (and who assumes them):

- **Airflow** (the MWAA execution role, or assumed through the Airflow AWS connection's
  ``role_arn``): the DAG's tasks. Acquisition writes raw files; detect, record, publish, report
  and prune keep the lake's books on S3 (``imdb_elt.storage``, ``lake``, ``locking``, ``report``);
  the Spark task checks the code bundle (``spark_bundle.verify_deployed``) and starts and watches
  the EMR Serverless job (``EmrServerlessStartJobOperator``); staging talks to the Redshift Data
  API (``RedshiftDataOperator``) and reads the Glue catalog (``spectrum.read_external_tables``);
  the report task appends run history (``run_history``: reads back reports, ``state/`` files) and
  publishes alerts to the stack's topic (``alerts``: ``state/alerts.json``, ``sns:Publish``).
- **Spark job** (EMR Serverless job runtime role): the job reads raw, writes the snapshot and its
  quarantine, reads its code and writes its logs. EMRFS makes these calls, not boto3: derived
  from AWS's documentation (EMR Serverless job runtime roles), not exercised here.
- **Redshift** (attached to the Serverless namespace): COPY and Spectrum read the processed zone;
  Spectrum keeps its external tables in the one Glue database. Made by Redshift, not boto3:
  derived from AWS's documentation (IAM policies for Redshift Spectrum), not exercised here.
- **Code deploy** (assumed by a person or CI for ``make deploy-code``): the bundle's folder.

Analysts get no IAM role: their access is SQL grants on the published marts (IMDB_ANALYST_ROLE).

The test suite evaluates these statements against the AWS calls the code makes under moto
(tests/infra/test_permissions.py): every call is allowed, and every action granted is called.
The few grants no test can provoke are listed in ``NOT_PROVOKED`` with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Aws
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3

from imdb_elt import layout

_ROOT = "s3://lake-root"


def lake_key(path_of_lake: str) -> str:
    """A lake path from imdb_elt.layout as a key prefix of the lake bucket (the lake is its root)."""
    return path_of_lake[len(_ROOT) + 1 :]


PROCESSED = lake_key(layout.processed_dir(_ROOT))  # processed/
SNAPSHOTS = lake_key(layout.snapshots_dir(_ROOT))  # processed/snapshots/
QUARANTINE = lake_key(layout.quarantine_root(_ROOT))  # quarantine/
REPORTS = lake_key(layout.reports_dir(_ROOT))  # reports/
STATE = lake_key(layout.state_dir(_ROOT))  # state/
#: IMDB_SPARK_CODE_URI is s3://<code bucket>/spark: `make deploy-code` adds <version>/.
CODE_PREFIX = "spark"
#: IMDB_EMR_LOG_URI is s3://<logs bucket>/emr-serverless.
EMR_LOG_PREFIX = "emr-serverless"

#: Granted actions that no moto test makes, per role, with the reason they are needed.
NOT_PROVOKED: dict[tuple[str, str], str] = {
    ("airflow", "s3:AbortMultipartUpload"): (
        "boto3's upload_file (acquire) sends files over 8 MB in parts and aborts the upload when a "
        "part fails: every real dump is hundreds of MB, the tests' dumps are a few KB"
    ),
}


@dataclass(frozen=True)
class Buckets:
    raw: s3.IBucket
    lake: s3.IBucket
    code: s3.IBucket
    logs: s3.IBucket


def _objects(bucket: s3.IBucket, prefix: str) -> str:
    return bucket.arn_for_objects(f"{prefix.strip('/')}/*")


def spark_job(b: Buckets) -> list[iam.PolicyStatement]:
    """The EMR Serverless job: read raw, write the snapshot and its quarantine, read code, write logs.

    The job writes only under processed/snapshots/ and quarantine/ (spark_jobs.clean_file and
    clean_imdb through imdb_elt.layout); CURRENT, the ledger and the reports are the DAG's.
    DeleteObject: Spark's overwrite mode and its committer's temporary files, and the job
    removes an old _SPARK_DONE before a re-run. AbortMultipartUpload: EMRFS uploads large
    Parquet files in parts and aborts them when a task fails.
    """
    return [
        iam.PolicyStatement(
            sid="ListRawAndLake", actions=["s3:ListBucket"], resources=[b.raw.bucket_arn, b.lake.bucket_arn]
        ),
        iam.PolicyStatement(sid="ReadRaw", actions=["s3:GetObject"], resources=[b.raw.arn_for_objects("*")]),
        iam.PolicyStatement(
            sid="WriteSnapshotAndQuarantine",
            actions=["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
            resources=[_objects(b.lake, SNAPSHOTS), _objects(b.lake, QUARANTINE)],
        ),
        iam.PolicyStatement(
            sid="ReadCode", actions=["s3:GetObject"], resources=[_objects(b.code, CODE_PREFIX)]
        ),
        # EMR Serverless writes the job's driver and executor logs to IMDB_EMR_LOG_URI as the job role.
        iam.PolicyStatement(
            sid="WriteJobLogs", actions=["s3:PutObject"], resources=[_objects(b.logs, EMR_LOG_PREFIX)]
        ),
    ]


def glue_arns(glue_database: str) -> list[str]:
    """The catalog, the one database, and its tables: Glue checks all three for table calls."""
    base = f"arn:{Aws.PARTITION}:glue:{Aws.REGION}:{Aws.ACCOUNT_ID}"
    return [f"{base}:catalog", f"{base}:database/{glue_database}", f"{base}:table/{glue_database}/*"]


def redshift(b: Buckets, glue_database: str) -> list[iam.PolicyStatement]:
    """What Redshift does with the role: COPY and Spectrum read the processed zone (only), and
    Spectrum's DDL keeps the external tables in the Glue database.

    - ``CREATE EXTERNAL SCHEMA ... CREATE EXTERNAL DATABASE IF NOT EXISTS``: GetDatabase,
      CreateDatabase (the stack created the database; the grant is on that name only);
    - ``CREATE EXTERNAL TABLE``: CreateTable; ``ALTER TABLE ... SET LOCATION``: GetTable,
      UpdateTable; reading a table: GetTable, GetTables, GetPartitions;
    - ``DROP TABLE``: DeleteTable, the documented way out of a column change
      (``spectrum.SpectrumSchemaError``).
    """
    return [
        iam.PolicyStatement(
            sid="ListProcessed",
            actions=["s3:ListBucket"],
            resources=[b.lake.bucket_arn],
            conditions={"StringLike": {"s3:prefix": [f"{PROCESSED}/*"]}},
        ),
        iam.PolicyStatement(
            sid="ReadProcessed", actions=["s3:GetObject"], resources=[_objects(b.lake, PROCESSED)]
        ),
        iam.PolicyStatement(
            sid="SpectrumCatalog",
            actions=[
                "glue:GetDatabase",
                "glue:CreateDatabase",
                "glue:GetTable",
                "glue:GetTables",
                "glue:CreateTable",
                "glue:UpdateTable",
                "glue:DeleteTable",
                "glue:GetPartitions",
            ],
            resources=glue_arns(glue_database),
        ),
    ]


def code_deploy(b: Buckets) -> list[iam.PolicyStatement]:
    """``make deploy-code`` (spark_bundle.upload): reads SHA256SUMS and the objects' checksums,
    then puts the three files. Nothing is ever deleted: old versions stay for rollback."""
    return [
        iam.PolicyStatement(
            sid="DeployBundle",
            actions=["s3:GetObject", "s3:PutObject"],
            resources=[_objects(b.code, CODE_PREFIX)],
        ),
    ]


def airflow(
    b: Buckets,
    *,
    application_arn: str,
    job_role_arn: str,
    workgroup_arn: str,
    glue_database: str,
    alert_topic_arn: str,
) -> list[iam.PolicyStatement]:
    """The DAG's tasks (see the module docstring); each statement names the code that needs it."""
    return [
        # storage.list_files (detect), acquire's HEAD of a delivered file; delete_tree and exists
        # list the lake's prefixes (prune, lease release, _SPARK_DONE).
        iam.PolicyStatement(
            sid="ListRawAndLake", actions=["s3:ListBucket"], resources=[b.raw.bucket_arn, b.lake.bucket_arn]
        ),
        # acquire: HEAD of the delivered file (validators), upload_file of a verified download.
        iam.PolicyStatement(
            sid="AcquireRaw",
            actions=["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
            resources=[b.raw.arn_for_objects("*")],
        ),
        # lake.py: CURRENT, the manifest (written by record_snapshot), the job's stats and
        # _SPARK_DONE; locking.py and lake.py: the lease, the ledger.
        iam.PolicyStatement(
            sid="LakeBooks",
            actions=["s3:GetObject", "s3:PutObject"],
            resources=[_objects(b.lake, PROCESSED), _objects(b.lake, STATE)],
        ),
        # report.py writes reports/<run_id>.json and latest.json; run_history reads a run's
        # report back when it appends runs the warehouse missed (state/ops_pending.json) and in
        # its backfill (`python -m imdb_elt history`), which lists reports/ first.
        iam.PolicyStatement(
            sid="RunReports", actions=["s3:GetObject", "s3:PutObject"], resources=[_objects(b.lake, REPORTS)]
        ),
        # lake.prune_snapshots deletes old snapshots and their quarantine (storage.delete_tree,
        # which HEADs the prefix's own key first); locking.release deletes the lease.
        iam.PolicyStatement(
            sid="LakePrune",
            actions=["s3:GetObject", "s3:DeleteObject"],
            resources=[_objects(b.lake, SNAPSHOTS), _objects(b.lake, QUARANTINE)],
        ),
        iam.PolicyStatement(
            sid="ReleaseLease", actions=["s3:DeleteObject"], resources=[_objects(b.lake, STATE)]
        ),
        # aws_spark.code_locations -> spark_bundle.verify_deployed: SHA256SUMS, the checksums, the jar.
        iam.PolicyStatement(
            sid="CheckCode", actions=["s3:GetObject"], resources=[_objects(b.code, CODE_PREFIX)]
        ),
        # EmrServerlessStartJobOperator: get_application (and start_application when stopped),
        # start_job_run; its waiter get_job_run; cancel_job_run when the task is killed.
        iam.PolicyStatement(
            sid="StartSparkJob",
            actions=[
                "emr-serverless:GetApplication",
                "emr-serverless:StartApplication",
                "emr-serverless:StartJobRun",
            ],
            resources=[application_arn],
        ),
        iam.PolicyStatement(
            sid="WatchSparkJob",
            actions=["emr-serverless:GetJobRun", "emr-serverless:CancelJobRun"],
            resources=[f"{application_arn}/jobruns/*"],
        ),
        # start_job_run passes the job role (executionRoleArn) to EMR Serverless, and only there.
        iam.PolicyStatement(
            sid="PassJobRole",
            actions=["iam:PassRole"],
            resources=[job_role_arn],
            conditions={"StringEquals": {"iam:PassedToService": "emr-serverless.amazonaws.com"}},
        ),
        # RedshiftDataOperator: batch_execute_statement (COPY, one transaction), execute_statement
        # (Spectrum's DDL, one call each); the Data API and dbt log in with the caller's identity.
        iam.PolicyStatement(
            sid="RunSqlOnWorkgroup",
            actions=[
                "redshift-data:BatchExecuteStatement",
                "redshift-data:ExecuteStatement",
                "redshift-serverless:GetCredentials",
            ],
            resources=[workgroup_arn],
        ),
        # describe_statement (the operator's wait), cancel_statement (a killed task). These
        # actions have no resource type: AWS requires "*", and the condition limits them to the
        # statements this role itself started (AWS's own Data API policies do the same).
        iam.PolicyStatement(
            sid="WatchOwnStatements",
            actions=["redshift-data:DescribeStatement", "redshift-data:CancelStatement"],
            resources=["*"],
            conditions={"StringEquals": {"redshift-data:statement-owner-iam-userid": "${aws:userid}"}},
        ),
        # redshift_stage.external_table_statements -> spectrum.read_external_tables (get_tables).
        iam.PolicyStatement(
            sid="ReadSpectrumCatalog", actions=["glue:GetTables"], resources=glue_arns(glue_database)
        ),
        # alerts.send -> the Amazon provider's SnsNotifier -> SnsHook.publish_to_target. The topic
        # uses SNS's AWS managed key, whose key policy admits the account's publishers through
        # SNS: no KMS grant here (a customer key would need kms:GenerateDataKey and kms:Decrypt).
        iam.PolicyStatement(sid="PublishAlerts", actions=["sns:Publish"], resources=[alert_topic_arn]),
    ]


def mwaa_service(environment_name: str, airflow_bucket: s3.IBucket) -> list[iam.PolicyStatement]:
    """What MWAA's own processes need from the execution role (AWS's documented MWAA execution
    role policy), with the MWAA stack only. None of it is the project's code."""
    env_arn = f"arn:{Aws.PARTITION}:airflow:{Aws.REGION}:{Aws.ACCOUNT_ID}:environment/{environment_name}"
    log_groups = (
        f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:airflow-{environment_name}-*"
    )
    return [
        iam.PolicyStatement(sid="MwaaMetrics", actions=["airflow:PublishMetrics"], resources=[env_arn]),
        iam.PolicyStatement(
            sid="MwaaReadBucket",
            actions=["s3:GetObject*", "s3:GetBucket*", "s3:List*"],
            resources=[airflow_bucket.bucket_arn, airflow_bucket.arn_for_objects("*")],
        ),
        # MWAA checks the account's public access block: the action has no resource type ("*").
        iam.PolicyStatement(
            sid="MwaaPublicAccessCheck", actions=["s3:GetAccountPublicAccessBlock"], resources=["*"]
        ),
        iam.PolicyStatement(
            sid="MwaaLogs",
            actions=[
                "logs:CreateLogStream",
                "logs:CreateLogGroup",
                "logs:PutLogEvents",
                "logs:GetLogEvents",
                "logs:GetLogRecord",
                "logs:GetLogGroupFields",
                "logs:GetQueryResults",
            ],
            resources=[log_groups],
        ),
        # DescribeLogGroups and PutMetricData have no resource type: AWS requires "*".
        iam.PolicyStatement(
            sid="MwaaLogGroupsAndMetrics",
            actions=["logs:DescribeLogGroups", "cloudwatch:PutMetricData"],
            resources=["*"],
        ),
        # The Celery queue MWAA creates for the environment, in an account of its own.
        iam.PolicyStatement(
            sid="MwaaCeleryQueue",
            actions=[
                "sqs:ChangeMessageVisibility",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "sqs:GetQueueUrl",
                "sqs:ReceiveMessage",
                "sqs:SendMessage",
            ],
            resources=[f"arn:{Aws.PARTITION}:sqs:{Aws.REGION}:*:airflow-celery-*"],
        ),
        iam.PolicyStatement(
            sid="MwaaCeleryQueueKey",
            actions=["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey*", "kms:Encrypt"],
            not_resources=[f"arn:{Aws.PARTITION}:kms:*:{Aws.ACCOUNT_ID}:key/*"],
            conditions={"StringLike": {"kms:ViaService": [f"sqs.{Aws.REGION}.amazonaws.com"]}},
        ),
    ]
