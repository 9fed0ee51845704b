"""Running dbt from the pipeline: dbt's Python API in this process, one invocation per command.

In-process rather than a ``dbt`` subprocess: the interpreter start and dbt's imports (several
seconds on a small machine) are paid once per run instead of once per command. The console gets
one line per finished model and test, in a stable order with a progress count (the progress a
person watches); dbt's full log goes to ``--log-path`` (``IMDB_LOG_DIR/<run>/``), which the run
summary names.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imdb_elt.config import DBT_PROFILE, DBT_PROJECT_DIR, PROFILES_DIR, Settings, dbt_environment

#: Node types that get a console line (a freshness check's sources do not).
_NODE_TYPES = frozenset({"model", "test", "unit_test", "seed", "snapshot", "exposure"})
_STATUS_WORDS = {"success": "ok", "pass": "pass", "skipped": "skipped", "error": "ERROR", "fail": "FAIL",
                 "warn": "WARN"}


@dataclass
class DbtOutcome:
    command: list[str]
    ok: bool
    seconds: float = 0.0
    results: list[dict[str, Any]] = field(default_factory=list)  # one per node, from run_results
    error: str | None = None
    log_file: str | None = None

    @property
    def built_models(self) -> list[str]:
        """Names of the models built successfully."""
        return [r["name"] for r in self.results if r["resource_type"] == "model" and r["status"] == "success"]

    @property
    def failures(self) -> list[str]:
        bad = [r for r in self.results if r["status"] in ("fail", "error") and r["message"]]
        found = [f"{r['unique_id']}: {r['message']}" for r in bad]
        return found or ([self.error] if self.error else [])


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """dbt reads env_var() from os.environ: set the run's values for the call, then restore."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def release_duckdb() -> None:
    """Close the DuckDB file dbt-duckdb keeps open after an in-process invocation.

    dbt-duckdb keeps its environment (and the file's single-writer lock) in a class attribute;
    the next writer (another invocation, a staging step, a reader) would fail with "Could not set
    lock on file". A no-op on other targets.
    """
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:
        return
    with DuckDBConnectionManager._LOCK:
        env, DuckDBConnectionManager._ENV = DuckDBConnectionManager._ENV, None
    if env is not None:
        env.close()


def node_results(run_results: dict[str, Any]) -> list[dict[str, Any]]:
    """The parts of dbt's run_results.json the run report keeps, one dict per node."""
    out = []
    for result in run_results.get("results", []):
        unique_id = result["unique_id"]
        out.append({
            "unique_id": unique_id,
            "resource_type": unique_id.split(".", 1)[0],
            "name": unique_id.split(".")[2] if unique_id.count(".") >= 2 else unique_id,
            "status": result["status"],
            "failures": result.get("failures"),
            "message": result.get("message"),
            "seconds": round(float(result.get("execution_time") or 0.0), 3),
        })
    return out


class _Progress:
    """One console line per finished node, in dbt's own order ("i of N", the order nodes start),
    with a progress count: ``[12/40] model  stg_imdb__titles  ok  1.2 s``. The count is dbt's
    own, as in its log file (dbt 1.11's ``build`` counts each unit test twice in N).

    With several threads nodes finish out of that order; a finished node's line waits until
    every node before it has its own, so the console reads the same whatever the timing. A test
    that warns or fails says how many rows it found; an error, its first line. Error-level
    messages are kept for the outcome (a failed run-operation has no run result to say why).
    """

    def __init__(self, echo: Callable[[str], None], errors: list[str]) -> None:
        self.echo, self.errors = echo, errors
        self.index_of: dict[str, int] = {}
        self.ready: dict[int, str] = {}
        self.next, self.total = 1, 0

    def line(self, index: int, kind: str, name: str, status: str, seconds: float | None,
             failures: int | None = None, message: str = "") -> str:
        word = _STATUS_WORDS.get(status, status)
        if status in ("warn", "fail") and failures is not None:
            word = f"{word} {failures}"
        width = len(str(self.total or index))
        text = f"  dbt | [{index:>{width}}/{self.total or '?'}] {kind:<9} {name:<50} {word:<7}"
        if seconds is not None:
            text += f" {seconds:6.1f} s"
        if status == "error" and message:
            text += f"  {message.strip().splitlines()[0][:160]}"
        return text.rstrip()

    def __call__(self, event: Any) -> None:
        name = event.info.name
        if event.info.level == "error" and event.info.msg:
            self.errors.append(event.info.msg)
        data = event.data
        if name in ("LogStartLine", "LogNodeNoOpResult"):  # a node's place in dbt's order
            self.total = data.total or self.total
            self.index_of[data.node_info.unique_id] = data.index
        elif name == "NodeFinished" and data.node_info.resource_type in _NODE_TYPES:
            result = data.run_result
            if result.status == "skipped":
                return  # SkippingDetails said it, with its index
            index = self.index_of.get(data.node_info.unique_id)
            line = self.line(index or 0, data.node_info.resource_type, data.node_info.node_name,
                             result.status, result.execution_time, result.num_failures, result.message)
            self.add(index, line)
        elif name == "SkippingDetails" and data.resource_type in _NODE_TYPES:
            self.total = data.total or self.total
            self.add(data.index, self.line(data.index, data.resource_type, data.node_name, "skipped", None))

    def add(self, index: int | None, line: str) -> None:
        if index is None:
            self.echo(line)
            return
        self.ready[index] = line
        while self.next in self.ready:
            self.echo(self.ready.pop(self.next))
            self.next += 1

    def flush(self) -> None:
        """Whatever waits behind a node that never finished (the build stopped)."""
        for index in sorted(self.ready):
            self.echo(self.ready.pop(index))


def run_dbt(
    settings: Settings,
    args: list[str],
    *,
    extra_env: dict[str, str] | None = None,
    log_path: str | None = None,
    target_path: str | None = None,
    echo: Callable[[str], None] | None = None,
) -> DbtOutcome:
    """Run one dbt command against the project in this process; never raises on a dbt failure."""
    from dbt.cli.main import dbtRunner  # deferred: ~2 s of imports a nothing-new run never pays

    target_dir = Path(target_path or settings.dbt_target_path)
    log_dir = Path(log_path) if log_path else target_dir.parent / "logs"
    command = [
        *args,
        "--project-dir", str(DBT_PROJECT_DIR),
        "--profiles-dir", str(PROFILES_DIR),
        # The same --profile and --target as Cosmos' tasks: else each re-parses the project.
        "--profile", DBT_PROFILE,
        "--target", settings.dbt_target,
        "--target-path", str(target_dir),
        "--log-path", str(log_dir),
        "--quiet",  # the console gets _Progress's lines; everything goes to the log file
    ]
    if not sys.stdout.isatty():
        command.append("--no-use-colors")
    results_file = target_dir / "run_results.json"
    results_file.unlink(missing_ok=True)
    errors: list[str] = []
    progress = _Progress(echo or (lambda line: print(line, flush=True)), errors)
    started = time.perf_counter()
    env = {**dbt_environment(settings), **(extra_env or {})}
    try:
        with _environment(env):
            res = dbtRunner(callbacks=[progress]).invoke(command)
    finally:
        progress.flush()
        release_duckdb()
    error = f"{type(res.exception).__name__}: {res.exception}" if res.exception else None
    if not res.success and error is None and errors:
        error = " | ".join(line.strip() for line in errors[-3:])[:2000]
    outcome = DbtOutcome(
        command=["dbt", *command],
        ok=bool(res.success),
        seconds=round(time.perf_counter() - started, 2),
        error=error,
        log_file=str(log_dir / "dbt.log"),
    )
    if results_file.exists():
        outcome.results = node_results(json.loads(results_file.read_text()))
    return outcome


def list_nodes(settings: Settings, select: list[str], state_dir: str | None = None,
               resource_types: tuple[str, ...] = ("model",), output: str = "name") -> list[str]:
    """The nodes a selection picks (``dbt ls``), as names or as selectors, for a run's plan."""
    from dbt.cli.main import dbtRunner

    command = ["ls", "--select", " ".join(select), "--output", output,
               "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(PROFILES_DIR),
               "--profile", DBT_PROFILE, "--target", settings.dbt_target,
               "--target-path", settings.dbt_target_path,
               "--log-level", "none"]  # not --quiet: `ls` prints its list to the console despite it
    for resource_type in resource_types:
        command += ["--resource-type", resource_type]
    if state_dir:
        command += ["--state", state_dir]
    with _environment(dbt_environment(settings)):
        res = dbtRunner().invoke(command)
    if not res.success:
        raise RuntimeError(f"dbt ls {' '.join(select)} failed: {res.exception}")
    return sorted(set(res.result or []))
