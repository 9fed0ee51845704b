"""The bench's Spark floor (``benchmarks/reference_spark.py``) does the job's conversion, minus the checks.

Its ratio to DuckDB is the engine's floor only if it converts what the job converts, typed the same
way: on the bundled sample, one row per data line, and every row the job writes among them.
"""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

from pyspark.sql import SparkSession

from benchmarks.reference_spark import convert
from imdb_elt import layout
from imdb_elt.catalog import BY_FILE_NAME
from imdb_elt.config import SAMPLE_DIR
from spark_jobs.clean_imdb import run

#: A JSON array (characters), lists on a control-character separator (akas) and on a comma, and
#: booleans, years and integers.
FILES = ("title.principals.tsv.gz", "title.akas.tsv.gz", "title.basics.tsv.gz")


def test_naive_reference_types_every_line_as_the_job_does(spark: SparkSession, tmp_path: Path) -> None:
    raw_dir = tmp_path / "raw"
    raw_dir.mkdir()
    for name in FILES:
        shutil.copy(SAMPLE_DIR / name, raw_dir / name)
    run(spark, str(raw_dir), str(tmp_path / "lake"), "S", files=list(FILES), threshold=1.0)

    stats = convert(spark, raw_dir, tmp_path / "naive")

    assert set(stats) == set(FILES)
    for name in FILES:
        raw = BY_FILE_NAME[name]
        with gzip.open(raw_dir / name, "rt", encoding="utf-8", newline="\n") as fh:
            data_lines = sum(1 for _ in fh) - 1
        columns = [c.name for c in raw.columns]
        naive = spark.read.parquet(str(tmp_path / "naive" / raw.dataset))
        processed = layout.dataset_dir(str(tmp_path / "lake"), "S", raw.dataset)
        job = spark.read.parquet(processed).select(*columns)
        assert naive.columns == columns
        assert dict(naive.dtypes) == dict(job.dtypes), name
        assert stats[name]["rows"] == naive.count() == data_lines, name
        written = job.count()
        assert 0.9 * data_lines <= written <= data_lines, name
        assert job.exceptAll(naive).count() == 0, name
