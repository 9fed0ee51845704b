"""Configuration: one home, environment variables with defaults.

Every setting the project reads is declared here and documented in the README's configuration
table. Nothing else reads ``os.environ`` for project settings.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from imdb_elt import layout

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
PROFILES_DIR = REPO_ROOT
#: The profile in profiles.yml (dbt_project.yml names it too). Every dbt invocation names it:
#: dbt re-parses the whole project when the --profile/--target flags differ from the last parse.
DBT_PROFILE = "imdb_elt"
SAMPLE_DIR = REPO_ROOT / "data" / "sample"
DEFAULT_DATASETS_URL = "https://datasets.imdbws.com"


@dataclass(frozen=True)
class EmrRelease:
    """What an AWS EMR release runs the job on (AWS's release notes)."""

    spark: str  # the Apache Spark version the release ships (AWS builds it as <version>-amzn)
    pythons: tuple[str, ...]  # the Python versions its images offer

    @property
    def spark_line(self) -> str:
        """``4.0``: the feature line; the job may use nothing newer."""
        return ".".join(self.spark.split(".")[:2])


#: The EMR releases the job can run on. ``emr-spark-8.0.0`` is AWS's Spark 4 runtime for EMR,
#: EMR Serverless and EMR on EKS (May 2026); EMR 7.x ships Spark 3.5, which cannot run the job
#: (``is_valid_utf8``, ``try_cast``). The project pins pyspark to the same version, so every
#: test here runs the Spark that production runs (tests/test_config.py checks the pin).
EMR_RELEASES: dict[str, EmrRelease] = {
    "emr-spark-8.0.0": EmrRelease(spark="4.0.2", pythons=("3.11", "3.12", "3.13")),
}
DEFAULT_EMR_RELEASE_LABEL = "emr-spark-8.0.0"


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "")
    return value if value.strip() else default


def _is_uri(value: str) -> bool:
    return "://" in value


def _resolve(value: str) -> str:
    """Local paths become absolute (relative to the repository root); URIs stay as given."""
    if _is_uri(value):
        return value.rstrip("/")
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else (REPO_ROOT / path).resolve())


def _flag(name: str, default: bool) -> bool:
    return _env(name, "true" if default else "false").strip().lower() in ("1", "true", "yes", "on")


def _schedule(value: str) -> str | None:
    return None if value.strip().lower() == "none" else value


def _system_scratch() -> str:
    return str(Path(tempfile.gettempdir()) / "imdb-elt-spark")


def _raw_dir() -> str:
    return _resolve(_env("IMDB_RAW_DIR", str(SAMPLE_DIR)))


def dev_schema_name() -> str:
    """The personal name of a development build's schemas (profiles.yml renders the same):
    IMDB_DEV_SCHEMA, else dbt_<user name>, folded to a plain lower-case identifier."""
    name = os.environ.get("IMDB_DEV_SCHEMA", "dbt_" + os.environ.get("USER", "analyst"))
    return re.sub("[^a-z0-9_]", "_", name.lower())


def _dev_duckdb_path() -> str:
    # As profiles.yml: a file of the person's own, under their home (the same file whichever
    # folder dbt runs from).
    default = os.path.join(os.environ.get("HOME", "."), ".imdb_elt", "imdb_dev.duckdb")
    return os.environ.get("IMDB_DEV_DUCKDB_PATH", default)


def _acquire_default() -> bool:
    # On in production; off when the raw zone is the bundled sample (nothing to download into it).
    return _raw_dir() != str(SAMPLE_DIR.resolve())


@dataclass(frozen=True)
class Settings:
    raw_dir: str = field(default_factory=_raw_dir)
    lake_dir: str = field(default_factory=lambda: _resolve(_env("IMDB_LAKE_DIR", "lake")))
    duckdb_path: str = field(
        default_factory=lambda: _resolve(_env("DUCKDB_PATH", "warehouse/imdb.duckdb"))
    )
    # DuckDB's memory cap for dbt; past it DuckDB spills to the temp directory (SF=1 on 2 cores).
    duckdb_memory_limit: str = field(default_factory=lambda: _env("DUCKDB_MEMORY_LIMIT", "2GB"))
    duckdb_temp_directory: str = field(default_factory=lambda: _env("DUCKDB_TEMP_DIRECTORY", ""))
    dbt_target: str = field(default_factory=lambda: _env("DBT_TARGET", "duckdb"))
    # local | standalone (a Spark cluster: started here, or SPARK_MASTER=spark://...) | emr | emr-serverless
    spark_mode: str = field(default_factory=lambda: _env("IMDB_SPARK_MODE", "local"))
    spark_master: str = field(default_factory=lambda: _env("SPARK_MASTER", "local[2]"))
    spark_driver_memory: str = field(default_factory=lambda: _env("SPARK_DRIVER_MEMORY", "2g"))
    # Local mode: a folder per run for Spark's shuffle, spill and temporary files (spark_scratch.py).
    spark_scratch_dir: str = field(
        default_factory=lambda: _resolve(_env("IMDB_SPARK_SCRATCH_DIR", _system_scratch()))
    )
    # Standalone mode: the cluster started on this machine (imdb_elt/spark_cluster.py). Each
    # worker runs one executor with all of the worker's cores and SPARK_EXECUTOR_MEMORY.
    spark_workers: int = field(default_factory=lambda: int(_env("IMDB_SPARK_WORKERS", "2")))
    spark_worker_cores: int = field(default_factory=lambda: int(_env("IMDB_SPARK_WORKER_CORES", "1")))
    spark_executor_memory: str = field(default_factory=lambda: _env("SPARK_EXECUTOR_MEMORY", "2g"))
    quarantine_threshold: float = field(
        default_factory=lambda: float(_env("IMDB_QUARANTINE_THRESHOLD", "0.01"))
    )
    # Redshift slices the processed Parquet files are sized for (a multiple of it, 64-256 MB each).
    redshift_slices: int = field(default_factory=lambda: int(_env("IMDB_REDSHIFT_SLICES", "4")))
    snapshot_retention: int = field(
        default_factory=lambda: int(_env("IMDB_SNAPSHOT_RETENTION", "5"))
    )
    # dbt's own variable: where run_results.json and the manifest go (one per concurrent run).
    # Not dbt_project/target itself: that is where a person's own `dbt build` writes, and publish
    # saves the manifest it finds here as the published build's.
    dbt_target_path: str = field(
        default_factory=lambda: _resolve(_env("DBT_TARGET_PATH", str(DBT_PROJECT_DIR / "target/pipeline")))
    )
    raw_schema: str = field(default_factory=lambda: _env("IMDB_RAW_SCHEMA", "raw"))
    # Write-audit-publish: dbt builds and tests the marts in the audit schema, publish copies them.
    audit_schema: str = field(default_factory=lambda: _env("IMDB_AUDIT_SCHEMA", "marts_audit"))
    marts_schema: str = field(default_factory=lambda: _env("IMDB_MARTS_SCHEMA", "marts"))
    analyst_role: str = field(default_factory=lambda: _env("IMDB_ANALYST_ROLE", ""))
    # Development builds (every dbt invocation without IMDB_ENV=prod) write <dev_schema>_staging,
    # <dev_schema>_intermediate, <dev_schema>_marts and, on DuckDB, their own file. Read by
    # profiles.yml; the pipeline never builds in development.
    dev_schema: str = field(default_factory=dev_schema_name)
    dev_duckdb_path: str = field(default_factory=_dev_duckdb_path)
    # `make docs`: where the docs site for the published marts is generated, and its port.
    docs_target_path: str = field(
        default_factory=lambda: _resolve(_env("IMDB_DOCS_TARGET_PATH", str(DBT_PROJECT_DIR / "target/docs")))
    )
    docs_port: int = field(default_factory=lambda: int(_env("IMDB_DOCS_PORT", "8081")))
    # Where a run's full Spark and dbt logs go (local folder; the summary names the files).
    log_dir: str = field(default_factory=lambda: _resolve(_env("IMDB_LOG_DIR", "logs")))
    # A cron expression or preset; "none" = triggered runs only (no schedule).
    schedule: str | None = field(default_factory=lambda: _schedule(_env("IMDB_SCHEDULE", "@hourly")))
    # Redshift (target "redshift"): COPY authenticates with the IAM role only.
    redshift_iam_role_arn: str = field(default_factory=lambda: _env("REDSHIFT_IAM_ROLE_ARN", ""))
    redshift_method: str = field(default_factory=lambda: _env("REDSHIFT_METHOD", "data_api"))
    # How raw.* reaches Redshift: "copy" (COPY into local tables) or "spectrum" (external tables
    # over the lake's Parquet, in the external schema IMDB_RAW_SCHEMA mapped to this Glue database).
    redshift_staging: str = field(default_factory=lambda: _env("REDSHIFT_STAGING", "copy"))
    redshift_glue_database: str = field(
        default_factory=lambda: _env("REDSHIFT_GLUE_DATABASE", "imdb_elt_raw")
    )
    # Only read so that a configured access key can be refused loudly.
    redshift_copy_credentials: str = field(
        default_factory=lambda: _env("REDSHIFT_COPY_CREDENTIALS", "")
    )
    redshift_cluster_id: str = field(default_factory=lambda: _env("REDSHIFT_CLUSTER_ID", ""))
    redshift_workgroup: str = field(default_factory=lambda: _env("REDSHIFT_WORKGROUP", ""))
    redshift_db_user: str = field(default_factory=lambda: _env("REDSHIFT_DB_USER", ""))
    redshift_secret_arn: str = field(default_factory=lambda: _env("REDSHIFT_SECRET_ARN", ""))
    redshift_database: str = field(default_factory=lambda: _env("REDSHIFT_DATABASE", "dev"))
    redshift_auth_method: str = field(default_factory=lambda: _env("REDSHIFT_AUTH_METHOD", "iam"))
    redshift_host: str = field(default_factory=lambda: _env("REDSHIFT_HOST", ""))
    redshift_port: str = field(default_factory=lambda: _env("REDSHIFT_PORT", "5439"))
    redshift_user: str = field(default_factory=lambda: _env("REDSHIFT_USER", ""))
    redshift_password: str = field(default_factory=lambda: _env("REDSHIFT_PASSWORD", ""), repr=False)
    aws_region: str = field(default_factory=lambda: _env("AWS_DEFAULT_REGION", "us-east-1"))
    lock_wait_seconds: float = field(
        default_factory=lambda: float(_env("IMDB_LOCK_WAIT_SECONDS", "0"))
    )
    # A run that has not renewed its lease for this long is considered crashed (imdb_elt/locking.py).
    lock_stale_seconds: float = field(
        default_factory=lambda: float(_env("IMDB_LOCK_STALE_SECONDS", "600"))
    )
    # OpenLineage: the job namespace of the runs' jobs (the standard variable, which Airflow's
    # provider and Cosmos read too). The transport is the client's own configuration
    # (OPENLINEAGE__TRANSPORT__*, openlineage.yml): events are off without one (imdb_elt/lineage.py).
    lineage_namespace: str = field(default_factory=lambda: _env("OPENLINEAGE_NAMESPACE", "imdb_elt"))

    # ---- run history and alerts (imdb_elt/run_history.py, imdb_elt/alerts.py) ----
    # Every run's report is appended to tables in this schema; dbt's ops models are views over them.
    ops_schema: str = field(default_factory=lambda: _env("IMDB_OPS_SCHEMA", "ops"))
    # Alert channels, each off when unset. Secrets live in the Airflow connections (or the
    # AWS credential chain), never here: only topic ARNs, addresses and connection ids.
    alert_sns_topic_arn: str = field(default_factory=lambda: _env("IMDB_ALERT_SNS_TOPIC_ARN", ""))
    alert_email_to: str = field(default_factory=lambda: _env("IMDB_ALERT_EMAIL_TO", ""))
    alert_email_from: str = field(default_factory=lambda: _env("IMDB_ALERT_EMAIL_FROM", ""))
    alert_smtp_conn_id: str = field(default_factory=lambda: _env("IMDB_ALERT_SMTP_CONN_ID", "smtp_default"))
    alert_slack_conn_id: str = field(default_factory=lambda: _env("IMDB_ALERT_SLACK_CONN_ID", ""))
    # A run still unfinished this long after it was queued (DAG) or started (command line) is late.
    alert_late_minutes: float = field(default_factory=lambda: float(_env("IMDB_ALERT_LATE_MINUTES", "60")))
    # The same failure (or stale source) is told again only after this long.
    alert_repeat_hours: float = field(default_factory=lambda: float(_env("IMDB_ALERT_REPEAT_HOURS", "24")))

    # ---- Airflow DAG (dags/imdb_elt_dag.py, imdb_elt.orchestration) ----
    # No secret here: AWS credentials come from the Airflow connection (or the worker's role),
    # Redshift logins from temporary credentials or Secrets Manager; only ids and ARNs are settings.
    acquire: bool = field(default_factory=lambda: _flag("IMDB_ACQUIRE", _acquire_default()))
    datasets_url: str = field(default_factory=lambda: _env("IMDB_DATASETS_URL", DEFAULT_DATASETS_URL))
    acquire_timeout: float = field(default_factory=lambda: float(_env("IMDB_ACQUIRE_TIMEOUT", "120")))
    # Retries with exponential backoff for every task (0 in tests).
    task_retries: int = field(default_factory=lambda: int(_env("IMDB_TASK_RETRIES", "2")))
    retry_delay_seconds: int = field(default_factory=lambda: int(_env("IMDB_RETRY_DELAY_SECONDS", "60")))
    max_retry_delay_seconds: int = field(
        default_factory=lambda: int(_env("IMDB_MAX_RETRY_DELAY_SECONDS", "900"))
    )
    # How Cosmos runs dbt: "watcher" (one dbt build, a light task per model) or "local".
    dbt_execution_mode: str = field(default_factory=lambda: _env("IMDB_DBT_EXECUTION_MODE", "watcher"))
    # Everything that opens the DuckDB file runs in this pool (created with one slot).
    dbt_pool: str = field(default_factory=lambda: _env("IMDB_DBT_POOL", "imdb_elt_dbt"))
    # Where `dbt parse` writes the manifest Cosmos renders the DAG from.
    dbt_manifest_dir: str = field(
        default_factory=lambda: _resolve(
            _env("IMDB_DBT_MANIFEST_DIR", str(DBT_PROJECT_DIR / "target" / "airflow"))
        )
    )
    # AWS: the connection id only; its credentials live in Airflow (or the instance role).
    aws_conn_id: str = field(default_factory=lambda: _env("IMDB_AWS_CONN_ID", "aws_default"))
    deferrable: bool = field(default_factory=lambda: _flag("IMDB_DEFERRABLE", True))
    # EMR on EC2: the running cluster to add the step to (else Airflow Variable imdb_emr_cluster_id).
    emr_cluster_id: str = field(default_factory=lambda: _env("IMDB_EMR_CLUSTER_ID", ""))
    emr_serverless_app_id: str = field(default_factory=lambda: _env("IMDB_EMR_SERVERLESS_APP_ID", ""))
    emr_execution_role_arn: str = field(default_factory=lambda: _env("IMDB_EMR_EXECUTION_ROLE_ARN", ""))
    # s3:// folder of the Spark code: `make deploy-code` uploads each bundle to <uri>/<version>/.
    spark_code_uri: str = field(default_factory=lambda: _env("IMDB_SPARK_CODE_URI", ""))
    emr_log_uri: str = field(default_factory=lambda: _env("IMDB_EMR_LOG_URI", ""))
    # The EMR release the job runs on (EMR Serverless application, EMR cluster): one of EMR_RELEASES.
    emr_release_label: str = field(
        default_factory=lambda: _env("IMDB_EMR_RELEASE_LABEL", DEFAULT_EMR_RELEASE_LABEL)
    )

    @property
    def emr_release(self) -> EmrRelease:
        """The release ``emr_release_label`` names; a label the job cannot run on is refused."""
        try:
            return EMR_RELEASES[self.emr_release_label]
        except KeyError:
            raise ValueError(
                f"IMDB_EMR_RELEASE_LABEL={self.emr_release_label!r}: the job needs Spark 4; "
                f"known releases: {', '.join(sorted(EMR_RELEASES))}"
            ) from None

    @property
    def spark_cluster_dir(self) -> str:
        """The local standalone cluster's pid file, daemon logs and work folders."""
        return str(Path(self.log_dir) / "spark-cluster")

    # Layout of the lake: derived (imdb_elt/layout.py), not configured.
    @property
    def processed_dir(self) -> str:
        return layout.processed_dir(self.lake_dir)

    @property
    def snapshots_dir(self) -> str:
        return layout.snapshots_dir(self.lake_dir)

    @property
    def current_pointer(self) -> str:
        return layout.current_pointer(self.lake_dir)

    @property
    def quarantine_dir(self) -> str:
        return layout.quarantine_root(self.lake_dir)

    @property
    def reports_dir(self) -> str:
        return layout.reports_dir(self.lake_dir)

    @property
    def state_dir(self) -> str:
        return layout.state_dir(self.lake_dir)

    def snapshot_dir(self, snapshot_id: str) -> str:
        return layout.snapshot_dir(self.lake_dir, snapshot_id)


def load() -> Settings:
    """Read the environment now (tests change it between calls)."""
    return Settings()


#: Environment variables dbt reads (profiles.yml, dbt_project.yml, macros) and the setting behind
#: each. Secrets (PGPASSWORD, REDSHIFT_PASSWORD) are not settings: dbt reads them from the process
#: environment, and they never go into an Airflow-serialised operator.
DBT_VARIABLES: dict[str, str] = {
    "DBT_TARGET": "dbt_target",
    "DUCKDB_PATH": "duckdb_path",
    "DUCKDB_MEMORY_LIMIT": "duckdb_memory_limit",
    "DUCKDB_TEMP_DIRECTORY": "duckdb_temp_directory",  # empty: next to the DuckDB file
    "IMDB_RAW_SCHEMA": "raw_schema",
    "IMDB_AUDIT_SCHEMA": "audit_schema",
    "IMDB_MARTS_SCHEMA": "marts_schema",
    "IMDB_OPS_SCHEMA": "ops_schema",
    "IMDB_ANALYST_ROLE": "analyst_role",
    "REDSHIFT_HOST": "redshift_host",
    "REDSHIFT_PORT": "redshift_port",
    "REDSHIFT_DATABASE": "redshift_database",
    "REDSHIFT_USER": "redshift_user",
    "REDSHIFT_AUTH_METHOD": "redshift_auth_method",
    "REDSHIFT_CLUSTER_ID": "redshift_cluster_id",
    "AWS_DEFAULT_REGION": "aws_region",
    # dbt_project.yml materialises staging as tables when Redshift reads the raw zone by Spectrum.
    "REDSHIFT_STAGING": "redshift_staging",
}


def production_build() -> bool:
    """Whether this process runs dbt for production: IMDB_ENV=prod, the hand-over that
    :func:`dbt_environment` makes (dbt's macros and profiles.yml test the same)."""
    return os.environ.get("IMDB_ENV", "").strip().lower() == "prod"


#: Development settings: profiles.yml reads them for a development build (IMDB_ENV unset), which
#: does not go through this module, so profiles.yml computes the same defaults
#: (tests/test_config.py renders the profile to check).
DEV_VARIABLES: dict[str, str] = {
    "IMDB_DEV_SCHEMA": "dev_schema",
    "IMDB_DEV_DUCKDB_PATH": "dev_duckdb_path",
}


def dbt_environment(settings: Settings) -> dict[str, str]:
    """The variables dbt sees, resolved from the settings: the one place the runner, Cosmos and
    the scripts take them from, so the defaults of profiles.yml never decide a production run.

    ``IMDB_ENV=prod`` marks a production build: the warehouse's own schemas and DuckDB file
    (every other dbt invocation builds in the person's own, see profiles.yml), publish allowed,
    the reconciliation figures mandatory.

    A production build runs no unit tests on DuckDB and PostgreSQL, as dbt Labs advises: they
    check the code on fixed inputs, so they belong to development and CI, and `make test` runs
    every one on both. Redshift, which CI cannot reach, keeps them in its production builds.
    """
    env = {name: str(getattr(settings, attr)) for name, attr in DBT_VARIABLES.items()}
    env = {name: value for name, value in env.items() if value != ""}
    env["IMDB_ENV"] = "prod"
    env["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "False"
    if settings.dbt_target != "redshift":
        env["DBT_EXCLUDE_RESOURCE_TYPES"] = "unit_test"
    return env
