"""Clean ONE raw file: header check, parse, write the good rows, then fix what needs fixing.

1. **Write pass** (always): read the raw file once, validate every line in one projection and
   write the valid rows to the processed dataset. Nothing is cached. An ``Observation`` counts the
   lines, their bytes (does the file end with a newline?) and the refused rows as they stream by.
   A file big enough for several output files is split into them by a hash of its key's text
   right after the read (of the line number when the key cannot be cut from the line), so the
   parse and the Parquet encoding of one gzip use every core and one key's rows meet in one task.
2. **Key check** (unless pass 1 found the repeated keys as they streamed by in key order,
   ``spark_jobs.key_order``): repeated natural keys are found from the written key columns alone
   (a hash per key, counted), not from the raw rows.
3. **Revisit** (only a file with refused rows or repeated keys): keep the few rows that matter
   (refused, or with a candidate key), label them (duplicates; a refused last line without a
   final newline says so) and write them to the quarantine and the dedup record. Pass 1 carries
   those lines when they fit its budget (``spark_jobs.carry``; repeated keys only when their keys
   came in order), else the raw file is read again. The processed dataset is rewritten only if
   a row written in step 1 must go.
4. **Counts from the written files**: rows written, quarantined (per reason) and deduplicated are
   read back from the Parquet just written (footers, and the small quarantine), rows read from the
   raw lines. The identity read = written + deduplicated + quarantined is then checked, not
   assumed.

A small file whose keys do not come sorted (the Kaggle CSV) takes none of steps 1-3: it is read
once and kept, and every output is written from its labelled rows (``_File.in_memory_pass``).

For a local file the header and emptiness check reads two lines in plain Python before any job.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
import zlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pyspark import StorageLevel
from pyspark.sql import DataFrame, Observation, SparkSession
from pyspark.sql import functions as F

from imdb_elt import layout
from imdb_elt.catalog import RawInput
from spark_jobs import carry, io, key_order, line_check
from spark_jobs import rules as R
from spark_jobs.errors import CleaningError, ThresholdExceeded, root_cause
from spark_jobs.header import check_header
from spark_jobs.progress import Progress
from spark_jobs.schemas import DEDUPLICATED_SCHEMA, QUARANTINE_SCHEMA
from spark_jobs.transforms import (
    DEDUPLICATED,
    keeps_first_line,
    key_hash,
    mark_duplicates,
    note_no_final_newline,
    number_lines,
    parser,
    to_deduplicated,
    to_output,
    to_quarantine,
)

log = logging.getLogger("spark_jobs.clean_imdb")

#: Up to this many candidate keys are broadcast to the rows (a map-side join, no shuffle of the
#: full rows); more (a pathological delivery) fall back to a shuffled join. Pass 1 collects at most
#: this many repeated keys' hashes (its share per task), else the key check finds them.
BROADCAST_KEYS = 200_000
#: Pass 1's column of key order answers (``spark_jobs.key_order``), observed then dropped.
_ORDER = "_key_order"
#: Pass 1's column saying which refused lines it carries to the revisit (``spark_jobs.carry``).
_CARRIED = "_carried"
#: Bytes of lines pass 1 may carry to the revisit, split over the file's tasks: once for the
#: refused lines, once for the lines of repeated keys. A file with more is read again instead.
CARRY_BYTES = 32 * 2**20
#: Key hashes per partition of the key check. Measured on title.akas at SF=1 (55M keys): in 8
#: partitions the count took 58 CPU s, in 32 32 s, in 64 28 s, in 256 37 s (this size gives 56).
KEYS_PER_PARTITION = 1_000_000
#: Output files: one below this estimated size; else a multiple of the Redshift slice count with
#: files of at most ``MAX_FILE_BYTES`` (64-256 MB at full size: COPY loads one file per slice).
MIN_SPLIT_BYTES = 64 * 2**20
MAX_FILE_BYTES = 256 * 2**20
#: A Spark option (spark-defaults.conf) that lowers MIN_SPLIT_BYTES: a small file then takes the
#: big files' path, its lines spread over every executor (the cluster tests use it).
MIN_SPLIT_CONF = "spark.imdb_elt.minSplitBytes"
#: A file whose keys do not come sorted (``RawInput.sorted_by_key``: the Kaggle CSV) and of at
#: most this many bytes is cleaned in memory (``_File.in_memory_pass``): read and parsed once,
#: then its processed rows and records are all written from the parsed rows. Its key check,
#: pass 2 and rewrite would each plan and run jobs for a few thousand rows.
IN_MEMORY_BYTES = 16 * 2**20
#: Processed zstd Parquet bytes per raw input byte, measured on the generated files at SF=0.1
#: (gzip TSV in, typed Parquet out); only used to choose the number of output files.
OUTPUT_BYTES_PER_INPUT_BYTE = 1.0


@dataclass(frozen=True)
class PassOne:
    """What pass 1 counted and collected as the rows streamed by."""

    #: Lines, the header included, and their bytes with one newline each.
    lines: int
    bytes: int
    refused: int
    #: Every refused line (an observed list of ``carry.LINE``), or None: not collected, or not all.
    refused_lines: object | None
    #: The hashes of the keys answered REPEAT as text ("1,-2"); None without the order check.
    repeated: str | None
    #: Every task's keys were in order: ``repeated`` names every repeated key.
    in_order: bool
    #: With ``in_order``, every line of every repeated key (an observed list of ``carry.REPEAT``).
    repeated_lines: object | None


def output_files(estimated_bytes: int, slices: int, min_split_bytes: int = MIN_SPLIT_BYTES) -> int:
    """How many Parquet files one dataset is written as."""
    if estimated_bytes < min_split_bytes:
        return 1
    return slices * max(1, math.ceil(estimated_bytes / (slices * MAX_FILE_BYTES)))


def delivered_name(path: str) -> str:
    """The file's own name (``title.ratings.tsv`` or ``.tsv.gz``): what messages and records name."""
    return path.rstrip("/").rsplit("/", 1)[-1]


def _first_lines(spark: SparkSession, path: str) -> list[str]:
    """The first two lines, read without touching the rest of the file."""
    local = io.local_path(path)
    name = delivered_name(path)
    try:
        if local is not None:  # plain Python: no Spark job for a header
            return io.first_lines_local(local, 2)
        return [r.value for r in io.read_lines(spark, path).head(2)]
    except (OSError, EOFError, zlib.error) as exc:  # not gzip, unreadable, ...
        raise CleaningError(f"{name}: cannot read the file: {type(exc).__name__}: {exc}") from exc
    except Exception as exc:  # a JVM error
        raise CleaningError(f"{name}: cannot read the file: {root_cause(exc)}") from exc


def check_delivery(spark: SparkSession, raw: RawInput, path: str) -> None:
    """Refuse a file whose header is wrong or that holds no data line (reads two lines only)."""
    name = delivered_name(path)
    first = _first_lines(spark, path)
    if not first:
        raise CleaningError(f"{name}: empty delivery (the file has no lines)")
    check_header(first[0], raw, name)
    if len(first) < 2:
        raise CleaningError(f"{name}: empty delivery (header only, no data lines)")


def step_name(text: str) -> str:
    """A progress text's step: the words before any ":" or "(" ("pass 1", "key check", ...)."""
    return text.split(":")[0].split("(")[0].strip()


def job_description(file_name: str, step: str) -> str:
    """The Spark job description of one file's step: ``clean title.basics.tsv.gz: pass 1``."""
    return f"clean {file_name}: {step}"


def _observation(raw: RawInput, what: str) -> Observation:
    # Unique per query: concurrent files and passes must not share a name.
    return Observation(f"{what}_{raw.dataset}_{uuid.uuid4().hex[:8]}")


class _File:
    """One file's cleaning: its paths, settings and the steps above."""

    def __init__(
        self,
        spark: SparkSession,
        raw: RawInput,
        path: str,
        lake_dir: str,
        snapshot_id: str,
        loaded_at: datetime,
        slices: int,
        progress: Progress | None,
        staging: str = "copy",
    ) -> None:
        self.spark, self.raw, self.path = spark, raw, path
        self.name = delivered_name(path)
        self.snapshot_id, self.loaded_at = snapshot_id, loaded_at
        self.processed = layout.dataset_dir(lake_dir, snapshot_id, raw.dataset)
        self.quarantine = layout.quarantine_dir(lake_dir, snapshot_id, raw.dataset)
        self.deduplicated = layout.deduplicated_dir(lake_dir, snapshot_id, raw.dataset)
        self.size = io.file_size(spark, path) or 0
        min_split = int(spark.conf.get(MIN_SPLIT_CONF, str(MIN_SPLIT_BYTES)) or MIN_SPLIT_BYTES)
        self.files = output_files(int(self.size * OUTPUT_BYTES_PER_INPUT_BYTE), slices, min_split)
        self.progress = progress
        #: Wall seconds per step (the text before any ":" or "("), for the stats and profiles.
        self.step_seconds: dict[str, float] = {}
        self._step: tuple[str, float] | None = None
        #: The parse's projections, built once for pass 1, pass 2 and the records.
        self.parse = parser(raw, staging, line_check.clean_line(spark, raw, staging))
        #: Pass 1's partitions (when more than one): by the key's text, so one key, one task.
        self.spread = key_order.spread_by(raw)
        # Only where one task sees every row of a key does pass 1's order count prove anything.
        one_task_per_key = self.files == 1 or self.spread is not None
        ordered = one_task_per_key and key_order.available(spark)
        line = F.col("line_number")
        share = CARRY_BYTES // self.files
        self.key_order = (
            key_order.order(raw, line, F.col("value"), BROADCAST_KEYS // self.files, share)
            if ordered
            else None
        )
        #: Pass 1 leaves out the rows answered REPEAT: never the row the dedup keeps.
        self.drops_repeats = self.key_order is not None and keeps_first_line(raw)
        #: Pass 1 collects the refused lines (within ``CARRY_BYTES``) for the revisit.
        self.carries_refused = carry.available(spark)
        #: One read, every output from the parsed rows (``IN_MEMORY_BYTES``).
        self.in_memory = self.files == 1 and self.size <= IN_MEMORY_BYTES and not raw.sorted_by_key

    def step(self, text: str) -> None:
        self.end_step()
        self._step = (step_name(text), time.perf_counter())
        # The Spark UI and history server (EMR) then list each job under its file and step, and
        # `make profile` charges executor CPU to them.
        self.spark.sparkContext.setJobDescription(job_description(self.name, self._step[0]))
        if self.progress is not None:
            self.progress.step(self.name, self.path, self.size, text)
        log.debug("%s: %s", self.name, text)

    def end_step(self) -> None:
        if self._step is not None:
            name, started = self._step
            spent = time.perf_counter() - started
            self.step_seconds[name] = round(self.step_seconds.get(name, 0.0) + spent, 3)
            self._step = None

    def data_lines(self, lines: Observation | None = None, partitions: int = 1) -> DataFrame:
        numbered = number_lines(io.read_lines(self.spark, self.path))
        if partitions > 1:  # one gzip is one task: spread what follows over the cores
            by = self.spread if self.spread is not None else F.col("line_number")
            numbered = numbered.repartition(partitions, by)
        if lines is not None:
            # Counted after the repartition, in the stage that writes: Spark applies a result
            # task's metrics once, but applies a map task's again each time the stage re-runs
            # (an executor lost with its shuffle files), which counted every line twice.
            numbered = numbered.observe(
                lines,
                F.count(F.lit(1)).alias("lines"),
                F.coalesce(F.sum(F.octet_length("value")), F.lit(0)).alias("bytes"),
            )
        return numbered.filter(F.col("line_number") > 1)

    def valid_rows(self, lines: Observation, counts: Observation, keys: Observation | None) -> DataFrame:
        """The rows pass 1 writes: every line parsed and checked once, the valid ones typed.

        ``counts`` counts the refused rows and, with ``carries_refused``, collects their lines
        within each task's budget (``spark_jobs.carry``). ``keys`` counts the rows whose key is not
        in order after the previous one's in its task (``unproven``), collects the hashes of keys
        that repeat the previous one (``repeated``) and the lines of those keys' rows
        (``lines``); with ``drops_repeats`` the repeating rows are not written.

        The observation of the refused rows sits between the parse and the filter on purpose:
        Spark 4.0 (EMR's emr-spark-8.0.0) pushes a filter through projections by copying their
        expressions, which would run every check twice and split a line dozens of times (4.1's
        ``spark.sql.optimizer.avoidDoubleFilterEval`` fixes that); it does not push through an
        observation. tests/spark/test_clean_job.py checks the plan.
        """
        data = self.data_lines(lines, self.files)
        annotated = self.parse(data)
        refused = ~F.col("ok")
        metrics = [F.count_if(refused).alias("refused")]
        if self.carries_refused:
            this_line = carry.line(F.col("line_number"), F.col("value"))
            # A column of a projection: the stateful budget runs once per refused row.
            carried = F.col(_CARRIED)
            annotated = annotated.withColumn(
                _CARRIED, F.when(refused, carry.within_budget(F.col("value"), CARRY_BYTES // self.files))
            )
            metrics += [
                F.count_if(refused & ~carried).alias("uncarried"),
                F.collect_list(F.when(carried, this_line)).alias("lines"),
            ]
        good = annotated.observe(counts, *metrics).filter(F.col("ok"))
        if keys is None or self.key_order is None:
            return to_output(good, self.raw, self.snapshot_id, self.loaded_at)
        # A column of a projection: the stateful check runs once per row, the observation reads it.
        result = F.col(_ORDER)
        # Null on almost every row (AFTER): the collecting aggregates test that first.
        repeat = result.isNotNull() & (result["answer"] == F.lit(key_order.REPEAT))
        repeated = F.collect_set(F.when(repeat, key_hash(self.raw).cast("string")))
        lines_of_repeats = carry.repeat(result["first_line"], result["first_value"], F.col("line_number"),
                                        F.col("value"))  # fmt: skip
        observed = good.withColumn(_ORDER, self.key_order).observe(
            keys,
            F.count_if(key_order.answer(result) == F.lit(key_order.UNPROVEN)).alias("unproven"),
            F.concat_ws(",", repeated).alias("repeated"),  # text: py4j returns no Python list
            F.collect_list(F.when(repeat, lines_of_repeats)).alias("lines"),
        )
        if self.drops_repeats:
            observed = observed.filter(~repeat)
        return to_output(observed, self.raw, self.snapshot_id, self.loaded_at)

    def write_pass(self) -> PassOne:
        """Write the valid rows; return what pass 1 counted and collected."""
        self.step(f"pass 1: parse and write ({self.files} file(s))")
        lines, counts = _observation(self.raw, "lines"), _observation(self.raw, "refused")
        keys = None if self.key_order is None else _observation(self.raw, "keys")
        good = self.valid_rows(lines, counts, keys)
        try:
            io.write_parquet(good, self.processed)
        except Exception as exc:
            raise CleaningError(
                f"{self.name}: cannot read the whole file (corrupt or truncated?): {root_cause(exc)}"
            ) from exc
        n = int(lines.get["lines"])
        refused = counts.get
        all_carried = self.carries_refused and int(refused["uncarried"]) == 0
        found = keys.get if keys is not None else None
        in_order = found is not None and int(found["unproven"]) == 0
        return PassOne(
            lines=n,
            bytes=int(lines.get["bytes"]) + n,
            refused=int(refused["refused"]),
            refused_lines=refused["lines"] if all_carried else None,
            repeated=None if found is None else str(found["repeated"]),
            in_order=in_order,
            repeated_lines=found["lines"] if in_order and found is not None else None,
        )

    def in_memory_pass(self) -> tuple[int, bool, int]:
        """Clean a small file from one read: (lines, ends with a newline, repeated keys).

        The lines are kept, parsed once and kept; ``mark_duplicates`` sees every row, and the
        processed rows, the quarantine and the dedup record are written from its result: the
        rows it leaves unlabelled, the refused ones, the repeats. Nothing is rewritten.
        """
        self.step("in memory: parse, label repeats, write")
        numbered = number_lines(io.read_lines(self.spark, self.path)).persist(StorageLevel.MEMORY_AND_DISK)
        parsed = marked = None
        try:
            try:
                read = numbered.agg(
                    F.count(F.lit(1)).alias("lines"),
                    F.coalesce(F.sum(F.octet_length("value")), F.lit(0)).alias("bytes"),
                ).first()
            except Exception as exc:
                raise CleaningError(
                    f"{self.name}: cannot read the whole file (corrupt or truncated?): {root_cause(exc)}"
                ) from exc
            assert read is not None
            lines, line_bytes = int(read["lines"]), int(read["bytes"]) + int(read["lines"])
            terminated = io.ends_with_newline(self.spark, self.path, line_bytes)
            data = numbered.filter(F.col("line_number") > 1)
            parsed = self.parse(data).persist(StorageLevel.MEMORY_AND_DISK)
            marked = mark_duplicates(parsed, self.raw)
            if not terminated:
                marked = note_no_final_newline(marked, lines)
            marked = marked.persist(StorageLevel.MEMORY_AND_DISK)
            good = marked.filter(F.col("reason").isNull())
            kept = to_output(good, self.raw, self.snapshot_id, self.loaded_at)
            io.write_parquet(kept.coalesce(1), self.processed)
            self.write_records(marked)
            # A repeated key's rows are all valid, and all but one were labelled.
            relabelled = marked.filter(F.col("ok") & F.col("reason").isNotNull())
            return lines, terminated, relabelled.select(*self.raw.key).distinct().count()
        finally:
            for frame in (marked, parsed, numbered):
                if frame is not None:
                    frame.unpersist()

    def write_records(self, marked: DataFrame) -> None:
        """The quarantine (refused rows) and the dedup record (repeats) from labelled rows."""
        reason = F.col("reason")
        refused = marked.filter(reason.isNotNull() & (reason != F.lit(DEDUPLICATED)))
        io.write_parquet(to_quarantine(refused, self.name).coalesce(1), self.quarantine)
        dropped = marked.filter(reason == F.lit(DEDUPLICATED))
        io.write_parquet(to_deduplicated(dropped, self.name).coalesce(1), self.deduplicated)

    def candidate_keys(self, unwritten: str | None = None) -> DataFrame:
        """Hashes of the natural keys written more than once, and of the ``unwritten`` repeats
        pass 1 left out (text, "1,-2") (persisted: few rows)."""
        self.step("key check: finding repeated keys in the written rows")
        written = io.read_parquet(self.spark, self.processed).select(key_hash(self.raw).alias("_h"))
        rows = io.parquet_rows(self.spark, self.processed)  # footers only
        default = int(self.spark.conf.get("spark.sql.shuffle.partitions") or 8)
        partitions = max(default, math.ceil(rows / KEYS_PER_PARTITION))
        # Shuffled first: a partial aggregate before the exchange only grows a map of unique keys.
        spread = written.repartition(partitions, "_h")
        repeated = spread.groupBy("_h").count().filter(F.col("count") > 1).select("_h")
        if unwritten:
            repeated = repeated.unionByName(self.known_keys(unwritten)).distinct()
        return repeated.persist(StorageLevel.MEMORY_AND_DISK)

    def known_keys(self, hashes: str) -> DataFrame:
        """Pass 1's hashes of repeated keys ("1,-2") as the key check's result (``_h``). Built in
        the JVM from the text: a DataFrame from a Python list would start Python workers."""
        listed = F.split(F.lit(hashes), ",").cast("array<bigint>")
        return self.spark.range(1).select(F.explode(listed).alias("_h"))

    def write_empty_side_outputs(self) -> None:
        # From an RDD with no partitions: an empty list becomes a Python RDD whose (empty) tasks
        # start Python workers, the job's only use of them.
        nothing = self.spark.sparkContext.emptyRDD()
        for schema, path in ((QUARANTINE_SCHEMA, self.quarantine), (DEDUPLICATED_SCHEMA, self.deduplicated)):
            io.write_parquet(self.spark.createDataFrame(nothing, schema), path)

    def revisit(
        self,
        candidates: DataFrame | None,
        n_candidates: int,
        refused: int,
        unterminated: int | None,
        written_are_kept: bool = False,
        carried: DataFrame | None = None,
    ) -> None:
        """Quarantine and dedup record from the few rows that matter; fix processed if needed.

        ``carried``: every line that matters, collected by pass 1; without them, the file is read
        again (``reread``). Only those lines are parsed in full. ``candidates``: None when no key
        repeats (pass 1 proved it): only the refused rows matter. ``unterminated``: the number of
        the file's last line when it had no final newline. ``written_are_kept``: pass 1 wrote
        only rows the dedup keeps (it left out every repeat), so processed needs no rewrite.
        """
        raw = self.raw
        if carried is not None:
            self.step("records: refused rows, repeated keys, from pass 1's lines")
            chosen = carried
        else:
            self.step("pass 2: refused rows, repeated keys")
            chosen = self.reread(candidates, n_candidates, refused)
        subset = self.parse(chosen).persist(StorageLevel.MEMORY_AND_DISK)
        try:
            marked = mark_duplicates(subset, raw)
            if unterminated is not None:
                marked = note_no_final_newline(marked, unterminated)
            marked = marked.persist(StorageLevel.MEMORY_AND_DISK)
            try:
                self.write_records(marked)
                # Rows written by pass 1 that must go: keys whose rows are replaced by the kept ones.
                gone = marked.filter(F.col("ok") & F.col("reason").isNotNull()).select(*raw.key).distinct()
                if not written_are_kept and gone.count() > 0:
                    self.rewrite_processed(marked, gone)
            finally:
                marked.unpersist()
        finally:
            subset.unpersist()

    def reread(self, candidates: DataFrame | None, n_candidates: int, refused: int) -> DataFrame:
        """The lines that matter (``line_number``, ``value``), read from the file again: picked by
        their key hash (and, when pass 1 refused rows, by the validity flag) without typing the rest."""
        raw = self.raw
        lines = self.data_lines()
        validity = ["ok"] if refused else []  # only then is the validity of every line worth computing
        probe = self.parse(lines)
        if candidates is None:
            return probe.filter(~F.col("ok")).select("line_number", "value")
        probe = probe.select("line_number", "value", *validity, key_hash(raw).alias("_h"))
        flags = candidates.select("_h", F.lit(True).alias("_candidate"))
        if n_candidates <= BROADCAST_KEYS:
            flags = F.broadcast(flags)
        matters = F.coalesce(F.col("_candidate"), F.lit(False))
        if refused:
            matters = matters | ~F.col("ok")
        return probe.join(flags, "_h", "left").filter(matters).select("line_number", "value")

    def rewrite_processed(self, marked: DataFrame, gone: DataFrame) -> None:
        """Processed = what pass 1 wrote, minus every row of the ``gone`` keys, plus their kept rows."""
        self.step("rewrite: processed without repeats")
        raw = self.raw
        keys = list(raw.key)
        old = io.read_parquet(self.spark, self.processed)
        kept = marked.filter(F.col("reason").isNull()).join(F.broadcast(gone), keys, "left_semi")
        rows = old.join(F.broadcast(gone), keys, "left_anti").unionByName(
            to_output(kept, raw, self.snapshot_id, self.loaded_at)
        )
        staging = self.processed.rstrip("/") + "._rewrite"
        io.write_parquet(rows.coalesce(self.files), staging)
        io.replace_dir(self.spark, staging, self.processed)

    def counts(self) -> tuple[int, dict[str, int], int]:
        """(rows written, quarantined per reason, rows deduplicated), read from the written files.

        Row counts come from the Parquet footers; the reasons from the (small) quarantine itself.
        """
        self.step("counts: counting the written files")
        written = io.parquet_rows(self.spark, self.processed)
        deduplicated = io.parquet_rows(self.spark, self.deduplicated)
        by_reason: dict[str, int] = {}
        if io.parquet_rows(self.spark, self.quarantine):
            rows = io.read_parquet(self.spark, self.quarantine).groupBy("reason").count().collect()
            by_reason = {r["reason"]: int(r["count"]) for r in rows}
        return written, by_reason, deduplicated

    def last_line(self, line_number: int, revisited: bool) -> dict[str, Any]:
        """What became of the last line (one without a final newline): written, or its reason.

        Looked up in the (small) quarantine and dedup record; without a revisit it was written.
        """
        outcome: dict[str, Any] = {"line_number": line_number, "written": True, "reason": None}
        if not revisited:
            return outcome
        for path, reason in ((self.quarantine, F.col("reason")), (self.deduplicated, F.lit(DEDUPLICATED))):
            if io.parquet_rows(self.spark, path):
                found = io.read_parquet(self.spark, path).filter(F.col("line_number") == F.lit(line_number))
                row = found.select(reason.alias("reason")).head()
                if row is not None:
                    return {**outcome, "written": False, "reason": row["reason"]}
        return outcome


def _passes(spark: SparkSession, f: _File) -> tuple[int, bool, int, str, bool]:
    """Pass 1, then the key check, the revisit and the rewrite where needed: (lines, ends with a
    newline, repeated keys, how they were found, revisited)."""
    first = f.write_pass()
    lines, refused, repeated = first.lines, first.refused, first.repeated
    terminated = io.ends_with_newline(spark, f.path, first.bytes)
    # Pass 1 found the repeated keys (maybe none), or the key check finds them: in the written
    # rows, and among the repeats pass 1 left out.
    found = [h for h in repeated.split(",") if h] if first.in_order and repeated is not None else None
    candidates = f.candidate_keys(repeated if f.drops_repeats else None) if found is None else None
    try:
        n_candidates = candidates.count() if found is None else len(found)
        revisited = bool(refused or n_candidates)
        if revisited:
            # The lines that matter, when pass 1 carried every one of them.
            refused_lines = first.refused_lines if refused else None
            repeated_lines = first.repeated_lines if n_candidates and found is not None else None
            missing = (refused and refused_lines is None) or (n_candidates and repeated_lines is None)
            if missing and candidates is None and n_candidates:
                candidates = f.known_keys(repeated)  # the second read picks the repeats' lines too
            carried = None if missing else carry.lines_frame(spark, refused_lines, repeated_lines)
            f.revisit(
                candidates if n_candidates else None,
                n_candidates,
                refused,
                None if terminated else lines,
                written_are_kept=f.drops_repeats and found is not None,
                carried=carried,
            )
        else:
            f.write_empty_side_outputs()
    finally:
        if candidates is not None:
            candidates.unpersist()
    key_check = "read back" if found is None else "keys in order (pass 1)"
    return lines, terminated, n_candidates, key_check, revisited


def clean_file(
    spark: SparkSession,
    raw: RawInput,
    path: str,
    lake_dir: str,
    snapshot_id: str,
    loaded_at: datetime,
    threshold: float,
    checked: bool = False,
    slices: int = 4,
    progress: Progress | None = None,
    staging: str = "copy",
) -> dict[str, Any]:
    """Clean one file and return its stats; raise CleaningError naming the file on refusal.

    ``checked``: check_delivery already passed (run() checks every header before cleaning).
    ``slices``: the Redshift slice count the output files are sized for. ``staging``: the
    Redshift staging path (copy | spectrum) whose byte limits the values must fit.
    """
    started = time.perf_counter()
    name = delivered_name(path)
    if not checked:
        check_delivery(spark, raw, path)
    f = _File(spark, raw, path, lake_dir, snapshot_id, loaded_at, slices, progress, staging)
    try:
        if f.in_memory:
            lines, terminated, n_candidates = f.in_memory_pass()
            key_check, revisited = "in memory", True
        else:
            lines, terminated, n_candidates, key_check, revisited = _passes(spark, f)
        unterminated = None if terminated else lines
        rows_written, quarantined_by_reason, rows_deduplicated = f.counts()
        last_line = None if unterminated is None else f.last_line(unterminated, revisited)
        if last_line is not None:
            log.warning(
                "%s: no final newline; its last line (%d) was %s", name, unterminated,
                "written" if last_line["written"] else f"refused: {last_line['reason']}",
            )  # fmt: skip
        f.end_step()
    finally:
        if progress is not None:
            progress.done(name)
    rows_read = lines - 1
    rows_quarantined = sum(quarantined_by_reason.values())
    accounted = rows_written + rows_deduplicated + rows_quarantined
    if accounted != rows_read:  # counted independently: a bug, never a data problem
        raise CleaningError(
            f"{name}: accounting mismatch: {rows_read} data lines read, but {rows_written} written + "
            f"{rows_deduplicated} deduplicated + {rows_quarantined} quarantined = {accounted}"
        )

    # Key conflicts are a property of the source (Kaggle repeats ids: ~1.6% of its rows), not a
    # broken delivery: they are quarantined but do not count towards the threshold.
    defective = rows_quarantined - quarantined_by_reason.get(R.DUPLICATE_KEY, 0)
    ratio = defective / rows_read
    if ratio > threshold:
        raise ThresholdExceeded(
            f"{name}: {defective} of {rows_read} rows quarantined as defective "
            f"(ratio {ratio:.4f} > threshold {threshold}); see {f.quarantine}"
        )
    seconds = time.perf_counter() - started
    stats = {
        "source_file": name,
        "rows_read": rows_read,
        "rows_written": rows_written,
        "rows_deduplicated": rows_deduplicated,
        "rows_quarantined": rows_quarantined,
        "quarantined_by_reason": dict(sorted(quarantined_by_reason.items())),
        "ends_with_newline": terminated,
        "last_line": last_line,
        "output_files": f.files,
        "revisited": revisited,
        "key_check": key_check,
        "repeated_keys": n_candidates,
        "seconds": round(seconds, 3),
        "seconds_by_step": f.step_seconds,
        "rows_per_second": round(rows_read / seconds, 1) if seconds > 0 else None,
    }
    log.info(
        "%s: %d rows read, %d written, %d deduplicated, %d quarantined in %.1f s (%.0f rows/s; %s)",
        name, rows_read, rows_written, rows_deduplicated, rows_quarantined, seconds,
        stats["rows_per_second"] or 0, ", ".join(f"{k} {v:.1f} s" for k, v in f.step_seconds.items()),
    )  # fmt: skip
    return stats
