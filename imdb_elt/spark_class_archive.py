"""The JVM class archive of this environment, written from a real cleaning run of the bundled sample.

    python -m imdb_elt.spark_class_archive        (make setup runs it; nothing to do when it exists)

A local Spark run maps Spark's classes from the archive instead of loading them from the jars
(spark_jobs/session.py). The JVM records in the archive the classes it loaded, so a trivial job
(``spark.range(1).count()``) leaves out most of what the cleaning job loads: the CSV and Parquet
readers and writers, the shuffle, code generation, the window and aggregate operators. This runs
the job itself on every bundled file, so the archive holds those too, and writes it once per
environment, before the first `make run` or test pays for it.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from imdb_elt.config import REPO_ROOT, SAMPLE_DIR
from spark_jobs.session import class_archive

log = logging.getLogger(__name__)

#: A generous bound on the sample's cleaning run plus the archive's write (about 45 s on 2 cores).
TIMEOUT_SECONDS = 900


def ensure(timeout: float = TIMEOUT_SECONDS) -> Path | None:
    """The archive's path once it exists (written now if missing); None when there is no Java or
    the write failed: the archive only saves start-up time, so its absence is never an error."""
    archive = class_archive()
    if archive is None or archive.exists():
        return archive
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="imdb-elt-class-archive-") as tmp:
        raw = Path(tmp) / "raw"
        shutil.copytree(SAMPLE_DIR, raw, ignore=shutil.ignore_patterns("*.md"))
        # A JVM started with no archive writes it as it exits (spark_jobs.session.stop_session).
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "spark_jobs.clean_imdb",
                "--raw-dir",
                str(raw),
                "--lake-dir",
                str(Path(tmp) / "lake"),
                "--snapshot-id",
                "class-archive",
            ],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    if done.returncode != 0 or not archive.exists():
        tail = "\n".join((done.stderr or done.stdout).splitlines()[-20:])
        log.warning(
            "no class archive written (exit %s); Spark runs start without it:\n%s", done.returncode, tail
        )
        return None
    print(
        f"JVM class archive written from the sample's cleaning run in "
        f"{time.perf_counter() - started:.0f} s: {archive} "
        f"({archive.stat().st_size / 2**20:.0f} MiB)",
        flush=True,
    )
    return archive


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    ensure()
    return 0


if __name__ == "__main__":
    sys.exit(main())
