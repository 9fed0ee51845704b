"""Where a Spark application ran, read from its event log: master, executors, tasks per executor.

Spark writes the event log itself (``spark.eventLog.enabled``), as its history server reads it:
one JSON event per line, here in a rolling folder ``eventlog_v2_<app id>/events_<n>_<app id>``
whose files are zstd-compressed by default (Spark 4). What it says does not depend on the job's
own claims: the executors the cluster manager gave the application, and where each task ran.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

#: Compression codecs of event log files, by file suffix, as pyarrow names them.
_CODECS = {".zstd": "zstd", ".lz4": "lz4", ".snappy": "snappy"}


def _event_files(app_dir: Path) -> list[Path]:
    """A rolling log's files in order (events_1_..., events_2_...), or a single-file log."""
    if app_dir.is_file():
        return [app_dir]

    def index(path: Path) -> int:
        match = re.match(r"events_(\d+)_", path.name)
        return int(match.group(1)) if match else 0

    return sorted((p for p in app_dir.iterdir() if p.name.startswith("events_")), key=index)


def _lines(path: Path) -> Iterator[str]:
    codec = next((c for suffix, c in _CODECS.items() if path.name.endswith(suffix)), None)
    if codec is None:
        yield from path.read_text(errors="replace").splitlines()
        return
    import pyarrow as pa

    with pa.input_stream(str(path), compression=codec) as stream:
        yield from stream.read().decode(errors="replace").splitlines()


def applications(event_dir: Path) -> list[Path]:
    """The application logs in an event log folder, oldest first."""
    if not event_dir.is_dir():
        return []
    found = [p for p in event_dir.iterdir() if p.name.startswith(("eventlog_v2_", "app-", "local-"))]
    return sorted(found, key=lambda p: p.stat().st_mtime)


def events(app_log: Path) -> Iterator[dict[str, Any]]:
    for path in _event_files(app_log):
        for line in _lines(path):
            if line.strip():
                try:
                    yield json.loads(line)
                except ValueError:  # the last line of a log cut off by a crash
                    continue


def placement(app_log: Path) -> dict[str, Any]:
    """``{"application_id", "master", "deploy_mode", "executors": {id: {"host", "cores", "tasks",
    "failed_tasks", "task_seconds", "removed"}}, "tasks", "failed_tasks", "completed",
    "tasks_by_group", "longest_task_seconds"}`` of one application. ``tasks_by_group``: the tasks
    that succeeded per job group (the job runs each file's jobs in a group of its own,
    ``clean <file name>``) and executor; ``longest_task_seconds``: the longest task of each group
    (for a gzip, its read: the part of a file no number of cores shortens)."""
    out: dict[str, Any] = {"application_id": None, "master": None, "deploy_mode": None,
                           "executors": {}, "tasks": 0, "failed_tasks": 0, "completed": False,
                           "tasks_by_group": {}, "longest_task_seconds": {}}
    executors: dict[str, dict[str, Any]] = out["executors"]
    stage_group: dict[int, str] = {}

    def executor(executor_id: str) -> dict[str, Any]:
        return executors.setdefault(executor_id, {"host": None, "cores": None, "tasks": 0, "failed_tasks": 0,
                                                  "task_seconds": 0.0, "removed": None})

    for event in events(app_log):
        kind = event.get("Event")
        if kind == "SparkListenerApplicationStart":
            out["application_id"] = event.get("App ID")
        elif kind == "SparkListenerEnvironmentUpdate":
            props = event.get("Spark Properties") or {}
            if isinstance(props, list):  # older logs: [[key, value], ...]
                props = dict(props)
            out["master"] = props.get("spark.master")
            out["deploy_mode"] = props.get("spark.submit.deployMode", "client")
        elif kind == "SparkListenerExecutorAdded":
            info = event.get("Executor Info") or {}
            entry = executor(str(event["Executor ID"]))
            entry["host"], entry["cores"] = info.get("Host"), info.get("Total Cores")
        elif kind == "SparkListenerExecutorRemoved":
            executor(str(event["Executor ID"]))["removed"] = event.get("Removed Reason") or "removed"
        elif kind == "SparkListenerJobStart":
            group = (event.get("Properties") or {}).get("spark.jobGroup.id")
            for stage_id in event.get("Stage IDs") or []:
                stage_group.setdefault(stage_id, group or "")
        elif kind == "SparkListenerTaskEnd":
            info = event.get("Task Info") or {}
            executor_id = str(info.get("Executor ID"))
            entry = executor(executor_id)
            failed = bool(info.get("Failed") or info.get("Killed"))
            entry["failed_tasks" if failed else "tasks"] += 1
            out["failed_tasks" if failed else "tasks"] += 1
            seconds = max(0, (info.get("Finish Time") or 0) - (info.get("Launch Time") or 0)) / 1000
            entry["task_seconds"] = round(entry["task_seconds"] + seconds, 3)
            if not failed:
                name = stage_group.get(event.get("Stage ID"), "")
                group = out["tasks_by_group"].setdefault(name, {})
                group[executor_id] = group.get(executor_id, 0) + 1
                longest = out["longest_task_seconds"]
                longest[name] = max(longest.get(name, 0.0), seconds)
        elif kind == "SparkListenerApplicationEnd":
            out["completed"] = True
    return out


def latest_placement(event_dir: Path) -> dict[str, Any] | None:
    """The placement of the newest application in the folder, with its log's path (None: none)."""
    apps = applications(event_dir)
    if not apps:
        return None
    return {**placement(apps[-1]), "event_log": str(apps[-1])}


NO_DESCRIPTION = "(no job description)"


def executor_cpu_by_description(
    log_events: Iterable[dict[str, Any]], until_ms: float | None = None
) -> Counter[str]:
    """Executor CPU seconds per job description (the cleaning job's ``clean <file>: <step>``).

    ``until_ms``: only jobs submitted up to then (epoch milliseconds), to leave out what the same
    application ran afterwards.
    """
    description: dict[int, str] = {}
    spent: Counter[str] = Counter()
    for event in log_events:
        kind = event.get("Event")
        if kind == "SparkListenerJobStart":
            if until_ms is not None and event.get("Submission Time", 0) > until_ms:
                continue
            text = (event.get("Properties") or {}).get("spark.job.description") or NO_DESCRIPTION
            for stage in event.get("Stage IDs") or []:
                description[stage] = text
        elif kind == "SparkListenerTaskEnd" and event.get("Stage ID") in description:
            metrics = event.get("Task Metrics") or {}
            nanos = metrics.get("Executor CPU Time", 0) + metrics.get("Executor Deserialize CPU Time", 0)
            spent[description[event["Stage ID"]]] += nanos / 1e9
    return spent
