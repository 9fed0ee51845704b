"""The cleaning job's own OpenLineage events, from the Spark driver: START, then COMPLETE or FAIL.

OpenLineage's Spark listener (a jar) cannot be installed where the job is built and tested, and
what a reader of the lineage graph needs is coarser than Spark's plans anyway: which raw file
became which Parquet dataset (and quarantine), with the columns and rows of each. The run's
inputs are the raw files, its outputs the snapshot's Parquet folders, named as
imdb_elt.lineage names them so that staging's inputs meet them.

Where the driver finds its settings:
- transport: the client's own configuration (``OPENLINEAGE__TRANSPORT__*``, ``openlineage.yml``;
  the local runner passes its environment on). Else, on EMR, the ``spark.openlineage.transport.*``
  properties that Airflow's provider injects into the job (``[openlineage]
  spark_inject_transport_info``), in the Spark listener's format.
- parent run: the ``spark.openlineage.parentJob*`` properties the provider injects
  (``spark_inject_parent_job_info``), else ``OPENLINEAGE_PARENT_ID`` (the local runner).
No transport: no event, and the client is not even imported.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pyspark.sql.types import StructType

from imdb_elt import lineage
from imdb_elt.catalog import BY_DATASET, BY_FILE_NAME, RawInput
from spark_jobs.schemas import QUARANTINE_SCHEMA, output_schema

_TRANSPORT_PREFIX = "spark.openlineage.transport."
_PARENT_PREFIX = "spark.openlineage."


def _nested(flat: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in flat.items():
        *path, last = key.split(".")
        node = out
        for part in path:
            node = node.setdefault(part, {})
        node[last] = value
    return out


def _python_transport(spark_style: dict[str, Any]) -> dict[str, Any]:
    """The Spark listener's transport keys as the Python client's (``timeoutInMillis`` →
    ``timeout`` seconds, ``headers`` → ``custom_headers``); composite transports recursively."""
    out = dict(spark_style)
    if "timeoutInMillis" in out:
        out["timeout"] = float(out.pop("timeoutInMillis")) / 1000
    if "headers" in out:
        out["custom_headers"] = out.pop("headers")
    if isinstance(out.get("transports"), dict):
        out["transports"] = {name: _python_transport(t) for name, t in out["transports"].items()}
    return out


def client_config(conf: Mapping[str, str]) -> dict[str, Any] | None:
    """The client's config from the Spark properties, when the driver has none of its own."""
    if lineage.configured():
        return None
    flat = {k.removeprefix(_TRANSPORT_PREFIX): v for k, v in conf.items() if k.startswith(_TRANSPORT_PREFIX)}
    if "type" not in flat:
        return None
    return {"transport": _python_transport(_nested(flat))}


def parent(conf: Mapping[str, str]) -> lineage.Parent | None:
    """The run that started this job: the provider's Spark properties, else the environment."""
    get = {k.removeprefix(_PARENT_PREFIX): v for k, v in conf.items() if k.startswith(_PARENT_PREFIX)}
    if all(get.get(k) for k in ("parentJobNamespace", "parentJobName", "parentRunId")):
        root_keys = ("rootParentJobNamespace", "rootParentJobName", "rootParentRunId")
        root = tuple(get[k] for k in root_keys) if all(get.get(k) for k in root_keys) else None
        return lineage.Parent(get["parentJobNamespace"], get["parentJobName"], get["parentRunId"],
                              root=root)  # type: ignore[arg-type]
    return lineage.Parent.from_env()


def _fields(schema: StructType) -> tuple[tuple[str, str], ...]:
    return tuple((f.name, f.dataType.simpleString()) for f in schema.fields)


def _raw_fields(raw: RawInput) -> tuple[tuple[str, str], ...]:
    """The delivered file's columns: its header, every field text until the job types it."""
    return tuple((name, "string") for name in raw.header)


class CleaningRun:
    """The lineage of one run of the cleaning job (a no-op when lineage is off).

    ``imdb_elt.clean`` is the application's run; each file is a child run
    ``imdb_elt.clean.<dataset>`` with that raw file as its input and that dataset's Parquet and
    quarantine as its outputs (as OpenLineage's Spark integration nests a Spark action's job
    under the application's). One job over all files would tell a lineage graph that every raw
    file feeds every dataset.
    """

    def __init__(self, namespace: str, raw_dir: str, lake_dir: str, snapshot_id: str,
                 files: list[str] | None, conf: Mapping[str, str], spark_version: str) -> None:
        self.raw_dir, self.lake_dir, self.snapshot_id = raw_dir, lake_dir, snapshot_id
        self.emitter = lineage.Emitter(namespace, client_config(conf))
        facets = {}
        if self.emitter.enabled:
            from openlineage.client import __version__ as client_version
            from openlineage.client.facet_v2 import processing_engine_run

            facets["processing_engine"] = processing_engine_run.ProcessingEngineRunFacet(
                version=spark_version, name="spark", openlineageAdapterVersion=client_version)
        self.app = lineage.JobRun(self.emitter, lineage.CLEAN_JOB, integration="SPARK",
                                  job_type="APPLICATION", parent=parent(conf), run_facets=facets)
        self.files: dict[str, lineage.JobRun] = {}
        self.named = [BY_FILE_NAME[f] for f in files or [] if f in BY_FILE_NAME]

    def _file_run(self, raw: RawInput) -> lineage.JobRun:
        if raw.dataset not in self.files:
            self.files[raw.dataset] = lineage.JobRun(
                self.emitter, f"{lineage.CLEAN_JOB}.{raw.dataset}", inputs=[self._input(raw)],
                integration="SPARK", parent=self.app.as_parent(), run_facets=self.app.run_facets).start()
        return self.files[raw.dataset]

    def _input(self, raw: RawInput, rows: int | None = None) -> lineage.Dataset:
        return lineage.raw_file_dataset(self.raw_dir, raw.file_name, fields=_raw_fields(raw), rows=rows)

    def start(self) -> CleaningRun:
        """The application's START, then one START per file named (all present: at the end)."""
        self.app.start()
        for raw in self.named:
            self._file_run(raw)
        return self

    def complete(self, stats: Mapping[str, Mapping[str, Any]]) -> None:
        """Each file's COMPLETE with the rows the job counted, then the application's."""
        for dataset, st in stats.items():
            raw = BY_DATASET[dataset]
            run = self._file_run(raw)
            run.inputs = [self._input(raw, st["rows_read"])]
            run.outputs = [
                lineage.processed_dataset(self.lake_dir, self.snapshot_id, dataset,
                                          fields=_fields(output_schema(raw)), rows=st["rows_written"]),
                lineage.quarantine_dataset(self.lake_dir, self.snapshot_id, dataset,
                                           fields=_fields(QUARANTINE_SCHEMA), rows=st["rows_quarantined"]),
            ]
            run.complete()
        self.app.complete()
        self.emitter.close()

    def fail(self, error: BaseException) -> None:
        """FAIL for every file and the application: without the success marker nothing the job
        wrote is used, so no outputs are reported."""
        for run in self.files.values():
            run.fail(error)
        self.app.fail(error)
        self.emitter.close()
