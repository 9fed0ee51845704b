"""How the cleaning job is submitted: one definition for a standalone cluster, EMR and EMR Serverless.

``job_submission`` is the one place that says what a submitted run gets: the ``--conf`` options,
the ``--jars`` jar (the compiled line check), the ``--py-files`` archive, the entry point and the
job's arguments. The EMR step
(``spark-submit --deploy-mode cluster ...``), the EMR Serverless job driver and the standalone
cluster run here (``spark-submit --master spark://... --deploy-mode client ...``) each add only
where and how to deploy (tests/test_spark_submit.py checks that they cannot drift).

Every setting the job needs travels as an argument (``job_arguments``): on EMR the driver runs on a
cluster node, without this process's environment. The standalone run here checks that: its
``spark-submit`` gets a scrubbed environment (no ``IMDB_*``, no ``PYTHONPATH``), and its driver and
executors run a Python that cannot see this repository (``-S``: no site-packages, so neither the
editable install of the project), so the job's own modules can only come from ``spark_jobs.zip``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imdb_elt.config import Settings

#: Spark options of every submitted run (spark-submit ``--conf``), wherever it runs.
JOB_SPARK_CONF: dict[str, str] = {
    # No _SUCCESS object in the dataset folders: Redshift COPY loads every object under the
    # prefix it is given and would fail on a file that is not Parquet.
    "spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs": "false",
    # No _metadata / _common_metadata summary files either (Spark's default today; pinned
    # because COPY would read them as data).
    "spark.hadoop.parquet.summary.metadata.level": "NONE",
}

#: Variables a scrubbed ``spark-submit`` keeps: what Java, Spark's scripts and a shell need, and
#: Spark's own configuration folder (its spark-defaults.conf, as an EMR cluster has its own).
_KEPT_VARIABLES = ("PATH", "HOME", "USER", "LANG", "LC_ALL", "TZ", "TMPDIR", "JAVA_HOME", "SPARK_CONF_DIR")


def job_arguments(settings: Settings, plan: dict[str, Any]) -> list[str]:
    """clean_imdb's arguments, the same in every mode: every setting the job reads is here."""
    return [
        "--raw-dir", settings.raw_dir,
        "--lake-dir", settings.lake_dir,
        "--snapshot-id", plan["run_id"],
        "--files", ",".join(plan["new_deliveries"]),
        "--threshold", str(settings.quarantine_threshold),
        "--slices", str(settings.redshift_slices),
        "--redshift-staging", settings.redshift_staging,
    ]  # fmt: skip


@dataclass(frozen=True)
class JobSubmission:
    """What a submitted run of the cleaning job gets, before where and how it is deployed."""

    conf: dict[str, str]
    py_files: str
    entry: str
    arguments: tuple[str, ...]
    jars: str

    def conf_arguments(self) -> list[str]:
        return [arg for key, value in self.conf.items() for arg in ("--conf", f"{key}={value}")]

    def submit_parameters(self) -> list[str]:
        """The options (EMR Serverless's ``sparkSubmitParameters``)."""
        return [*self.conf_arguments(), "--jars", self.jars, "--py-files", self.py_files]

    def spark_submit_arguments(self) -> list[str]:
        """What follows ``spark-submit`` and its deploy options."""
        return [*self.submit_parameters(), self.entry, *self.arguments]


def job_submission(
    settings: Settings, plan: dict[str, Any], entry: str, py_files: str, jars: str
) -> JobSubmission:
    """The one definition of a submitted run (EMR step, EMR Serverless job, standalone cluster)."""
    return JobSubmission(dict(JOB_SPARK_CONF), py_files, entry, tuple(job_arguments(settings, plan)), jars)


# ---- the standalone cluster ---------------------------------------------------------------------------


def scrubbed_environment(**extra: str) -> dict[str, str]:
    """The environment of a standalone ``spark-submit``: nothing of the project's settings."""
    env = {k: os.environ[k] for k in _KEPT_VARIABLES if os.environ.get(k)}
    env["MALLOC_ARENA_MAX"] = "2"  # the driver JVM, as spark_jobs/session.py does when it starts one
    return {**env, **extra}


def isolated_python(folder: Path) -> Path:
    """An interpreter that sees the standard library and, under spark-submit, pyspark's own zips
    and ``--py-files``: this Python without its site-packages, as EMR's Python knows nothing of
    this project."""
    import sys

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "python-isolated"
    path.write_text(f'#!/bin/sh\nexec {sys.executable} -S "$@"\n')
    path.chmod(0o755)
    return path


def java_options(settings: Settings, plan: dict[str, Any]) -> str:
    """JVM options of a standalone run's driver and executors, as a local run's (spark_jobs/session.py):
    the class archive when there is one, and the JIT's first tier for small local inputs."""
    from spark_jobs.session import QUICK_START_JAVA_OPTIONS, QUICK_START_MAX_BYTES, archive_options

    local = "://" not in settings.raw_dir
    size = sum(int(d.get("size") or 0) for d in plan.get("deliveries") or [])
    quick = QUICK_START_JAVA_OPTIONS if local and size <= QUICK_START_MAX_BYTES else ""
    return " ".join(f"{quick} {archive_options()}".split())


def standalone_options(settings: Settings, master_url: str, python: Path, event_dir: Path,
                       local_cluster: bool, java: str = "") -> list[str]:
    """Where and how a standalone run deploys: the master, client mode (a standalone cluster runs
    Python applications in client mode only), memory, JVM options, the Python, the event log."""
    conf = {
        "spark.executor.memory": settings.spark_executor_memory,
        "spark.executor.extraJavaOptions": java,
        "spark.pyspark.python": str(python),
        "spark.pyspark.driver.python": str(python),
        # Spark's own record of where every task ran (imdb_elt.spark_events reads it back).
        "spark.eventLog.enabled": "true",
        "spark.eventLog.dir": event_dir.resolve().as_uri(),
    }
    if not local_cluster:  # the executors of another host run their own Python and JVM options
        conf.pop("spark.pyspark.python")
        conf.pop("spark.executor.extraJavaOptions")
    options = ["--master", master_url, "--deploy-mode", "client",
               "--driver-memory", settings.spark_driver_memory]
    if java:
        options += ["--driver-java-options", java]
    conf = {key: value for key, value in conf.items() if value}
    return options + [arg for key, value in conf.items() for arg in ("--conf", f"{key}={value}")]


def standalone_command(settings: Settings, plan: dict[str, Any], master_url: str, code: Path, python: Path,
                       event_dir: Path, local_cluster: bool) -> list[str]:
    """``spark-submit`` of the packaged bundle in ``code`` to a standalone master."""
    from imdb_elt.spark_bundle import ARCHIVE_NAME, ENTRY_NAME, JAR_NAME

    entry, py_files, jars = (str(code / name) for name in (ENTRY_NAME, ARCHIVE_NAME, JAR_NAME))
    job = job_submission(settings, plan, entry, py_files, jars)
    return [str(spark_submit_path()),
            *standalone_options(settings, master_url, python, event_dir, local_cluster,
                                java_options(settings, plan)),
            *job.spark_submit_arguments()]


def spark_submit_path() -> Path:
    from imdb_elt.spark_cluster import spark_home

    return spark_home() / "bin" / "spark-submit"


@dataclass
class StandaloneJob:
    """A submission of the packaged bundle to a standalone master, ready to run."""

    command: list[str]
    cwd: Path
    env: dict[str, str]
    event_dir: Path
    master_url: str
    placement: dict[str, Any] = field(default_factory=dict)

    def read_placement(self) -> dict[str, Any]:
        """Where the job ran, from Spark's event log (the master URL alone if there is none)."""
        from imdb_elt.spark_events import latest_placement

        self.placement = {"mode": "standalone", "master": self.master_url,
                          **(latest_placement(self.event_dir) or {})}
        return self.placement


@contextlib.contextmanager
def on_cluster(settings: Settings, plan: dict[str, Any], run_dir: Path,
               log: Callable[[str], None] = print) -> Iterator[StandaloneJob]:
    """The packaged bundle's submission to SPARK_MASTER when it is a ``spark://`` URL, else to a
    cluster started on this machine for the block (or the one `make cluster-start` left up).

    Refuses to start without the packaged bundle of this code (`make package`), as the DAG refuses
    to submit to EMR without the deployed one.
    """
    from imdb_elt import spark_bundle, spark_cluster

    bundle = spark_bundle.read_packaged(spark_bundle.build_bundle(), spark_bundle.DEFAULT_OUT)
    code = spark_bundle.DEFAULT_OUT / "spark" / bundle.version
    event_dir = run_dir / "spark-events"
    event_dir.mkdir(parents=True, exist_ok=True)
    python = isolated_python(run_dir)
    external = settings.spark_master.startswith("spark://")
    cluster = contextlib.nullcontext() if external else spark_cluster.running(settings, log=log)
    with cluster as running:
        master = settings.spark_master if external else running.master_url
        env = scrubbed_environment() if external else scrubbed_environment(SPARK_LOCAL_IP="127.0.0.1")
        command = standalone_command(settings, plan, master, code, python, event_dir, not external)
        job = StandaloneJob(command, run_dir, env, event_dir, master)
        try:
            yield job
        finally:
            job.read_placement()
