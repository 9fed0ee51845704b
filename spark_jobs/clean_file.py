"""Clean ONE raw file: header check, parse, dedup, write quarantine then processed output.

The raw file is read once: the annotated rows are cached and every later step (counts, duplicate
search, the two writes) reads the cache, not the gzip again. Counts come from one aggregation
over the cache plus the small quarantine output, never from extra passes over the data.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from imdb_elt.catalog import RawInput
from spark_jobs import io
from spark_jobs import rules as R
from spark_jobs.errors import CleaningError, ThresholdExceeded, root_cause
from spark_jobs.header import check_header
from spark_jobs.transforms import (
    DEDUPLICATED,
    conflict_order,
    duplicate_dispositions,
    exact_repeats,
    number_lines,
    parse,
    to_output,
    to_quarantine,
)

log = logging.getLogger("spark_jobs.clean_imdb")


def processed_path(lake_dir: str, snapshot_id: str, dataset: str) -> str:
    return io.join(lake_dir, "processed", "snapshots", snapshot_id, dataset)


def quarantine_path(lake_dir: str, snapshot_id: str, dataset: str) -> str:
    return io.join(lake_dir, "quarantine", snapshot_id, dataset)


def _first_lines(spark: SparkSession, raw: RawInput, path: str) -> list[str]:
    """The first two lines, read without touching the rest of the file."""
    try:
        rows = io.read_lines(spark, path).head(2)
    except Exception as exc:  # a JVM error: not gzip, unreadable, ...
        raise CleaningError(f"{raw.file_name}: cannot read the file: {root_cause(exc)}") from exc
    return [r.value for r in rows]


def check_delivery(spark: SparkSession, raw: RawInput, path: str) -> None:
    """Refuse a file whose header is wrong or that holds no data line (reads two lines only)."""
    name = raw.file_name
    first = _first_lines(spark, raw, path)
    if not first:
        raise CleaningError(f"{name}: empty delivery (the file has no lines)")
    check_header(first[0], raw)
    if len(first) < 2:
        raise CleaningError(f"{name}: empty delivery (header only, no data lines)")


def _drops(annotated: DataFrame, raw: RawInput) -> DataFrame:
    """Rows to take out of the good rows or out of the quarantine: repeats and key conflicts."""
    valid = annotated.filter(F.col("reason").isNull())
    key = list(raw.key)
    repeated_keys = valid.groupBy(*key).count().filter(F.col("count") > 1).drop("count")
    order = conflict_order(raw)
    extra = ["num_voted_users"] if raw.fmt == "kaggle_csv" else []
    candidates = valid.join(repeated_keys, key, "left_semi").select("line_number", "value", *key, *extra)
    in_valid = duplicate_dispositions(candidates, key, order)
    in_refused = exact_repeats(annotated.filter(F.col("reason").isNotNull()))
    return in_valid.unionByName(in_refused)


def clean_file(
    spark: SparkSession,
    raw: RawInput,
    path: str,
    lake_dir: str,
    snapshot_id: str,
    loaded_at: datetime,
    threshold: float,
    checked: bool = False,
) -> dict[str, Any]:
    """Clean one file and return its stats; raise CleaningError naming the file on refusal.

    ``checked``: check_delivery already passed (run() checks every header before cleaning).
    """
    started = time.perf_counter()
    name = raw.file_name
    if not checked:
        check_delivery(spark, raw, path)
    numbered = number_lines(io.read_lines(spark, path))
    annotated = parse(numbered.filter(F.col("line_number") > 1), raw)
    annotated = annotated.persist(StorageLevel.MEMORY_AND_DISK)
    drops: DataFrame | None = None
    try:
        try:
            by_reason = {r["reason"]: r["count"] for r in annotated.groupBy("reason").count().collect()}
        except Exception as exc:  # the first full read: a truncated or corrupt gzip fails here
            raise CleaningError(
                f"{name}: cannot read the whole file (corrupt or truncated?): {root_cause(exc)}"
            ) from exc
        rows_read = sum(by_reason.values())

        drops = _drops(annotated, raw).persist(StorageLevel.MEMORY_AND_DISK)
        drop_rows = drops.groupBy("reason", "refused_reason").count().collect()
        drop_counts: dict[str, int] = {}
        for r in drop_rows:
            drop_counts[r["reason"]] = drop_counts.get(r["reason"], 0) + r["count"]
        rows_deduplicated = drop_counts.get(DEDUPLICATED, 0)
        # Quarantine counts without re-reading it: refused rows, minus their repeats, plus conflicts.
        quarantined_by_reason = {k: v for k, v in by_reason.items() if k is not None}
        for r in drop_rows:
            if r["refused_reason"] is not None:
                quarantined_by_reason[r["refused_reason"]] -= r["count"]
        if drop_counts.get(R.DUPLICATE_KEY):
            quarantined_by_reason[R.DUPLICATE_KEY] = drop_counts[R.DUPLICATE_KEY]
        quarantined_by_reason = {k: v for k, v in quarantined_by_reason.items() if v}
        rows_quarantined = sum(quarantined_by_reason.values())

        # Quarantine first: on a threshold failure it is there to inspect.
        refused = annotated.filter(F.col("reason").isNotNull())
        conflicts = drops.filter(F.col("reason") == R.DUPLICATE_KEY)
        if drop_counts:
            refused = refused.join(drops.select("line_number"), "line_number", "left_anti")
        quarantined = refused.select("line_number", "value", "reason", "detail")
        if drop_counts.get(R.DUPLICATE_KEY):
            quarantined = quarantined.unionByName(
                annotated.select("line_number", "value").join(
                    conflicts.select("line_number", "reason", "detail"), "line_number"
                )
            )
        q_path = quarantine_path(lake_dir, snapshot_id, raw.dataset)
        io.write_parquet(to_quarantine(quarantined, name).coalesce(1), q_path)

        # Key conflicts are a property of the source (Kaggle repeats ids: ~1.6% of its rows), not a
        # broken delivery: they are quarantined but do not count towards the threshold.
        defective = rows_quarantined - quarantined_by_reason.get(R.DUPLICATE_KEY, 0)
        ratio = defective / rows_read
        if ratio > threshold:
            raise ThresholdExceeded(
                f"{name}: {defective} of {rows_read} rows quarantined as defective "
                f"(ratio {ratio:.4f} > threshold {threshold}); see {q_path}"
            )

        good = annotated.filter(F.col("reason").isNull())
        if drop_counts:
            good = good.join(drops.select("line_number"), "line_number", "left_anti")
        io.write_parquet(
            to_output(good, raw, snapshot_id, loaded_at), processed_path(lake_dir, snapshot_id, raw.dataset)
        )
    finally:
        annotated.unpersist()
        if drops is not None:
            drops.unpersist()

    seconds = time.perf_counter() - started
    rows_written = rows_read - rows_deduplicated - rows_quarantined
    stats = {
        "source_file": name,
        "rows_read": rows_read,
        "rows_written": rows_written,
        "rows_deduplicated": rows_deduplicated,
        "rows_quarantined": rows_quarantined,
        "quarantined_by_reason": dict(sorted(quarantined_by_reason.items())),
        "seconds": round(seconds, 3),
        "rows_per_second": round(rows_read / seconds, 1) if seconds > 0 else None,
    }
    log.info(
        "%s: %d rows read, %d written, %d deduplicated, %d quarantined in %.1f s (%.0f rows/s)",
        name, rows_read, rows_written, rows_deduplicated, rows_quarantined, seconds,
        stats["rows_per_second"] or 0,
    )  # fmt: skip
    return stats
