"""The job's Java sources (``imdbelt/``) and the jar they build: the compiled line check
(``spark_jobs.line_check``).

Plain constants, the one home of these names for the job, ``make setup``
(``imdb_elt.line_check_jar``) and the code bundle (``imdb_elt.spark_bundle``, which the DAG builds
without Spark installed).
"""

from __future__ import annotations

from pathlib import Path

SOURCE_DIR = Path(__file__).parent
JAR_NAME = "imdb-elt-line-check.jar"


def sources(folder: Path = SOURCE_DIR) -> list[Path]:
    """The Java sources under ``folder`` (this checkout's by default), sorted."""
    return sorted(folder.rglob("*.java"))
