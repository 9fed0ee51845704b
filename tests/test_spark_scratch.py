"""A local run's Spark scratch: its own folder, gone when the job ends; a killed run's, at the next run.

The reliability sequence (tests/reliability/test_crash_and_backfill.py) kills a real run and
checks both ends; these check the rules on folders alone.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from imdb_elt import config, spark_scratch


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_only_the_folders_of_dead_runners_are_removed(tmp_path: Path) -> None:
    dead = tmp_path / f"20261207T000000000000Z.{_dead_pid()}"
    live = tmp_path / f"20261207T000001000000Z.{os.getpid()}"
    other = tmp_path / "kept-by-someone-else"
    for folder in (dead, live, other):
        (folder / "blockmgr-1").mkdir(parents=True)
    assert spark_scratch.remove_stale(tmp_path) == [dead]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, other.name])


def test_a_run_folder_is_removed_when_the_job_ends_or_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("IMDB_SPARK_SCRATCH_DIR", str(tmp_path / "scratch"))
    settings = config.load()
    killed = tmp_path / "scratch" / f"R0.{_dead_pid()}"
    (killed / "blockmgr-0").mkdir(parents=True)
    with spark_scratch.run_folder(settings, "R1") as folder:
        assert folder == tmp_path / "scratch" / f"R1.{os.getpid()}" and folder.is_dir()
        assert not killed.exists()
        (folder / "blockmgr-1" / "shuffle_0.data").parent.mkdir()
    assert not folder.exists()
    assert f"removed the Spark scratch of 1 killed run(s) from {tmp_path / 'scratch'}: {killed.name}" in (
        capsys.readouterr().out
    )
    with pytest.raises(RuntimeError), spark_scratch.run_folder(settings, "R2") as folder:
        raise RuntimeError("the job failed")
    assert list((tmp_path / "scratch").iterdir()) == []
