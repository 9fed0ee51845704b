"""Configuration: one home, environment variables with defaults.

Every setting the project reads is declared here and documented in the README's configuration
table. Nothing else reads ``os.environ`` for project settings.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
PROFILES_DIR = REPO_ROOT
SAMPLE_DIR = REPO_ROOT / "data" / "sample"
DEFAULT_DATASETS_URL = "https://datasets.imdbws.com"


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


def _raw_dir() -> str:
    return _resolve(_env("IMDB_RAW_DIR", str(SAMPLE_DIR)))


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
    dbt_target: str = field(default_factory=lambda: _env("DBT_TARGET", "duckdb"))
    spark_mode: str = field(default_factory=lambda: _env("IMDB_SPARK_MODE", "local"))
    spark_master: str = field(default_factory=lambda: _env("SPARK_MASTER", "local[2]"))
    spark_driver_memory: str = field(default_factory=lambda: _env("SPARK_DRIVER_MEMORY", "2g"))
    quarantine_threshold: float = field(
        default_factory=lambda: float(_env("IMDB_QUARANTINE_THRESHOLD", "0.01"))
    )
    # Redshift slices the processed Parquet files are sized for (a multiple of it, 64-256 MB each).
    redshift_slices: int = field(default_factory=lambda: int(_env("IMDB_REDSHIFT_SLICES", "4")))
    snapshot_retention: int = field(
        default_factory=lambda: int(_env("IMDB_SNAPSHOT_RETENTION", "5"))
    )
    # dbt's own variable: where run_results.json and the manifest go (one per concurrent run).
    dbt_target_path: str = field(
        default_factory=lambda: _resolve(_env("DBT_TARGET_PATH", str(DBT_PROJECT_DIR / "target")))
    )
    raw_schema: str = field(default_factory=lambda: _env("IMDB_RAW_SCHEMA", "raw"))
    schedule: str = field(default_factory=lambda: _env("IMDB_SCHEDULE", "@hourly"))
    # Redshift (target "redshift"): COPY authenticates with the IAM role only.
    redshift_iam_role_arn: str = field(default_factory=lambda: _env("REDSHIFT_IAM_ROLE_ARN", ""))
    redshift_method: str = field(default_factory=lambda: _env("REDSHIFT_METHOD", "data_api"))
    # Only read so that a configured access key can be refused loudly.
    redshift_copy_credentials: str = field(
        default_factory=lambda: _env("REDSHIFT_COPY_CREDENTIALS", "")
    )
    redshift_cluster_id: str = field(default_factory=lambda: _env("REDSHIFT_CLUSTER_ID", ""))
    redshift_workgroup: str = field(default_factory=lambda: _env("REDSHIFT_WORKGROUP", ""))
    redshift_db_user: str = field(default_factory=lambda: _env("REDSHIFT_DB_USER", ""))
    redshift_secret_arn: str = field(default_factory=lambda: _env("REDSHIFT_SECRET_ARN", ""))
    redshift_database: str = field(default_factory=lambda: _env("REDSHIFT_DATABASE", "dev"))
    redshift_host: str = field(default_factory=lambda: _env("REDSHIFT_HOST", ""))
    redshift_port: str = field(default_factory=lambda: _env("REDSHIFT_PORT", "5439"))
    redshift_user: str = field(default_factory=lambda: _env("REDSHIFT_USER", ""))
    redshift_password: str = field(default_factory=lambda: _env("REDSHIFT_PASSWORD", ""), repr=False)
    aws_region: str = field(default_factory=lambda: _env("AWS_DEFAULT_REGION", "us-east-1"))
    lock_wait_seconds: float = field(
        default_factory=lambda: float(_env("IMDB_LOCK_WAIT_SECONDS", "0"))
    )

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
    # s3:// folder holding clean_imdb.py and spark_jobs.zip (uploaded by the deployment).
    spark_code_uri: str = field(default_factory=lambda: _env("IMDB_SPARK_CODE_URI", ""))
    emr_log_uri: str = field(default_factory=lambda: _env("IMDB_EMR_LOG_URI", ""))

    # Layout of the lake. Everything below is derived, not configured.
    @property
    def processed_dir(self) -> str:
        return f"{self.lake_dir}/processed"

    @property
    def snapshots_dir(self) -> str:
        return f"{self.processed_dir}/snapshots"

    @property
    def current_pointer(self) -> str:
        return f"{self.processed_dir}/CURRENT"

    @property
    def quarantine_dir(self) -> str:
        return f"{self.lake_dir}/quarantine"

    @property
    def reports_dir(self) -> str:
        return f"{self.lake_dir}/reports"

    @property
    def state_dir(self) -> str:
        return f"{self.lake_dir}/state"

    def snapshot_dir(self, snapshot_id: str) -> str:
        return f"{self.snapshots_dir}/{snapshot_id}"


def load() -> Settings:
    """Read the environment now (tests change it between calls)."""
    return Settings()
