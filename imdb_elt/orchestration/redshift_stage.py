"""Staging into Redshift from Airflow, the path REDSHIFT_STAGING chooses, through RedshiftDataOperator.

- ``copy``: the rendered COPY transaction (``imdb_elt.warehouse.redshift_loader``, the same SQL
  the non-Airflow runner executes) as ONE Data API batch, i.e. one transaction.
- ``spectrum``: external tables over the snapshot's Parquet (``imdb_elt.warehouse.spectrum``).
  External DDL refuses a transaction block, so every statement is its own Data API call:
  ``create_external_schema`` first, then ``stage``, mapped over one statement per dataset
  (CREATE EXTERNAL TABLE the first time, ALTER TABLE ... SET LOCATION afterwards, as the Glue
  Data Catalog read by ``external_table_sql`` says).

Both wait deferrably (IMDB_DEFERRABLE), both end in a task named ``stage`` that dbt follows.
The IAM role in REDSHIFT_IAM_ROLE_ARN is the only credential in the SQL; database login comes from
temporary credentials for REDSHIFT_DB_USER or the Secrets Manager secret REDSHIFT_SECRET_ARN, AWS
credentials from the ``IMDB_AWS_CONN_ID`` connection.
"""

from __future__ import annotations

from typing import Any

from imdb_elt.config import Settings


def stage_statements(settings: Settings, manifest: dict) -> list[str]:
    from imdb_elt.warehouse.redshift_loader import redshift_options, render_stage_statements

    options = redshift_options(settings)
    datasets = {name: d["path"] for name, d in manifest["datasets"].items()}
    return render_stage_statements(settings.raw_schema, datasets, options.iam_role_arn)


def external_schema_statement(settings: Settings) -> str:
    from imdb_elt.warehouse.redshift_loader import redshift_options
    from imdb_elt.warehouse.spectrum import external_schema_sql

    options = redshift_options(settings)
    return external_schema_sql(settings.raw_schema, options.glue_database, options.iam_role_arn)


def external_table_statements(settings: Settings, manifest: dict, glue: Any = None) -> list[str]:
    """One statement per dataset: CREATE EXTERNAL TABLE or ALTER TABLE ... SET LOCATION, as the
    Glue Data Catalog says."""
    from imdb_elt.warehouse.redshift_loader import redshift_options
    from imdb_elt.warehouse.spectrum import read_external_tables, render_spectrum_statements

    options = redshift_options(settings)
    if glue is None:
        from airflow.providers.amazon.aws.hooks.glue_catalog import GlueCatalogHook

        glue = GlueCatalogHook(aws_conn_id=settings.aws_conn_id).get_conn()
    plan = render_spectrum_statements(
        settings.raw_schema,
        options.glue_database,
        options.iam_role_arn,
        {name: d["path"] for name, d in manifest["datasets"].items()},
        read_external_tables(glue, options.glue_database),
        options.empty_prefix,
    )
    return list(plan.tables)


def data_api_arguments(settings: Settings) -> dict[str, Any]:
    """What every staging RedshiftDataOperator shares: where, who, and how it waits."""
    from imdb_elt.warehouse.redshift_loader import redshift_options

    options = redshift_options(settings)
    return {
        "database": options.database,
        "cluster_identifier": options.cluster_identifier or None,
        "workgroup_name": options.workgroup_name or None,
        "db_user": options.db_user or None,
        "secret_arn": options.secret_arn or None,
        "aws_conn_id": settings.aws_conn_id,
        "wait_for_completion": True,
        "deferrable": settings.deferrable,
        "poll_interval": 10,
    }


def copy_into_redshift(settings: Settings, sql: Any, task_id: str = "copy_into_redshift"):
    """A list of statements: the operator sends it as one batch, which the Data API runs as one
    transaction."""
    from airflow.providers.amazon.aws.operators.redshift_data import RedshiftDataOperator

    return RedshiftDataOperator(task_id=task_id, sql=sql, **data_api_arguments(settings))


def after_staging(settings: Settings, plan: Any) -> None:
    """What the other paths do around loading, once the Data API tasks before this one staged the
    snapshot: its lineage (one run per dataset, reported now), the run history's tables (dbt's
    ops views read them), then the sources' freshness."""
    from imdb_elt import pipeline, run_history, run_lineage

    with run_lineage.staging(settings, plan.manifest or {"datasets": {}}):
        pass
    run_history.ensure_tables(settings)
    pipeline.check_freshness(settings, plan)


def stage_tasks(settings: Settings, plan: Any) -> Any:
    """Add the staging tasks for REDSHIFT_STAGING to the DAG being defined; return the last one.

    ``plan`` is the XComArg of the run's plan after cleaning. The last task (id ``stage``, as on
    the local path) hands the plan on to the dbt tasks.
    """
    from airflow.providers.amazon.aws.operators.redshift_data import RedshiftDataOperator
    from airflow.sdk import task

    from imdb_elt.orchestration import tasks

    @task(task_id=tasks.STAGE_TASK)
    def stage(plan: dict, **context) -> dict:
        # The staged row counts are checked in the warehouse by dbt's reconcile_staged_rows test.
        return tasks.run_step(settings, after_staging, plan, context)

    if settings.redshift_staging == "copy":

        @task(task_id="copy_statements")
        def copy_statements(plan: dict) -> list[str]:
            return stage_statements(settings, plan["manifest"])

        loaded = copy_into_redshift(settings, copy_statements(plan), task_id="copy_into_redshift")
    elif settings.redshift_staging == "spectrum":

        @task(task_id="external_schema_sql")
        def schema_sql() -> str:
            return external_schema_statement(settings)

        @task(task_id="external_table_sql")
        def table_sql(plan: dict) -> list[str]:
            return external_table_statements(settings, plan["manifest"])

        # A single string: the operator sends it with execute_statement, outside any transaction.
        schema = RedshiftDataOperator(task_id="create_external_schema", sql=schema_sql(),
                                      **data_api_arguments(settings))
        statements = table_sql(plan)
        schema >> statements
        loaded = RedshiftDataOperator.partial(
            task_id="point_external_tables", **data_api_arguments(settings)
        ).expand(sql=statements)
    else:
        raise ValueError(f"unknown REDSHIFT_STAGING {settings.redshift_staging!r}: copy | spectrum")
    staged = stage(plan)
    loaded >> staged
    return staged
