"""The job's Java sources (``imdbelt/``) and the jar they build: its compiled checks
(``spark_jobs.line_check``, ``spark_jobs.key_order``).

Plain constants, the one home of these names for the job, ``make setup``
(``imdb_elt.checks_jar``) and the code bundle (``imdb_elt.spark_bundle``, which the DAG builds
without Spark installed).
"""

from __future__ import annotations

from pathlib import Path

SOURCE_DIR = Path(__file__).parent
JAR_NAME = "imdb-elt-checks.jar"


def sources(folder: Path = SOURCE_DIR) -> list[Path]:
    """The Java sources under ``folder`` (this checkout's by default), sorted."""
    return sorted(folder.rglob("*.java"))
