"""OpenLineage events of a run: which raw file fed which Parquet, table and mart.

Every step of a run reports itself as an OpenLineage job run (START, then COMPLETE or FAIL) with
its input and output datasets, so that a lineage backend (Marquez, DataHub, ...) shows one graph:

    raw file ─ imdb_elt.clean ─▶ Parquet ─ imdb_elt.stage.<dataset> ─▶ <db>.raw.<dataset>
        ─ dbt models ─▶ <db>.marts_audit.<mart> ─ imdb_elt.publish.<mart> ─▶ <db>.marts.<mart>

The Spark driver (spark_jobs/lineage.py), the pipeline's steps and the DAG's tasks emit through
this module; Airflow's provider and Cosmos add the DAG's own task and dbt model events.

Off unless a transport is configured the client's standard way (``OPENLINEAGE__TRANSPORT__*``,
``OPENLINEAGE_URL``, ``OPENLINEAGE_CONFIG`` or an ``openlineage.yml``), the same test as Airflow's
provider: then nothing is imported and nothing emitted. The client package is optional where the
job runs (an EMR driver without it logs one line and runs on). Emitting never fails a run: a
transport error is logged, and the run's data is what matters.

Dataset names follow OpenLineage's naming rules: a local file is ``file`` + its absolute path, an
S3 object ``s3://<bucket>`` + its key, a warehouse table ``<database>.<schema>.<table>`` in the
namespace openlineage-integration-common gives the dbt target (imdb_elt/lineage_warehouse.py).
This module imports only the standard library and the project's settings: it ships in the Spark
bundle.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import traceback
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from imdb_elt import layout

log = logging.getLogger(__name__)

#: Who wrote the events (a URI, as the spec asks).
PRODUCER = "urn:imdb-elt"
#: Job names, under the job namespace OPENLINEAGE_NAMESPACE (config.Settings.lineage_namespace).
RUN_JOB = "imdb_elt.run"
CLEAN_JOB = "imdb_elt.clean"
STAGE_JOB = "imdb_elt.stage"  # + ".<dataset>"
PUBLISH_JOB = "imdb_elt.publish"  # + ".<mart>"

#: Environment variables that hand the parent run to a child process (openlineage-dbt's convention).
PARENT_ENV = "OPENLINEAGE_PARENT_ID"
ROOT_PARENT_ENV = "OPENLINEAGE_ROOT_PARENT_ID"


# ---- is it on? ----------------------------------------------------------------------------------


def configured(environ: Mapping[str, str] | None = None) -> bool:
    """True when the OpenLineage client has a transport to send to (and is not disabled).

    The client itself falls back to printing every event on the console when nothing is set;
    here nothing set means off.
    """
    env = os.environ if environ is None else environ
    if env.get("OPENLINEAGE_DISABLED", "").strip().lower() == "true":
        return False
    if env.get("OPENLINEAGE_URL"):
        return True
    if any(key.startswith("OPENLINEAGE__TRANSPORT") and value for key, value in env.items()):
        return True
    files = [env.get("OPENLINEAGE_CONFIG", ""), os.path.join(os.getcwd(), "openlineage.yml"),
             os.path.join(os.path.expanduser("~"), ".openlineage", "openlineage.yml")]
    return any(path and os.path.isfile(path) for path in files)


# ---- what the events say, without the client ----------------------------------------------------


@dataclass(frozen=True)
class Dataset:
    """A dataset as an event names it, with the facets this project knows."""

    namespace: str
    name: str
    fields: tuple[tuple[str, str], ...] = ()  # (column, type): the schema facet
    rows: int | None = None  # rows read (an input) or written (an output)
    size: int | None = None  # bytes
    version: str | None = None  # the snapshot that wrote it

    @property
    def key(self) -> tuple[str, str]:
        return self.namespace, self.name


def path_dataset(path: str, **facets: Any) -> Dataset:
    """A file or folder, local or ``s3://``, named by OpenLineage's rules."""
    if path.startswith(("s3://", "s3a://")):  # s3a: how Spark names the same object
        bucket, _, key = path.split("://", 1)[1].partition("/")
        return Dataset(f"s3://{bucket}", key.strip("/"), **facets)
    return Dataset("file", os.path.abspath(path), **facets)


def raw_file_dataset(raw_dir: str, file_name: str, **facets: Any) -> Dataset:
    return path_dataset(layout.join(raw_dir, file_name), **facets)


def processed_dataset(lake_dir: str, snapshot_id: str, dataset: str, **facets: Any) -> Dataset:
    """The Parquet folder the Spark job writes and staging reads: one name for both."""
    return path_dataset(layout.dataset_dir(lake_dir, snapshot_id, dataset), version=snapshot_id, **facets)


def quarantine_dataset(lake_dir: str, snapshot_id: str, dataset: str, **facets: Any) -> Dataset:
    return path_dataset(layout.quarantine_dir(lake_dir, snapshot_id, dataset), version=snapshot_id, **facets)


@dataclass(frozen=True)
class Parent:
    """The run a job run belongs to: the command line's run, or the Airflow task that started it."""

    namespace: str
    name: str
    run_id: str
    root: tuple[str, str, str] | None = None  # (namespace, name, run id) of the outermost run

    def env(self) -> dict[str, str]:
        """How a child process (the Spark job) learns its parent."""
        root = self.root or (self.namespace, self.name, self.run_id)
        return {PARENT_ENV: f"{self.namespace}/{self.name}/{self.run_id}", ROOT_PARENT_ENV: "/".join(root)}

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Parent | None:
        env = os.environ if environ is None else environ
        parts = env.get(PARENT_ENV, "").split("/")
        if len(parts) != 3 or not all(parts):
            return None
        root = env.get(ROOT_PARENT_ENV, "").split("/")
        return cls(*parts, root=tuple(root) if len(root) == 3 and all(root) else None)  # type: ignore[arg-type]


_PARENT: contextvars.ContextVar[Parent | None] = contextvars.ContextVar("lineage_parent", default=None)


def current_parent() -> Parent | None:
    return _PARENT.get()


@contextlib.contextmanager
def parent(value: Parent | None) -> Iterator[None]:
    """Within the block, every job run emitted here names ``value`` as its parent."""
    token = _PARENT.set(value)
    try:
        yield
    finally:
        _PARENT.reset(token)


def child_env() -> dict[str, str]:
    """Environment for a child process that emits its own events (the local Spark job)."""
    found = current_parent()
    return found.env() if found is not None and configured() else {}


# ---- emitting -------------------------------------------------------------------------------------


class Emitter:
    """One client for a process's events; a no-op when off or when the client package is absent."""

    def __init__(self, namespace: str, client_config: dict[str, Any] | None = None) -> None:
        self.namespace = namespace
        self._client: Any = None
        if client_config is None and not configured():
            return
        try:
            from openlineage.client import OpenLineageClient
        except ImportError:
            log.warning("OpenLineage transport configured but openlineage-python is not installed: "
                        "no lineage events from this process")
            return
        try:
            self._client = OpenLineageClient(config=client_config) if client_config else OpenLineageClient()
        except Exception as exc:  # a bad transport config must not stop the data
            log.warning("OpenLineage client not created (%s: %s): no lineage events", type(exc).__name__, exc)

    @property
    def enabled(self) -> bool:
        return self._client is not None

    def emit(self, event: Any) -> None:
        if self._client is None:
            return
        try:
            self._client.emit(event)
        except Exception as exc:
            log.warning("OpenLineage event for %s not sent: %s: %s", event.job.name, type(exc).__name__, exc)

    def close(self) -> None:
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close(timeout=10)


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _dataset_facets(ds: Dataset) -> dict[str, Any]:
    from openlineage.client.facet_v2 import dataset_version_dataset, schema_dataset

    facets: dict[str, Any] = {}
    if ds.fields:
        facets["schema"] = schema_dataset.SchemaDatasetFacet(
            fields=[schema_dataset.SchemaDatasetFacetFields(name=n, type=t) for n, t in ds.fields])
    if ds.version:
        facets["version"] = dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion=ds.version)
    return facets


def _input(ds: Dataset) -> Any:
    from openlineage.client.event_v2 import InputDataset
    from openlineage.client.facet_v2 import input_statistics_input_dataset as stats

    input_facets = {}
    if ds.rows is not None or ds.size is not None:
        input_facets["inputStatistics"] = stats.InputStatisticsInputDatasetFacet(
            rowCount=ds.rows, size=ds.size)
    return InputDataset(namespace=ds.namespace, name=ds.name, facets=_dataset_facets(ds),
                        inputFacets=input_facets)


def _output(ds: Dataset) -> Any:
    from openlineage.client.event_v2 import OutputDataset
    from openlineage.client.facet_v2 import output_statistics_output_dataset as stats

    output_facets = {}
    if ds.rows is not None or ds.size is not None:
        output_facets["outputStatistics"] = stats.OutputStatisticsOutputDatasetFacet(
            rowCount=ds.rows, size=ds.size)
    return OutputDataset(namespace=ds.namespace, name=ds.name, facets=_dataset_facets(ds),
                         outputFacets=output_facets)


def _parent_facet(found: Parent) -> Any:
    from openlineage.client.facet_v2 import parent_run

    root = None
    if found.root is not None:
        ns, name, run_id = found.root
        root = parent_run.Root(run=parent_run.RootRun(runId=run_id),
                               job=parent_run.RootJob(namespace=ns, name=name))
    return parent_run.ParentRunFacet(run=parent_run.Run(runId=found.run_id),
                                     job=parent_run.Job(namespace=found.namespace, name=found.name),
                                     root=root)


@dataclass
class JobRun:
    """One run of one job: ``start()``, then ``complete()`` or ``fail()``, each once.

    Inputs and outputs may be added before the end (the Spark job learns its row counts last);
    the final event carries them all.
    """

    emitter: Emitter
    name: str
    inputs: list[Dataset] = field(default_factory=list)
    outputs: list[Dataset] = field(default_factory=list)
    integration: str = "IMDB_ELT"  # jobType facet: what ran it (SPARK, DBT, ...)
    job_type: str = "JOB"
    parent: Parent | None = None
    run_facets: dict[str, Any] = field(default_factory=dict)
    run_id: str = ""
    ended: bool = False

    def __post_init__(self) -> None:
        if self.parent is None:
            self.parent = current_parent()
        if not self.run_id and self.emitter.enabled:
            from openlineage.client.uuid import generate_new_uuid

            self.run_id = str(generate_new_uuid())

    def as_parent(self) -> Parent:
        """This run as the parent of the runs it starts (the root: the outermost run)."""
        above = self.parent
        if above is None:
            root = (self.emitter.namespace, self.name, self.run_id)
        else:
            root = above.root or (above.namespace, above.name, above.run_id)
        return Parent(self.emitter.namespace, self.name, self.run_id, root=root)

    def _event(self, state: str, extra_run_facets: dict[str, Any] | None = None) -> Any:
        from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
        from openlineage.client.facet_v2 import job_type_job

        run_facets = {**self.run_facets, **(extra_run_facets or {})}
        if self.parent is not None:
            run_facets["parent"] = _parent_facet(self.parent)
        job_facets = {"jobType": job_type_job.JobTypeJobFacet(
            processingType="BATCH", integration=self.integration, jobType=self.job_type)}
        return RunEvent(
            eventType=getattr(RunState, state), eventTime=_now(), producer=PRODUCER,
            run=Run(runId=self.run_id, facets=run_facets),
            job=Job(namespace=self.emitter.namespace, name=self.name, facets=job_facets),
            inputs=[_input(d) for d in self.inputs], outputs=[_output(d) for d in self.outputs],
        )

    def start(self) -> JobRun:
        if self.emitter.enabled:
            self.emitter.emit(self._event("START"))
        return self

    def complete(self) -> None:
        if self.emitter.enabled and not self.ended:
            self.emitter.emit(self._event("COMPLETE"))
        self.ended = True

    def fail(self, error: BaseException | str) -> None:
        if self.emitter.enabled and not self.ended:
            from openlineage.client.facet_v2 import error_message_run

            message = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
            stack = None if isinstance(error, str) else "".join(traceback.format_exception(error))
            facet = error_message_run.ErrorMessageRunFacet(
                message=message[:4000], programmingLanguage="python", stackTrace=stack)
            self.emitter.emit(self._event("FAIL", {"errorMessage": facet}))
        self.ended = True


@contextlib.contextmanager
def job_runs(runs: Sequence[JobRun]) -> Iterator[Sequence[JobRun]]:
    """START every run; COMPLETE each when the block ends, FAIL each when it raises; then close
    their emitters (a transport may send in the background)."""
    try:
        for run in runs:
            run.start()
        try:
            yield runs
        except BaseException as exc:
            for run in runs:
                run.fail(exc)
            raise
        for run in runs:
            run.complete()
    finally:
        for emitter in {id(run.emitter): run.emitter for run in runs}.values():
            emitter.close()
