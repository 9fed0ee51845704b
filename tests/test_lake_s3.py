"""The lake's bookkeeping on s3:// (moto): deliveries and their ETags, the ledger, CURRENT, the
snapshot listing (every page) and pruning, all through imdb_elt.lake.

The buckets are the test's own, or the deployed stack's (tests/infra/test_deployed_in_moto.py).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import boto3
import pytest

from imdb_elt import config, lake, report, storage
from tests.fixtures.aws import REGION, S3Zones


@pytest.fixture
def s3(s3_zones: S3Zones, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("IMDB_SNAPSHOT_RETENTION", "2")
    return boto3.client("s3", region_name=REGION)


def keys(s3: Any, base: str, *parts: str) -> list[str]:
    """Keys under a zone (or a path in it), relative to the zone."""
    bucket, prefix = S3Zones.at(base, *parts)
    root = S3Zones.at(base)[1]
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted(o["Key"][len(root):].lstrip("/") for page in pages for o in page.get("Contents", []))


def put(s3: Any, base: str, path: str, body: bytes) -> None:
    bucket, key = S3Zones.at(base, path)
    s3.put_object(Bucket=bucket, Key=key, Body=body)


def get(s3: Any, base: str, path: str) -> bytes:
    bucket, key = S3Zones.at(base, path)
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def stats(*datasets: str) -> dict:
    return {"datasets": {d: {"rows_written": 3, "source_file": f"{d}.raw"} for d in datasets}}


def test_deliveries_are_fingerprinted_by_etag_and_the_ledger_lives_in_s3(s3: Any, s3_zones: S3Zones) -> None:
    settings = config.load()
    raw, lake_dir = s3_zones.raw, s3_zones.lake
    body = b"tconst\taverageRating\tnumVotes\ntt0000001\t5.0\t10\n"
    put(s3, raw, "title.ratings.tsv.gz", body)
    put(s3, raw, "notes.txt", b"not an input")
    put(s3, raw, "old/title.basics.tsv.gz", b"a sub-folder")
    zone = lake.list_deliveries(settings)
    assert [(d.file_name, d.uri, d.size, d.fingerprint) for d in zone.deliveries] == [
        ("title.ratings.tsv.gz", f"{raw}/title.ratings.tsv.gz", len(body), hashlib.md5(body).hexdigest())
    ]
    assert len(zone.missing) == 7 and "title.basics.tsv.gz" in zone.missing
    assert zone.ignored == ["notes.txt"] and zone.conflicts == []

    lake.append_ledger(settings, lake.ledger_entries(zone.deliveries, "S1"))
    ledger = get(s3, lake_dir, "state/ledger.jsonl").decode()
    [entry] = [json.loads(line) for line in ledger.splitlines()]
    assert (entry["dataset"], entry["snapshot_id"], entry["fingerprint"]) == (
        "title_ratings",
        "S1",
        hashlib.md5(body).hexdigest(),
    )

    # The same bytes again: nothing new. New bytes of the same size, same name: new (only the
    # ETag tells them apart), and the ledger grows by one line.
    put(s3, raw, "title.ratings.tsv.gz", body)
    new, seen = lake.new_deliveries(settings, lake.list_deliveries(settings).deliveries)
    assert new == [] and [d.file_name for d in seen] == ["title.ratings.tsv.gz"]
    changed = body.replace(b"\t5.0\t", b"\t5.1\t")
    assert len(changed) == len(body) and changed != body
    put(s3, raw, "title.ratings.tsv.gz", changed)
    [delivery] = lake.list_deliveries(settings).deliveries
    assert delivery.size == entry["size"] and delivery.fingerprint != entry["fingerprint"]
    new, _ = lake.new_deliveries(settings, [delivery])
    assert [d.file_name for d in new] == ["title.ratings.tsv.gz"]
    lake.append_ledger(settings, lake.ledger_entries(new, "S2"))
    assert [e["snapshot_id"] for e in lake.read_ledger(settings)] == ["S1", "S2"]


def test_a_gunzipped_dump_on_s3_is_a_delivery_and_both_names_are_a_conflict(
    s3: Any, s3_zones: S3Zones
) -> None:
    settings = config.load()
    raw = s3_zones.raw
    put(s3, raw, "title.ratings.tsv", b"tconst\n")
    put(s3, raw, "title.crew.tsv.gz.part", b"a download in flight")
    zone = lake.list_deliveries(settings)
    assert [(d.file_name, d.dataset) for d in zone.deliveries] == [("title.ratings.tsv", "title_ratings")]
    assert zone.ignored == ["title.crew.tsv.gz.part"] and "title.ratings.tsv.gz" not in zone.missing
    put(s3, raw, "title.ratings.tsv.gz", b"tconst\n")
    zone = lake.list_deliveries(settings)
    assert zone.deliveries == [] and zone.conflicts == [["title.ratings.tsv.gz", "title.ratings.tsv"]]


def test_current_on_s3_moves_only_when_set_and_is_one_object(s3: Any, s3_zones: S3Zones) -> None:
    settings = config.load()
    lake_dir = s3_zones.lake
    assert lake.current_snapshot_id(settings) is None and lake.current_manifest(settings) is None
    lake.write_manifest(settings, lake.build_manifest(settings, "S1", stats("title_basics")))
    assert lake.current_snapshot_id(settings) is None  # written, not yet published
    lake.set_current(settings, "S1")
    assert get(s3, lake_dir, "processed/CURRENT") == b"S1\n"
    manifest = lake.current_manifest(settings)
    assert manifest["datasets"]["title_basics"]["path"] == f"{lake_dir}/processed/snapshots/S1/title_basics"

    second = lake.build_manifest(settings, "S2", stats("title_ratings"))
    assert second["datasets"]["title_basics"]["snapshot_id"] == "S1"  # carried forward from CURRENT
    lake.write_manifest(settings, second)
    lake.set_current(settings, "S2")
    assert lake.current_snapshot_id(settings) == "S2"
    assert keys(s3, lake_dir) == [
        "processed/CURRENT",
        "processed/snapshots/S1/_MANIFEST.json",
        "processed/snapshots/S2/_MANIFEST.json",
    ]  # no temporary object left behind


def test_snapshot_listing_reads_every_page_and_only_snapshot_folders(s3: Any, s3_zones: S3Zones) -> None:
    settings = config.load()
    lake_dir = s3_zones.lake
    for snap in ("S1", "S2", "S3", "S4", "S5"):
        put(s3, lake_dir, f"processed/snapshots/{snap}/x/part-0.parquet", b"")
    put(s3, lake_dir, "processed/snapshots/README", b"a file, not a snapshot")
    put(s3, lake_dir, "processed/snapshots_old/S0/x", b"a sibling prefix")
    calls: list[dict] = []

    def small_pages(params: dict, **_: Any) -> None:
        params["MaxKeys"] = 2
        calls.append(params)

    storage.s3_client().meta.events.register("provide-client-params.s3.ListObjectsV2", small_pages)
    assert lake.snapshot_ids(settings) == ["S1", "S2", "S3", "S4", "S5"]
    assert len(calls) >= 3  # pages of two: every page was read


def test_pruning_on_s3_keeps_retention_and_referenced_snapshots(s3: Any, s3_zones: S3Zones) -> None:
    settings = config.load()
    lake_dir = s3_zones.lake
    for snap, datasets in [("S1", ["title_basics"]), ("S2", ["title_ratings"]), ("S3", ["title_ratings"]),
                           ("S4", ["title_ratings"])]:  # fmt: skip
        for dataset in datasets:
            for part in range(3):
                put(s3, lake_dir, f"processed/snapshots/{snap}/{dataset}/part-{part}.parquet", b"PAR1")
            put(s3, lake_dir, f"quarantine/{snap}/{dataset}/part-0.parquet", b"")
        manifest = lake.build_manifest(settings, snap, stats(*datasets))
        lake.write_manifest(settings, manifest)
        lake.set_current(settings, snap)

    # S1 still holds title_basics for the current manifest: kept beyond the retention of two.
    assert lake.prune_snapshots(settings) == ["S2"]
    assert lake.snapshot_ids(settings) == ["S1", "S3", "S4"]
    assert keys(s3, lake_dir, "processed/snapshots/S2") == []
    assert keys(s3, lake_dir, "quarantine/S2") == []
    assert len(keys(s3, lake_dir, "processed/snapshots/S1/title_basics/")) == 3
    assert lake.prune_snapshots(settings) == []  # a second prune finds nothing more


def test_run_reports_on_s3_keep_every_run_and_the_latest(s3: Any, s3_zones: S3Zones) -> None:
    settings = config.load()
    first = report.write_report(settings, {"run_id": "20261201T070000000000Z", "status": "succeeded"})
    report.write_report(settings, {"run_id": "20261201T080000000000Z", "status": "failed"})
    assert first == f"{s3_zones.lake}/reports/20261201T070000000000Z.json"
    assert keys(s3, s3_zones.lake, "reports") == [
        "reports/20261201T070000000000Z.json", "reports/20261201T080000000000Z.json", "reports/latest.json"]
    assert json.loads(get(s3, s3_zones.lake, "reports/latest.json"))["status"] == "failed"
