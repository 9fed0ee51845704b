"""Clean ONE raw file: header check, parse, dedup, write quarantine then processed output.

The raw file is read once. Three jobs: the first parses, caches the annotated rows and counts
the natural keys that occur more than once (a narrow aggregate: key columns only); the
quarantine write relabels the few rows of those groups (a broadcast join and a small window)
and counts every disposition through an ``Observation``; the processed write reads the cache.
The full rows are never shuffled. For a local file the header and emptiness check reads two
lines in plain Python before any Spark job.
"""

from __future__ import annotations

import logging
import time
import zlib
from datetime import datetime
from typing import Any

from pyspark import StorageLevel
from pyspark.sql import DataFrame, Observation, SparkSession
from pyspark.sql import functions as F

from imdb_elt.catalog import RawInput
from spark_jobs import io
from spark_jobs import rules as R
from spark_jobs.errors import CleaningError, ThresholdExceeded, root_cause
from spark_jobs.header import check_header
from spark_jobs.transforms import (
    DEDUPLICATED,
    duplicate_groups,
    mark_duplicates,
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
    local = io.local_path(path)
    try:
        if local is not None:  # plain Python: no Spark job for a header
            return io.first_lines_local(local, 2)
        return [r.value for r in io.read_lines(spark, path).head(2)]
    except (OSError, EOFError, zlib.error) as exc:  # not gzip, unreadable, ...
        raise CleaningError(f"{raw.file_name}: cannot read the file: {type(exc).__name__}: {exc}") from exc
    except Exception as exc:  # a JVM error
        raise CleaningError(f"{raw.file_name}: cannot read the file: {root_cause(exc)}") from exc


def check_delivery(spark: SparkSession, raw: RawInput, path: str) -> None:
    """Refuse a file whose header is wrong or that holds no data line (reads two lines only)."""
    name = raw.file_name
    first = _first_lines(spark, raw, path)
    if not first:
        raise CleaningError(f"{name}: empty delivery (the file has no lines)")
    check_header(first[0], raw)
    if len(first) < 2:
        raise CleaningError(f"{name}: empty delivery (header only, no data lines)")


#: Up to this many repeated groups are broadcast to the rows (a map-side join, no shuffle of the
#: full rows); more (a pathological delivery) fall back to a shuffled join.
BROADCAST_GROUPS = 200_000

#: Dispositions counted by the Observation: every reason, plus dropped repeats.
_COUNTED = (*R.REASONS, DEDUPLICATED)


def _counters(obs: Observation, marked: DataFrame) -> DataFrame:
    """``marked`` unchanged, counting rows per final reason while an action streams through it."""
    reason = F.col("reason")
    return marked.observe(
        obs,
        F.count(F.lit(1)).alias("rows_read"),
        *(F.count_if(reason == F.lit(r)).alias(r) for r in _COUNTED),
    )


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
    A file whose last line has no final newline (a download cut mid-line) is cleaned a second
    time with that line refused as partial_line: the first read is what tells its number.
    """
    started = time.perf_counter()
    if not checked:
        check_delivery(spark, raw, path)
    stats = _clean(spark, raw, path, lake_dir, snapshot_id, loaded_at, threshold, None)
    if not stats["ends_with_newline"]:
        log.warning("%s: no final newline: its last line is quarantined as partial_line", raw.file_name)
        stats = _clean(spark, raw, path, lake_dir, snapshot_id, loaded_at, threshold, stats["_lines"])
        stats["ends_with_newline"] = False
    del stats["_lines"]
    seconds = time.perf_counter() - started
    stats["seconds"] = round(seconds, 3)
    stats["rows_per_second"] = round(stats["rows_read"] / seconds, 1) if seconds > 0 else None
    log.info(
        "%s: %d rows read, %d written, %d deduplicated, %d quarantined in %.1f s (%.0f rows/s)",
        raw.file_name, stats["rows_read"], stats["rows_written"], stats["rows_deduplicated"],
        stats["rows_quarantined"], seconds, stats["rows_per_second"] or 0,
    )  # fmt: skip
    return stats


def _clean(
    spark: SparkSession,
    raw: RawInput,
    path: str,
    lake_dir: str,
    snapshot_id: str,
    loaded_at: datetime,
    threshold: float,
    partial_line: int | None,
) -> dict[str, Any]:
    name = raw.file_name
    lines_obs = Observation(f"lines_{raw.dataset}")
    numbered = number_lines(io.read_lines(spark, path)).observe(
        lines_obs,
        F.count(F.lit(1)).alias("lines"),
        F.coalesce(F.sum(F.octet_length("value")), F.lit(0)).alias("bytes"),
    )
    # On local disk, not the heap: three files' worth of cached rows in a 2 GB driver ran out of
    # heap at SF=0.1 (MEMORY_AND_DISK). Reading it back costs little next to a second parse.
    data_lines = numbered.filter(F.col("line_number") > 1)
    annotated = parse(data_lines, raw, partial_line).persist(StorageLevel.DISK_ONLY)
    groups = duplicate_groups(annotated, raw).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        # The first full read (parse, cache, narrow key count), so a truncated or corrupt gzip
        # fails here, before any output exists.
        try:
            repeated_groups = groups.count()
        except Exception as exc:
            raise CleaningError(
                f"{name}: cannot read the whole file (corrupt or truncated?): {root_cause(exc)}"
            ) from exc
        lines = int(lines_obs.get["lines"])
        terminated = io.ends_with_newline(spark, path, int(lines_obs.get["bytes"]) + lines)
        if not terminated and partial_line is None:
            return {"ends_with_newline": False, "_lines": lines}
        if repeated_groups == 0:
            marked = annotated  # the common case: nothing to relabel, no join, no window
        else:
            small = repeated_groups <= BROADCAST_GROUPS
            marked = mark_duplicates(annotated, raw, F.broadcast(groups) if small else groups)

        # Quarantine first: on a threshold failure it is there to inspect.
        obs = Observation(f"counts_{raw.dataset}")
        quarantined = _counters(obs, marked).filter(
            F.col("reason").isNotNull() & (F.col("reason") != F.lit(DEDUPLICATED))
        )
        q_path = quarantine_path(lake_dir, snapshot_id, raw.dataset)
        # repartition, not coalesce: one output file without squeezing the parse into one task.
        io.write_parquet(to_quarantine(quarantined, name).repartition(1), q_path)
        counts = obs.get
        rows_read = int(counts["rows_read"])
        rows_deduplicated = int(counts[DEDUPLICATED])
        quarantined_by_reason = {r: int(counts[r]) for r in R.REASONS if counts[r]}
        rows_quarantined = sum(quarantined_by_reason.values())

        # Key conflicts are a property of the source (Kaggle repeats ids: ~1.6% of its rows), not a
        # broken delivery: they are quarantined but do not count towards the threshold.
        defective = rows_quarantined - quarantined_by_reason.get(R.DUPLICATE_KEY, 0)
        ratio = defective / rows_read
        if ratio > threshold:
            raise ThresholdExceeded(
                f"{name}: {defective} of {rows_read} rows quarantined as defective "
                f"(ratio {ratio:.4f} > threshold {threshold}); see {q_path}"
            )

        good = marked.filter(F.col("reason").isNull())
        io.write_parquet(
            to_output(good, raw, snapshot_id, loaded_at), processed_path(lake_dir, snapshot_id, raw.dataset)
        )
    finally:
        groups.unpersist()
        annotated.unpersist()

    rows_written = rows_read - rows_deduplicated - rows_quarantined
    return {
        "source_file": name,
        "rows_read": rows_read,
        "rows_written": rows_written,
        "rows_deduplicated": rows_deduplicated,
        "rows_quarantined": rows_quarantined,
        "quarantined_by_reason": dict(sorted(quarantined_by_reason.items())),
        "ends_with_newline": terminated,
        "_lines": lines,
    }
