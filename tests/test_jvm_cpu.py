"""`make profile`'s complete CPU counts: per JVM thread kind (/proc) and per Spark job (event log)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from benchmarks.jvm_cpu import (
    ENDED,
    NO_DESCRIPTION,
    cpu_by_thread_kind,
    executor_cpu_by_description,
    read_event_log,
    thread_cpu,
    thread_kind,
)


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


def _job(job_id: int, stages: list[int], submitted: int, description: str | None) -> str:
    properties = {"spark.jobGroup.id": "clean title.principals.tsv.gz", "spark.scheduler.pool": "p"}
    if description is not None:
        properties["spark.job.description"] = description
    return json.dumps({
        "Event": "SparkListenerJobStart", "Job ID": job_id, "Submission Time": submitted,
        "Stage IDs": stages, "Properties": properties,
    })  # fmt: skip


def _task(stage: int, cpu_ns: int, deserialize_ns: int = 0) -> str:
    metrics = {"Executor Deserialize CPU Time": deserialize_ns, "Executor CPU Time": cpu_ns}
    return json.dumps({"Event": "SparkListenerTaskEnd", "Stage ID": stage, "Task Metrics": metrics})


EVENTS = [
    json.dumps({"Event": "SparkListenerLogStart", "Spark Version": "4.0.2"}),
    _job(0, [0, 1], 1000, "clean title.principals.tsv.gz: pass 1"),
    _task(0, 4_000_000_000, 25_000_000),
    _task(1, 1_000_000_000),
    _task(1, 500_000_000),
    _job(1, [2], 2000, "clean title.principals.tsv.gz: key check"),
    _task(2, 2_000_000_000),
    _job(2, [3], 2500, None),
    _task(3, 100_000_000),
    _job(3, [4], 9000, "clean title.principals.tsv.gz: pass 1"),  # after the recorded job
    _task(4, 7_000_000_000),
]


def test_executor_cpu_is_charged_to_its_job_description() -> None:
    spent = executor_cpu_by_description(EVENTS)
    assert spent == pytest.approx({
        "clean title.principals.tsv.gz: pass 1": 12.525,
        "clean title.principals.tsv.gz: key check": 2.0,
        NO_DESCRIPTION: 0.1,
    })  # fmt: skip
    later_left_out = executor_cpu_by_description(EVENTS, until_ms=5000)
    assert later_left_out["clean title.principals.tsv.gz: pass 1"] == pytest.approx(5.525)


def test_the_one_event_log_of_a_folder(tmp_path: Path) -> None:
    (tmp_path / "local-1796507963435").write_text("\n".join(EVENTS) + "\n")
    (tmp_path / ".local-1796507963435.crc").write_text("x")
    assert sum(read_event_log(tmp_path).values()) == pytest.approx(14.625)
    (tmp_path / "local-2").write_text("")
    with pytest.raises(SystemExit, match="expected one event log"):
        read_event_log(tmp_path)
