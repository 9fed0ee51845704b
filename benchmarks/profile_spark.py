"""`make profile SF=0.1`: where the Spark cleaning job's time goes, measured rather than guessed.

Three views, in one process that owns the JVM (so the Java Flight Recorder sees exactly the job):

1. **A flight recording of the job** on the generated TSVs (the bench's ``spark clean``): the Java
   stacks of the executor threads are sampled every 20 ms; each sample goes to one category, that
   of the first frame from the leaf up which belongs to a known library (gzip, regular
   expressions, Parquet, the shuffle, Spark's generated code, ...), and the leaf methods are
   ranked. JFR samples threads in Java code only, and only those whose stack it can walk: time
   in native code (zlib's inflate, zstd-jni) is missing, and at SF=0.1 the samples covered about
   a sixth of the JVM's CPU seconds. Read the shares as relative; the ladder measures from outside.
2. **Complete counts of the job's CPU**: per JVM thread kind (executor
   tasks, JIT compilers, collector, driver) from /proc (``benchmarks.jvm_cpu``), and the executor
   CPU per file and step from Spark's event log (``imdb_elt.spark_events``), which the session
   writes for the profile only.
3. **A cost ladder** on one file (default ``title.principals``, the job's long pole), one file at
   a time, each rung with its wall time and the JVM's CPU seconds: decompress and split lines →
   a naive parse-and-write (split, type, Parquet; no validation) → the job's first pass
   (validate every field, write the good rows) → the whole job on the file, with its steps.

Writes ``<out-dir>/profile/sf<SF>.json`` with a dated copy in ``benchmarks/results/`` (committed,
like the bench's) and the recording (``.jfr``, for JDK Mission Control), and prints the tables.
Nothing here is asserted: the figures go into docs/benchmarks.md with the commit they were
measured at.

    python -m benchmarks.profile_spark --sf 0.1 [--files a.tsv.gz,b.tsv.gz] [--ladder FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import inputs
from benchmarks.jvm_cpu import cpu_by_thread_kind, thread_cpu
from imdb_elt import spark_events
from imdb_elt.catalog import BY_FILE_NAME
from imdb_elt.config import REPO_ROOT

#: Sampling period of the executor threads' Java stacks.
SAMPLE_PERIOD_MS = 20
#: Spark's name for the threads that run tasks (local mode: inside the driver JVM).
EXECUTOR_THREAD = "Executor task launch worker"
_SPARK_EXPR = "org.apache.spark.sql.catalyst.expressions."
#: Category of a sample: the first frame from the leaf whose class starts with one of these.
CATEGORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("gzip decompression (Java side)", ("java.util.zip.", "org.apache.hadoop.io.compress.")),
    ("regular expressions", ("java.util.regex.",)),
    ("JSON parsing (from_json)", ("com.fasterxml.jackson.", "org.apache.spark.sql.catalyst.json.")),
    ("zstd compression (Java side)", ("com.github.luben.zstd.", "org.apache.parquet.hadoop.codec.")),
    ("Parquet encoding", ("org.apache.parquet.",)),
    (
        "shuffle: sort, spill, LZ4, serialisation",
        (
            "org.apache.spark.shuffle.",
            "org.apache.spark.util.collection.",
            "net.jpountz.",
            "org.apache.spark.io.",
            "org.apache.spark.storage.",
            "org.apache.spark.serializer.",
            "org.apache.spark.sql.execution.UnsafeRowSerializer",
        ),
    ),
    (
        "line splitting (text source)",
        (
            "org.apache.hadoop.util.LineReader",
            "org.apache.spark.sql.execution.datasources.HadoopFileLinesReader",
            "org.apache.hadoop.mapreduce.lib.input.",
        ),
    ),
    ("hashing (keys, partitioning)", ("org.apache.spark.unsafe.hash.", _SPARK_EXPR + "XXH64")),
    (
        "casts and decimals",
        (_SPARK_EXPR + "Cast", "org.apache.spark.sql.types.Decimal", "org.apache.spark.sql.catalyst.util."),
    ),
    ("UTF-8 string functions (split, contains, ...)", ("org.apache.spark.unsafe.types.UTF8String",)),
    ("Spark's generated code (projections, filters)", (_SPARK_EXPR + "GeneratedClass",)),
    ("file I/O", ("java.io.FileInputStream", "java.io.FileOutputStream", "sun.nio.")),
    ("other Spark (rows, memory copies, ...)", ("org.apache.spark.",)),
)
OTHER = "other (JDK, Scala)"

#: The JFR settings: the executor stacks and the collector, nothing else (a small recording).
_JFC = f"""<?xml version="1.0" encoding="UTF-8"?>
<configuration version="2.0" label="imdb-elt cpu profile">
  <event name="jdk.ExecutionSample"><setting name="enabled">true</setting>
    <setting name="period">{SAMPLE_PERIOD_MS} ms</setting></event>
  <event name="jdk.GarbageCollection"><setting name="enabled">true</setting>
    <setting name="threshold">0 ms</setting></event>
</configuration>
"""


@dataclass
class Rung:
    """One way of reading the ladder's file (or the whole recorded job)."""

    name: str
    rows: int
    wall_s: float
    cpu_s: float | None
    seconds_by_step: dict[str, float] = field(default_factory=dict)

    @property
    def core_us_per_row(self) -> float | None:
        return None if self.cpu_s is None or not self.rows else round(self.cpu_s / self.rows * 1e6, 2)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "core_us_per_row": self.core_us_per_row}


def category(frames: list[str]) -> str:
    """The category of one sample, from its frames' ``class.method`` names, leaf first."""
    for frame in frames:
        for name, prefixes in CATEGORIES:
            if frame.startswith(prefixes):
                return name
    return OTHER


def _frame_name(frame: dict[str, Any]) -> str:
    method = frame.get("method") or {}
    # Class names come in their internal form (org/apache/...).
    cls = (method.get("type") or {}).get("name", "?").replace("/", ".")
    return f"{cls}.{method.get('name', '?')}"


def _duration_s(value: Any) -> float:
    """JFR's JSON durations are ISO-8601 (``PT0.012S``, ``PT1M2.5S``)."""
    if not isinstance(value, str) or not value.startswith("PT"):
        return 0.0
    seconds, number = 0.0, ""
    for ch in value[2:]:
        if ch.isdigit() or ch == ".":
            number += ch
            continue
        seconds += float(number or 0) * {"H": 3600, "M": 60, "S": 1}.get(ch, 0)
        number = ""
    return seconds


def _jfr_tool() -> str:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "jfr").exists():
        return str(Path(home) / "bin" / "jfr")
    found = shutil.which("jfr")
    if found is None:
        raise SystemExit("profile_spark: the JDK's `jfr` tool was not found (JAVA_HOME/bin or PATH)")
    return found


def read_recording(jfr_file: Path) -> dict[str, Any]:
    """Executor samples per category and per leaf method, and the collector's pauses."""
    printed = jfr_file.with_suffix(".json")
    events_arg = "jdk.ExecutionSample,jdk.GarbageCollection"
    with printed.open("w") as out:
        cmd = [_jfr_tool(), "print", "--json", "--stack-depth", "64", "--events", events_arg, str(jfr_file)]
        subprocess.run(cmd, stdout=out, check=True)
    events = json.loads(printed.read_text())["recording"]["events"]
    printed.unlink()
    categories: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    gc_s = 0.0
    for event in events:
        values = event["values"]
        if event["type"] == "jdk.GarbageCollection":
            gc_s += _duration_s(values.get("sumOfPauses"))
            continue
        thread = (values.get("sampledThread") or {}).get("javaName") or ""
        frames = [_frame_name(f) for f in (values.get("stackTrace") or {}).get("frames") or []]
        if thread.startswith(EXECUTOR_THREAD) and frames:
            categories[category(frames)] += 1
            leaves[frames[0]] += 1
    return {"categories": categories, "leaves": leaves, "gc_pause_s": gc_s}


class Profiler:
    """A SparkSession in this process, with the JVM's CPU clock and a flight recorder at hand."""

    def __init__(self, work: Path) -> None:
        from spark_jobs.progress import Progress
        from spark_jobs.session import build_session

        self.work = work
        self.events = work / "events"
        self.events.mkdir()
        conf = {"spark.eventLog.enabled": "true", "spark.eventLog.dir": self.events.as_uri()}
        self.spark = build_session(master="local[2]", ui=False, extra_conf=conf)
        self.spark.sparkContext.setLogLevel("WARN")
        self.cpu = Progress(self.spark).cpu_seconds
        self.jvm = self.spark.sparkContext._jvm
        self.threads = Path(f"/proc/{self.jvm.java.lang.ProcessHandle.current().pid()}/task")

    def timed(self, name: str, rows: int, action: Callable[[], dict[str, float] | None]) -> Rung:
        """Run ``action`` (which may return its seconds per step) and time it."""
        cpu0, t0 = self.cpu(), time.perf_counter()
        steps = action() or {}
        wall, cpu1 = time.perf_counter() - t0, self.cpu()
        cpu = None if cpu0 is None or cpu1 is None else round(cpu1 - cpu0, 2)
        rung = Rung(name, rows, round(wall, 2), cpu, steps)
        per_row = f", {rung.core_us_per_row:5.2f} core-µs/row" if rung.core_us_per_row else ""
        print(f"  {name:<50} {wall:8.1f} s wall, CPU {cpu or 0:8.1f} s{per_row}", flush=True)
        if steps:
            print("      steps: " + ", ".join(f"{k} {v:.1f} s" for k, v in steps.items()), flush=True)
        return rung

    def record(self, jfr_file: Path, action: Callable[[], Any]) -> Any:
        """Run ``action`` under a flight recording written to ``jfr_file`` (JFR's Java API)."""
        jfc = self.work / "cpu.jfc"
        jfc.write_text(_JFC)
        jvm = self.jvm
        settings = jvm.jdk.jfr.Configuration.create(jvm.java.io.File(str(jfc)).toPath())
        recording = jvm.jdk.jfr.Recording(settings)
        recording.start()
        try:
            return action()
        finally:
            recording.stop()
            recording.dump(jvm.java.io.File(str(jfr_file)).toPath())
            recording.close()

    def stop(self) -> None:
        from spark_jobs.session import stop_session

        stop_session(self.spark)


def ladder(p: Profiler, raw_dir: Path, file_name: str, rows: int) -> list[Rung]:
    """The file read four ways: each rung adds one part of the job's work to the one before."""
    from pyspark.sql import functions as F

    from benchmarks.reference_spark import naive_frame
    from spark_jobs import io
    from spark_jobs.clean_file import _File, clean_file

    raw = BY_FILE_NAME[file_name]
    path = str(raw_dir / file_name)
    spark = p.spark
    lake = p.work / "ladder_lake"
    loaded_at = datetime.now(UTC)

    def lines_only() -> None:
        io.read_lines(spark, path).agg(F.sum(F.octet_length("value"))).collect()

    def naive() -> None:
        io.write_parquet(naive_frame(spark, raw, path), str(lake / "naive"))

    def first_pass() -> None:
        _File(spark, raw, path, str(lake), "pass1", loaded_at, 4, None).write_pass()

    def whole() -> dict[str, float]:
        stats = clean_file(spark, raw, path, str(lake), "whole", loaded_at, threshold=1.0, slices=4)
        return stats["seconds_by_step"]

    print(f"\ncost ladder on {file_name} ({rows:,} rows), one file at a time:", flush=True)
    rungs = [
        p.timed("1. decompress and split lines", rows, lines_only),
        p.timed("2. naive parse and write (no validation)", rows, naive),
        p.timed("3. the job's pass 1 (validate, write good rows)", rows, first_pass),
        p.timed("4. the job on this file (every step)", rows, whole),
    ]
    shutil.rmtree(lake, ignore_errors=True)
    return rungs


def print_counts(threads: dict[str, float], by_step: Counter[str]) -> None:
    """The two complete counts of the recorded job: by JVM thread, by file and step."""
    total = sum(threads.values()) or 1
    print(f"\nthe JVM's CPU by thread, recorded job: {total:,.1f} s")
    for kind, seconds in threads.items():
        print(f"  {seconds:8.1f} s  {seconds / total:6.1%}  {kind}")
    total = sum(by_step.values()) or 1
    print(f"\nexecutor CPU by file and step (Spark's event log): {total:,.1f} s")
    for text, seconds in by_step.most_common():
        print(f"  {seconds:8.1f} s  {seconds / total:6.1%}  {text}")


def print_profile(profile: dict[str, Any], cpu_s: float | None) -> None:
    total = sum(profile["categories"].values()) or 1
    seconds = total * SAMPLE_PERIOD_MS / 1000
    of_cpu = f" of the JVM's {cpu_s:,.1f} CPU seconds" if cpu_s else ""
    print(
        f"\nexecutor threads in Java code: {total:,} samples ≈ {seconds:,.1f} thread-seconds{of_cpu} "
        f"(collector pauses {profile['gc_pause_s']:.1f} s)"
    )
    for name, n in profile["categories"].most_common():
        print(f"  {n / total:6.1%}  {name}")
    print("\nleaf methods (self time):")
    for name, n in profile["leaves"].most_common(25):
        print(f"  {n / total:6.1%}  {name}")


def main(argv: list[str] | None = None) -> int:
    raw_help = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw_help)
    parser.add_argument("--sf", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--files", default=",".join(inputs.TSV_FILE_NAMES), help="the recorded job's files (default: TSVs)"
    )
    parser.add_argument("--ladder", default="title.principals.tsv.gz", help="the ladder's file ('' for none)")
    parser.add_argument("--out-dir", type=Path, default=REPO_ROOT / "bench_results")
    parser.add_argument(
        "--results-dir", type=Path, default=REPO_ROOT / "benchmarks" / "results", help="for the dated copy"
    )
    args = parser.parse_args(argv)
    files = [f.strip() for f in args.files.split(",") if f.strip()]
    unknown = [f for f in [*files, args.ladder] if f and f not in BY_FILE_NAME]
    if unknown:
        parser.error(f"not catalogue files: {unknown}")

    out_dir: Path = args.out_dir.resolve() / "profile"
    out_dir.mkdir(parents=True, exist_ok=True)
    raw_dir, rows = inputs.ensure_inputs(args.out_dir.resolve() / "data", args.sf, args.seed)
    work = Path(tempfile.mkdtemp(prefix="work-", dir=out_dir))
    jfr_file = out_dir / f"sf{args.sf:g}.jfr"
    from spark_jobs.clean_imdb import run

    p = Profiler(work)
    try:
        p.spark.range(1).count()  # start-up is not what is profiled
        total_rows = inputs.total_rows(rows, files)
        print(f"recording the job on {len(files)} file(s), {total_rows:,} rows ({raw_dir})", flush=True)

        threads: dict[str, float] = {}
        job_end_ms = 0.0

        def job() -> None:
            nonlocal threads, job_end_ms
            before, cpu0 = thread_cpu(p.threads), p.cpu()
            p.record(jfr_file, lambda: run(p.spark, str(raw_dir), str(work / "lake"), "profile", files, 1.0))
            cpu1 = p.cpu()
            total = None if cpu0 is None or cpu1 is None else cpu1 - cpu0
            threads = dict(cpu_by_thread_kind(before, thread_cpu(p.threads), total).most_common())
            job_end_ms = time.time() * 1000

        whole_job = p.timed("the job (as in the bench's spark clean)", total_rows, job)
        shutil.rmtree(work / "lake", ignore_errors=True)
        rungs = ladder(p, raw_dir, args.ladder, rows[args.ladder]) if args.ladder else []
    finally:
        p.stop()
    try:  # the event log is complete once the session has stopped
        (log,) = spark_events.applications(p.events)
        by_step = spark_events.executor_cpu_by_description(spark_events.events(log), until_ms=job_end_ms)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    profile = read_recording(jfr_file)
    print_counts(threads, by_step)
    print_profile(profile, whole_job.cpu_s)
    document = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "sf": args.sf,
        "files": files,
        "job": whole_job.as_dict(),
        "jvm_cpu_s_by_thread_kind": {k: round(v, 1) for k, v in threads.items()},
        "executor_cpu_s_by_job_description": {k: round(v, 2) for k, v in by_step.most_common()},
        "sample_period_ms": SAMPLE_PERIOD_MS,
        "executor_samples_by_category": dict(profile["categories"].most_common()),
        "top_leaf_methods": dict(profile["leaves"].most_common(40)),
        "gc_pause_s": round(profile["gc_pause_s"], 2),
        "ladder": [r.as_dict() for r in rungs],
        "recording": str(jfr_file),
    }
    result = out_dir / f"sf{args.sf:g}.json"
    dated = args.results_dir.resolve() / f"{document['measured_at'][:10]}-profile-sf{args.sf:g}.json"
    dated.parent.mkdir(parents=True, exist_ok=True)
    for path in (result, dated):
        path.write_text(json.dumps(document, indent=2) + "\n")
    print(f"\nwrote {result}, {dated} and the recording {jfr_file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
