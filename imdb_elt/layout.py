"""The lake's layout: where every file of a snapshot lives, for the pipeline and the Spark job.

Pure functions of the lake root (a folder or an ``s3://`` prefix), no I/O and no settings, so
that the Spark job (shipped to EMR without the rest of the package) and the orchestrator derive
every path from this one table.

    <lake>/processed/snapshots/<snapshot>/<dataset>/      typed Parquet
    <lake>/processed/snapshots/<snapshot>/_spark_stats.json, _SPARK_DONE, _MANIFEST.json
    <lake>/processed/CURRENT                               the published snapshot id
    <lake>/quarantine/<snapshot>/<dataset>/                refused lines, with reasons
    <lake>/quarantine/<snapshot>/_deduplicated/<dataset>/  repeated keys the job dropped, with the kept line
    <lake>/reports/<run_id>.json, latest.json              run reports
    <lake>/state/ledger.jsonl, run.lock.json, ...          bookkeeping
"""

from __future__ import annotations

SPARK_STATS_FILE = "_spark_stats.json"
SPARK_DONE_MARKER = "_SPARK_DONE"
MANIFEST_FILE = "_MANIFEST.json"
CURRENT_FILE = "CURRENT"


def join(base: str, *parts: str) -> str:
    """Join with '/', for folders and s3:// URIs alike."""
    return "/".join([base.rstrip("/"), *(p.strip("/") for p in parts)])


def processed_dir(lake: str) -> str:
    return join(lake, "processed")


def snapshots_dir(lake: str) -> str:
    return join(lake, "processed", "snapshots")


def snapshot_dir(lake: str, snapshot_id: str) -> str:
    return join(snapshots_dir(lake), snapshot_id)


def dataset_dir(lake: str, snapshot_id: str, dataset: str) -> str:
    return join(snapshot_dir(lake, snapshot_id), dataset)


def current_pointer(lake: str) -> str:
    return join(processed_dir(lake), CURRENT_FILE)


def quarantine_root(lake: str) -> str:
    return join(lake, "quarantine")


def quarantine_dir(lake: str, snapshot_id: str, dataset: str) -> str:
    return join(quarantine_root(lake), snapshot_id, dataset)


def deduplicated_dir(lake: str, snapshot_id: str, dataset: str) -> str:
    """The dedup record, beside the snapshot's quarantine (and pruned with it)."""
    return join(quarantine_root(lake), snapshot_id, "_deduplicated", dataset)


def reports_dir(lake: str) -> str:
    return join(lake, "reports")


def state_dir(lake: str) -> str:
    return join(lake, "state")
