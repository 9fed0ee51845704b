"""Progress of long cleaning runs: which file is in which step, and how far it has got.

A gzip file is read by a single task, so Spark's own progress (tasks done) says nothing for
minutes. For a local file the JVM's read position in it is exact and free: ``/proc/<jvm>/fd``
holds the open file and ``/proc/<jvm>/fdinfo/<fd>`` its offset in the compressed bytes. Each
file's jobs run in their own job group, so the tasks done of its current stage are shown too
(the only figure on a cluster, where the files are on s3://).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from pyspark.sql import SparkSession

from spark_jobs import io

log = logging.getLogger("spark_jobs.clean_imdb")

#: Seconds between two progress lines.
INTERVAL_SECONDS = 15.0


def stat_cpu_seconds(stat: str) -> float:
    """User + system CPU seconds of a /proc ``stat`` line (a process's or one of its threads').

    The name field may hold spaces and parentheses: the fields are counted after its last ")";
    utime and stime are fields 14 and 15 of the line.
    """
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class _Running:
    path: str
    size: int
    step: str = "starting"
    started: float = field(default_factory=time.perf_counter)


def read_position(pid: int, path: Path) -> int | None:
    """The offset at which process ``pid`` reads ``path`` (the highest if opened several times)."""
    target = str(path.resolve())
    best = None
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return None
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") != target:
                continue
            with open(f"/proc/{pid}/fdinfo/{fd}") as info:
                pos = next(int(line.split()[1]) for line in info if line.startswith("pos:"))
        except (OSError, StopIteration, ValueError):
            continue
        best = pos if best is None else max(best, pos)
    return best


class Progress:
    """Logs one line per running file every ``interval`` seconds, from a daemon thread."""

    def __init__(self, spark: SparkSession, interval: float = INTERVAL_SECONDS) -> None:
        self._interval = interval
        self._tracker = spark.sparkContext.statusTracker()
        self._pid: int | None = None
        jvm = spark.sparkContext._jvm
        try:  # local mode: the executors run in this JVM
            if jvm is not None and spark.sparkContext.master.startswith("local"):
                self._pid = int(jvm.java.lang.ProcessHandle.current().pid())
        except Exception:  # no /proc-style introspection: steps and time only
            self._pid = None
        self._running: dict[str, _Running] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="clean-progress", daemon=True)

    def __enter__(self) -> Progress:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @staticmethod
    def job_group(name: str) -> str:
        """The job group a file's jobs run in (set by the thread that cleans it)."""
        return f"clean {name}"

    def _tasks(self, name: str) -> str:
        """``tasks 3/8`` of the file's newest running stage, or "" if none is known."""
        try:
            for job_id in sorted(self._tracker.getJobIdsForGroup(self.job_group(name)), reverse=True):
                job = self._tracker.getJobInfo(job_id)
                if job is None or job.status != "RUNNING":
                    continue
                for stage_id in sorted(job.stageIds, reverse=True):
                    stage = self._tracker.getStageInfo(stage_id)
                    if stage is not None and stage.numActiveTasks:
                        return f", tasks {stage.numCompletedTasks}/{stage.numTasks}"
        except Exception:  # progress is best effort: never fail a run over it
            return ""
        return ""

    def step(self, name: str, path: str, size: int, step: str) -> None:
        """``name`` (a raw file) is now in ``step`` (e.g. "pass 1: parse and write")."""
        with self._lock:
            running = self._running.setdefault(name, _Running(path, size))
            running.step = step

    def done(self, name: str) -> None:
        with self._lock:
            self._running.pop(name, None)

    def cpu_seconds(self) -> float | None:
        """CPU time the JVM has used so far (local mode on Linux), else None."""
        if self._pid is None:
            return None
        try:
            with open(f"/proc/{self._pid}/stat") as stat:
                return stat_cpu_seconds(stat.read())
        except (OSError, IndexError, ValueError):
            return None

    def line(self, name: str, running: _Running) -> str:
        elapsed = time.perf_counter() - running.started
        text = f"{name}: {running.step}, {elapsed:.0f} s"
        local = io.local_path(running.path)
        if self._pid is not None and local is not None and running.size > 0:
            pos = read_position(self._pid, local)
            if pos is not None:
                share = min(1.0, pos / running.size)
                text += f", {share:.0%} of {running.size / 2**20:,.1f} MB read"
        return text + self._tasks(name)

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            with self._lock:
                running = dict(self._running)
            for name, item in sorted(running.items()):
                log.info("progress %s", self.line(name, item))
