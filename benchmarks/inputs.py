"""Generated benchmark inputs, cached per scale factor and seed.

Generating SF=0.1 (≈19.7M rows) takes longer than some of the steps it feeds, so each
(scale, seed, snapshot, changed fraction) is generated once into ``<data_root>/<key>/`` and reused.
A ``_rows.json`` written last marks a complete folder: an interrupted generation is redone.
Steps that modify their raw folder (the pipeline's new-snapshot run) work on a copy.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from imdb_elt.catalog import INPUTS

ROWS_FILE = "_rows.json"
PROGRESS_EVERY_S = 15.0
TSV_FILE_NAMES: tuple[str, ...] = tuple(i.file_name for i in INPUTS if i.fmt == "imdb_tsv")
ALL_FILE_NAMES: tuple[str, ...] = tuple(i.file_name for i in INPUTS)


def cache_key(scale: float, seed: int, snapshot: int = 0, changed_fraction: float = 0.0) -> str:
    key = f"sf{scale:g}-seed{seed}"
    if snapshot or changed_fraction:
        key += f"-snap{snapshot}-changed{changed_fraction:g}"
    return key


def ensure_inputs(
    data_root: str | Path,
    scale: float,
    seed: int = 42,
    *,
    snapshot: int = 0,
    changed_fraction: float = 0.0,
) -> tuple[Path, dict[str, int]]:
    """The folder holding the generated files and their data rows per file name (generated if absent)."""
    folder = Path(data_root) / cache_key(scale, seed, snapshot, changed_fraction)
    marker = folder / ROWS_FILE
    if marker.exists():
        return folder, json.loads(marker.read_text())
    from devtools import sample  # generator imports are only needed on a cache miss

    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    print(f"  generating {folder.name} (cached for later runs)...", flush=True)
    rows = sample.generate(
        partial, scale=scale, seed=seed, snapshot=snapshot, changed_fraction=changed_fraction,
        progress=throttled_printer(f"    {folder.name}: "),
    )
    rows = {str(Path(name).name): int(n) for name, n in rows.items()}
    (partial / ROWS_FILE).write_text(json.dumps(rows, indent=2, sort_keys=True) + "\n")
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)
    return folder, rows


def copy_inputs(source: Path, target: Path, file_names: tuple[str, ...] = ALL_FILE_NAMES) -> list[str]:
    """Copy (never hard-link: a later generation rewrites files in place) catalogue files across."""
    target.mkdir(parents=True, exist_ok=True)
    copied = []
    for name in file_names:
        if (source / name).exists():
            shutil.copyfile(source / name, target / name)
            copied.append(name)
    return copied


def total_rows(rows: dict[str, int], file_names: tuple[str, ...] | list[str]) -> int:
    return sum(rows.get(name, 0) for name in file_names)


def throttled_printer(prefix: str, every_s: float = PROGRESS_EVERY_S) -> Callable[[str], None]:
    """Print a progress line at most every ``every_s`` seconds per file, and every "done" line:
    the generator reports each chunk, hundreds of lines per file at SF=1."""
    last: dict[str, float] = {}

    def show(line: str) -> None:
        file_name = line.split(":", 1)[0]
        now = time.monotonic()
        if "done" in line or now - last.get(file_name, float("-inf")) >= every_s:
            last[file_name] = now
            print(prefix + line, flush=True)

    return show
