"""Shared tools of the cluster tests: a site set up for standalone mode, lake comparisons, processes."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb

from imdb_elt import spark_bundle
from imdb_elt.config import SAMPLE_DIR
from imdb_elt.spark_cluster import _TAG
from tests.reliability.helpers import Site

#: What the cluster tests ask of Spark through its own spark-defaults.conf (SPARK_CONF_DIR):
#: every file takes the big files' path (its lines repartitioned over the executors before the
#: parse and the write, spark_jobs/clean_file.py), and the plain Kaggle CSV (38 KB) is read in
#: three splits, so its line numbers are computed from several read tasks.
SPARK_DEFAULTS = {
    "spark.imdb_elt.minSplitBytes": "1",
    "spark.sql.files.maxPartitionBytes": "16k",
    "spark.sql.files.openCostInBytes": "0",
}
#: The cluster's size and memory in the tests: two workers of one core, small heaps.
CLUSTER_ENV = {
    "IMDB_SPARK_MODE": "standalone",
    "IMDB_SPARK_WORKERS": "2",
    "IMDB_SPARK_WORKER_CORES": "1",
    "SPARK_EXECUTOR_MEMORY": "1g",
    "SPARK_DRIVER_MEMORY": "1g",
    "IMDB_REDSHIFT_SLICES": "2",  # with minSplitBytes=1: every dataset in two tasks, two files
}
LINEAGE = ("_snapshot_id", "_loaded_at")


def cluster_site(root: Path, files: list[str] | None = None) -> tuple[Site, dict[str, str]]:
    """A site holding the bundled sample (or some of its files), and the environment of a
    standalone run on it. The bundle is packaged first, as `make cluster-run` does."""
    site = Site(root / "raw", root / "lake", root / "wh" / "imdb.duckdb")
    site.raw.mkdir(parents=True)
    for path in SAMPLE_DIR.iterdir():
        if path.name != "README.md" and (files is None or path.name in files):
            shutil.copy(path, site.raw / path.name)
    conf = root / "spark-conf"
    conf.mkdir()
    (conf / "spark-defaults.conf").write_text("".join(f"{k} {v}\n" for k, v in SPARK_DEFAULTS.items()))
    spark_bundle.write_bundle(spark_bundle.build_bundle(with_jar=True))
    return site, {**CLUSTER_ENV, "SPARK_CONF_DIR": str(conf)}


def cluster_dir(site: Site) -> Path:
    return site.logs / "spark-cluster"


def cluster_processes(folder: Path) -> list[int]:
    """Live JVMs of the cluster in ``folder``: daemons (tagged) and executors (working in it)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().decode(errors="replace")
            cwd = os.readlink(f"/proc/{entry}/cwd")
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state == "Z":
            continue
        if f"{_TAG}{folder.resolve()}\0" in cmdline or (
            "java" in cmdline and Path(cwd).is_relative_to(folder.resolve())
        ):
            found.append(int(entry))
    return found


def parquet_rows(folder: Path, drop: tuple[str, ...] = LINEAGE) -> list[tuple]:
    """Every row of a Parquet folder, sorted, without the columns that differ between two runs."""
    source = f"read_parquet('{folder}/*.parquet')"
    with duckdb.connect() as con:
        columns = [r[0] for r in con.execute(f"describe select * from {source}").fetchall()]
        kept = ", ".join(f'"{c}"' for c in columns if c not in drop)
        return con.execute(f"select {kept} from {source} order by all").fetchall()


def snapshot_folders(lake: Path, snapshot: str, dataset: str) -> dict[str, Path]:
    """The processed dataset, its quarantine and its dedup record in one snapshot."""
    return {
        "processed": lake / "processed" / "snapshots" / snapshot / dataset,
        "quarantine": lake / "quarantine" / snapshot / dataset,
        "deduplicated": lake / "quarantine" / snapshot / "_deduplicated" / dataset,
    }


def compare_datasets(lake: Path, snapshot: str, other_lake: Path, other_snapshot: str,
                     datasets: list[str]) -> list[str]:
    """Differences between two snapshots' processed rows, quarantine and dedup records."""
    problems = []
    for dataset in datasets:
        ours = snapshot_folders(lake, snapshot, dataset)
        theirs = snapshot_folders(other_lake, other_snapshot, dataset)
        for zone, folder in ours.items():
            a, b = parquet_rows(folder), parquet_rows(theirs[zone])
            if a != b:
                problems.append(f"{dataset} {zone}: {len(a)} rows here, {len(b)} there, "
                                f"first differences {sorted(set(a) ^ set(b))[:3]}")
    return problems


#: Per-file figures that must not depend on where Spark ran.
STATS = ("rows_read", "rows_written", "rows_deduplicated", "rows_quarantined", "quarantined_by_reason",
         "ends_with_newline")


def comparable_stats(files: dict) -> dict:
    return {dataset: {k: st[k] for k in STATS} for dataset, st in files.items()}
