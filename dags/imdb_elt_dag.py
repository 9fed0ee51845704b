"""imdb_elt_hourly: acquire → detect → clean (Spark) → stage → dbt (Cosmos) → publish → report.

This file only describes the flow; what each step does lives in imdb_elt.pipeline and
imdb_elt.orchestration, and every setting comes from the environment through imdb_elt.config.
With no new delivery the run stops after `detect`: no JVM, no dbt.

Schedule: IMDB_SCHEDULE (default @hourly, which catches IMDb's daily refresh within the hour);
"0 7 * * *" runs every day at 7am.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, Asset, TriggerRule, task

from imdb_elt import config
from imdb_elt.orchestration import aws_spark, redshift_stage, tasks
from imdb_elt.orchestration.cosmos_dbt import dbt_task_group
from imdb_elt.orchestration.dbt_manifest import ensure_manifest

settings = config.load()

# Downstream DAGs can schedule on these (data-aware scheduling).
PROCESSED_SNAPSHOT = Asset(name="imdb_elt_processed_snapshot", uri=f"file://{settings.current_pointer}"
                           if "://" not in settings.lake_dir else settings.current_pointer)
MARTS = Asset(name="imdb_elt_marts", uri=f"imdb-elt://{settings.dbt_target}/marts")

with DAG(
    dag_id="imdb_elt_hourly",
    description="IMDb dumps → Spark → warehouse → dbt marts, when a new delivery arrives",
    schedule=settings.schedule,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["imdb", "elt", "dbt"],
    default_args={
        "retries": settings.task_retries,
        "retry_delay": timedelta(seconds=settings.retry_delay_seconds),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(seconds=settings.max_retry_delay_seconds),
    },
) as dag:

    @task
    def acquire() -> dict:
        return tasks.acquire_raw(settings)

    @task(task_id=tasks.DETECT_TASK)
    def detect() -> dict:
        return tasks.detect_deliveries(settings)

    @task.short_circuit(ignore_downstream_trigger_rules=False)
    def has_new_deliveries(plan: dict) -> bool:
        return tasks.has_new_deliveries(plan)

    @task(task_id=tasks.PREPARE_TASK)
    def prepare_snapshot(plan: dict, spark_stats: dict | None = None) -> dict:
        return tasks.prepare_snapshot(settings, plan, spark_stats)

    plan = detect()
    gate = has_new_deliveries(plan)
    acquire() >> plan

    # ---- clean: Spark where IMDB_SPARK_MODE says ----
    if settings.spark_mode == "emr":

        @task
        def emr_step(plan: dict) -> list[dict]:
            return aws_spark.emr_steps(settings, plan)

        steps = emr_step(plan)
        submit = aws_spark.add_emr_step(settings, steps)
        wait = aws_spark.wait_for_emr_step(settings)
        gate >> steps >> submit >> wait
        manifest = prepare_snapshot(plan)
        wait >> manifest
    elif settings.spark_mode == "emr-serverless":

        @task
        def emr_serverless_driver(plan: dict) -> dict:
            return aws_spark.emr_serverless_job_driver(settings, plan)

        driver = emr_serverless_driver(plan)
        job = aws_spark.start_emr_serverless_job(settings, driver)
        gate >> driver >> job
        manifest = prepare_snapshot(plan)
        job >> manifest
    else:

        @task
        def clean(plan: dict) -> dict:
            return tasks.clean_locally(settings, plan)

        stats = clean(plan)
        gate >> stats
        manifest = prepare_snapshot(plan, stats)

    # ---- stage the snapshot into the warehouse ----
    if settings.dbt_target == "redshift":
        staged = redshift_stage.stage_tasks(settings, manifest)  # REDSHIFT_STAGING: copy | spectrum
    else:

        @task(pool=settings.dbt_pool)
        def stage(manifest: dict) -> dict:
            return tasks.stage_locally(settings, manifest)

        staged = stage(manifest)

    # ---- dbt: one task per model (`dbt build`: the model, then its tests) ----
    dbt = dbt_task_group(settings, ensure_manifest(settings.dbt_manifest_dir))

    # ---- publish: marts swap, then CURRENT + ledger (the last writes of a run) ----
    @task(pool=settings.dbt_pool, outlets=[MARTS])
    def publish_marts(manifest: dict) -> None:
        tasks.publish_marts(settings, manifest)

    @task(task_id=tasks.PUBLISH_SNAPSHOT_TASK, outlets=[PROCESSED_SNAPSHOT])
    def publish_snapshot(manifest: dict, plan: dict) -> dict:
        return tasks.publish_snapshot(settings, manifest, plan)

    @task(trigger_rule=TriggerRule.ALL_DONE)
    def report(**context) -> dict:
        ti = context["ti"]
        return tasks.run_report(
            settings,
            plan=ti.xcom_pull(task_ids=tasks.DETECT_TASK),
            manifest=ti.xcom_pull(task_ids=tasks.PREPARE_TASK),
            published=ti.xcom_pull(task_ids=tasks.PUBLISH_SNAPSHOT_TASK),
        )

    marts = publish_marts(manifest)
    published = publish_snapshot(manifest, plan)
    staged >> dbt >> marts >> published >> report()
