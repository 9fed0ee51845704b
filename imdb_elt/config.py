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


@dataclass(frozen=True)
class Settings:
    raw_dir: str = field(default_factory=lambda: _resolve(_env("IMDB_RAW_DIR", str(SAMPLE_DIR))))
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
    snapshot_retention: int = field(
        default_factory=lambda: int(_env("IMDB_SNAPSHOT_RETENTION", "5"))
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
