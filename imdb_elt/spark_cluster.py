"""A standalone Spark cluster on this machine, started from the installed pyspark.

pip's pyspark has no ``sbin/start-master.sh``, but ``bin/spark-class`` starts the daemons: one
master (``org.apache.spark.deploy.master.Master``) and N workers
(``org.apache.spark.deploy.worker.Worker``), each a JVM of its own, on loopback only, on free
ports. Each worker runs one executor (a further JVM) per application. The cleaning job then
runs on real executors, apart from its driver, as it does on EMR: this is where a path only the
driver sees, a module missing from the bundle or a count that holds only inside one JVM shows.

Everything the cluster leaves lives in one folder (``Settings.spark_cluster_dir``)::

    cluster.json            the pid file: master URL, each daemon's pid, who owns the cluster
    logs/master.log, logs/worker-<n>.log
    work/worker-<n>/        each worker's work folder (executor logs, the shipped --py-files)

Each daemon runs in a process group of its own (and so do the executors it starts), so a stop
ends them with their children and a Ctrl-C at the terminal reaches only the pipeline, which then
stops the cluster itself. A stop returns only when every process of those groups has exited. A
cluster started for one run (``running``) also dies with the process that started it (the
kernel's parent-death signal) and stops on SIGTERM; one started by ``make cluster-start`` stays
up until ``make cluster-stop``. A later start or stop finds an orphan from the pid file (each
daemon is tagged with the folder on its command line, so a recycled pid is never touched).

    python -m imdb_elt.spark_cluster start | stop | status
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from imdb_elt.config import Settings, load
from spark_jobs.session import archive_options

PID_FILE = "cluster.json"
#: Seconds a start waits for the master and every worker to be up.
START_TIMEOUT = 120.0
#: Seconds a stop waits after SIGTERM before it sends SIGKILL.
STOP_GRACE = 20.0
#: Heap of the master and worker daemons (they only schedule; executors get the worker memory).
DAEMON_MEMORY = "512m"
#: JVM options of the daemons: the JIT's first tier (a daemon does little work) and one GC thread.
DAEMON_JAVA_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
_TAG = "-Dimdb_elt.spark_cluster="
_PR_SET_PDEATHSIG = 1
#: prctl(2), looked up here: a child between fork and exec must not load libraries (another
#: thread of the parent may have held the loader's lock at the fork).
_prctl = ctypes.CDLL(None, use_errno=True).prctl


class ClusterError(RuntimeError):
    """The cluster could not start, or another process's cluster is in the way; says why."""


def spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).resolve().parent


@dataclass(frozen=True)
class ClusterSpec:
    workers: int = 2
    cores: int = 1  # per worker
    memory: str = "2g"  # per worker: all of it goes to its one executor (spark.executor.memory)

    @classmethod
    def from_settings(cls, settings: Settings) -> ClusterSpec:
        return cls(settings.spark_workers, settings.spark_worker_cores, settings.spark_executor_memory)

    def describe(self) -> str:
        return f"{self.workers} worker(s) x {self.cores} core(s), {self.memory} each"


@dataclass
class Cluster:
    """A running cluster, as its pid file records it."""

    folder: str
    master_url: str
    webui_url: str
    spec: dict[str, Any]
    pids: dict[str, int] = field(default_factory=dict)  # daemon name -> pid (= its process group)
    owner_pid: int | None = None  # the process whose run it serves; None: make cluster-start
    started_at: float = field(default_factory=time.time)

    def status(self, timeout: float = 5.0) -> dict[str, Any]:
        """The master's own view (``/json/``): workers, cores, active and completed applications."""
        with urllib.request.urlopen(f"{self.webui_url}/json/", timeout=timeout) as response:
            return json.load(response)

    def daemons_alive(self) -> dict[str, bool]:
        return {name: _tagged(pid, Path(self.folder)) for name, pid in self.pids.items()}


# ---- processes ------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _read(path: str) -> str | None:
    try:
        with open(path, "rb") as f:
            return f.read().decode(errors="replace")
    except OSError:
        return None


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, process group) of a process, None when it does not exist."""
    text = _read(f"/proc/{pid}/stat")
    if text is None:
        return None
    fields = text.rsplit(")", 1)[1].split()
    return fields[0], int(fields[2])


def _alive(pid: int) -> bool:
    stat = _stat(pid)
    return stat is not None and stat[0] not in ("Z", "X")


def _tagged(pid: int, folder: Path) -> bool:
    """Whether ``pid`` is a live daemon of the cluster in ``folder`` (never a recycled pid)."""
    cmdline = _read(f"/proc/{pid}/cmdline")
    return bool(cmdline) and f"{_TAG}{folder}\0" in cmdline and _alive(pid)


def _members(folder: Path, groups: set[int]) -> list[int]:
    """Live processes of the cluster: in one of its daemons' process groups and working in its
    folder (a daemon works in the folder, an executor in its worker's work folder)."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        stat = _stat(int(entry))
        if stat is None or stat[1] not in groups or stat[0] in ("Z", "X"):
            continue
        with contextlib.suppress(OSError):
            if Path(os.readlink(f"/proc/{entry}/cwd")).is_relative_to(folder):
                members.append(int(entry))
    return members


def die_with_parent() -> None:
    """In a child before exec: SIGTERM when the thread that started it exits (or its process is
    killed). That thread waits for the child or holds the cluster, so it outlives the work."""
    _prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)


def _daemon_env(folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPARK_", "PYSPARK_"))}
    env.update({
        "SPARK_HOME": str(spark_home()),
        "SPARK_LOG_DIR": str(folder / "logs"),
        # Loopback only: the RPC endpoints (--host) and the web UIs (which bind SPARK_LOCAL_IP).
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_PUBLIC_DNS": "127.0.0.1",
        "SPARK_DAEMON_MEMORY": DAEMON_MEMORY,
        "SPARK_DAEMON_JAVA_OPTS": f"{_TAG}{folder} {DAEMON_JAVA_OPTIONS} {archive_options()}".strip(),
        # Executors inherit the worker's environment: few malloc arenas (spark_jobs/session.py).
        "MALLOC_ARENA_MAX": "2",
    })
    return env


#: The daemons this process started, by pid: a stop reaps them (and only them).
_children: dict[int, subprocess.Popen] = {}


def _spawn(name: str, args: list[str], folder: Path, env: dict[str, str], tied: bool) -> subprocess.Popen:
    log = open(folder / "logs" / f"{name}.log", "wb")  # noqa: SIM115 (the child keeps it)
    try:
        proc = subprocess.Popen(
            [str(spark_home() / "bin" / "spark-class"), *args],
            cwd=folder, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: a stop ends it with its executors
            preexec_fn=die_with_parent if tied else None,
        )
    finally:
        log.close()
    _children[proc.pid] = proc
    return proc


# ---- the pid file -------------------------------------------------------------------------------


def read_pid_file(folder: Path) -> Cluster | None:
    text = _read(str(folder / PID_FILE))
    if not text:
        return None
    try:
        return Cluster(**json.loads(text))
    except (ValueError, TypeError):
        return None


def _write_pid_file(cluster: Cluster) -> None:
    path = Path(cluster.folder) / PID_FILE
    partial = path.with_name(f"{path.name}.{os.getpid()}")
    partial.write_text(json.dumps(asdict(cluster), indent=2) + "\n")
    partial.replace(path)


def running_cluster(folder: Path) -> Cluster | None:
    """The cluster of the pid file, if every daemon of it is alive."""
    cluster = read_pid_file(folder)
    if cluster is None or not cluster.pids or not all(cluster.daemons_alive().values()):
        return None
    return cluster


# ---- start and stop ---------------------------------------------------------------------------------


def _log_tail(folder: Path, name: str, lines: int = 15) -> str:
    text = _read(str(folder / "logs" / f"{name}.log")) or ""
    return "\n".join(text.splitlines()[-lines:])


def _wait_until_up(cluster: Cluster, procs: dict[str, subprocess.Popen], workers: int,
                   timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    folder = Path(cluster.folder)
    while True:
        for name, proc in procs.items():
            if proc.poll() is not None:
                raise ClusterError(f"spark {name} exited with status {proc.returncode} while starting; "
                                   f"{folder}/logs/{name}.log ends:\n{_log_tail(folder, name)}")
        try:
            state = cluster.status(timeout=2.0)
            if state.get("status") == "ALIVE" and state.get("aliveworkers", 0) >= workers:
                return state
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise ClusterError(f"the Spark cluster in {folder} was not up after {timeout:.0f} s "
                               f"(see {folder}/logs/)")
        time.sleep(0.2)


def start(folder: Path, spec: ClusterSpec, *, owner_pid: int | None = None,
          timeout: float = START_TIMEOUT) -> Cluster:
    """Start a master, then the workers, and wait until the master counts them all.

    ``owner_pid``: the run this cluster serves; its daemons then die with the thread that
    started them (a cluster for ``make cluster-start`` has none and stays up). On any failure,
    what was started is stopped before the error is raised.
    """
    folder = Path(folder).resolve()
    if running_cluster(folder) is not None:
        raise ClusterError(f"a Spark cluster is already running in {folder}: `make cluster-stop` first")
    stop(folder)  # an orphan of a crashed run, if any
    for sub in ("logs", "work"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    for old in (folder / "work").glob("worker-*"):  # executor folders of the last cluster
        shutil.rmtree(old, ignore_errors=True)
    tied = owner_pid is not None  # the thread holding `running` outlives the cluster
    env = _daemon_env(folder)
    port, ui_port = _free_port(), _free_port()
    cluster = Cluster(str(folder), f"spark://127.0.0.1:{port}", f"http://127.0.0.1:{ui_port}",
                      asdict(spec), owner_pid=owner_pid)
    procs: dict[str, subprocess.Popen] = {}
    try:
        procs["master"] = _spawn("master", [
            "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port),
            "--webui-port", str(ui_port),
        ], folder, env, tied)
        cluster.pids["master"] = procs["master"].pid
        _write_pid_file(cluster)  # from the first daemon on: a later stop finds what a crash left
        _wait_until_up(cluster, procs, 0, timeout)
        for n in range(1, spec.workers + 1):
            work = folder / "work" / f"worker-{n}"
            work.mkdir(parents=True, exist_ok=True)
            name = f"worker-{n}"
            procs[name] = _spawn(name, [
                "org.apache.spark.deploy.worker.Worker", cluster.master_url, "--host", "127.0.0.1",
                "--port", "0", "--webui-port", "0", "--cores", str(spec.cores), "--memory", spec.memory,
                "--work-dir", str(work),
            ], folder, env, tied)
            cluster.pids[name] = procs[name].pid
            _write_pid_file(cluster)
        _wait_until_up(cluster, procs, spec.workers, timeout)
    except BaseException:
        stop(folder)
        raise
    return cluster


def stop(folder: Path, grace: float = STOP_GRACE) -> list[str]:
    """Stop the cluster of the pid file; return when every process of its groups has exited.

    SIGTERM first (a worker then stops its executors), SIGKILL after ``grace`` seconds. Returns
    the names of the daemons that were still running. Idempotent: no pid file, nothing to do.
    """
    folder = Path(folder).resolve()
    cluster = read_pid_file(folder)
    if cluster is None:
        return []
    live = sorted(name for name, pid in cluster.pids.items() if _tagged(pid, folder))
    groups = set(cluster.pids.values())  # a dead daemon's executors may still be running
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
        members = _members(folder, groups)
        if not members:
            break
        for pid in members:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while _members(folder, groups) and time.monotonic() < deadline:
            _reap()
            time.sleep(0.1)
    _reap()
    left = _members(folder, groups)
    if left:
        raise ClusterError(f"Spark cluster processes {left} survived SIGKILL; the pid file "
                           f"{folder / PID_FILE} is kept")
    (folder / PID_FILE).unlink(missing_ok=True)
    return live


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            text = _read(f"/proc/{entry}/stat")
            if text:
                children.setdefault(int(text.rsplit(")", 1)[1].split()[1]), []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def terminate_tree(proc: subprocess.Popen, grace: float = 10.0) -> None:
    """End a child and everything it started (spark-submit's JVM and its Python driver): SIGTERM,
    then SIGKILL after ``grace`` seconds; return when they have exited."""
    pids = [proc.pid, *_descendants(proc.pid)]
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            proc.poll()
            if not any(_alive(pid) for pid in pids):
                return
            time.sleep(0.1)
    proc.wait()


def processes(folder: Path) -> list[int]:
    """Live processes of the cluster in ``folder``: its daemons and their executors."""
    folder = Path(folder).resolve()
    cluster = read_pid_file(folder)
    return _members(folder, set(cluster.pids.values())) if cluster else []


def _reap() -> None:
    """Collect the daemons this process started that have exited, so none stays a zombie."""
    for pid, proc in list(_children.items()):
        if proc.poll() is not None:
            del _children[pid]


# ---- a cluster for one run --------------------------------------------------------------------------


class _Terminated(Exception):
    """SIGTERM arrived while a run's cluster was up."""


@contextlib.contextmanager
def _stop_on_sigterm() -> Iterator[None]:
    """SIGTERM becomes an exception, so the ``finally`` that stops the cluster runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise _Terminated(f"stopped by signal {signum}")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def running(settings: Settings, log: Any = print) -> Iterator[Cluster]:
    """The cluster a run submits to: the one `make cluster-start` left up, else one started for
    this block and stopped at its end, whatever ends it (an error, Ctrl-C, SIGTERM)."""
    folder = Path(settings.spark_cluster_dir)
    shared = running_cluster(folder)
    if shared is not None and shared.owner_pid is None:
        log(f"Spark cluster {shared.master_url} (make cluster-start) in {folder}")
        yield shared
        return
    if shared is not None and shared.owner_pid != os.getpid() and _alive(shared.owner_pid or 0):
        raise ClusterError(f"the Spark cluster in {folder} serves another run (process "
                           f"{shared.owner_pid}); give this run another IMDB_LOG_DIR")
    spec = ClusterSpec.from_settings(settings)
    started = time.perf_counter()
    with _stop_on_sigterm():
        cluster = start(folder, spec, owner_pid=os.getpid())
        try:
            log(f"Spark cluster {cluster.master_url} up in {time.perf_counter() - started:.1f} s: "
                f"{spec.describe()} (logs: {folder}/logs)")
            yield cluster
        finally:
            stopped = time.perf_counter()
            stop(folder)
            log(f"Spark cluster stopped in {time.perf_counter() - stopped:.1f} s")


# ---- command line -------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="imdb_elt.spark_cluster", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["start", "stop", "status"])
    args = parser.parse_args(argv)
    settings = load()
    folder = Path(settings.spark_cluster_dir)
    try:
        if args.command == "start":
            spec = ClusterSpec.from_settings(settings)
            cluster = start(folder, spec)
            print(f"Spark cluster {cluster.master_url} up: {spec.describe()}; web UI {cluster.webui_url}; "
                  f"`make cluster-run` submits to it, `make cluster-stop` stops it (folder {folder})")
        elif args.command == "stop":
            stopped = stop(folder)
            print(f"stopped {', '.join(stopped)}" if stopped else f"no Spark cluster running in {folder}")
        else:
            cluster = running_cluster(folder)
            if cluster is None:
                print(f"no Spark cluster running in {folder}")
                return 1
            state = cluster.status()
            print(json.dumps({"master": cluster.master_url, "webui": cluster.webui_url,
                              "aliveworkers": state.get("aliveworkers"), "cores": state.get("cores"),
                              "activeapps": [a["id"] for a in state.get("activeapps", [])],
                              "completedapps": [a["id"] for a in state.get("completedapps", [])]},
                             indent=2))
    except ClusterError as exc:
        print(f"spark_cluster: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
