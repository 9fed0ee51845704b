"""Entry point of the cleaning job: raw zone → typed Parquet + quarantine for one snapshot.

    spark-submit spark_jobs/clean_imdb.py --raw-dir R --lake-dir L --snapshot-id S \\
        [--files title.basics.tsv.gz,movie_metadata.csv] [--threshold 0.01] [--slices 4] \\
        [--redshift-staging copy] [--master local[2]]
    python -m spark_jobs.clean_imdb ...            (same arguments, plus --driver-memory)

In-process: ``run(spark, raw_dir, lake_dir, snapshot_id, files=None, threshold=0.01, slices=4,
staging="copy")``.
Files run concurrently from Python threads on one SparkSession (reading a gzip is one task), and
a progress line per running file is logged every few seconds. ``_spark_stats.json`` and then the
``_SPARK_DONE`` marker are written only when every file succeeded. With an OpenLineage transport
configured, the driver reports the run (``run_with_lineage``, spark_jobs/lineage.py).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if not __package__:  # run as a script by spark-submit: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pyspark.sql import SparkSession

from imdb_elt import config, layout
from imdb_elt.catalog import BY_DELIVERED_NAME, INPUTS, RawInput
from imdb_elt.warehouse.types import STAGING_TARGETS
from spark_jobs import io, key_order, line_check
from spark_jobs.clean_file import check_delivery, clean_file, delivered_name
from spark_jobs.errors import CleaningError, root_cause
from spark_jobs.lineage import CleaningRun
from spark_jobs.progress import Progress
from spark_jobs.session import (
    QUICK_START_MAX_BYTES,
    apply_output_conf,
    build_session,
    scratch_conf,
    stop_session,
)

log = logging.getLogger("spark_jobs.clean_imdb")

STATS_FILE = layout.SPARK_STATS_FILE
DONE_MARKER = layout.SPARK_DONE_MARKER
#: Concurrent files. Two cores: more threads only add contention; a few more than the cores
#: keep both busy while one file is between stages.
MAX_PARALLEL_FILES = 3
#: Wall seconds one step of a file costs whatever its size (planning, code generation, a Spark
#: job or two), three files at a time: 1.5-3 s a step on the bundled sample.
STEP_SECONDS = 2.5
#: Raw bytes one file's pass 1 gets through per wall second, three files at a time on two cores:
#: title.principals at SF=0.1 (119 MB of gzip in 56 s).
BYTES_PER_SECOND = 2 * 2**20


def check_file_names(files: list[str]) -> None:
    """Every name is a catalogue file (or an IMDb dump gunzipped), and one per input at most."""
    unknown = [f for f in files if f not in BY_DELIVERED_NAME]
    if unknown:
        raise CleaningError(f"not catalogue files: {unknown}; known: {sorted(BY_DELIVERED_NAME)}")
    for raw in INPUTS:
        named = [f for f in dict.fromkeys(files) if BY_DELIVERED_NAME[f] is raw]
        if len(named) > 1:
            raise CleaningError(f"{' and '.join(named)} are one input ({raw.dataset}): name one of them")


def select_inputs(
    spark: SparkSession, raw_dir: str, files: list[str] | None
) -> list[tuple[RawInput, str, int]]:
    """(input, path, size) for the named files, or for every catalogue file present in raw_dir.

    An IMDb dump may be delivered gunzipped (``title.ratings.tsv``); both names of one input
    present at once is an error naming them (which one is the delivery?). The longest first
    (``expected_seconds``), so that it starts at once and the short ones fill the gaps.
    """
    if files is not None:
        check_file_names(files)
        wanted = [(BY_DELIVERED_NAME[f], (f,)) for f in dict.fromkeys(files)]
    else:
        wanted = [(raw, raw.file_names) for raw in INPUTS]
    found = []
    for raw, names in wanted:
        present = [(layout.join(raw_dir, name), size) for name in names
                   if (size := io.file_size(spark, layout.join(raw_dir, name))) is not None]
        if len(present) > 1:
            both = " and ".join(delivered_name(path) for path, _ in present)
            raise CleaningError(f"{both} are both in {raw_dir}: one input, two deliveries; remove one")
        if not present:
            if files is not None:
                raise CleaningError(f"{names[0]}: named in --files but absent from {raw_dir}")
            continue
        found.append((raw, *present[0]))
    return sorted(found, key=lambda item: -expected_seconds(item[0], item[2]))


def expected_seconds(raw: RawInput, size: int) -> float:
    """About how long cleaning a file of ``size`` bytes takes: its steps' fixed cost, then its
    bytes. An IMDb dump comes sorted by key: pass 1 and the counts. The Kaggle CSV does not and
    repeats keys: its labelling and three writes in memory cost about as much as five steps, so
    on small inputs it is the longest file although the smallest."""
    steps = 2 if raw.sorted_by_key else 5
    return steps * STEP_SECONDS + size / BYTES_PER_SECOND


def _each(task: Any, inputs: list[tuple[RawInput, str, int]]) -> dict[str, Any]:
    """Run ``task(raw, path)`` for every input from a thread pool; raise every failure at once."""
    results: dict[str, Any] = {}
    errors: list[CleaningError] = []
    with ThreadPoolExecutor(max_workers=max(1, min(MAX_PARALLEL_FILES, len(inputs)))) as pool:
        futures = {pool.submit(task, raw, path): raw for raw, path, _ in inputs}
        for future, raw in futures.items():
            try:
                results[raw.dataset] = future.result()
            except CleaningError as exc:
                log.error("%s", exc)
                errors.append(exc)
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise CleaningError("; ".join(str(e) for e in errors)) from errors[0]
    return results


def run(
    spark: SparkSession,
    raw_dir: str,
    lake_dir: str,
    snapshot_id: str,
    files: list[str] | None = None,
    threshold: float = 0.01,
    slices: int = 4,
    staging: str = "copy",
) -> dict[str, dict]:
    """Clean the files, write stats then the marker; return the per-dataset stats.

    ``staging``: the Redshift staging path (copy | spectrum) whose byte limits values must fit.

    Raises CleaningError (naming every failed file) if any file fails; then no marker is written.
    """
    apply_output_conf(spark)
    # Registered once, before the files' threads look them up.
    line_check.available(spark)
    key_order.available(spark)
    snap = layout.snapshot_dir(lake_dir, snapshot_id)
    io.delete(spark, layout.join(snap, DONE_MARKER))  # a re-run must not inherit an old success
    inputs = select_inputs(spark, raw_dir, files)
    loaded_at = datetime.now(UTC)  # aware: PySpark converts it to UTC, whatever the local zone
    started = time.perf_counter()
    names = [delivered_name(path) for _, path, _ in inputs]
    log.info("snapshot %s: cleaning %d file(s): %s", snapshot_id, len(inputs), names)

    sc = spark.sparkContext

    def checked(raw: RawInput, path: str) -> None:
        check_delivery(spark, raw, path)

    def cleaned(raw: RawInput, path: str) -> dict[str, Any]:
        # One FAIR pool per file: concurrent files share the cores instead of queueing. Its own
        # job group: the progress lines show the tasks done of its current stage.
        sc.setLocalProperty("spark.scheduler.pool", raw.dataset)
        name = delivered_name(path)
        sc.setJobGroup(Progress.job_group(name), f"clean {name}")
        try:
            return clean_file(
                spark, raw, path, lake_dir, snapshot_id, loaded_at, threshold,
                checked=True, slices=slices, progress=progress, staging=staging,
            )  # fmt: skip
        except CleaningError:
            raise
        except Exception as exc:
            raise CleaningError(f"{name}: failed: {root_cause(exc)}") from exc

    # Headers first (two lines per file): a wrong delivery stops the run before any heavy work.
    _each(checked, inputs)
    with Progress(spark) as progress:
        cpu_before = progress.cpu_seconds()
        results = _each(cleaned, inputs)
        cpu_after = progress.cpu_seconds()

    ordered = {raw.dataset: results[raw.dataset] for raw in INPUTS if raw.dataset in results}
    doc = {"snapshot_id": snapshot_id, "datasets": ordered}
    io.write_text(spark, layout.join(snap, STATS_FILE), json.dumps(doc, indent=2) + "\n")
    io.write_text(spark, layout.join(snap, DONE_MARKER), "")  # last: the success signal
    total = sum(s["rows_read"] for s in ordered.values())
    seconds = time.perf_counter() - started
    cpu = ""
    if cpu_before is not None and cpu_after is not None:
        used = cpu_after - cpu_before
        cpu = f", JVM CPU {used:.1f} s ({used / max(seconds, 1e-9):.2f} cores busy)"
    log.info(
        "snapshot %s: %d rows in %.1f s (%.0f rows/s)%s",
        snapshot_id,
        total,
        seconds,
        total / max(seconds, 1e-9),
        cpu,
    )
    return ordered


def run_with_lineage(
    spark: SparkSession,
    raw_dir: str,
    lake_dir: str,
    snapshot_id: str,
    files: list[str] | None = None,
    threshold: float = 0.01,
    slices: int = 4,
    staging: str = "copy",
    *,
    namespace: str,
) -> dict[str, dict]:
    """:func:`run`, reported as an OpenLineage job run (START, then COMPLETE or FAIL) when a
    transport is configured; see spark_jobs/lineage.py."""
    reported = CleaningRun(namespace, raw_dir, lake_dir, snapshot_id, files,
                           dict(spark.sparkContext.getConf().getAll()), spark.version).start()
    try:
        stats = run(spark, raw_dir, lake_dir, snapshot_id, files, threshold, slices, staging)
    except BaseException as exc:
        reported.fail(exc)
        raise
    reported.complete(stats)
    return stats


def local_input_bytes(raw_dir: str, files: list[str] | None) -> int | None:
    """Bytes of the files a run will clean, read before the JVM starts; None for a remote zone."""
    folder = io.local_path(raw_dir)
    if folder is None:
        return None
    names = files if files is not None else list(BY_DELIVERED_NAME)
    return sum(p.stat().st_size for p in (folder / n for n in names) if p.is_file())


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    settings = config.load()
    p = argparse.ArgumentParser(prog="clean_imdb", description=__doc__.splitlines()[0])
    p.add_argument("--raw-dir", required=True, help="raw zone: folder or s3:// URI")
    p.add_argument("--lake-dir", required=True, help="lake root: folder or s3:// URI")
    p.add_argument("--snapshot-id", required=True)
    p.add_argument("--files", default=None, help="comma-separated raw file names (default: all present)")
    p.add_argument("--threshold", type=float, default=settings.quarantine_threshold,
                   help="max quarantined/read per file (default IMDB_QUARANTINE_THRESHOLD)")  # fmt: skip
    p.add_argument("--slices", type=int, default=settings.redshift_slices,
                   help="Redshift slices to size files for (default IMDB_REDSHIFT_SLICES)")  # fmt: skip
    p.add_argument("--redshift-staging", choices=sorted(STAGING_TARGETS), default=settings.redshift_staging,
                   help="the Redshift staging path whose byte limits values must fit "
                        "(default REDSHIFT_STAGING)")  # fmt: skip
    p.add_argument(
        "--master", default=None, help="Spark master (default SPARK_MASTER unless under spark-submit)"
    )
    p.add_argument("--driver-memory", default=None, help="(python -m only) default SPARK_DRIVER_MEMORY")
    p.add_argument("--scratch-dir", default=None,
                   help="(python -m only) Spark's local dir and the JVM's temporary folder (default: /tmp)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    settings = config.load()
    files = [f.strip() for f in args.files.split(",") if f.strip()] if args.files else None
    try:
        check_file_names(files or [])  # before the JVM starts
    except CleaningError as exc:
        print(f"clean_imdb: {exc}", file=sys.stderr)
        return 1
    # spark-submit already chose master and memory (its launcher sets SPARK_ENV_LOADED).
    under_submit = bool(os.environ.get("SPARK_ENV_LOADED"))
    master = args.master or (None if under_submit else settings.spark_master)
    memory = None if under_submit else (args.driver_memory or settings.spark_driver_memory)
    size = local_input_bytes(args.raw_dir, files)
    quick = size is not None and size <= QUICK_START_MAX_BYTES
    scratch = {} if under_submit or not args.scratch_dir else scratch_conf(args.scratch_dir)
    spark = build_session(master=master, driver_memory=memory, quick_start=quick, extra_conf=scratch)
    spark.sparkContext.setLogLevel("WARN")
    try:
        run_with_lineage(spark, args.raw_dir, args.lake_dir, args.snapshot_id, files, args.threshold,
                         args.slices, args.redshift_staging, namespace=settings.lineage_namespace)
    except CleaningError as exc:
        print(f"clean_imdb: {exc}", file=sys.stderr)
        return 1
    finally:
        stop_session(spark)
    return 0


if __name__ == "__main__":
    sys.exit(main())
