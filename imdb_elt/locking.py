"""One pipeline run at a time per lake, for the command line and the Airflow DAG alike.

A run holds a *lease*: a small JSON record at ``<lake>/state/run.lock.json`` (a folder or an
``s3://`` prefix), taken by ``detect`` and given back by ``report``. The command line holds it
inside one process; a DAG run holds it across its tasks (each task process renews it while it
works). Two runs would race on the snapshot pointer and on the warehouse, so the second one waits
up to ``IMDB_LOCK_WAIT_SECONDS`` and is then refused.

A crashed holder is detected, so a dead run never blocks the lake for good:
- a lease whose heartbeat is older than ``IMDB_LOCK_STALE_SECONDS`` is stale (the holder renews
  it every third of that while a step runs, and each step renews it when it starts);
- a command-line lease (one process) whose process is gone from this host is stale at once.

Taking a lease is atomic: on local disk by creating the file exclusively (a stale one is first
moved aside by rename, which only one contender can do); on S3 by a conditional put
(``If-None-Match: *`` to create, ``If-Match: <etag>`` to take over a stale lease).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from imdb_elt import storage
from imdb_elt.config import Settings

LOCK_FILE = "run.lock.json"


class RunLockedError(RuntimeError):
    """Another run holds the lease."""


class LeaseLostError(RuntimeError):
    """This run's lease expired or was taken over: it must not publish."""


@dataclass(frozen=True)
class Lease:
    owner: str  # the run id
    holder: str  # "process" (one process, the command line) or "run" (a DAG run across tasks)
    host: str
    pid: int
    acquired_at: float
    heartbeat_at: float

    def describe(self) -> str:
        age = time.time() - self.heartbeat_at
        return (f"run {self.owner} ({self.holder} {self.pid} on {self.host}, "
                f"last heartbeat {age:.0f} s ago)")


def lock_uri(settings: Settings) -> str:
    return f"{settings.state_dir}/{LOCK_FILE}"


def pid_alive(pid: int) -> bool:
    """Whether a process of this id runs on this machine (a recycled id counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_stale(lease: Lease, stale_seconds: float, now: float | None = None) -> bool:
    now = time.time() if now is None else now
    if now - lease.heartbeat_at > stale_seconds:
        return True
    return lease.holder == "process" and lease.host == socket.gethostname() and not pid_alive(lease.pid)


# ---- the record, on local disk or S3 ------------------------------------------------------------


def _parse(text: str) -> Lease | None:
    try:
        return Lease(**json.loads(text))
    except (ValueError, TypeError):
        return None  # a torn or foreign file: treated as stale


def read_lease(settings: Settings) -> Lease | None:
    """The current lease, or None when nobody holds one."""
    found = _read(lock_uri(settings))
    return None if found is None else (_parse(found[0]) or _torn_lease())


def _torn_lease() -> Lease:
    return Lease("unknown", "run", "unknown", 0, 0.0, 0.0)  # heartbeat at the epoch: stale


def _read(uri: str) -> tuple[str, str] | None:
    """(text, version) of the lease file; the version is the S3 ETag or the local mtime."""
    if storage.is_s3(uri):
        from botocore.exceptions import ClientError

        bucket, key = storage.split_s3(uri)
        try:
            obj = storage.s3_client().get_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return None
            raise
        return obj["Body"].read().decode(), obj["ETag"]
    path = Path(uri)
    try:
        return path.read_text(), str(path.stat().st_mtime_ns)
    except FileNotFoundError:
        return None


def _create(uri: str, text: str) -> bool:
    """Write the lease only if no lease exists; False if someone else holds one."""
    if storage.is_s3(uri):
        return _s3_conditional_put(uri, text, IfNoneMatch="*")
    path = Path(uri)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    return True


def _take_over(uri: str, text: str, version: str) -> bool:
    """Replace a stale lease, only if it is still the very one we judged stale."""
    if storage.is_s3(uri):
        return _s3_conditional_put(uri, text, IfMatch=version)
    path = Path(uri)
    aside = path.with_name(f".{path.name}.{uuid.uuid4().hex}.stale")
    try:
        if str(path.stat().st_mtime_ns) != version:
            return False
        os.rename(path, aside)  # only one contender can move it
    except FileNotFoundError:
        return False
    aside.unlink(missing_ok=True)
    return _create(uri, text)


def _s3_conditional_put(uri: str, text: str, **condition: str) -> bool:
    from botocore.exceptions import ClientError

    bucket, key = storage.split_s3(uri)
    try:
        storage.s3_client().put_object(Bucket=bucket, Key=key, Body=text.encode(), **condition)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("PreconditionFailed", "ConditionalRequestConflict",
                                                          "412", "409"):
            return False
        raise
    return True


# ---- acquire, renew, release --------------------------------------------------------------------


def _new_lease(owner: str, holder: str) -> Lease:
    now = time.time()
    return Lease(owner, holder, socket.gethostname(), os.getpid(), now, now)


def acquire(settings: Settings, owner: str, *, holder: str = "process",
            wait_seconds: float | None = None) -> Lease:
    """Take the lease for run ``owner``; wait up to ``wait_seconds``, then RunLockedError."""
    wait = settings.lock_wait_seconds if wait_seconds is None else wait_seconds
    uri = lock_uri(settings)
    deadline = time.monotonic() + wait
    while True:
        lease = _new_lease(owner, holder)
        text = json.dumps(asdict(lease))
        if _create(uri, text):
            return lease
        found = _read(uri)
        if found is not None:
            current = _parse(found[0]) or _torn_lease()
            if current.owner == owner:  # a retried task of the run that holds it
                return renew(settings, owner)
            if is_stale(current, settings.lock_stale_seconds):
                if _take_over(uri, text, found[1]):
                    return lease
                continue
            if time.monotonic() >= deadline:
                raise RunLockedError(
                    f"another imdb-elt run holds the lake's run lock ({current.describe()}); waited "
                    f"{wait:.0f} s (set IMDB_LOCK_WAIT_SECONDS to wait longer; a holder that stops "
                    f"renewing it is considered crashed after IMDB_LOCK_STALE_SECONDS="
                    f"{settings.lock_stale_seconds:.0f} s)"
                )
        time.sleep(0.5)


def renew(settings: Settings, owner: str) -> Lease:
    """Refresh the heartbeat of the lease ``owner`` holds; LeaseLostError if it is not ours."""
    uri = lock_uri(settings)
    found = _read(uri)
    current = _parse(found[0]) if found else None
    if current is None or current.owner != owner:
        holder = current.describe() if current else "nobody"
        raise LeaseLostError(f"run {owner} no longer holds the lake's run lock (held by {holder})")
    lease = Lease(owner, current.holder, socket.gethostname(), os.getpid(), current.acquired_at, time.time())
    text = json.dumps(asdict(lease))
    if storage.is_s3(uri):
        if not _s3_conditional_put(uri, text, IfMatch=found[1]):
            raise LeaseLostError(f"run {owner} lost the lake's run lock while renewing it")
    else:
        storage.write_text_atomic(uri, text)
    return lease


def release(settings: Settings, owner: str) -> bool:
    """Give the lease back if ``owner`` holds it; True if it did."""
    uri = lock_uri(settings)
    found = _read(uri)
    current = _parse(found[0]) if found else None
    if current is None or current.owner != owner:
        return False
    storage.delete_tree(uri)
    return True


@contextlib.contextmanager
def kept_alive(settings: Settings, owner: str) -> Iterator[None]:
    """Renew the lease now and every third of the stale interval until the block ends.

    A step that runs for longer than the stale interval (Spark at full size) keeps its run's
    lease; a renewal that finds the lease gone stops renewing, and the step's caller checks
    again (``renew``) before it publishes anything.
    """
    renew(settings, owner)
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(max(settings.lock_stale_seconds / 3, 0.5)):
            try:
                renew(settings, owner)
            except LeaseLostError:
                return

    thread = threading.Thread(target=beat, name="imdb-elt-lease", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)
