"""Stage processed Parquet on S3 into Redshift with ``COPY ... FORMAT AS PARQUET``.

Redshift pulls the files itself, authorised by an IAM role attached to the cluster: the role ARN
is the only AWS credential this module handles, and static access keys are refused outright.
Each dataset is copied into ``<dataset>__staging``, then all tables are swapped in (drop old,
rename new) in the same transaction, so readers see all previous or all new ``raw.*`` tables.

The statements run through the Redshift Data API (one ``batch_execute_statement``: one
transaction) or a DB-API connection committed once (``imdb_elt.warehouse.redshift_data``, shared
with the Spectrum path).

REDSHIFT_STAGING=spectrum copies nothing: ``imdb_elt.warehouse.spectrum`` points external tables
at the same Parquet instead (see docs/aws.md); ``stage_redshift`` runs either path.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from imdb_elt.catalog import INPUTS
from imdb_elt.warehouse.identifiers import (
    contains_access_key,
    qualified_name,
    quote_identifier,
    sql_string_literal,
    validate_iam_role_arn,
    validate_identifier,
    validate_s3_uri,
)
from imdb_elt.warehouse.redshift_data import (
    DBAPIConnection,
    data_api_client,
    execute_data_api,
    execute_dbapi,
    staged_counts,
)
from imdb_elt.warehouse.types import staged_columns, warehouse_type

log = logging.getLogger(__name__)

STAGING_SUFFIX = "__staging"
STAGING_PATHS = ("copy", "spectrum")


# --------------------------------------------------------------------------- rendering (pure)


def _prefix(uri: str) -> str:
    # COPY loads every object under the prefix: the trailing slash keeps `title_basics/` from
    # also matching a sibling such as `title_basics_old/`.
    return validate_s3_uri(uri).rstrip("/") + "/"


def _check_datasets(datasets: Mapping[str, str]) -> None:
    unknown = sorted(set(datasets) - {i.dataset for i in INPUTS})
    if unknown:
        raise ValueError(f"unknown datasets {unknown}")


def create_table_sql(schema: str, table: str, dataset: str) -> str:
    cols = ", ".join(
        f"{quote_identifier(c.name)} {warehouse_type(c.type, 'redshift')}"
        + ("" if c.nullable else " NOT NULL")
        for c in staged_columns(dataset)
    )
    return f"CREATE TABLE {qualified_name(schema, table)} ({cols})"


def render_copy_statements(
    schema: str,
    datasets: Mapping[str, str],
    iam_role_arn: str,
    table_suffix: str = STAGING_SUFFIX,
) -> list[str]:
    """One ``COPY`` per dataset in catalogue order, into ``<schema>.<dataset><table_suffix>``.

    Parquet columns map to table columns by position, which the catalogue order guarantees;
    SERIALIZETOJSON loads the Parquet lists into SUPER columns.
    """
    validate_identifier(schema)
    role = validate_iam_role_arn(iam_role_arn)
    _check_datasets(datasets)
    return [
        f"COPY {qualified_name(schema, spec.dataset + table_suffix)} "
        f"FROM {sql_string_literal(_prefix(datasets[spec.dataset]))} "
        f"IAM_ROLE {sql_string_literal(role)} FORMAT AS PARQUET SERIALIZETOJSON"
        for spec in INPUTS
        if spec.dataset in datasets
    ]


def render_stage_statements(schema: str, datasets: Mapping[str, str], iam_role_arn: str) -> list[str]:
    """Every statement of one staging run, to be executed as ONE transaction (no BEGIN/COMMIT).

    Catalogue datasets absent from ``datasets`` get an empty staging table, swapped in like the
    others, so dbt always sees all eight sources.
    """
    copies = dict(
        zip(
            [s.dataset for s in INPUTS if s.dataset in datasets],
            render_copy_statements(schema, datasets, iam_role_arn),
            strict=True,
        )
    )
    statements = [f"CREATE SCHEMA IF NOT EXISTS {quote_identifier(schema)}"]
    for spec in INPUTS:
        staging = spec.dataset + STAGING_SUFFIX
        statements.append(f"DROP TABLE IF EXISTS {qualified_name(schema, staging)}")
        statements.append(create_table_sql(schema, staging, spec.dataset))
        if spec.dataset in copies:
            statements.append(copies[spec.dataset])
    for spec in INPUTS:
        # CASCADE drops dbt's views over the old table; the dbt run after staging rebuilds them.
        statements.append(f"DROP TABLE IF EXISTS {qualified_name(schema, spec.dataset)} CASCADE")
        statements.append(
            f"ALTER TABLE {qualified_name(schema, spec.dataset + STAGING_SUFFIX)} "
            f"RENAME TO {quote_identifier(spec.dataset)}"
        )
    return statements


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class RedshiftOptions:
    """Where and how to run the staging statements. No password or key is held here."""

    iam_role_arn: str
    database: str = "dev"
    method: str = "data_api"  # "data_api" | "connector"
    cluster_identifier: str = ""  # provisioned cluster (Data API)
    workgroup_name: str = ""  # Redshift Serverless (Data API)
    db_user: str = ""  # Data API temporary credentials for this user
    secret_arn: str = ""  # or: Secrets Manager secret holding the database login
    region: str = ""
    poll_seconds: float = 2.0
    timeout_seconds: float = 3600.0
    staging: str = "copy"  # "copy" | "spectrum"
    glue_database: str = "imdb_elt_raw"  # Spectrum: the Glue database the external schema maps
    empty_prefix: str = ""  # Spectrum: where datasets the lake never received point (empty)

    def __post_init__(self) -> None:
        validate_iam_role_arn(self.iam_role_arn)
        if self.method not in ("data_api", "connector"):
            raise ValueError(f"unknown Redshift method {self.method!r}: data_api | connector")
        if self.staging not in STAGING_PATHS:
            raise ValueError(f"unknown REDSHIFT_STAGING {self.staging!r}: copy | spectrum")


def _setting(settings: object, attr: str, default: str = "") -> str:
    return str(getattr(settings, attr)).strip() or default


def redshift_options(settings: object) -> RedshiftOptions:
    """Build options from Settings / REDSHIFT_* variables; refuse configured access keys."""
    copy_credentials = _setting(settings, "redshift_copy_credentials")
    if copy_credentials or contains_access_key(
        _setting(settings, "redshift_iam_role_arn")
    ):
        raise ValueError(
            "static AWS access keys are refused for Redshift COPY (REDSHIFT_COPY_CREDENTIALS or "
            "an access key in REDSHIFT_IAM_ROLE_ARN); attach an IAM role to the cluster and set "
            "REDSHIFT_IAM_ROLE_ARN"
        )
    return RedshiftOptions(
        iam_role_arn=_setting(settings, "redshift_iam_role_arn"),
        database=_setting(settings, "redshift_database", "dev"),
        method=_setting(settings, "redshift_method", "data_api"),
        cluster_identifier=_setting(settings, "redshift_cluster_id"),
        workgroup_name=_setting(settings, "redshift_workgroup"),
        db_user=_setting(settings, "redshift_db_user"),
        secret_arn=_setting(settings, "redshift_secret_arn"),
        region=_setting(settings, "aws_region"),
        staging=_setting(settings, "redshift_staging", "copy"),
        glue_database=_setting(settings, "redshift_glue_database", "imdb_elt_raw"),
        empty_prefix=f"{_setting(settings, 'processed_dir')}/empty",
    )


# --------------------------------------------------------------------------- execution


def connect_redshift(settings: object) -> DBAPIConnection:
    """A redshift_connector connection from REDSHIFT_HOST/PORT/DATABASE/USER/PASSWORD."""
    import redshift_connector

    conn = redshift_connector.connect(
        host=_setting(settings, "redshift_host"),
        port=int(_setting(settings, "redshift_port", "5439")),
        database=_setting(settings, "redshift_database", "dev"),
        user=_setting(settings, "redshift_user"),
        password=_setting(settings, "redshift_password"),
    )
    conn.autocommit = False
    return conn


def stage_redshift(
    schema: str,
    datasets: Mapping[str, str],
    options: RedshiftOptions,
    client: Any = None,
    connection: DBAPIConnection | None = None,
    sleep: Callable[[float], None] = time.sleep,
    glue: Any = None,
) -> dict[str, int]:
    """Copy, swap and count (or, with staging "spectrum", point external tables and count);
    return rows per table. ``datasets`` values are s3:// prefixes."""
    if options.staging == "spectrum":
        from imdb_elt.warehouse.spectrum import stage_spectrum

        return stage_spectrum(schema, datasets, options, glue=glue, client=client, connection=connection,
                              sleep=sleep)
    statements = render_stage_statements(schema, datasets, options.iam_role_arn)
    started = time.perf_counter()
    if options.method == "connector":
        if connection is None:
            raise ValueError("method 'connector' needs a DB-API connection (connect_redshift)")
        execute_dbapi(connection, statements)
    else:
        client = client or data_api_client(options)
        statement_id = execute_data_api(statements, options, client, sleep)
        log.info("Redshift staging transaction %s finished", statement_id)
    counts = staged_counts(schema, options, client, connection, sleep)
    log.info(
        "staged %d Redshift tables in %s.* (%d rows) in %.2fs",
        len(counts),
        schema,
        sum(counts.values()),
        time.perf_counter() - started,
    )
    return counts
