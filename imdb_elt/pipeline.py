"""The pipeline's steps, shared by the local runner (`make run`) and the Airflow DAG.

detect → clean (Spark) → manifest → stage → dbt build (audit) → publish marts → CURRENT + ledger.
Each step is a plain function of the settings so that Airflow tasks stay one-liners. Nothing is
visible to readers until `publish`: the marts swap in one transaction, then CURRENT moves.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from imdb_elt import build_state, lake, report
from imdb_elt.config import REPO_ROOT, Settings
from imdb_elt.dbt_runner import DbtOutcome, run_dbt
from imdb_elt.locking import RunLockedError, run_lock


class PipelineError(RuntimeError):
    """A step failed; the message names the step and what to look at."""


@dataclass
class Detection:
    new: list[lake.Delivery]
    already_processed: list[lake.Delivery]
    missing: list[str]


@dataclass
class RunResult:
    run_id: str
    status: str  # success | nothing_new | failed
    report: dict = field(default_factory=dict)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status in ("success", "nothing_new")


def detect(settings: Settings) -> Detection:
    """Which catalogue files are in the raw zone, and which of them the ledger has not seen."""
    deliveries, missing = lake.list_deliveries(settings)
    new, known = lake.new_deliveries(settings, deliveries)
    return Detection(new=new, already_processed=known, missing=missing)


def clean(settings: Settings, snapshot_id: str, deliveries: list[lake.Delivery]) -> dict:
    """Run the Spark cleaning job on the new deliveries (local mode) and return its stats.

    The job runs in its own process, as spark-submit would run it on EMR: the JVM and its
    memory go away with it, and a crash cannot take the orchestrator down.
    """
    if settings.spark_mode != "local":
        raise PipelineError(
            f"IMDB_SPARK_MODE={settings.spark_mode!r}: the local runner only runs Spark locally; "
            "EMR modes run from the Airflow DAG"
        )
    cmd = [
        sys.executable,
        "-m",
        "spark_jobs.clean_imdb",
        "--raw-dir",
        settings.raw_dir,
        "--lake-dir",
        settings.lake_dir,
        "--snapshot-id",
        snapshot_id,
        "--files",
        ",".join(d.file_name for d in deliveries),
        "--threshold",
        str(settings.quarantine_threshold),
        "--master",
        settings.spark_master,
        "--driver-memory",
        settings.spark_driver_memory,
    ]
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stderr=subprocess.PIPE, text=True, errors="replace")
    assert proc.stderr is not None
    refusals = []
    for line in proc.stderr:  # echo the job's log, keep its refusals for the report
        sys.stderr.write(line)
        if line.startswith("clean_imdb: "):
            refusals.append(line.removeprefix("clean_imdb: ").strip())
    returncode = proc.wait()
    if returncode != 0 or not lake.spark_completed(settings, snapshot_id):
        reason = "; ".join(refusals) or "see the job's log above"
        raise PipelineError(
            f"Spark cleaning failed (exit {returncode}) for snapshot {snapshot_id}: {reason}. "
            "Nothing was published."
        )
    return lake.read_spark_stats(settings, snapshot_id)


def prepare_snapshot(settings: Settings, snapshot_id: str, spark_stats: dict) -> dict:
    manifest = lake.build_manifest(settings, snapshot_id, spark_stats)
    lake.write_manifest(settings, manifest)
    return manifest


def stage(settings: Settings, manifest: dict) -> dict[str, int]:
    """Point the warehouse's raw relations at the manifest's datasets.

    From here on the audit schema may diverge from the published marts, so the saved build
    state goes first: whatever happens next, a later run only trusts a state saved after publish.
    """
    from imdb_elt.warehouse import stage_snapshot  # the adapters' imports cost ~1 s

    build_state.forget(settings)
    return stage_snapshot(settings, {name: d["path"] for name, d in manifest["datasets"].items()})


def expected_rows(manifest: dict) -> dict[str, int]:
    """The reconciliation figures: rows Spark wrote per dataset of the snapshot."""
    return {name: d["rows"] for name, d in manifest["datasets"].items()}


def dbt_vars(manifest: dict) -> dict:
    """The run's dbt vars for the Airflow DAG's Cosmos tasks: the snapshot and the figures."""
    return {"snapshot_id": manifest["snapshot_id"], "expected_rows": expected_rows(manifest)}


def dbt_run_env(manifest: dict) -> dict[str, str]:
    """The local runner hands the figures over in an env var, not a var: a var that changes
    every run costs dbt a full re-parse of the project (~9 s) on every run."""
    return {"IMDB_EXPECTED_ROWS": json.dumps(expected_rows(manifest), sort_keys=True)}


def build(
    settings: Settings,
    manifest: dict,
    selection: list[str] | None = None,
    previous: dict | None = None,
) -> DbtOutcome:
    """dbt build into the audit schema: models, then their tests; a failing test stops here.

    With a selection (see build_state), only those nodes and their tests, compared with the
    ``previous`` manifest for ``state:modified``.
    """
    if not selection or previous is None:
        return run_dbt(settings, ["build"], extra_env=dbt_run_env(manifest))
    with build_state.state_dir(previous) as folder:
        args = ["build", "--select", " ".join(selection), "--state", folder]
        return run_dbt(settings, args, extra_env=dbt_run_env(manifest))


def publish_marts(settings: Settings, only: list[str] | None = None) -> DbtOutcome:
    """Copy the audit marts (all, or the ``only`` ones a selective build rebuilt) to the marts."""
    args = ["run-operation", "publish_marts"]
    if only is not None:
        args += ["--args", json.dumps({"only": sorted(only)})]
    return run_dbt(settings, args)


def publish_snapshot(settings: Settings, manifest: dict, deliveries: list[lake.Delivery]) -> list[str]:
    """Move CURRENT, record the deliveries, prune old snapshots: the last writes of a run."""
    lake.set_current(settings, manifest["snapshot_id"])
    lake.append_ledger(settings, lake.ledger_entries(deliveries, manifest["snapshot_id"]))
    return lake.prune_snapshots(settings)


def run_once(settings: Settings, *, rebuild: bool = False) -> RunResult:
    """One whole run. Returns a result (never raises for a failed step) with its report written."""
    run_id = lake.new_snapshot_id()
    started = time.perf_counter()
    rep = report.new_report(run_id, settings)
    result = RunResult(run_id=run_id, status="failed", report=rep)
    try:
        with run_lock(settings):
            _run_steps(settings, run_id, rep, rebuild=rebuild)
        result.status = rep["status"]
    except RunLockedError as exc:  # the other run owns latest.json: record this one apart
        result.error = rep["error"] = f"{type(exc).__name__}: {exc}"
        rep["status"] = "refused"
        rep["seconds"] = round(time.perf_counter() - started, 2)
        report.write_report(settings, rep, update_latest=False)
        return result
    except Exception as exc:  # the report records every failure, then the caller exits non-zero
        result.error = f"{type(exc).__name__}: {exc}"
        rep["status"] = "failed"
        rep["error"] = result.error
    rep["seconds"] = round(time.perf_counter() - started, 2)
    report.write_report(settings, rep)
    return result


def _run_steps(settings: Settings, run_id: str, rep: dict, *, rebuild: bool) -> None:
    found = detect(settings)
    rep["missing_inputs"] = found.missing
    rep["already_processed"] = [d.file_name for d in found.already_processed]
    rep["new_deliveries"] = [d.file_name for d in found.new]
    current = lake.current_manifest(settings)

    if not found.new and not (rebuild and current):
        rep["status"] = "nothing_new"
        rep["snapshot_id"] = current["snapshot_id"] if current else None
        return

    if found.new:
        snapshot_id = run_id
        print(f"cleaning {len(found.new)} new delivery file(s) into snapshot {snapshot_id}", flush=True)
        spark_stats = clean(settings, snapshot_id, found.new)
        rep["files"] = spark_stats["datasets"]
        manifest = prepare_snapshot(settings, snapshot_id, spark_stats)
    else:
        assert current is not None
        print(f"no new deliveries: rebuilding the warehouse from snapshot {current['snapshot_id']}")
        manifest = current
    rep["snapshot_id"] = manifest["snapshot_id"]

    previous = None if rebuild else build_state.load_manifest(settings)
    selection = build_state.selectors(previous, [d.dataset for d in found.new]) if previous else None
    rep["staged_rows"] = stage(settings, manifest)
    outcome = build(settings, manifest, selection, previous)
    rep["dbt"] = report.dbt_summary(outcome, selection)
    if not outcome.ok:
        raise PipelineError(
            "dbt build failed: published marts are unchanged. "
            + "; ".join(outcome.failures[:5])
        )
    # Read now: the publish run-operation rewrites the target folder.
    manifest_file = Path(settings.dbt_target_path) / "manifest.json"
    built = json.loads(manifest_file.read_text()) if manifest_file.exists() else None
    published = publish_marts(settings, only=outcome.built_models if selection else None)
    if not published.ok:
        raise PipelineError("publishing the marts failed: published marts are unchanged")
    if built is not None:
        build_state.remember(settings, built)
    rep["pruned_snapshots"] = publish_snapshot(settings, manifest, found.new)
    rep["marts"] = report.mart_row_counts(settings)
    rep["status"] = "success"
