"""Build the SparkSession the cleaning job runs on, and stop it.

The settings that change what lands on disk (timestamps as INT64 micros, zstd, UTC) are also
applied by ``apply_output_conf`` from ``run()``, so a session built elsewhere (tests, EMR) writes
the same Parquet.

Start-up: a local run loads ~18,000 classes from Spark's jars before its first job, and on this
machine kind that costs more than anything else in a small run. When this process starts the
JVM (``python -m``, tests; not spark-submit), the JVM maps the classes from an application class
data sharing archive (AppCDS) instead: the first run on a machine writes it when its JVM exits
(``stop_session`` waits for that), every later run loads from it. The archive is keyed on the
Java binary and the jar set, kept inside the Python environment (``<venv>/share/imdb-elt/``; the
user's cache folder outside a venv), one per environment: writing one removes the folder's
stale ones. The JVM ignores an archive that does not match. ``make setup`` writes it from a real
cleaning run of the bundled sample (``imdb_elt.spark_class_archive``), so it holds the classes the
job loads, not only the start-up's.

A run on small inputs also stops the JIT at its first tier (``quick_start``): such a run is over
before the optimising compiler's work pays back. Measured on the bundled sample (40k rows,
1.5 MB): JVM start 5.5 -> 3.1 s, cleaning 35.1 -> 22.3 s; on 2M rows (28 MB) both ways took the
same (47.5 vs 46.3 s), so larger inputs keep the default JIT.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pyspark
from pyspark import SparkContext
from pyspark.sql import SparkSession

from imdb_elt.catalog import INPUTS
from spark_jobs import jvm

log = logging.getLogger("spark_jobs.clean_imdb")

#: Runtime SQL settings the outputs depend on.
OUTPUT_CONF: dict[str, str] = {
    # INT96 is legacy: Redshift COPY, DuckDB and pyarrow read INT64 micros cleanly.
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.parquet.compression.codec": "zstd",
    # Standard 3-level Parquet lists and decimals, not the Hive-era layout.
    "spark.sql.parquet.writeLegacyFormat": "false",
    "spark.sql.session.timeZone": "UTC",
}
#: Runtime SQL settings the job's plans need: filtering on the validity flag, itself a CASE over
#: every check, makes constraint propagation blow up (minutes of planning, then out of heap).
PLAN_CONF: dict[str, str] = {
    "spark.sql.constraintPropagation.enabled": "false",
}


#: glibc malloc arenas for the JVM this process starts (see build_session).
MALLOC_ARENA_MAX = "2"


def fair_pools_file() -> str:
    """Declare one FAIR pool per input, so concurrent files share the cores without Spark
    warning, file by file, that it had to create an undeclared pool."""
    pools = "".join(
        f'<pool name="{i.dataset}"><schedulingMode>FIFO</schedulingMode>'
        "<weight>1</weight><minShare>0</minShare></pool>"
        for i in INPUTS
    )
    path = Path(tempfile.gettempdir()) / "imdb-elt-fairscheduler.xml"
    # Written aside, then renamed: a JVM starting at the same moment never reads half a file.
    partial = path.with_name(f"{path.name}.{os.getpid()}")
    partial.write_text(f'<?xml version="1.0"?><allocations>{pools}</allocations>\n')
    partial.replace(path)
    return str(path)


def _java() -> Path | None:
    """The java binary spark-submit will start (JAVA_HOME first, as bin/spark-class does)."""
    home = os.environ.get("JAVA_HOME")
    found = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    return Path(found).resolve() if found else None


def checks_jar() -> Path:
    """Where ``make setup`` puts the jar of the job's compiled checks: inside the environment,
    beside the class archive."""
    return archive_folder() / jvm.JAR_NAME


#: File names of the archives in their folder: ``<prefix><key>.jsa``.
ARCHIVE_PREFIX = "spark-classes-"


def archive_folder() -> Path:
    """The environment's own folder for the archive: inside the venv (removed with it, never shared
    between clones), or the user's cache folder for an interpreter outside a venv or a read-only one."""
    if sys.prefix != sys.base_prefix:
        folder = Path(sys.prefix) / "share" / "imdb-elt"
        if os.access(folder if folder.exists() else Path(sys.prefix), os.W_OK):
            return folder
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "imdb-elt"


def class_archive() -> Path | None:
    """Where the class archive for this Java and this jar set lives (None: no java found)."""
    java = _java()
    if java is None or not java.exists():
        return None
    jars = Path(pyspark.__file__).parent / "jars"
    digest = hashlib.sha256()
    for path in (java, *sorted(jars.glob("*.jar"))):
        stat = path.stat()
        digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return archive_folder() / f"{ARCHIVE_PREFIX}{digest.hexdigest()[:16]}.jsa"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_archives(keep: Path) -> list[Path]:
    """Remove the other archives of ``keep``'s folder (another Java or jar set: never mapped again)
    and the partial ones of processes that died while writing; return what was removed."""
    removed = []
    for path in keep.parent.glob(f"{ARCHIVE_PREFIX}*.jsa*"):
        if path == keep:
            continue
        if path.name.endswith(".partial"):
            pid = path.name.removesuffix(".partial").rsplit(".", 1)[-1]
            if pid.isdigit() and _pid_alive(int(pid)):
                continue  # another process is writing it
        path.unlink(missing_ok=True)
        removed.append(path)
    return removed


#: Inputs up to this many bytes in all get ``quick_start`` (see the module docstring).
QUICK_START_MAX_BYTES = 16 * 2**20
#: The JVM option behind ``quick_start``: the first (C1) JIT tier only.
# With C1 only the JVM also shrinks its code cache to 48 MB, which a long-lived session (the test
# suite's shared one) fills: "Out of space in CodeCache for adapters" killed it once. The default
# size is kept (reserved, not committed: no cost to a short run).
QUICK_START_JAVA_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=240m"

#: The archive this process's JVM is writing at exit (installed by ``stop_session``).
_dumping: tuple[Path, Path] | None = None


#: A stale or mismatched archive is skipped without a word.
_QUIET_CDS = "-Xlog:cds=off -Xlog:cds+dynamic=off"


def archive_options() -> str:
    """JVM options to map the class archive, "" when there is none yet. Every JVM of this pyspark
    has the same class path, so a standalone cluster's daemons, driver and executors map it too."""
    archive = class_archive()
    return f"-XX:SharedArchiveFile={archive} {_QUIET_CDS}" if archive and archive.exists() else ""


def _class_sharing_options() -> str:
    """JVM options to use the class archive, or to write it if it does not exist yet."""
    global _dumping
    archive = class_archive()
    if archive is None or archive.exists():
        return archive_options()
    archive.parent.mkdir(parents=True, exist_ok=True)
    partial = archive.with_name(f"{archive.name}.{os.getpid()}.partial")
    _dumping = (partial, archive)
    return f"-XX:ArchiveClassesAtExit={partial} {_QUIET_CDS}"


def scratch_conf(folder: str) -> dict[str, str]:
    """Spark's scratch (shuffle and spill files, temporary folders) and the driver JVM's temporary
    files (native libraries) in ``folder``: a local run's (imdb_elt/spark_scratch.py)."""
    return {"spark.local.dir": folder, "spark.driver.extraJavaOptions": f"-Djava.io.tmpdir={folder}"}


def build_session(
    master: str | None = "local[2]",
    driver_memory: str | None = "2g",
    app_name: str = "imdb-clean",
    shuffle_partitions: int = 8,
    ui: bool = False,
    extra_conf: dict[str, str] | None = None,
    quick_start: bool = False,
) -> SparkSession:
    """A session for the job. ``master=None`` keeps what spark-submit already decided.

    The UI is off by default: the job logs its own progress per file, and the UI's listener and
    port binding only cost start-up time (turn it on with ``ui=True`` to debug a slow run).

    ``driver_memory`` and ``quick_start`` (small inputs: see the module docstring) only take
    effect when this call starts the JVM (python -m); under spark-submit pass
    ``--driver-memory`` to spark-submit instead.
    """
    # py4j logs each closed socket at INFO, also from finalizers at interpreter exit, when the
    # stream a handler holds may be closed already ("--- Logging error ---").
    logging.getLogger("py4j").setLevel(logging.WARNING)
    builder = SparkSession.builder.appName(app_name)
    if master:
        builder = builder.master(master)
    if driver_memory:
        builder = builder.config("spark.driver.memory", driver_memory)
    java_options = (extra_conf or {}).get("spark.driver.extraJavaOptions", "")
    jars: dict[str, str] = {}
    if SparkContext._gateway is None and not os.environ.get("SPARK_ENV_LOADED"):  # we start the JVM
        if (jar := checks_jar()).exists():  # under spark-submit: its --jars
            jars["spark.jars"] = str(jar)
        quick = QUICK_START_JAVA_OPTIONS if quick_start else ""
        java_options = " ".join(f"{java_options} {quick} {_class_sharing_options()}".split())
        # The JVM inherits this process's environment. For native allocations (zstd, gzip) from
        # its hundreds of threads glibc opens up to 8 x cores malloc arenas and rarely returns
        # them; two keep native memory nearer to what is in use (docs/benchmarks.md, SF=1).
        os.environ.setdefault("MALLOC_ARENA_MAX", MALLOC_ARENA_MAX)
    conf = {
        **OUTPUT_CONF,
        **PLAN_CONF,
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
        # PySpark 4 sends each function call's Python call site to the JVM, for its error
        # messages: five py4j round trips per call, seconds of driver time per small file (a
        # static setting: only a session's first builder can set it).
        "spark.python.sql.dataFrameDebugging.enabled": "false",
        **jars,
        **(extra_conf or {}),
    }
    if java_options:
        conf["spark.driver.extraJavaOptions"] = java_options
    for key, value in conf.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def stop_session(spark: SparkSession, wait_seconds: float = 300) -> None:
    """Stop the session; if its JVM is writing the class archive, let it finish and install it."""
    global _dumping
    gateway = SparkContext._gateway
    spark.stop()
    if _dumping is None or gateway is None or getattr(gateway, "proc", None) is None:
        return
    partial, archive = _dumping
    _dumping = None
    proc = gateway.proc
    try:
        gateway.shutdown()
        SparkContext._gateway = SparkContext._jvm = None  # type: ignore[assignment]
        proc.stdin.close()  # the JVM exits when its stdin closes, and dumps the archive on exit
        proc.wait(timeout=wait_seconds)
    except Exception as exc:  # the archive is an optimisation, never a failure
        log.warning("class archive not written (%s); the next run starts without it", exc)
    if proc.poll() == 0 and partial.exists() and partial.stat().st_size > 0:
        partial.replace(archive)
        stale = remove_stale_archives(archive)
        log.info(
            "wrote the JVM class archive %s: later runs start faster%s",
            archive,
            f" (removed {len(stale)} stale: {', '.join(p.name for p in stale)})" if stale else "",
        )
    else:
        partial.unlink(missing_ok=True)


def apply_output_conf(spark: SparkSession) -> None:
    """The settings the job's outputs and plans depend on, on a session built elsewhere."""
    for key, value in {**OUTPUT_CONF, **PLAN_CONF}.items():
        spark.conf.set(key, value)
