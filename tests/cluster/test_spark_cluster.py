"""The local standalone cluster's life: nothing of a run survives a Ctrl-C while its job runs on the
cluster, nor a SIGKILL of the process that started the cluster (one worker each: a start costs two
JVMs); SIGTERM takes the same way out as Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from imdb_elt import config, spark_cluster
from imdb_elt.config import REPO_ROOT
from imdb_elt.spark_cluster import PID_FILE, ClusterError
from tests.cluster.helpers import cluster_dir, cluster_processes, cluster_site

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

#: A run's cluster held open, as the clean step holds it while the job runs.
HOLD = (
    "import time\n"
    "from imdb_elt import config, spark_cluster\n"
    "with spark_cluster.running(config.load(), log=lambda t: print(t, flush=True)):\n"
    "    time.sleep(600)\n"
)


def _wait(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def _job_processes(raw: Path) -> list[int]:
    """Live processes whose command line names the raw zone: the spark-submit JVM, its driver."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                if str(raw).encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                    found.append(int(entry))
            except OSError:
                continue
    return found


def _ctrl_c_raises() -> None:
    """A shell's background job (`make test &`) inherits SIGINT ignored, and Python then installs no
    KeyboardInterrupt handler: the runner must see Ctrl-C as a terminal's foreground job would."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_during_a_cluster_run_leaves_nothing(tmp_path: Path) -> None:
    """`make cluster-run` interrupted while the job runs on the cluster: the runner ends the job
    (spark-submit's JVM and its Python driver), stops the cluster it started, and exits."""
    site, env = cluster_site(tmp_path, ["title.ratings.tsv.gz"])
    folder = cluster_dir(site)
    proc = subprocess.Popen([sys.executable, "-m", "imdb_elt", "run"], cwd=REPO_ROOT,
                            env=site.env(**{**env, "IMDB_SPARK_WORKERS": "1"}), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            preexec_fn=_ctrl_c_raises)
    try:
        assert proc.stdout is not None
        seen = []
        for line in proc.stdout:  # the job's own lines reach the console as they come
            seen.append(line)
            if "spark | snapshot" in line and "cleaning 1 file(s)" in line:
                break
        assert _job_processes(site.raw) and cluster_processes(folder), "".join(seen)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=120)
        out = "".join(seen) + out
        assert proc.returncode != 0 and "KeyboardInterrupt" in out, out[-3000:]
        assert "Spark cluster stopped" in out, out[-3000:]
        # At once: the runner returned only after the JVMs had exited.
        assert cluster_processes(folder) == [] and _job_processes(site.raw) == []
        assert not (folder / PID_FILE).exists() and site.current() is None
    finally:  # a failing check leaves no JVM behind either
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        spark_cluster.stop(folder)


def test_nothing_survives_a_killed_runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SIGKILL (no clean-up code runs): the kernel's parent-death signal stops the daemons, and
    a later stop or start finds the pid file and only clears it."""
    env = {**os.environ, "IMDB_LOG_DIR": str(tmp_path), "IMDB_SPARK_WORKERS": "1"}
    folder = tmp_path / "spark-cluster"
    proc = subprocess.Popen([sys.executable, "-c", HOLD], cwd=REPO_ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert "Spark cluster spark://127.0.0.1:" in first, first + proc.stdout.read()
        assert len(cluster_processes(folder)) >= 2  # master and worker

        # Meanwhile another run, with the same folder, is refused the cluster.
        monkeypatch.setenv("IMDB_LOG_DIR", str(tmp_path))
        with pytest.raises(ClusterError, match="serves another run"), \
                spark_cluster.running(config.load(), log=lambda _: None):
            pass

        proc.kill()
        proc.wait(timeout=60)
        assert _wait(lambda: cluster_processes(folder) == [], 60), cluster_processes(folder)
        assert (folder / PID_FILE).exists()  # the runner could not clear it
        assert spark_cluster.running_cluster(folder) is None
        assert spark_cluster.stop(folder) == []  # found dead: nothing to stop, pid file cleared
        assert not (folder / PID_FILE).exists()
    finally:  # a failing check leaves no JVM behind either
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        spark_cluster.stop(folder)


def test_sigterm_is_turned_into_an_exception_while_a_cluster_is_up() -> None:
    """What Airflow sends a task it stops: the block's ``finally`` (the cluster's stop) runs, as
    for Ctrl-C; outside the block SIGTERM is back to what it was."""
    before = signal.getsignal(signal.SIGTERM)
    stopped = []
    with pytest.raises(spark_cluster._Terminated, match="signal 15"), spark_cluster._stop_on_sigterm():
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # interrupted by the handler
        finally:
            stopped.append(True)
    assert stopped == [True] and signal.getsignal(signal.SIGTERM) == before
