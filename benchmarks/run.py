"""`make bench SF=0.01,0.1`: the project's steps side by side with reference tools, same files.

For each scale factor: generate (or reuse) the seeded inputs, then time, each in its own
subprocess with the peak RSS of its process tree (JVM and dbt included):
Spark start-up alone (and, with a new environment, the writing of the JVM's class
archive), the Spark cleaning job, the packaged job by spark-submit in local[2] and on standalone
clusters of 1 worker x 2 cores and 2 workers x 1 core, a DuckDB conversion to typed Parquet (the floor),
imdb-sqlite 2.1.0 (what users reach for), the whole pipeline on a fresh lake, the same run again
with nothing new, and runs after a snapshot in which 1% of the ratings changed. A step whose
first run ends within 5 minutes (``--short-seconds``) runs 3 times and shows the median; the
placements run once. Once, before the scale factors: `make run` on the bundled sample (fresh
lake, median of 3).
Writes bench_results/bench.json, bench.csv and scale_curve.png; prints the table, the Airflow DAG
parse time and a PASS/MISS line per target.

    python -m benchmarks.run --sf 0.01,0.1 [--seed 42] [--out-dir bench_results] [--skip imdb-sqlite]
                             [--short-seconds 300]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import dag_parse, inputs, plot, steps, targets
from benchmarks.steps import StepResult
from imdb_elt.config import REPO_ROOT

REFERENCES = ((steps.DUCKDB_STEP, "ratio_duckdb"), (steps.IMDB_SQLITE_STEP, "ratio_imdb_sqlite"))
STEP_NAMES = (
    "sample", "spark-startup", "spark", "spark-naive", "placements", "duckdb", "imdb-sqlite", "pipeline",
)
CSV_COLUMNS = (
    "sf", "step", "rows", "seconds", "rows_per_second", "peak_rss_mib",
    "ratio_duckdb", "ratio_imdb_sqlite", "ok", "note",
)


def machine_info() -> dict:
    """What the figures were measured on: they mean little without the load at the time."""
    mem_kib = 0
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kib / 2**20, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def bench_scale(
    sf: float, seed: int, data_root: Path, work_root: Path, skip: set[str],
    short_seconds: float = steps.SHORT_STEP_SECONDS,
) -> list[StepResult]:
    print(f"\n== SF={sf:g} (seed {seed}) ==", flush=True)
    started = time.perf_counter()
    raw_dir, rows = inputs.ensure_inputs(data_root, sf, seed)
    changed_dir, _ = inputs.ensure_inputs(data_root, sf, seed, snapshot=1, changed_fraction=0.01)
    print(f"  inputs: {inputs.total_rows(rows, inputs.ALL_FILE_NAMES):,} rows in {raw_dir} "
          f"(ready in {time.perf_counter() - started:.1f} s)", flush=True)
    work = work_root / f"sf{sf:g}"
    work.mkdir(parents=True, exist_ok=True)

    results: list[StepResult] = []

    def record(result: StepResult) -> None:
        results.append(result)
        print(f"  {result.step:<30} {result.seconds:>9.2f} s  {result.peak_rss_mib:>8.0f} MiB  "
              f"{'ok' if result.ok else 'FAILED'}", flush=True)

    if "spark-startup" not in skip:
        for result in steps.spark_startup(sf, work, short_seconds):
            record(result)
    if "spark" not in skip:
        record(steps.spark_clean(sf, raw_dir, work, rows, short_seconds))
    if "spark-naive" not in skip:
        record(steps.spark_naive_reference(sf, raw_dir, work, rows, short_seconds))
    if "placements" not in skip:
        for result in steps.spark_placements(sf, raw_dir, work, rows):
            record(result)
    if "duckdb" not in skip:
        record(steps.duckdb_reference(sf, raw_dir, work, rows, short_seconds))
    if "imdb-sqlite" not in skip:
        record(steps.imdb_sqlite(sf, raw_dir, work, rows, short_seconds))
    if "pipeline" not in skip:
        for result in steps.pipeline_steps(sf, raw_dir, changed_dir, work, rows, short_seconds):
            record(result)
    add_ratios(results)
    return results


def add_ratios(results: list[StepResult]) -> None:
    """Each step's wall time as a multiple of DuckDB's and imdb-sqlite's on the same scale."""
    for r in results:
        for ref_step, attr in REFERENCES:
            ref = next((x for x in results if x.sf == r.sf and x.step == ref_step and x.ok), None)
            if ref and ref.seconds > 0:
                setattr(r, attr, round(r.seconds / ref.seconds, 2))


def format_table(results: list[StepResult]) -> str:
    header = (f"{'SF':>7} {'step':<30} {'rows':>12} {'wall s':>9} {'rows/s':>11} {'peak MiB':>9} "
              f"{'x duckdb':>9} {'x sqlite':>9}  note")
    lines = [header, "-" * len(header)]
    for r in results:
        def opt(v: float | None, fmt: str) -> str:
            return format(v, fmt) if v is not None else "-"

        lines.append(
            f"{r.sf:>7g} {r.step:<30} {r.rows:>12,} {r.seconds:>9.2f} {opt(r.rows_per_second, ',.0f'):>11} "
            f"{r.peak_rss_mib:>9,.0f} {opt(r.ratio_duckdb, '.2f'):>9} {opt(r.ratio_imdb_sqlite, '.2f'):>9}  "
            f"{'' if r.ok else 'FAILED '}{r.note}"
        )
    return "\n".join(lines)


def results_file_name(document: dict) -> str:
    """``<date>-sf<sf>[_<sf>...].json``: what a later change is compared against."""
    sfs = "_".join(f"{sf:g}" for sf in document["scale_factors"])
    return f"{document['measured_at'][:10]}-sf{sfs}.json"


def write_outputs(
    out_dir: Path, results_dir: Path, document: dict, results: list[StepResult]
) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    results_dir.mkdir(parents=True, exist_ok=True)
    paths = {"json": out_dir / "bench.json", "csv": out_dir / "bench.csv", "png": out_dir / "scale_curve.png",
             "results": results_dir / results_file_name(document)}
    paths["json"].write_text(json.dumps(document, indent=2) + "\n")
    paths["results"].write_text(json.dumps(document, indent=2) + "\n")
    with paths["csv"].open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=CSV_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for r in results:
            writer.writerow(r.as_dict())
    plot.draw(results, paths["png"])
    return paths


def parse_sfs(value: str) -> list[float]:
    sfs = sorted({float(v) for v in value.split(",") if v.strip()})
    if not sfs or any(sf <= 0 for sf in sfs):
        raise argparse.ArgumentTypeError(f"scale factors must be positive numbers: {value!r}")
    return sfs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sf", type=parse_sfs, default=parse_sfs("0.01,0.1"),
                        help="comma-separated scale factors (1 = the real dumps, ~197M rows)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out-dir", type=Path, default=REPO_ROOT / "bench_results")
    parser.add_argument("--results-dir", type=Path, default=REPO_ROOT / "benchmarks" / "results",
                        help="where the dated results file goes (committed, for comparison)")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="generated-input cache (default OUT_DIR/data)")
    parser.add_argument("--skip", default="",
                        help=f"comma-separated steps to leave out: {','.join(STEP_NAMES)}")
    parser.add_argument("--no-dag-parse", action="store_true", help="do not time the Airflow DAG parse")
    parser.add_argument("--short-seconds", type=float, default=steps.SHORT_STEP_SECONDS,
                        help=f"a step whose first run ends sooner runs {steps.SHORT_RUNS} times and "
                             "shows the median (default: 5 minutes)")
    args = parser.parse_args(argv)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    unknown = skip - set(STEP_NAMES)
    if unknown:
        parser.error(f"unknown steps to skip: {sorted(unknown)}")
    out_dir: Path = args.out_dir.resolve()
    data_root = (args.data_dir or out_dir / "data").resolve()
    work_root = out_dir / "work"

    machine_before = machine_info()
    print(f"benchmark on {machine_before['cores']} cores, load average {machine_before['load_average']}")
    results: list[StepResult] = []
    if "sample" not in skip:
        print(
            f"\n== the bundled sample: make run on a fresh lake, median of {steps.SAMPLE_RUNS} ==", flush=True
        )
        result = steps.sample_run(work_root)
        results.append(result)
        print(
            f"  {result.step:<30} {result.seconds:>9.2f} s  {result.peak_rss_mib:>8.0f} MiB  "
            f"{'ok' if result.ok else 'FAILED'}  {result.note}",
            flush=True,
        )
    for sf in args.sf:
        results.extend(bench_scale(sf, args.seed, data_root, work_root, skip, args.short_seconds))

    dag = None if args.no_dag_parse else dag_parse.measure()
    verdicts = targets.evaluate(results, args.sf)
    document = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "scale_factors": args.sf,
        "seed": args.seed,
        "machine": {**machine_before, "load_average_after": [round(x, 2) for x in os.getloadavg()]},
        "results": [r.as_dict() for r in results],
        "dag_parse": dag,
        "targets": [v.__dict__ for v in verdicts],
    }
    paths = write_outputs(out_dir, args.results_dir.resolve(), document, results)

    print("\n" + format_table(results))
    if dag is not None:
        if dag.get("ok"):
            print(f"\nAirflow DAG parse: {dag['parse_seconds']:.2f} s for {len(dag['dags'])} DAG(s), "
                  f"{dag['tasks']} tasks (Airflow import {dag['airflow_import_seconds']:.2f} s)")
        else:
            print(f"\nAirflow DAG parse FAILED: {dag.get('import_errors') or dag.get('error')}")
    print("\nTargets:")
    for v in verdicts:
        print("  " + v.line())
    print(f"\nload average before {machine_before['load_average']}, "
          f"after {document['machine']['load_average_after']}")
    print("wrote " + ", ".join(str(p) for p in paths.values()))
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
