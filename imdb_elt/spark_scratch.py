"""Where a local-mode cleaning job keeps its scratch files, and how they are removed.

Spark writes shuffle and spill files (``blockmgr-*``), its temporary folders and native
libraries under ``spark.local.dir`` and the JVM's temporary folder, ``/tmp`` by default. It
deletes them when the JVM exits normally, never when the JVM is killed (the OOM killer, a
``SIGKILL`` after a task timeout): at full size a killed run leaves gigabytes of shuffle files
that nothing removes. So each local run gets a folder of its own under
``IMDB_SPARK_SCRATCH_DIR``, named ``<run id>.<pid of the runner>``: removed when the job
ends, and a folder whose runner has died is removed by the next run on the machine.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from imdb_elt.config import Settings
from imdb_elt.locking import pid_alive


def remove_stale(root: Path) -> list[Path]:
    """Remove the run folders under ``root`` whose runner is no longer alive; return them."""
    removed = []
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        pid = folder.name.rsplit(".", 1)[-1]
        if folder.is_dir() and pid.isdigit() and not pid_alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


@contextmanager
def run_folder(settings: Settings, run_id: str) -> Iterator[Path]:
    """This run's scratch folder, created empty and removed when the block ends."""
    root = Path(settings.spark_scratch_dir)
    root.mkdir(parents=True, exist_ok=True)
    stale = remove_stale(root)
    if stale:
        print(f"removed the Spark scratch of {len(stale)} killed run(s) from {root}: "
              f"{', '.join(p.name for p in stale)}", flush=True)  # fmt: skip
    folder = root / f"{run_id}.{os.getpid()}"
    folder.mkdir()
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
