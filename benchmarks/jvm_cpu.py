"""Where a Spark JVM's CPU seconds go, counted rather than sampled (for `make profile`).

Two complete counts, which the flight recording's samples (a sixth of the CPU at SF=0.1) are not:

* **per thread kind**, from ``/proc/<pid>/task``: the executor threads doing the job's work, the
  JIT compilers, the collector, and the driver's threads (planning and code generation, called
  from Python through py4j). The JIT's share is invisible from inside the job.
* **per job description**, from Spark's event log: each task's executor CPU time, charged to the
  description of its job. The cleaning job describes each job as ``clean <file>: <step>``
  (``spark_jobs.clean_file.job_description``), so this is the executor CPU per file and step.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path

#: The event log settings of a profiled session: one plain JSON-lines file per application.
EVENT_LOG_CONF = {
    "spark.eventLog.enabled": "true",
    "spark.eventLog.compress": "false",
    "spark.eventLog.rolling.enabled": "false",
}
NO_DESCRIPTION = "(no job description)"
ENDED = "threads that ended (one driver thread per file: planning, code generation)"


def thread_kind(comm: str) -> str:
    """A JVM thread's kind, from its name as /proc shows it (15 characters at most)."""
    name = comm.strip()
    if name.startswith("Executor task"):
        return "executor tasks (the job's work)"
    if "CompilerThre" in name:
        return "JIT compilers (C1, C2)"
    if name.startswith(("GC Thread", "G1 ")):
        return "garbage collector (G1)"
    if name.startswith("Thread-"):
        return "driver threads (planning, code generation, py4j)"
    return "other JVM threads"


def thread_cpu(task_dir: Path) -> dict[int, tuple[str, float]]:
    """Thread id → (name, CPU seconds so far) of every live thread under ``/proc/<pid>/task``."""
    ticks = os.sysconf("SC_CLK_TCK")
    threads: dict[int, tuple[str, float]] = {}
    for task in task_dir.iterdir():
        try:
            comm = (task / "comm").read_text().strip()
            stat = (task / "stat").read_text()
        except OSError:  # the thread ended while being read
            continue
        # Fields after the name, which may hold spaces and parentheses: state is field 3, then
        # utime and stime are fields 14 and 15.
        fields = stat[stat.rindex(")") + 2 :].split()
        threads[int(task.name)] = (comm, (int(fields[11]) + int(fields[12])) / ticks)
    return threads


def cpu_by_thread_kind(
    before: Mapping[int, tuple[str, float]],
    after: Mapping[int, tuple[str, float]],
    total_s: float | None = None,
) -> Counter[str]:
    """CPU seconds per thread kind between two ``thread_cpu`` readings.

    A thread that ended between them is gone from /proc with its seconds: the cleaning job's
    driver thread of each file ends with the file. Given the JVM's whole CPU time over the same
    span (``total_s``), what no live thread accounts for is reported as ``ENDED``.
    """
    spent: Counter[str] = Counter()
    for tid, (comm, seconds) in after.items():
        earlier = before.get(tid)
        start = earlier[1] if earlier and earlier[0] == comm else 0.0
        spent[thread_kind(comm)] += seconds - start
    if total_s is not None:
        spent[ENDED] = max(0.0, total_s - sum(spent.values()))
    return spent


def executor_cpu_by_description(lines: Iterable[str], until_ms: float | None = None) -> Counter[str]:
    """Executor CPU seconds per job description, from an event log's JSON lines.

    ``until_ms``: only jobs submitted up to then (epoch milliseconds), to leave out what the same
    application ran afterwards.
    """
    description: dict[int, str] = {}
    spent: Counter[str] = Counter()
    for line in lines:
        event = json.loads(line)
        kind = event.get("Event")
        if kind == "SparkListenerJobStart":
            if until_ms is not None and event.get("Submission Time", 0) > until_ms:
                continue
            text = (event.get("Properties") or {}).get("spark.job.description") or NO_DESCRIPTION
            for stage in event.get("Stage IDs", []):
                description[stage] = text
        elif kind == "SparkListenerTaskEnd" and event.get("Stage ID") in description:
            metrics = event.get("Task Metrics") or {}
            nanos = metrics.get("Executor CPU Time", 0) + metrics.get("Executor Deserialize CPU Time", 0)
            spent[description[event["Stage ID"]]] += nanos / 1e9
    return spent


def read_event_log(folder: Path, until_ms: float | None = None) -> Counter[str]:
    """``executor_cpu_by_description`` of the one application logged in ``folder``."""
    logs = [p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")]
    if len(logs) != 1:
        raise SystemExit(f"jvm_cpu: expected one event log in {folder}, found {[p.name for p in logs]}")
    with logs[0].open() as lines:
        return executor_cpu_by_description(lines, until_ms)
