"""The run engine: one plan and one set of steps, for the command line and the Airflow DAG.

    detect → clean → stage → build → publish → finish

``detect`` takes the lake's run lease and makes the :class:`Plan` once: the run (and snapshot)
id, the new deliveries, the dbt selection (which the command line makes while the Spark job
runs: the build is the first step to need it). Every later step takes the plan, does its work and
records what it did in it; ``finish`` writes the run report (the plan itself), prints the
summary and gives the lease back. ``python -m imdb_elt run`` runs the steps in a loop
(:func:`run_once`); the DAG runs each step as a task and hands the plan on through XCom. A plan
whose status is no longer ``running`` (nothing new, refused, failed) makes every later step a
no-op: the command line stops, the DAG's tasks skip.

Nothing is visible to readers until ``publish``: the marts swap in one transaction, then CURRENT
moves and the ledger records the deliveries.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from imdb_elt import alerts, build_state, lake, lineage, locking, report, run_history, run_lineage
from imdb_elt.config import REPO_ROOT, Settings
from imdb_elt.dbt_runner import DbtOutcome, list_nodes, run_dbt

RUNNING = "running"
SUCCESS = "success"
NOTHING_NEW = "nothing_new"
REFUSED = "refused"
FAILED = "failed"


class PipelineError(RuntimeError):
    """A step failed; the message names the step and what to look at."""


@dataclass
class Plan:
    """What a run will do and, as its steps go, what it did. Serialised, it is the run report."""

    run_id: str
    orchestrator: str  # "cli" | "airflow"
    started_at: str
    raw_dir: str
    lake_dir: str
    dbt_target: str
    rebuild: bool = False
    status: str = RUNNING
    snapshot_id: str | None = None
    deliveries: list[dict] = field(default_factory=list)  # the new deliveries (lake.Delivery)
    new_deliveries: list[str] = field(default_factory=list)
    already_processed: list[str] = field(default_factory=list)
    missing_inputs: list[str] = field(default_factory=list)
    ignored_files: list[str] = field(default_factory=list)  # raw-zone files the product never reads
    # dbt selection: None builds everything; else {"selectors": the dbt selectors (new sources,
    # modified code), "models": the model names they pick, "nodes": those models and sources as
    # dbt selectors, "seconds": what `dbt ls` took}, resolved once by `dbt ls` against the last
    # published build's manifest.
    selection: dict | None = None
    files: dict = field(default_factory=dict)  # Spark stats per dataset
    # Where Spark ran: mode and master; on a cluster also the executors and the tasks each ran
    # (imdb_elt.spark_events, from Spark's event log).
    spark: dict = field(default_factory=dict)
    manifest: dict | None = None  # the snapshot manifest (dataset -> Parquet folder, rows)
    staged_rows: dict = field(default_factory=dict)
    # Per source (`imdb.title_basics`): its newest `_loaded_at`, age, dbt's verdict (report.freshness).
    freshness: dict = field(default_factory=dict)
    dbt: dict = field(default_factory=dict)
    published: list[str] | None = None
    pruned_snapshots: list[str] = field(default_factory=list)
    marts_schema: str = "marts"
    marts: dict = field(default_factory=dict)
    logs: dict = field(default_factory=dict)  # what -> local log file
    error: str | None = None
    failed_task: str | None = None  # the step (command line) or Airflow task that failed
    log_url: str | None = None  # Airflow's log of that task
    finished_at: str | None = None
    seconds: float | None = None
    # Wall seconds of each command-line step (detect, clean, stage, build, publish): where a run's
    # time goes (docs/benchmarks.md names the sample run's seconds from it).
    step_seconds: dict = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    @property
    def active(self) -> bool:
        return self.status == RUNNING

    @property
    def new(self) -> list[lake.Delivery]:
        return [lake.Delivery(**d) for d in self.deliveries]

    @property
    def expected_rows(self) -> dict[str, int]:
        """The reconciliation figures: rows Spark wrote per dataset of the snapshot."""
        return {name: d["rows"] for name, d in (self.manifest or {}).get("datasets", {}).items()}

    @property
    def models(self) -> list[str] | None:
        """The models this run builds (None: all of them)."""
        return None if self.selection is None else self.selection["models"]

    def log_dir(self, settings: Settings) -> Path:
        return Path(settings.log_dir) / self.run_id


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# ---- detect ------------------------------------------------------------------------------------


def detect(settings: Settings, *, orchestrator: str = "cli", rebuild: bool = False) -> Plan:
    """Take the run lease and make the plan; a run with nothing to do gives the lease back."""
    plan, select = _detect(settings, orchestrator=orchestrator, rebuild=rebuild)
    if select is not None:
        select()
    return plan


def _detect(settings: Settings, *, orchestrator: str = "cli",
            rebuild: bool = False) -> tuple[Plan, Callable[[], None] | None]:
    """:func:`detect`, with the dbt selection left to the caller: a call that fills
    ``plan.selection`` (about 3 s of dbt's start and parse), or None when there is none to make.
    The command line makes it while the Spark job runs; it is only needed by the build."""
    plan = Plan(
        run_id=lake.new_snapshot_id(),
        orchestrator=orchestrator,
        started_at=_now(),
        raw_dir=settings.raw_dir,
        lake_dir=settings.lake_dir,
        dbt_target=settings.dbt_target,
        rebuild=rebuild,
        marts_schema=settings.marts_schema,
    )
    holder = "process" if orchestrator == "cli" else "run"
    try:
        locking.acquire(settings, plan.run_id, holder=holder)
    except locking.RunLockedError as exc:
        plan.status, plan.error = REFUSED, f"{type(exc).__name__}: {exc}"
        return plan, None
    try:
        select = _plan_work(settings, plan)
    except BaseException:
        locking.release(settings, plan.run_id)
        raise
    if not plan.active:
        locking.release(settings, plan.run_id)
        return plan, None
    return plan, select


def _plan_work(settings: Settings, plan: Plan) -> Callable[[], None] | None:
    zone = lake.list_deliveries(settings)
    plan.missing_inputs, plan.ignored_files = zone.missing, zone.ignored
    if zone.conflicts:  # which of the two is the delivery? Nothing is cleaned until one is gone.
        plan.status = FAILED
        plan.error = "; ".join(
            f"{' and '.join(names)} are both in the raw zone: one input delivered twice "
            f"(gzipped and not); remove the one that is not the delivery" for names in zone.conflicts
        )
        return None
    new, known = lake.new_deliveries(settings, zone.deliveries)
    plan.deliveries = [asdict(d) for d in new]
    plan.new_deliveries = [d.file_name for d in new]
    plan.already_processed = [d.file_name for d in known]
    current = lake.current_manifest(settings)
    if not new and not (plan.rebuild and current):
        plan.status = NOTHING_NEW
        plan.snapshot_id = current["snapshot_id"] if current else None
        return None
    plan.snapshot_id = plan.run_id if new else current["snapshot_id"]  # type: ignore[index]
    previous = None if plan.rebuild else build_state.load_manifest(settings)
    selectors = build_state.selectors(previous, [d.dataset for d in new]) if previous else None
    if not selectors or previous is None:
        return None

    def select() -> None:
        if plan.selection is not None:  # made already
            return
        started = time.perf_counter()
        with build_state.state_dir(previous) as folder:
            models = list_nodes(settings, selectors, folder, ("model",), "name")
            # Models and the new sources (whose tests, the reconciliation among them, gate the build).
            nodes = list_nodes(settings, selectors, folder, ("model", "source"), "selector")
        plan.selection = {"selectors": selectors, "models": models, "nodes": nodes,
                          "seconds": round(time.perf_counter() - started, 2)}

    return select


# ---- clean -------------------------------------------------------------------------------------

#: Lines of the cleaning job's output that reach the console (its own progress and refusals);
#: everything else (the JVM's and Spark's logging) goes to the run's spark.log.
_JOB_LINES = (" spark_jobs.", "clean_imdb: ")


def clean(settings: Settings, plan: Plan, while_running: Callable[[], None] | None = None) -> None:
    """Run the Spark cleaning job on the new deliveries, then record the snapshot.

    The job runs in its own process, as spark-submit would run it on EMR: the JVM and its
    memory go away with it, and a crash cannot take the orchestrator down. ``local``: the job
    starts its own local Spark; ``standalone``: the packaged bundle is submitted to a standalone
    cluster (imdb_elt.spark_submit), started here for the step unless one is already up.
    ``while_running``: other work of the run (the command line's dbt selection), done once the
    job has started.
    """
    if not plan.new:  # a rebuild of the current snapshot: nothing to clean (and no selection)
        plan.manifest = lake.current_manifest(settings)
        return
    log_file = plan.log_dir(settings) / "spark.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    plan.logs["spark"] = str(log_file)
    if settings.spark_mode == "local":
        from imdb_elt import spark_scratch
        from imdb_elt.spark_submit import job_arguments

        plan.spark = {"mode": "local", "master": settings.spark_master}
        with spark_scratch.run_folder(settings, plan.run_id) as scratch:
            cmd = [sys.executable, "-m", "spark_jobs.clean_imdb", *job_arguments(settings, asdict(plan)),
                   "--master", settings.spark_master, "--driver-memory", settings.spark_driver_memory,
                   "--scratch-dir", str(scratch)]  # fmt: skip
            # The job emits its own lineage events, under this run's (imdb_elt/lineage.py).
            env = {**os.environ, **lineage.child_env()}
            returncode, refusals = _run_job(plan, cmd, REPO_ROOT, env, log_file, while_running)
    elif settings.spark_mode == "standalone":
        from imdb_elt.spark_bundle import BundleError
        from imdb_elt.spark_cluster import ClusterError
        from imdb_elt.spark_submit import on_cluster

        try:
            with on_cluster(settings, asdict(plan), plan.log_dir(settings),
                            log=lambda text: print(text, flush=True)) as job:
                try:
                    returncode, refusals = _run_job(plan, job.command, job.cwd, job.env, log_file,
                                                    while_running)
                finally:
                    plan.spark = job.read_placement()
        except (BundleError, ClusterError) as exc:
            raise PipelineError(f"Spark cleaning could not start on a cluster: {exc}") from exc
    else:
        raise PipelineError(
            f"IMDB_SPARK_MODE={settings.spark_mode!r}: the local runner runs Spark locally or on a "
            "standalone cluster; EMR modes run from the Airflow DAG"
        )
    if returncode != 0 or not lake.spark_completed(settings, plan.run_id):
        reason = "; ".join(refusals) or f"see {log_file}"
        raise PipelineError(
            f"Spark cleaning failed (exit {returncode}) for snapshot {plan.run_id}: {reason}. "
            "Nothing was published."
        )
    record_snapshot(settings, plan)


def _run_job(plan: Plan, cmd: list[str], cwd: Path, env: dict[str, str] | None, log_file: Path,
             while_running: Callable[[], None] | None = None) -> tuple[int, list[str]]:
    """Run the job's process, its output into the log and its own lines to the console.

    The job stays in this process's group (a Ctrl-C or a kill of the group reaches it), is ended
    here whatever ends this function, and gets SIGTERM if this process dies without a word.
    ``while_running`` runs in this thread once the process has started, before its output is read:
    the job's start-up writes little, well within the pipe's buffer. In this thread rather than
    another one, because dbt sets its variables in ``os.environ`` while it runs.
    """
    from imdb_elt.spark_cluster import die_with_parent, terminate_tree

    print(f"cleaning {len(plan.new)} new delivery file(s) into snapshot {plan.run_id} "
          f"(Spark log: {log_file})", flush=True)
    refusals = []
    with open(log_file, "w", encoding="utf-8") as log:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, errors="replace", preexec_fn=die_with_parent)
        try:
            assert proc.stdout is not None
            if while_running is not None:
                while_running()
            for line in proc.stdout:
                log.write(line)
                if any(marker in line for marker in _JOB_LINES):
                    print("  spark | " + line.rstrip().split(": ", 1)[-1], flush=True)
                if line.startswith("clean_imdb: "):
                    refusals.append(line.removeprefix("clean_imdb: ").strip())
            return proc.wait(), refusals
        finally:
            if proc.poll() is None:  # abandoned (an error, Ctrl-C): the job and what it started
                terminate_tree(proc)


def record_snapshot(settings: Settings, plan: Plan) -> None:
    """Read the job's stats from the lake and write the snapshot's manifest.

    The job's success marker is the proof it finished (on EMR the DAG learns nothing else).
    """
    if not lake.spark_completed(settings, plan.run_id):
        raise PipelineError(
            f"the Spark job for snapshot {plan.run_id} did not finish: "
            f"{settings.snapshot_dir(plan.run_id)}/{lake.SPARK_DONE_MARKER} is missing"
        )
    stats = lake.read_spark_stats(settings, plan.run_id)
    plan.files = stats["datasets"]
    plan.manifest = lake.build_manifest(settings, plan.run_id, stats)
    lake.write_manifest(settings, plan.manifest)


# ---- stage and build ---------------------------------------------------------------------------


def stage(settings: Settings, plan: Plan) -> None:
    """Point the warehouse's raw relations at the manifest's datasets.

    From here on the audit schema may diverge from the published marts, so the saved build
    state goes first: whatever happens next, a later run only trusts a state saved after publish.
    """
    from imdb_elt.warehouse import stage_snapshot  # the adapters' imports cost ~1 s

    assert plan.manifest is not None
    build_state.forget(settings)
    datasets = {n: d["path"] for n, d in plan.manifest["datasets"].items()}
    with run_lineage.staging(settings, plan.manifest) as staged:
        plan.staged_rows = staged(stage_snapshot(settings, datasets))
    check_freshness(settings, plan)


def check_freshness(settings: Settings, plan: Plan) -> None:
    """`dbt source freshness` on what was just staged: each source's `_loaded_at` age goes into
    the report, and a stale source is a warning there, never a failure of the run: the data is
    what was delivered, and an operator should see how old it is (warn/error ages: the sources YAML).

    The same environment as the build, so the build reuses this invocation's parse.
    """
    results_file = Path(settings.dbt_target_path) / "sources.json"
    results_file.unlink(missing_ok=True)
    outcome = run_dbt(settings, ["source", "freshness"], extra_env=dbt_run_env(plan),
                      log_path=str(plan.log_dir(settings)))
    results = json.loads(results_file.read_text()) if results_file.exists() else {}
    plan.freshness = report.freshness(results, outcome.error)


def dbt_run_env(plan: Plan) -> dict[str, str]:
    """The figures reach dbt in an env var, not a var: a var that changes every run costs dbt a
    full re-parse of the project (~9 s) on every run."""
    return {"IMDB_EXPECTED_ROWS": json.dumps(plan.expected_rows, sort_keys=True)}


def build(settings: Settings, plan: Plan) -> None:
    """dbt build into the audit schema: models, then their tests; a failing test stops here."""
    args = ["build"]
    log_path = str(plan.log_dir(settings))
    plan.logs["dbt"] = str(Path(log_path) / "dbt.log")
    if plan.selection:
        args += ["--select", " ".join(plan.selection["nodes"])]
    outcome = run_dbt(settings, args, extra_env=dbt_run_env(plan), log_path=log_path)
    run_lineage.emit_dbt_build(settings)  # before publish's run-operation replaces run_results.json
    record_build(settings, plan, outcome.results, outcome.seconds, outcome.error)
    if not outcome.ok:
        raise PipelineError(
            "dbt build failed: published marts are unchanged. " + "; ".join(outcome.failures[:5])
        )


def record_build(settings: Settings, plan: Plan, results: list[dict], seconds: float,
                 error: str | None = None) -> None:
    plan.dbt = report.dbt_summary(results, seconds, plan.models, error)


# ---- publish -----------------------------------------------------------------------------------


def publish_marts(settings: Settings, only: list[str] | None, log_path: str | None = None) -> DbtOutcome:
    """Copy the audit marts (all, or the ``only`` ones a selective build rebuilt) to the marts."""
    args = ["run-operation", "publish_marts"]
    if only is not None:
        args += ["--args", json.dumps({"only": sorted(only)})]
    return run_dbt(settings, args, log_path=log_path)


def publish(settings: Settings, plan: Plan) -> None:
    """The last writes of a run: marts, then CURRENT and the ledger, then pruning.

    The lease is checked first: a run that lost it (it stalled past IMDB_LOCK_STALE_SECONDS and
    another run took over) must not publish.
    """
    locking.renew(settings, plan.run_id)
    manifest_file = Path(settings.dbt_target_path) / "manifest.json"
    built = json.loads(manifest_file.read_text()) if manifest_file.exists() else None
    rebuilt = [r["name"] for r in plan.dbt.get("nodes", []) if r["resource_type"] == "model"
               and r["status"] == "success"] if plan.selection else None
    with run_lineage.publishing(settings, built, rebuilt):
        outcome = publish_marts(settings, rebuilt, log_path=str(plan.log_dir(settings)))
        if not outcome.ok:
            raise PipelineError("publishing the marts failed: published marts are unchanged. "
                                + "; ".join(outcome.failures[:3]))
    if built is not None:
        build_state.remember(settings, built)
        build_state.remember_published(settings, built)
    assert plan.manifest is not None
    lake.set_current(settings, plan.manifest["snapshot_id"])
    lake.append_ledger(settings, lake.ledger_entries(plan.new, plan.manifest["snapshot_id"]))
    plan.pruned_snapshots = lake.prune_snapshots(settings)
    plan.published = report.published_mart_names(built) if rebuilt is None else sorted(rebuilt)
    plan.marts = report.mart_row_counts(settings, report.published_mart_names(built))
    plan.status = SUCCESS


# ---- finish ------------------------------------------------------------------------------------


def fail(plan: Plan, exc: BaseException, task: str | None = None) -> None:
    plan.status = FAILED
    plan.error = f"{type(exc).__name__}: {exc}"
    plan.failed_task = task or plan.failed_task


def finish(settings: Settings, plan: Plan) -> str:
    """Write the run report, give the lease back, return the summary a person reads."""
    plan.finished_at = _now()
    plan.logs.setdefault("report", f"{settings.reports_dir}/{plan.run_id}.json")
    started = datetime.fromisoformat(plan.started_at)
    plan.seconds = round((datetime.now(UTC) - started).total_seconds(), 2)
    # A refused run never held the lease: it records itself apart and leaves latest.json alone.
    report.write_report(settings, plan.to_dict(), update_latest=plan.status != REFUSED)
    # As soon as the report is written: the history in the warehouse, then whoever must be told.
    run_history.append(settings, plan.to_dict(), defer=plan.status == REFUSED)
    alerts.after_run(settings, plan.to_dict())
    if plan.status != REFUSED:
        locking.release(settings, plan.run_id)
    return report.format_summary(plan.to_dict())


#: The steps after detect, in order; the command line loops over them, the DAG maps them to tasks.
STEPS: tuple[Callable[[Settings, Plan], None], ...] = (clean, stage, build, publish)


def run_once(settings: Settings, *, rebuild: bool = False) -> Plan:
    """One whole run on the command line. Never raises for a failed step: the plan says."""
    started = time.perf_counter()
    plan, select = _detect(settings, rebuild=rebuild)
    plan.step_seconds["detect"] = round(time.perf_counter() - started, 2)
    step_name = None
    with run_lineage.pipeline_run(settings, plan):
        try:
            with (locking.kept_alive(settings, plan.run_id) if plan.active else _nothing(),
                  alerts.late_watch(settings, plan.run_id, plan.started_at) if plan.active else _nothing()):
                for step in STEPS:
                    if not plan.active:
                        break
                    step_name = step.__name__
                    started = time.perf_counter()
                    try:
                        if step is clean:  # dbt picks the selection while the Spark job runs
                            clean(settings, plan, while_running=select)
                        else:
                            if select is not None:  # a no-op once made; else made before the build
                                select()
                            step(settings, plan)
                    finally:
                        plan.step_seconds[step_name] = round(time.perf_counter() - started, 2)
        except Exception as exc:  # the report records every failure, then the caller exits non-zero
            fail(plan, exc, step_name)
    print(finish(settings, plan), flush=True)
    return plan


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
