"""One SparkSession for the whole Spark suite (JVM start-up costs ~5-10 s), plus raw-file helpers."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from imdb_elt.catalog import RawInput
from spark_jobs.session import build_session, stop_session


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkSession]:
    warehouse = tmp_path_factory.mktemp("spark-warehouse")
    session = build_session(
        master="local[2]",
        driver_memory="1g",
        app_name="imdb-clean-tests",
        shuffle_partitions=2,
        ui=False,
        quick_start=True,  # the suite's inputs are all small
        extra_conf={
            "spark.sql.warehouse.dir": str(warehouse),
            "spark.driver.extraJavaOptions": f"-Dderby.system.home={warehouse}",
        },
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    stop_session(session)


def tsv_bytes(raw: RawInput, rows: list[bytes | str], eol: bytes = b"\n") -> bytes:
    """The catalogue header plus ``rows`` (each one line, without its end), joined by ``eol``."""
    header = "\t".join(raw.header).encode()
    lines = [header, *(r.encode() if isinstance(r, str) else r for r in rows)]
    return b"".join(line + eol for line in lines)


def write_gz(folder: Path, name: str, data: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(gzip.compress(data))
    return path
