"""Stage by reference: Redshift Spectrum external tables over the lake's Parquet (REDSHIFT_STAGING=spectrum).

Nothing is copied. ``IMDB_RAW_SCHEMA`` names an external schema mapped to a database of the AWS
Glue Data Catalog (REDSHIFT_GLUE_DATABASE), created once with the IAM role (never keys):

    CREATE EXTERNAL SCHEMA IF NOT EXISTS "raw" FROM DATA CATALOG DATABASE 'imdb_elt_raw'
      IAM_ROLE 'arn:aws:iam::<account>:role/<role>' CREATE EXTERNAL DATABASE IF NOT EXISTS

Each catalogue dataset is one external table, moved to a new snapshot by exactly one statement:

- ``CREATE EXTERNAL TABLE ... LOCATION '<snapshot>/<dataset>/'`` when the Glue catalog does not
  hold the table yet (the first run);
- ``ALTER TABLE ... SET LOCATION '<snapshot>/<dataset>/'`` afterwards: one catalog update, so a
  reader sees the old location or the new one and never a missing table. ``DROP`` + ``CREATE``
  would leave a moment with no table; it is never rendered.

External DDL cannot run inside a transaction block, so the statements run one by one in
autocommit (Data API ``execute_statement`` per statement, never ``batch_execute_statement``,
which wraps its list in one transaction). Hence tables switch one after the other, each
atomically: dbt runs only after the last one, and analysts read the published marts, which move
in one transaction after dbt's tests.

Which statement a table needs is read from the Glue Data Catalog (``get_tables``), where
Redshift keeps the external tables. A table whose columns differ from the catalogue's is refused:
changing columns in place would need a drop, i.e. a window without the table.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from imdb_elt.catalog import INPUTS
from imdb_elt.warehouse.identifiers import (
    qualified_name,
    quote_identifier,
    sql_string_literal,
    validate_iam_role_arn,
    validate_identifier,
    validate_s3_uri,
)
from imdb_elt.warehouse.redshift_data import (
    data_api_client,
    run_each_data_api,
    run_each_dbapi,
    staged_counts,
)
from imdb_elt.warehouse.types import staged_columns, warehouse_type

log = logging.getLogger(__name__)


class SpectrumSchemaError(RuntimeError):
    """An existing external table's columns differ from the catalogue's."""


@dataclass(frozen=True)
class ExternalTable:
    """One table of the Glue database, as Redshift registered it (Glue lower-cases names)."""

    name: str
    location: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class SpectrumPlan:
    """The statements of one staging run, in the order they must run (each on its own)."""

    schema: str  # CREATE EXTERNAL SCHEMA IF NOT EXISTS: first, a no-op once the schema exists
    tables: tuple[str, ...]  # one statement per catalogue dataset, independent of each other

    @property
    def statements(self) -> list[str]:
        return [self.schema, *self.tables]


# --------------------------------------------------------------------------- rendering (pure)


def _prefix(uri: str) -> str:
    # The trailing slash keeps `title_basics/` from also matching a sibling `title_basics_old/`.
    return validate_s3_uri(uri).rstrip("/") + "/"


def external_schema_sql(schema: str, glue_database: str, iam_role_arn: str) -> str:
    role = validate_iam_role_arn(iam_role_arn)
    return (
        f"CREATE EXTERNAL SCHEMA IF NOT EXISTS {quote_identifier(schema)} "
        f"FROM DATA CATALOG DATABASE {sql_string_literal(validate_identifier(glue_database))} "
        f"IAM_ROLE {sql_string_literal(role)} CREATE EXTERNAL DATABASE IF NOT EXISTS"
    )


def create_external_table_sql(schema: str, dataset: str, location: str) -> str:
    """Columns in the Parquet files' order: the catalogue's, then the lineage columns."""
    cols = ", ".join(
        f"{quote_identifier(c.name)} {warehouse_type(c.type, 'spectrum')}" for c in staged_columns(dataset)
    )
    return (
        f"CREATE EXTERNAL TABLE {qualified_name(schema, dataset)} ({cols}) "
        f"STORED AS PARQUET LOCATION {sql_string_literal(_prefix(location))}"
    )


def set_location_sql(schema: str, dataset: str, location: str) -> str:
    where = sql_string_literal(_prefix(location))
    return f"ALTER TABLE {qualified_name(schema, dataset)} SET LOCATION {where}"


def table_locations(datasets: Mapping[str, str], empty_prefix: str) -> dict[str, str]:
    """Every catalogue dataset's location: its snapshot folder, or an empty prefix.

    A dataset the lake never received (the Kaggle file is not an IMDb dump) points at
    ``<empty_prefix>/<dataset>/``, where nothing is ever written: an empty table, so dbt always
    sees all eight sources, as with COPY.
    """
    unknown = sorted(set(datasets) - {i.dataset for i in INPUTS})
    if unknown:
        raise ValueError(f"unknown datasets {unknown}")
    return {
        spec.dataset: _prefix(datasets.get(spec.dataset) or f"{empty_prefix.rstrip('/')}/{spec.dataset}")
        for spec in INPUTS
    }


def expected_columns(dataset: str) -> tuple[str, ...]:
    return tuple(c.name.lower() for c in staged_columns(dataset))


def render_spectrum_statements(
    schema: str,
    glue_database: str,
    iam_role_arn: str,
    datasets: Mapping[str, str],
    existing: Mapping[str, ExternalTable],
    empty_prefix: str,
) -> SpectrumPlan:
    """The schema statement, then CREATE (new table) or SET LOCATION (existing) per dataset.

    ``existing`` is what the Glue database holds now (``read_external_tables``).
    """
    tables = []
    for dataset, location in table_locations(datasets, empty_prefix).items():
        table = existing.get(dataset)
        if table is None:
            tables.append(create_external_table_sql(schema, dataset, location))
            continue
        if table.columns != expected_columns(dataset):
            raise SpectrumSchemaError(
                f"external table {schema}.{dataset} has columns {list(table.columns)} but the catalogue "
                f"declares {list(expected_columns(dataset))}. Changing columns needs a drop, which "
                f"leaves readers without the table: in a quiet moment run DROP TABLE "
                f"{qualified_name(schema, dataset)} and stage again (it is then created)."
            )
        tables.append(set_location_sql(schema, dataset, location))
    return SpectrumPlan(external_schema_sql(schema, glue_database, iam_role_arn), tuple(tables))


# --------------------------------------------------------------------------- the Glue Data Catalog


def read_external_tables(glue: Any, glue_database: str) -> dict[str, ExternalTable]:
    """The tables of the Glue database (all pages); {} before the schema's first creation."""
    tables: dict[str, ExternalTable] = {}
    try:
        for page in glue.get_paginator("get_tables").paginate(DatabaseName=glue_database):
            for t in page.get("TableList", []):
                sd = t.get("StorageDescriptor", {})
                tables[t["Name"].lower()] = ExternalTable(
                    name=t["Name"].lower(),
                    location=sd.get("Location", ""),
                    columns=tuple(c["Name"].lower() for c in sd.get("Columns", [])),
                )
    except glue.exceptions.EntityNotFoundException:
        return {}
    return tables


def glue_client(region: str = "") -> Any:
    import boto3  # deferred: not needed unless staging runs

    return boto3.client("glue", **({"region_name": region} if region else {}))


# --------------------------------------------------------------------------- execution (runner)


def stage_spectrum(
    schema: str,
    datasets: Mapping[str, str],
    options: Any,
    *,
    glue: Any = None,
    client: Any = None,
    connection: Any = None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, int]:
    """Point the external tables at ``datasets`` (s3:// prefixes) and count them; rows per table."""
    started = time.perf_counter()
    existing = read_external_tables(glue or glue_client(options.region), options.glue_database)
    plan = render_spectrum_statements(
        schema, options.glue_database, options.iam_role_arn, datasets, existing, options.empty_prefix
    )
    if options.method == "connector":
        if connection is None:
            raise ValueError("method 'connector' needs a DB-API connection (connect_redshift)")
        run_each_dbapi(connection, plan.statements)
    else:
        client = client or data_api_client(options)
        run_each_data_api(plan.statements, options, client, sleep)
    counts = staged_counts(schema, options, client, connection, sleep)
    log.info(
        "Spectrum: %d external tables in %s.* point at the snapshot (%d created, %d moved; %d rows) in %.2fs",
        len(plan.tables), schema, sum(s.startswith("CREATE") for s in plan.tables),
        sum(s.startswith("ALTER") for s in plan.tables), sum(counts.values()), time.perf_counter() - started,
    )
    return counts
