"""`make profile`'s complete count of a JVM's CPU per thread kind, from /proc."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from benchmarks.jvm_cpu import ENDED, cpu_by_thread_kind, thread_cpu, thread_kind


def test_thread_kinds_from_the_names_proc_shows() -> None:
    assert thread_kind("Executor task l") == "executor tasks (the job's work)"
    assert thread_kind("C2 CompilerThre") == thread_kind("C1 CompilerThre") == "JIT compilers (C1, C2)"
    assert thread_kind("GC Thread#1") == thread_kind("G1 Conc#0") == "garbage collector (G1)"
    assert thread_kind("Thread-17") == "driver threads (planning, code generation, py4j)"
    assert thread_kind("dag-scheduler-e") == "other JVM threads"


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc")
def test_thread_cpu_counts_this_process_busy_thread() -> None:
    task_dir = Path(f"/proc/{os.getpid()}/task")
    before = thread_cpu(task_dir)
    deadline = time.process_time() + 0.3
    while time.process_time() < deadline:  # 0.3 s of CPU on this thread
        pass
    after = thread_cpu(task_dir)
    assert os.getpid() in after  # the main thread's id is the process id
    spent = cpu_by_thread_kind(before, after)
    assert 0.2 <= sum(spent.values()) <= 5


def test_a_new_thread_counts_whole_and_a_reused_id_restarts() -> None:
    before = {1: ("Executor task l", 5.0), 2: ("C2 CompilerThre", 1.0)}
    after = {1: ("Executor task l", 7.5), 2: ("Thread-3", 0.5), 3: ("C2 CompilerThre", 2.0)}
    assert cpu_by_thread_kind(before, after) == {
        "executor tasks (the job's work)": 2.5,
        "driver threads (planning, code generation, py4j)": 0.5,  # id 2 is another thread now
        "JIT compilers (C1, C2)": 2.0,
    }
    # What no live thread accounts for (a file's driver thread ended) is shown, not dropped.
    assert cpu_by_thread_kind(before, after, total_s=6.0)[ENDED] == pytest.approx(1.0)
