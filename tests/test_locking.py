"""The run lease shared by the command line and the DAG: exclusive, renewable, and taken over
from a crashed holder (local lake and s3:// lake)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from imdb_elt import config, locking


def _settings(monkeypatch: pytest.MonkeyPatch, lake: str, **env: str) -> config.Settings:
    monkeypatch.setenv("IMDB_LAKE_DIR", lake)
    monkeypatch.setenv("IMDB_LOCK_WAIT_SECONDS", "0")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return config.load()


@pytest.fixture(params=["local", "s3"])
def lake(request, tmp_path: Path) -> str:
    if request.param == "local":
        return str(tmp_path / "lake")
    # The test's own bucket, or the deployed stack's (tests/infra/test_permissions.py).
    return request.getfixturevalue("s3_zones").lake


def test_a_second_run_is_refused_while_the_first_holds_the_lease(lake, monkeypatch) -> None:
    settings = _settings(monkeypatch, lake)
    locking.acquire(settings, "run-1")
    with pytest.raises(locking.RunLockedError, match="run run-1"):
        locking.acquire(settings, "run-2")
    assert locking.release(settings, "run-1")
    locking.acquire(settings, "run-2")  # free again
    assert locking.read_lease(settings).owner == "run-2"


def test_renewal_belongs_to_the_holder_only(lake, monkeypatch) -> None:
    settings = _settings(monkeypatch, lake)
    first = locking.acquire(settings, "run-1", holder="run")
    time.sleep(0.01)
    assert locking.renew(settings, "run-1").heartbeat_at > first.heartbeat_at
    with pytest.raises(locking.LeaseLostError):
        locking.renew(settings, "run-2")
    assert not locking.release(settings, "run-2")  # not its lease: left alone
    assert locking.read_lease(settings).owner == "run-1"


def test_a_holder_that_stopped_renewing_is_taken_over(lake, monkeypatch) -> None:
    settings = _settings(monkeypatch, lake, IMDB_LOCK_STALE_SECONDS="1")
    locking.acquire(settings, "crashed", holder="run")  # a DAG run whose worker died
    time.sleep(1.2)
    locking.acquire(settings, "next")
    assert locking.read_lease(settings).owner == "next"
    with pytest.raises(locking.LeaseLostError):  # the stalled run must not publish
        locking.renew(settings, "crashed")


def test_a_command_line_holder_whose_process_died_is_taken_over_at_once(tmp_path, monkeypatch) -> None:
    settings = _settings(monkeypatch, str(tmp_path / "lake"))
    code = ("from imdb_elt import config, locking; "
            "locking.acquire(config.load(), 'killed'); import os; os._exit(0)")
    subprocess.run([sys.executable, "-c", code], env={**os.environ}, check=True, timeout=60)
    assert locking.read_lease(settings).owner == "killed"  # the dead process never gave it back
    locking.acquire(settings, "next")
    assert locking.read_lease(settings).owner == "next"


def test_a_dag_run_keeps_its_lease_between_tasks(tmp_path, monkeypatch) -> None:
    """A run lease outlives the task process that took it: only the heartbeat decides."""
    settings = _settings(monkeypatch, str(tmp_path / "lake"))
    code = ("from imdb_elt import config, locking; "
            "locking.acquire(config.load(), 'dag-run', holder='run')")
    subprocess.run([sys.executable, "-c", code], env={**os.environ}, check=True, timeout=60)
    with pytest.raises(locking.RunLockedError, match="dag-run"):
        locking.acquire(settings, "cli")


def test_a_waiting_run_gets_the_lease_when_the_holder_gives_it_back(tmp_path, monkeypatch) -> None:
    settings = _settings(monkeypatch, str(tmp_path / "lake"))
    locking.acquire(settings, "first")
    code = ("import time; from imdb_elt import config, locking; time.sleep(1); "
            "locking.release(config.load(), 'first')")
    releaser = subprocess.Popen([sys.executable, "-c", code], env={**os.environ})
    started = time.monotonic()
    locking.acquire(settings, "second", wait_seconds=30)
    releaser.wait(timeout=60)
    assert locking.read_lease(settings).owner == "second" and time.monotonic() - started >= 0.9


def test_a_torn_lease_file_counts_as_stale(tmp_path, monkeypatch) -> None:
    settings = _settings(monkeypatch, str(tmp_path / "lake"))
    path = Path(locking.lock_uri(settings))
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    locking.acquire(settings, "next")
    assert json.loads(path.read_text())["owner"] == "next"
