"""Wall time and peak memory of a command and every process it starts.

The pipeline's memory is mostly not its own: the Spark JVM and dbt run as children. Polling the
whole process tree is the only way to see the peak a machine must actually hold, so each step
runs in a subprocess and its tree is sampled every ~100 ms.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

SAMPLE_INTERVAL_SECONDS = 0.1
#: A step that runs for minutes (SF=1) says every so often how long it has run and what it last printed.
HEARTBEAT_SECONDS = 60.0


@dataclass
class Measurement:
    """What one command cost."""

    command: list[str]
    returncode: int
    seconds: float
    peak_rss_bytes: int
    output_tail: str  # last lines of stdout+stderr, to explain a failure

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def peak_rss_mib(self) -> float:
        return self.peak_rss_bytes / 2**20


def tree_rss(proc: psutil.Process) -> int:
    """Resident memory of a process and all its descendants, each address space counted once.

    A process that starts a program (the JVM runs ``chmod`` for every file it writes to the local
    file system) briefly has a child that shares or has just copied its address space: between
    the fork (or vfork) and the exec, the child reports the parent's resident memory as its own.
    Summing both doubled the Spark JVM's memory in about one sample in a thousand (a 1.8 GiB run
    read as 3.6 GiB), so such a child counts as nothing.
    """
    try:
        members = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    usage: dict[int, tuple[int, int, int]] = {}  # pid: (parent pid, rss, vms)
    for member in members:
        try:
            info = member.memory_info()
            usage[member.pid] = (member.ppid(), info.rss, info.vms)
        except psutil.Error:  # a child may exit between listing and reading
            continue
    return resident_once(usage)


def resident_once(usage: Mapping[int, tuple[int, int, int]]) -> int:
    """Sum of ``rss`` over ``{pid: (parent pid, rss, vms)}``, without a child whose resident and
    virtual sizes both equal its parent's: it is between fork and exec, the parent's memory."""
    total = 0
    for ppid, rss, vms in usage.values():
        parent = usage.get(ppid)
        if parent is not None and (parent[1], parent[2]) == (rss, vms):
            continue
        total += rss
    return total


def pids_rss(pids: Iterable[int]) -> int:
    total = 0
    for pid in pids:
        try:
            total += psutil.Process(pid).memory_info().rss
        except psutil.Error:
            continue
    return total


class _PeakSampler(threading.Thread):
    def __init__(self, pid: int, also: Callable[[], Iterable[int]] | None = None) -> None:
        super().__init__(daemon=True)
        self.peak = 0
        self._proc = psutil.Process(pid)
        self._also = also
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            extra = pids_rss(self._also()) if self._also else 0
            self.peak = max(self.peak, tree_rss(self._proc) + extra)
            self._stop_event.wait(SAMPLE_INTERVAL_SECONDS)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


class _Heartbeat(threading.Thread):
    """Every HEARTBEAT_SECONDS: elapsed time, memory so far and the step's last output line."""

    def __init__(self, started: float, sampler: _PeakSampler, lines: list[str]) -> None:
        super().__init__(daemon=True)
        self._since, self._sampler, self._lines = started, sampler, lines
        self._interval = HEARTBEAT_SECONDS
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self._interval):
            last = self._lines[-1].strip() if self._lines else "(no output yet)"
            elapsed, peak_mib = time.perf_counter() - self._since, self._sampler.peak / 2**20
            print(f"    … {elapsed:,.0f} s, peak {peak_mib:,.0f} MiB; last line: {last[:200]}", flush=True)

    def stop(self) -> None:
        self._stop_event.set()
        if self.is_alive():
            self.join()


def run_measured(
    command: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    echo: bool = False,
    timeout: float | None = None,
    log_file: str | Path | None = None,
    also: Callable[[], Iterable[int]] | None = None,
) -> Measurement:
    """Run ``command`` to completion; never raises on a non-zero exit (check ``ok``).

    Output is captured (and echoed when asked) so a failing step can be explained; the full log
    goes to ``log_file`` if given. ``also`` lists processes outside the command's tree whose
    memory counts too (a standalone cluster's executors are its workers' children).
    """
    full_env = {**os.environ, **(env or {})}
    started = time.perf_counter()
    proc = subprocess.Popen(
        list(command),
        env=full_env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
    )
    sampler = _PeakSampler(proc.pid, also)
    sampler.start()
    lines: list[str] = []
    heartbeat = _Heartbeat(started, sampler, lines)
    if not echo:
        heartbeat.start()
    log = open(log_file, "w", buffering=1) if log_file else None  # noqa: SIM115 - closed below; line-buffered for tail -f
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if len(lines) > 400:
                del lines[:200]
            if log:
                log.write(line)
            if echo:
                print(f"    | {line.rstrip()}", flush=True)
        returncode = proc.wait(timeout=timeout)
    finally:
        seconds = time.perf_counter() - started
        heartbeat.stop()
        sampler.stop()
        if log:
            log.close()
        if proc.poll() is None:
            proc.kill()
    return Measurement(
        command=list(command),
        returncode=returncode,
        seconds=seconds,
        peak_rss_bytes=sampler.peak,
        output_tail="".join(lines[-40:]),
    )
