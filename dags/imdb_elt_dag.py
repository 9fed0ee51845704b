"""imdb_elt_hourly: the run engine's steps as Airflow tasks, one task per dbt model.

    acquire → detect ─(short-circuit)→ clean → stage → dbt: producer → select_models ─(branch)→
              model tasks and tests, side by side ─→ publish
            └─────────────────────────────────────────────────────────────────────→ report

Every step is the function ``python -m imdb_elt run`` runs (imdb_elt.pipeline); the run's plan
goes from task to task through XCom. This file only wires them: what each task does lives in
imdb_elt.orchestration.tasks, every setting in imdb_elt.config.

- ``detect`` takes the lake's run lease (shared with the command line) and plans the run. With
  nothing new (or when another run holds the lease) it writes the report itself and
  short-circuits: no later task starts.
- ``dbt.select_models`` branches to the dbt tasks of the models the plan rebuilds (all of them,
  or the selective build's); the others are skipped. Steps after it run when nothing upstream
  failed (``none_failed_min_one_success``).
- ``report`` runs whatever happened (``all_done``), writes the same report as the command line,
  appends it to the warehouse's run history, sends the run's one alert (imdb_elt.alerts), gives
  the lease back, and fails the run if a step failed.

Schedule: IMDB_SCHEDULE (default @hourly, which catches IMDb's daily refresh within the hour).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, Asset, task

try:
    from airflow.sdk import TriggerRule
except ImportError:  # Airflow 3.0 (MWAA's newest, 3.0.6) has it only here
    from airflow.utils.trigger_rule import TriggerRule  # type: ignore[no-redef]

from imdb_elt import alerts, config, pipeline
from imdb_elt.orchestration import aws_spark, redshift_stage, tasks
from imdb_elt.orchestration.cosmos_dbt import dbt_task_group, dbt_tasks, producer
from imdb_elt.orchestration.dbt_manifest import ensure_manifest

settings = config.load()
AFTER_DETECT = TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS

# Downstream DAGs can schedule on these (data-aware scheduling).
PROCESSED_SNAPSHOT = Asset(name="imdb_elt_processed_snapshot", uri=f"file://{settings.current_pointer}"
                           if "://" not in settings.lake_dir else settings.current_pointer)
MARTS = Asset(name="imdb_elt_marts", uri=f"imdb-elt://{settings.dbt_target}/{settings.marts_schema}")

with DAG(
    dag_id="imdb_elt_hourly",
    description="IMDb dumps → Spark → warehouse → dbt marts, when a new delivery arrives",
    schedule=settings.schedule,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    # Still unfinished IMDB_ALERT_LATE_MINUTES after it was queued: a lateness alert.
    deadline=alerts.deadline_alert(settings),
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

    @task.short_circuit(task_id=tasks.DETECT_TASK, ignore_downstream_trigger_rules=False)
    def detect() -> dict | None:
        return tasks.detect(settings)

    plan = detect()
    acquire() >> plan

    # ---- clean: Spark where IMDB_SPARK_MODE says (the engine runs local and standalone) ----
    if settings.spark_mode in ("local", "standalone"):

        @task(task_id=tasks.CLEAN_TASK)
        def clean(plan: dict, **context) -> dict:
            return tasks.run_step(settings, pipeline.clean, plan, context)

        cleaned = clean(plan)
    else:
        spark_job = aws_spark.spark_job_tasks(settings, plan)

        @task(task_id=tasks.RECORD_TASK, trigger_rule=AFTER_DETECT)
        def record_snapshot(plan: dict, **context) -> dict:
            return tasks.run_step(settings, pipeline.record_snapshot, plan, context)

        cleaned = record_snapshot(plan)
        spark_job >> cleaned

    # ---- stage the snapshot into the warehouse ----
    if settings.dbt_target == "redshift":
        staged = redshift_stage.stage_tasks(settings, cleaned)  # REDSHIFT_STAGING: copy | spectrum
    else:

        @task(task_id=tasks.STAGE_TASK, pool=settings.dbt_pool, trigger_rule=AFTER_DETECT)
        def stage(plan: dict, **context) -> dict:
            return tasks.run_step(settings, pipeline.stage, plan, context)

        staged = stage(cleaned)

    # ---- dbt: one task per model; the branch inside the group picks the plan's models ----
    dbt = dbt_task_group(settings, ensure_manifest(settings.dbt_manifest_dir))
    dbt_nodes = dbt_tasks(dbt)
    dbt_task_ids = [t.task_id for t in dbt]  # every task that may leave dbt results
    with dbt:

        # After the watcher's one `dbt build`, before the model tasks that report it.
        @task.branch(task_id=tasks.SELECT_TASK, trigger_rule=AFTER_DETECT)
        def select_models(plan: dict) -> list[str]:
            return tasks.selected_dbt_tasks(plan, dbt_nodes, tasks.PUBLISH_TASK)

        selected = select_models(staged)
    build = producer(dbt)
    if build is not None:
        staged >> build >> selected
    for task_id in dbt_nodes:  # the branch decides for every dbt task, not only the first ones
        selected >> dag.get_task(task_id)

    # ---- publish: marts swap, then CURRENT + ledger (the last writes of a run) ----
    @task(task_id=tasks.PUBLISH_TASK, pool=settings.dbt_pool, trigger_rule=AFTER_DETECT,
          outlets=[MARTS, PROCESSED_SNAPSHOT])
    def publish(plan: dict, **context) -> dict:
        return tasks.publish(settings, plan, context["ti"], dbt_task_ids)

    @task(trigger_rule=TriggerRule.ALL_DONE)
    def report(**context) -> dict:
        return tasks.report(settings, context["ti"], dbt_task_ids)

    published = publish(staged)
    dbt >> published
    published >> report()
    plan >> dag.get_task("report")
