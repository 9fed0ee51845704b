"""Build the SparkSession the cleaning job runs on.

The settings that change what lands on disk (timestamps as INT64 micros, zstd, UTC) are also
applied by ``apply_output_conf`` from ``run()``, so a session built elsewhere (tests, EMR) writes
the same Parquet.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from pyspark.sql import SparkSession

from imdb_elt.catalog import INPUTS

#: Runtime SQL settings the outputs depend on.
OUTPUT_CONF: dict[str, str] = {
    # INT96 is legacy: Redshift COPY, DuckDB and pyarrow read INT64 micros cleanly.
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.parquet.compression.codec": "zstd",
    # Standard 3-level Parquet lists and decimals, not the Hive-era layout.
    "spark.sql.parquet.writeLegacyFormat": "false",
    "spark.sql.session.timeZone": "UTC",
}


def fair_pools_file() -> str:
    """Declare one FAIR pool per input, so concurrent files share the cores without Spark
    warning, file by file, that it had to create an undeclared pool."""
    pools = "".join(
        f'<pool name="{i.dataset}"><schedulingMode>FIFO</schedulingMode>'
        "<weight>1</weight><minShare>0</minShare></pool>"
        for i in INPUTS
    )
    path = Path(tempfile.gettempdir()) / "imdb-elt-fairscheduler.xml"
    path.write_text(f'<?xml version="1.0"?><allocations>{pools}</allocations>\n')
    return str(path)


def build_session(
    master: str | None = "local[2]",
    driver_memory: str | None = "2g",
    app_name: str = "imdb-clean",
    shuffle_partitions: int = 8,
    ui: bool = False,
    extra_conf: dict[str, str] | None = None,
) -> SparkSession:
    """A session for the job. ``master=None`` keeps what spark-submit already decided.

    The UI is off by default: the job logs its own progress per file, and the UI's listener and
    port binding only cost start-up time (turn it on with ``ui=True`` to debug a slow run).

    ``driver_memory`` only takes effect when this call starts the JVM (python -m); under
    spark-submit pass ``--driver-memory`` to spark-submit instead.
    """
    builder = SparkSession.builder.appName(app_name)
    if master:
        builder = builder.master(master)
    if driver_memory:
        builder = builder.config("spark.driver.memory", driver_memory)
    conf = {
        **OUTPUT_CONF,
        # One shuffle per file (the duplicate windows); AQE coalesces small files' partitions.
        "spark.sql.shuffle.partitions": str(shuffle_partitions),
        "spark.sql.adaptive.enabled": "true",
        # The de-duplicated rows are cached after the shuffle; without this AQE may not coalesce
        # the cached plan's partitions, and a 300-line file would be written as 8 tiny files.
        "spark.sql.optimizer.canChangeCachedPlanOutputPartitioning": "true",
        # Small memory pages: with the default (up to 128 MB, one contiguous G1 humongous object)
        # a 2 GB driver cleaning three files at once hit "Java heap space" in the duplicate-key
        # aggregate at SF=0.1 although Spark's own accounting still had room.
        "spark.buffer.pageSize": "8m",
        "spark.ui.enabled": "true" if ui else "false",
        # Progress bars from concurrent files interleave into noise; the job logs per file.
        "spark.ui.showConsoleProgress": "false",
        # Concurrent files from Python threads share the cores fairly instead of queueing.
        "spark.scheduler.mode": "FAIR",
        "spark.scheduler.allocation.file": fair_pools_file(),
        **(extra_conf or {}),
    }
    for key, value in conf.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def apply_output_conf(spark: SparkSession) -> None:
    for key, value in OUTPUT_CONF.items():
        spark.conf.set(key, value)
