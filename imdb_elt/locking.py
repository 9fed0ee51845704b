"""One pipeline run at a time per lake: a second run waits up to a timeout, then is refused.

Two concurrent runs would race on the snapshot pointer and on the DuckDB file (a single-writer
database), so the lock is taken for the whole run.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from imdb_elt.config import Settings


class RunLockedError(RuntimeError):
    """Another run holds the lock."""


def lock_path(settings: Settings) -> Path:
    if "://" in settings.lake_dir:  # an S3 lake: runs are serialised by Airflow's max_active_runs
        return Path(tempfile.gettempdir()) / "imdb-elt-run.lock"
    return Path(settings.state_dir) / "run.lock"


@contextmanager
def run_lock(settings: Settings, wait_seconds: float | None = None) -> Iterator[None]:
    wait = settings.lock_wait_seconds if wait_seconds is None else wait_seconds
    path = lock_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + wait
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise RunLockedError(
                        f"another imdb-elt run holds {path}; waited {wait:.0f} s "
                        "(set IMDB_LOCK_WAIT_SECONDS to wait longer)"
                    ) from None
                time.sleep(0.5)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
