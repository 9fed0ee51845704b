"""A Spark JVM's CPU seconds per thread kind, counted from /proc (for `make profile`).

A complete count, which the flight recording's samples (a sixth of the CPU at SF=0.1) are not:
the executor threads doing the job's work, the JIT compilers, the collector, and the driver's
threads (planning and code generation, called from Python through py4j). The JIT's share is
invisible from inside the job. (Per file and step: ``imdb_elt.spark_events``.)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from pathlib import Path

from spark_jobs.progress import stat_cpu_seconds

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
    threads: dict[int, tuple[str, float]] = {}
    for task in task_dir.iterdir():
        try:
            comm = (task / "comm").read_text().strip()
            stat = (task / "stat").read_text()
        except OSError:  # the thread ended while being read
            continue
        threads[int(task.name)] = (comm, stat_cpu_seconds(stat))
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
