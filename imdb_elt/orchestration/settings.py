"""Airflow-side settings: the AWS ids, pools and retry policy the DAG needs beyond imdb_elt.config.

Kept next to the DAG code and read the same way (environment variables with defaults, through
``config._env``) so that the whole configuration is in two files. No secret is read here: AWS
and Redshift credentials come from the Airflow connections ``aws_default`` (or the worker's role)
and Secrets Manager (``REDSHIFT_SECRET_ARN``); only ids and ARNs are configuration.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from imdb_elt.config import DBT_PROJECT_DIR, SAMPLE_DIR, _env, load

DEFAULT_DATASETS_URL = "https://datasets.imdbws.com"


def _flag(name: str, default: bool) -> bool:
    return _env(name, "true" if default else "false").strip().lower() in ("1", "true", "yes", "on")


def _acquire_default() -> bool:
    # On in production; off when the raw zone is the bundled sample (nothing to download into it).
    return Path(load().raw_dir) != SAMPLE_DIR.resolve()


@dataclass(frozen=True)
class OrchestrationSettings:
    acquire: bool = field(default_factory=lambda: _flag("IMDB_ACQUIRE", _acquire_default()))
    datasets_url: str = field(default_factory=lambda: _env("IMDB_DATASETS_URL", DEFAULT_DATASETS_URL))
    acquire_timeout: float = field(default_factory=lambda: float(_env("IMDB_ACQUIRE_TIMEOUT", "120")))

    # Retries with exponential backoff for every task (0 in tests).
    retries: int = field(default_factory=lambda: int(_env("IMDB_TASK_RETRIES", "2")))
    retry_delay_seconds: int = field(default_factory=lambda: int(_env("IMDB_RETRY_DELAY_SECONDS", "60")))
    max_retry_delay_seconds: int = field(
        default_factory=lambda: int(_env("IMDB_MAX_RETRY_DELAY_SECONDS", "900"))
    )
    # Everything that opens the DuckDB file runs in this pool (created with one slot).
    dbt_pool: str = field(default_factory=lambda: _env("IMDB_DBT_POOL", "imdb_elt_dbt"))
    # Where `dbt parse` writes the manifest Cosmos renders the DAG from.
    dbt_manifest_dir: str = field(
        default_factory=lambda: _env("IMDB_DBT_MANIFEST_DIR", str(DBT_PROJECT_DIR / "target" / "airflow"))
    )

    # AWS: the connection id only; its credentials live in Airflow (or the instance role).
    aws_conn_id: str = field(default_factory=lambda: _env("IMDB_AWS_CONN_ID", "aws_default"))
    deferrable: bool = field(default_factory=lambda: _flag("IMDB_DEFERRABLE", True))
    # EMR on EC2: the long-running cluster to add the step to (or Airflow Variable imdb_emr_cluster_id).
    emr_cluster_id: str = field(default_factory=lambda: _env("IMDB_EMR_CLUSTER_ID", ""))
    # EMR Serverless.
    emr_serverless_app_id: str = field(default_factory=lambda: _env("IMDB_EMR_SERVERLESS_APP_ID", ""))
    emr_execution_role_arn: str = field(default_factory=lambda: _env("IMDB_EMR_EXECUTION_ROLE_ARN", ""))
    # s3:// folder holding clean_imdb.py and spark_jobs.zip (uploaded by the deployment).
    spark_code_uri: str = field(default_factory=lambda: _env("IMDB_SPARK_CODE_URI", ""))
    emr_log_uri: str = field(default_factory=lambda: _env("IMDB_EMR_LOG_URI", ""))
