"""The run's steps as OpenLineage job runs, on the orchestrator's side (imdb_elt/lineage.py: why).

    imdb_elt.run                      the command line's run: the parent of everything below
    imdb_elt.clean                    the Spark job, emitted by its driver (spark_jobs/lineage.py)
    imdb_elt.stage.<dataset>          snapshot Parquet → <database>.<raw schema>.<dataset>
    <db>.<schema>.<model>.build.run   one per dbt model (and one per tested model), from dbt's
                                      artifacts; in the DAG, Cosmos reports its tasks' models
    imdb_elt.publish.<mart>           <database>.<audit schema>.<mart> → <database>.<marts schema>.<mart>

Warehouse tables are named the way openlineage-integration-common names dbt's relations (the
library Cosmos reports the DAG's dbt tasks with): the namespace it derives from the dbt target's
profile (``duckdb://<file>``, ``postgres://<host>:<port>``, ``redshift://<host>:<port>``) and
``<database>.<schema>.<table>``. So staging's outputs are the dbt sources' inputs, and the audit
marts dbt writes are publish's inputs. In the DAG, each step's runs have its Airflow task run
as parent (the provider's ids); on the command line, ``imdb_elt.run``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from imdb_elt import config, lineage
from imdb_elt.config import DBT_PROFILE, DBT_PROJECT_DIR, PROFILES_DIR, Settings, dbt_environment
from imdb_elt.dbt_runner import _environment

if TYPE_CHECKING:
    from imdb_elt.pipeline import Plan

log = logging.getLogger(__name__)


# ---- warehouse dataset names ------------------------------------------------------------------------


def _dbt_processor(settings: Settings, target_path: str | None = None) -> Any:
    """openlineage-integration-common's reader of dbt's artifacts (in ``target_path``, default
    DBT_TARGET_PATH), for this dbt target."""
    from openlineage.common.provider.dbt.local import DbtLocalArtifactProcessor

    processor = DbtLocalArtifactProcessor(
        producer=lineage.PRODUCER, job_namespace=settings.lineage_namespace,
        project_dir=str(DBT_PROJECT_DIR), profile_name=DBT_PROFILE, target=settings.dbt_target,
        target_path=target_path or settings.dbt_target_path,
        dbt_command_line=["--profiles-dir", str(PROFILES_DIR)],
    )
    processor.should_raise_on_unsupported_command = False
    return processor


@dataclass(frozen=True)
class Warehouse:
    """Where the dbt target's tables live, as OpenLineage names them."""

    namespace: str
    database: str

    def table(self, schema: str, name: str, **facets: Any) -> lineage.Dataset:
        return lineage.Dataset(self.namespace, f"{self.database}.{schema}.{name}", **facets)


def warehouse(settings: Settings) -> Warehouse:
    """The target's namespace as the dbt integration derives it from the rendered profile, and
    its database as dbt names it (DuckDB: the file's stem)."""
    with _environment(dbt_environment(settings)):
        processor = _dbt_processor(settings)
        profiles = processor.load_yaml_with_jinja(str(Path(PROFILES_DIR) / "profiles.yml"))
        profile = profiles[DBT_PROFILE]["outputs"][settings.dbt_target]
        processor.extract_adapter_type(profile)
        namespace = processor.extract_namespace(profile)
        database = Path(profile["path"]).stem if settings.dbt_target == "duckdb" else profile["dbname"]
    return Warehouse(namespace, str(database))


# ---- the command line's run ---------------------------------------------------------------------


@contextlib.contextmanager
def pipeline_run(settings: Settings, plan: Plan) -> Iterator[None]:
    """``imdb_elt.run`` around the command line's steps, the parent of every run they emit.

    A run with nothing to do emits nothing (it must stay cheap, and nothing moved).
    """
    emitter = lineage.Emitter(settings.lineage_namespace) if plan.active else None
    if emitter is None or not emitter.enabled:
        yield
        return
    from imdb_elt.pipeline import SUCCESS

    run = lineage.JobRun(emitter, lineage.RUN_JOB, parent=lineage.Parent.from_env()).start()
    try:
        with lineage.parent(run.as_parent()):
            yield
    except BaseException as exc:
        run.fail(exc)
        raise
    else:
        if plan.status == SUCCESS:
            run.complete()
        else:
            run.fail(plan.error or plan.status)
    finally:
        emitter.close()


@contextlib.contextmanager
def airflow_task(context: dict[str, Any]) -> Iterator[None]:
    """Within a DAG task, the runs this module emits name the task's run (as Airflow's
    OpenLineage provider identifies it) as their parent."""
    ti = context.get("ti")
    if ti is None or not lineage.configured():
        yield
        return
    try:
        from airflow.providers.openlineage.plugins import macros

        found = lineage.Parent(
            macros.lineage_job_namespace(), macros.lineage_job_name(ti), macros.lineage_run_id(ti),
            root=(macros.lineage_job_namespace(), macros.lineage_root_job_name(ti),
                  macros.lineage_root_run_id(ti)))
    except Exception as exc:  # no provider, or a task instance it cannot read: no parent
        log.warning("OpenLineage parent of this task unknown (%s: %s)", type(exc).__name__, exc)
        found = None
    with lineage.parent(found):
        yield


# ---- stage ----------------------------------------------------------------------------------------


@contextlib.contextmanager
def staging(settings: Settings, manifest: dict) -> Iterator[Callable[[dict[str, int]], dict[str, int]]]:
    """``imdb_elt.stage.<dataset>`` for each dataset of the snapshot manifest: its Parquet in,
    ``<database>.<raw schema>.<dataset>`` out. Yields ``staged(rows)``, which records the rows
    staged per dataset (and returns them); FAIL for every dataset when the block raises."""
    emitter = lineage.Emitter(settings.lineage_namespace)
    runs: list[lineage.JobRun] = []
    if emitter.enabled:
        wh = warehouse(settings)
        runs = [lineage.JobRun(
            emitter, f"{lineage.STAGE_JOB}.{name}", integration="IMDB_ELT",
            inputs=[lineage.processed_dataset(settings.lake_dir, d["snapshot_id"], name, rows=d.get("rows"))],
            outputs=[wh.table(settings.raw_schema, name)],
        ) for name, d in manifest["datasets"].items()]

    def staged(rows: dict[str, int]) -> dict[str, int]:
        for run in runs:
            run.outputs = [replace(o, rows=rows.get(o.name.rsplit(".", 1)[-1])) for o in run.outputs]
        return rows

    with lineage.job_runs(runs):
        yield staged


# ---- dbt (the command line; in the DAG Cosmos reports its tasks) --------------------------------


def emit_dbt_build(settings: Settings, target_path: str | None = None) -> None:
    """A START and a COMPLETE (or FAIL) per model and per tested model of the dbt build just run,
    read from its manifest.json and run_results.json (in ``target_path``, default
    DBT_TARGET_PATH) by the dbt integration; call it before the next dbt command replaces
    run_results.json."""
    emitter = lineage.Emitter(settings.lineage_namespace)
    if not emitter.enabled:
        return
    from openlineage.common.provider.dbt.facets import ParentRunMetadata

    found = lineage.current_parent()
    with _environment(dbt_environment(settings)):
        processor = _dbt_processor(settings, target_path)
        if found is not None:
            root = found.root or (found.namespace, found.name, found.run_id)
            processor.dbt_run_metadata = ParentRunMetadata(
                run_id=found.run_id, job_name=found.name, job_namespace=found.namespace,
                root_parent_job_namespace=root[0], root_parent_job_name=root[1], root_parent_run_id=root[2])
        try:
            events = processor.parse()
        except Exception as exc:  # lineage must not fail the build it describes
            log.warning("dbt lineage not read from %s: %s: %s",
                        settings.dbt_target_path, type(exc).__name__, exc)
            return
    for event in events.events():
        emitter.emit(event)
    emitter.close()


def watcher_build(context: dict[str, Any], target_path: str) -> None:
    """In the DAG's watcher mode one task (Cosmos' producer) runs `dbt build` for every model,
    and Cosmos reports them as that one task's inputs and outputs: in a lineage graph, every
    source would feed every model. Report each model as its own run instead, as the command
    line does (parent: the producer's task run), and leave the task's own event without datasets.

    In local mode each Cosmos task builds one model, and Cosmos' report of it stays as it is.
    """
    from cosmos.operators.watcher import DbtProducerWatcherOperator

    task = context.get("task")
    if not isinstance(task, DbtProducerWatcherOperator) or not lineage.configured():
        return
    with airflow_task(context):
        emit_dbt_build(config.load(), target_path)
    task.openlineage_events_completes = []


# ---- publish --------------------------------------------------------------------------------------


@contextlib.contextmanager
def publishing(settings: Settings, built: dict | None, only: list[str] | None) -> Iterator[None]:
    """``imdb_elt.publish.<mart>`` for each mart published (all, or the ``only`` ones): the audit
    relation dbt built in, the published relation out."""
    from imdb_elt.report import is_published_mart

    emitter = lineage.Emitter(settings.lineage_namespace)
    runs: list[lineage.JobRun] = []
    if emitter.enabled and built is not None:
        wh = warehouse(settings)
        for node in built.get("nodes", {}).values():
            name = node.get("alias") or node["name"]
            if not is_published_mart(node) or (only is not None and name not in only):
                continue
            audit = lineage.Dataset(wh.namespace, f"{node['database']}.{node['schema']}.{name}")
            runs.append(lineage.JobRun(emitter, f"{lineage.PUBLISH_JOB}.{name}", inputs=[audit],
                                       outputs=[wh.table(settings.marts_schema, name)]))
    with lineage.job_runs(sorted(runs, key=lambda r: r.name)):
        yield
