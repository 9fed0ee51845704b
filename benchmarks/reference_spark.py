"""Spark's floor: the seven IMDb TSVs to typed, zstd Parquet with the job's Spark and no checks.

The same conversion as ``benchmarks.reference_duckdb``, in the engine the job runs on: the
job's session (``build_session``: its JVM options, memory, class-data archive and output
settings), each file read as lines, split on tabs, ``\\N`` read as null and every column typed
by the job's own ``typed_value`` (lists split, ``characters`` parsed), written as zstd Parquet.
The files run concurrently from threads, one FAIR pool each, and a file the job writes as
several Parquet files has its lines spread over the cores after the read, as in the job (a gzip
is one task: without the spread title.principals, half the rows, is parsed on one core).

It skips what the DuckDB reference skips (``SKIPS``). So its time against the job's ``spark
clean`` is the price of the checks, and against DuckDB's it is the engine's own: a goal for the
job below this ratio cannot be met by changing the checks.

    python -m benchmarks.reference_spark --raw-dir R --out-dir O
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, Observation, SparkSession
from pyspark.sql import functions as F

from benchmarks.reference_duckdb import TSV_INPUTS
from imdb_elt import catalog
from imdb_elt.catalog import RawInput
from spark_jobs import io
from spark_jobs.clean_file import OUTPUT_BYTES_PER_INPUT_BYTE, output_files
from spark_jobs.progress import Progress
from spark_jobs.rules import column_rules
from spark_jobs.session import apply_output_conf, build_session, stop_session
from spark_jobs.transforms import number_lines, typed_value


def naive_frame(spark: SparkSession, raw: RawInput, path: str, partitions: int = 1) -> DataFrame:
    """One TSV's data lines → the catalogue columns, typed as the job types them; no check at all.

    ``partitions`` > 1: the lines are spread over that many tasks before the parse."""
    fields = F.split(F.col("value"), "\t", -1)
    raw_fields = {
        name: F.when(F.get(fields, i) == F.lit(catalog.TSV_NULL), F.lit(None).cast("string")).otherwise(
            F.get(fields, i)
        )
        for i, name in enumerate(raw.header)
    }
    lines = number_lines(io.read_lines(spark, path))
    if partitions > 1:
        lines = lines.repartition(partitions, "line_number")
    lines = lines.filter(F.col("line_number") > 1)
    return lines.select(*(typed_value(r, raw_fields[r.name]).alias(r.name) for r in column_rules(raw)))


def convert(
    spark: SparkSession, raw_dir: str | Path, out_dir: str | Path, slices: int = 4
) -> dict[str, dict[str, Any]]:
    """Convert every catalogue TSV present in ``raw_dir``; rows and seconds per file.

    ``slices``: the Redshift slices the job sizes its output for (its default)."""
    raw_dir, out_dir = Path(raw_dir), Path(out_dir)
    present = [raw for raw in TSV_INPUTS if (raw_dir / raw.file_name).exists()]
    sc = spark.sparkContext

    def one(raw: RawInput) -> dict[str, Any]:
        sc.setLocalProperty("spark.scheduler.pool", raw.dataset)
        started = time.perf_counter()
        rows = Observation(f"rows_{raw.dataset}")
        path = raw_dir / raw.file_name
        # The job's own rule: as many output files as it writes, each written by its own task.
        partitions = output_files(int(path.stat().st_size * OUTPUT_BYTES_PER_INPUT_BYTE), slices)
        typed = naive_frame(spark, raw, str(path), partitions).observe(rows, F.count(F.lit(1)).alias("n"))
        io.write_parquet(typed, str(out_dir / raw.dataset))
        return {"rows": int(rows.get["n"]), "seconds": round(time.perf_counter() - started, 3)}

    with ThreadPoolExecutor(max_workers=max(1, len(present))) as pool:
        futures = {raw.file_name: pool.submit(one, raw) for raw in present}
        return {name: future.result() for name, future in futures.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--raw-dir", required=True)
    parser.add_argument("--out-dir", required=True)
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args(argv)
    spark = build_session(master=args.master, ui=False)
    try:
        spark.sparkContext.setLogLevel("WARN")
        apply_output_conf(spark)
        cpu = Progress(spark).cpu_seconds
        cpu_before, started = cpu(), time.perf_counter()
        stats = convert(spark, args.raw_dir, args.out_dir)
        seconds, cpu_after = time.perf_counter() - started, cpu()
    finally:
        stop_session(spark)
    used = None if cpu_before is None or cpu_after is None else round(cpu_after - cpu_before, 1)
    print(json.dumps({"files": stats, "seconds": round(seconds, 2), "jvm_cpu_seconds": used}))
    return 0 if stats else 1


if __name__ == "__main__":
    sys.exit(main())
