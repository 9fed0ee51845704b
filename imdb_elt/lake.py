"""The processed zone's bookkeeping: snapshot ids, manifests, the CURRENT pointer and the ledger.

Readers (the warehouse staging step, analysts, a backfill) only ever follow ``processed/CURRENT``.
A run writes everything for its snapshot first and moves CURRENT last, so a crash at any point
leaves the previous snapshot current and whole.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from imdb_elt import catalog, layout, storage
from imdb_elt.config import Settings

MANIFEST_FILE = layout.MANIFEST_FILE
SPARK_DONE_MARKER = layout.SPARK_DONE_MARKER
SPARK_STATS_FILE = layout.SPARK_STATS_FILE
LEDGER_FILE = "ledger.jsonl"
#: Checksums of the local raw files by path and stat: a cache, safe to delete.
CHECKSUMS_FILE = "raw_checksums.json"


def new_snapshot_id(now: datetime | None = None) -> str:
    """Sortable UTC id, unique per run: 20261125T170102123456Z."""
    return (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")


@dataclass(frozen=True)
class Delivery:
    """One raw file as found in the input zone."""

    file_name: str
    uri: str
    size: int
    fingerprint: str  # S3 ETag or local sha256: identical content, identical fingerprint

    @property
    def dataset(self) -> str:
        return catalog.BY_DELIVERED_NAME[self.file_name].dataset


# ---- the ledger: which deliveries have been processed and published ----------------------------


def ledger_uri(settings: Settings) -> str:
    return f"{settings.state_dir}/{LEDGER_FILE}"


def read_ledger(settings: Settings) -> list[dict]:
    uri = ledger_uri(settings)
    if not storage.exists(uri):
        return []
    return [json.loads(line) for line in storage.read_text(uri).splitlines() if line.strip()]


def append_ledger(settings: Settings, entries: Iterable[dict]) -> None:
    """Rewrite the ledger with new entries appended (atomic replace; the ledger is small)."""
    lines = [json.dumps(e, sort_keys=True) for e in [*read_ledger(settings), *entries]]
    storage.write_text_atomic(ledger_uri(settings), "\n".join(lines) + "\n")


def checksums_uri(settings: Settings) -> str:
    return f"{settings.state_dir}/{CHECKSUMS_FILE}"


def _read_checksums(uri: str) -> dict[str, Any]:
    """The memo of local raw files' checksums; empty if absent or unreadable (it is a cache)."""
    try:
        memo = json.loads(storage.read_text(uri)) if storage.exists(uri) else {}
    except (OSError, ValueError):
        return {}
    return memo if isinstance(memo, dict) else {}


@dataclass(frozen=True)
class RawZone:
    """What the raw zone holds, as the product reads it.

    ``deliveries``: one file per input found (an IMDb dump under its catalogue name or
    gunzipped, ``title.ratings.tsv``); ``missing``: the catalogue names of the inputs not found;
    ``ignored``: the other files, which the product never reads; ``conflicts``: the inputs
    delivered under both names at once, each as the names found (no delivery is made of them).
    """

    deliveries: list[Delivery]
    missing: list[str]
    ignored: list[str]
    conflicts: list[list[str]]


def list_deliveries(settings: Settings) -> RawZone:
    """The raw zone's files, sorted into deliveries, missing inputs, ignored files and conflicts.

    Only the top level is read (files in sub-folders are never deliveries). A local raw zone's
    checksums are remembered in the state folder, so that a file whose stat has not changed is
    not read again (``storage.list_files``).
    """
    memo = None if storage.is_s3(settings.raw_dir) else _read_checksums(checksums_uri(settings))
    before = dict(memo or {})
    files = storage.list_files(settings.raw_dir, checksums=memo)
    if memo is not None:
        present = {str(Path(f.uri).resolve()) for f in files}
        memo = {path: entry for path, entry in memo.items() if path in present}
        if memo != before:
            storage.write_text_atomic(checksums_uri(settings), json.dumps(memo, indent=1) + "\n")
    found = {f.name: f for f in files}
    deliveries, missing, conflicts = [], [], []
    for raw in catalog.INPUTS:
        names = [name for name in raw.file_names if name in found]
        if not names:
            missing.append(raw.file_name)
        elif len(names) > 1:
            conflicts.append(names)
        else:
            f = found[names[0]]
            deliveries.append(Delivery(f.name, f.uri, f.size, f.etag_or_checksum))
    ignored = sorted(name for name in found if name not in catalog.BY_DELIVERED_NAME)
    return RawZone(deliveries, missing, ignored, conflicts)


def new_deliveries(settings: Settings, deliveries: list[Delivery]) -> tuple[list[Delivery], list[Delivery]]:
    """Split deliveries into (new, already processed).

    A delivery is already processed when the content last published for its input (per the
    ledger) has the same fingerprint and size, whatever time it arrived at: a re-delivered
    identical file is a no-op, while any changed content, older or newer, is processed.
    """
    latest = latest_ledger_fingerprints(settings)
    fresh = [d for d in deliveries if latest.get(d.dataset) != (d.fingerprint, d.size)]
    known = [d for d in deliveries if d not in fresh]
    return fresh, known


def latest_ledger_fingerprints(settings: Settings) -> dict[str, tuple[str, int]]:
    """The content currently published for each dataset, per the ledger (last entry wins)."""
    latest: dict[str, tuple[str, int]] = {}
    for entry in read_ledger(settings):
        latest[entry["dataset"]] = (entry["fingerprint"], entry["size"])
    return latest


def ledger_entries(deliveries: Iterable[Delivery], snapshot_id: str) -> list[dict]:
    now = datetime.now(UTC).isoformat(timespec="seconds")
    return [
        {**asdict(d), "dataset": d.dataset, "snapshot_id": snapshot_id, "processed_at": now}
        for d in deliveries
    ]


# ---- snapshots, manifests and the CURRENT pointer ----------------------------------------------


def current_snapshot_id(settings: Settings) -> str | None:
    if not storage.exists(settings.current_pointer):
        return None
    value = storage.read_text(settings.current_pointer).strip()
    return value or None


def read_manifest(settings: Settings, snapshot_id: str) -> dict:
    return json.loads(storage.read_text(f"{settings.snapshot_dir(snapshot_id)}/{MANIFEST_FILE}"))


def current_manifest(settings: Settings) -> dict | None:
    snapshot_id = current_snapshot_id(settings)
    return read_manifest(settings, snapshot_id) if snapshot_id else None


def build_manifest(settings: Settings, snapshot_id: str, spark_stats: dict) -> dict:
    """Datasets cleaned in this run point at this snapshot; the others carry forward from CURRENT."""
    previous = current_manifest(settings) or {"datasets": {}}
    datasets = dict(previous["datasets"])
    for dataset, stats in spark_stats.get("datasets", {}).items():
        datasets[dataset] = {
            "snapshot_id": snapshot_id,
            "path": layout.dataset_dir(settings.lake_dir, snapshot_id, dataset),
            "rows": stats["rows_written"],
            "source_file": stats["source_file"],
        }
    return {
        "snapshot_id": snapshot_id,
        "previous_snapshot_id": previous.get("snapshot_id"),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "datasets": dict(sorted(datasets.items())),
    }


def write_manifest(settings: Settings, manifest: dict) -> None:
    uri = f"{settings.snapshot_dir(manifest['snapshot_id'])}/{MANIFEST_FILE}"
    storage.write_text_atomic(uri, json.dumps(manifest, indent=2) + "\n")


def spark_completed(settings: Settings, snapshot_id: str) -> bool:
    return storage.exists(f"{settings.snapshot_dir(snapshot_id)}/{SPARK_DONE_MARKER}")


def read_spark_stats(settings: Settings, snapshot_id: str) -> dict:
    return json.loads(storage.read_text(f"{settings.snapshot_dir(snapshot_id)}/{SPARK_STATS_FILE}"))


def set_current(settings: Settings, snapshot_id: str) -> None:
    """The publish point: written last, atomically."""
    storage.write_text_atomic(settings.current_pointer, snapshot_id + "\n")


def snapshot_ids(settings: Settings) -> list[str]:
    """Snapshot folders in the lake, oldest first (ids sort by time)."""
    root = settings.snapshots_dir
    if storage.is_s3(root):
        bucket, prefix = storage.split_s3(root)
        pages = storage.s3_client().get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=prefix.rstrip("/") + "/", Delimiter="/"
        )
        return sorted(
            posixpath.basename(p["Prefix"].rstrip("/"))
            for page in pages
            for p in page.get("CommonPrefixes", [])
        )
    return sorted(p.name for p in Path(root).iterdir() if p.is_dir()) if Path(root).is_dir() else []


def prune_snapshots(settings: Settings) -> list[str]:
    """Delete snapshots beyond the retention, never one the current manifest still points at."""
    keep = max(settings.snapshot_retention, 1)
    names = snapshot_ids(settings)
    manifest = current_manifest(settings) or {"datasets": {}}
    referenced = {d["snapshot_id"] for d in manifest["datasets"].values()}
    referenced.add(manifest.get("snapshot_id"))
    removable = [n for n in names[:-keep] if n not in referenced]
    for name in removable:
        storage.delete_tree(settings.snapshot_dir(name))
        storage.delete_tree(f"{settings.quarantine_dir}/{name}")
    return removable
