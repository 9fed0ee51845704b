"""Staging into Redshift from Airflow: the rendered COPY transaction through RedshiftDataOperator.

The statements come from ``imdb_elt.warehouse.redshift_loader`` (the same SQL the non-Airflow
runner executes); the Data API runs the list as one transaction with the IAM role named in
REDSHIFT_IAM_ROLE_ARN. Database login: temporary credentials for REDSHIFT_DB_USER or the Secrets
Manager secret REDSHIFT_SECRET_ARN; AWS credentials from the ``aws_default`` connection.
"""

from __future__ import annotations

from typing import Any

from imdb_elt.config import Settings


def stage_statements(settings: Settings, manifest: dict) -> list[str]:
    from imdb_elt.warehouse.redshift_loader import redshift_options, render_stage_statements

    options = redshift_options(settings)
    datasets = {name: d["path"] for name, d in manifest["datasets"].items()}
    return render_stage_statements(settings.raw_schema, datasets, options.iam_role_arn)


def stage_tasks(settings: Settings, plan: Any) -> Any:
    """The DAG's staging on Redshift: the COPY batch through the Data API, then the plan handed on.

    Returns the task (id ``stage``) whose XCom holds the plan after staging, as the local path's.
    """
    from airflow.sdk import TriggerRule, task

    from imdb_elt.orchestration import tasks

    @task(trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS)
    def copy_statements(plan: dict) -> list[str]:
        return stage_statements(settings, plan["manifest"])

    @task(task_id=tasks.STAGE_TASK)
    def stage(plan: dict) -> dict:
        # The staged counts are checked in the warehouse by dbt's reconcile_staged_rows test.
        return plan

    copy = copy_into_redshift(settings, copy_statements(plan), task_id="copy_into_redshift")
    staged = stage(plan)
    copy >> staged
    return staged


def copy_into_redshift(settings: Settings, sql: Any, task_id: str = "stage"):
    from airflow.providers.amazon.aws.operators.redshift_data import RedshiftDataOperator

    from imdb_elt.warehouse.redshift_loader import redshift_options

    options = redshift_options(settings)
    return RedshiftDataOperator(
        task_id=task_id,
        sql=sql,
        database=options.database,
        cluster_identifier=options.cluster_identifier or None,
        workgroup_name=options.workgroup_name or None,
        db_user=options.db_user or None,
        secret_arn=options.secret_arn or None,
        aws_conn_id=settings.aws_conn_id,
        wait_for_completion=True,
        deferrable=settings.deferrable,
        poll_interval=10,
    )
