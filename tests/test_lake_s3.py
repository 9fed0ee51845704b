"""The lake's bookkeeping on s3:// (moto): deliveries and their ETags, the ledger, CURRENT, the
snapshot listing (every page) and pruning, all through imdb_elt.lake."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import boto3
import pytest

from imdb_elt import config, lake, storage
from tests.fixtures.aws import REGION

LAKE = "s3://imdb-lake/prod/lake"


@pytest.fixture
def s3(mocked_aws: None, monkeypatch: pytest.MonkeyPatch) -> Any:
    for key, value in {
        "IMDB_RAW_DIR": "s3://imdb-raw/dumps",
        "IMDB_LAKE_DIR": LAKE,
        "IMDB_SNAPSHOT_RETENTION": "2",
    }.items():
        monkeypatch.setenv(key, value)
    client = boto3.client("s3", region_name=REGION)
    for bucket in ("imdb-raw", "imdb-lake"):
        client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    return client


def keys(s3: Any, bucket: str, prefix: str = "") -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted(o["Key"] for page in pages for o in page.get("Contents", []))


def stats(*datasets: str) -> dict:
    return {"datasets": {d: {"rows_written": 3, "source_file": f"{d}.raw"} for d in datasets}}


def test_deliveries_are_fingerprinted_by_etag_and_the_ledger_lives_in_s3(s3: Any) -> None:
    settings = config.load()
    body = b"tconst\taverageRating\tnumVotes\ntt0000001\t5.0\t10\n"
    s3.put_object(Bucket="imdb-raw", Key="dumps/title.ratings.tsv.gz", Body=body)
    s3.put_object(Bucket="imdb-raw", Key="dumps/notes.txt", Body=b"not an input")
    s3.put_object(Bucket="imdb-raw", Key="dumps/old/title.basics.tsv.gz", Body=b"a sub-folder")
    zone = lake.list_deliveries(settings)
    assert [(d.file_name, d.uri, d.size, d.fingerprint) for d in zone.deliveries] == [
        ("title.ratings.tsv.gz", "s3://imdb-raw/dumps/title.ratings.tsv.gz", len(body),
         hashlib.md5(body).hexdigest())
    ]  # fmt: skip
    assert len(zone.missing) == 7 and "title.basics.tsv.gz" in zone.missing
    assert zone.ignored == ["notes.txt"] and zone.conflicts == []

    lake.append_ledger(settings, lake.ledger_entries(zone.deliveries, "S1"))
    ledger = s3.get_object(Bucket="imdb-lake", Key="prod/lake/state/ledger.jsonl")["Body"].read().decode()
    [entry] = [json.loads(line) for line in ledger.splitlines()]
    assert (entry["dataset"], entry["snapshot_id"], entry["fingerprint"]) == (
        "title_ratings",
        "S1",
        hashlib.md5(body).hexdigest(),
    )

    # The same bytes again: nothing new. New bytes of the same size, same name: new (only the
    # ETag tells them apart), and the ledger grows by one line.
    s3.put_object(Bucket="imdb-raw", Key="dumps/title.ratings.tsv.gz", Body=body)
    new, seen = lake.new_deliveries(settings, lake.list_deliveries(settings).deliveries)
    assert new == [] and [d.file_name for d in seen] == ["title.ratings.tsv.gz"]
    changed = body.replace(b"\t5.0\t", b"\t5.1\t")
    assert len(changed) == len(body) and changed != body
    s3.put_object(Bucket="imdb-raw", Key="dumps/title.ratings.tsv.gz", Body=changed)
    [delivery] = lake.list_deliveries(settings).deliveries
    assert delivery.size == entry["size"] and delivery.fingerprint != entry["fingerprint"]
    new, _ = lake.new_deliveries(settings, [delivery])
    assert [d.file_name for d in new] == ["title.ratings.tsv.gz"]
    lake.append_ledger(settings, lake.ledger_entries(new, "S2"))
    assert [e["snapshot_id"] for e in lake.read_ledger(settings)] == ["S1", "S2"]


def test_a_gunzipped_dump_on_s3_is_a_delivery_and_both_names_are_a_conflict(s3: Any) -> None:
    settings = config.load()
    s3.put_object(Bucket="imdb-raw", Key="dumps/title.ratings.tsv", Body=b"tconst\n")
    s3.put_object(Bucket="imdb-raw", Key="dumps/title.crew.tsv.gz.part", Body=b"a download in flight")
    zone = lake.list_deliveries(settings)
    assert [(d.file_name, d.dataset) for d in zone.deliveries] == [("title.ratings.tsv", "title_ratings")]
    assert zone.ignored == ["title.crew.tsv.gz.part"] and "title.ratings.tsv.gz" not in zone.missing
    s3.put_object(Bucket="imdb-raw", Key="dumps/title.ratings.tsv.gz", Body=b"tconst\n")
    zone = lake.list_deliveries(settings)
    assert zone.deliveries == [] and zone.conflicts == [["title.ratings.tsv.gz", "title.ratings.tsv"]]


def test_current_on_s3_moves_only_when_set_and_is_one_object(s3: Any) -> None:
    settings = config.load()
    assert lake.current_snapshot_id(settings) is None and lake.current_manifest(settings) is None
    lake.write_manifest(settings, lake.build_manifest(settings, "S1", stats("title_basics")))
    assert lake.current_snapshot_id(settings) is None  # written, not yet published
    lake.set_current(settings, "S1")
    assert s3.get_object(Bucket="imdb-lake", Key="prod/lake/processed/CURRENT")["Body"].read() == b"S1\n"
    manifest = lake.current_manifest(settings)
    assert manifest["datasets"]["title_basics"]["path"] == f"{LAKE}/processed/snapshots/S1/title_basics"

    second = lake.build_manifest(settings, "S2", stats("title_ratings"))
    assert second["datasets"]["title_basics"]["snapshot_id"] == "S1"  # carried forward from CURRENT
    lake.write_manifest(settings, second)
    lake.set_current(settings, "S2")
    assert lake.current_snapshot_id(settings) == "S2"
    assert keys(s3, "imdb-lake") == [
        "prod/lake/processed/CURRENT",
        "prod/lake/processed/snapshots/S1/_MANIFEST.json",
        "prod/lake/processed/snapshots/S2/_MANIFEST.json",
    ]  # no temporary object left behind


def test_snapshot_listing_reads_every_page_and_only_snapshot_folders(s3: Any) -> None:
    settings = config.load()
    for snap in ("S1", "S2", "S3", "S4", "S5"):
        s3.put_object(
            Bucket="imdb-lake", Key=f"prod/lake/processed/snapshots/{snap}/x/part-0.parquet", Body=b""
        )
    s3.put_object(
        Bucket="imdb-lake", Key="prod/lake/processed/snapshots/README", Body=b"a file, not a snapshot"
    )
    s3.put_object(Bucket="imdb-lake", Key="prod/lake/processed/snapshots_old/S0/x", Body=b"a sibling prefix")
    calls: list[dict] = []

    def small_pages(params: dict, **_: Any) -> None:
        params["MaxKeys"] = 2
        calls.append(params)

    storage.s3_client().meta.events.register("provide-client-params.s3.ListObjectsV2", small_pages)
    assert lake.snapshot_ids(settings) == ["S1", "S2", "S3", "S4", "S5"]
    assert len(calls) >= 3  # pages of two: every page was read


def test_pruning_on_s3_keeps_retention_and_referenced_snapshots(s3: Any) -> None:
    settings = config.load()
    for snap, datasets in [("S1", ["title_basics"]), ("S2", ["title_ratings"]), ("S3", ["title_ratings"]),
                           ("S4", ["title_ratings"])]:  # fmt: skip
        for dataset in datasets:
            for part in range(3):
                key = f"prod/lake/processed/snapshots/{snap}/{dataset}/part-{part}.parquet"
                s3.put_object(Bucket="imdb-lake", Key=key, Body=b"PAR1")
            s3.put_object(
                Bucket="imdb-lake", Key=f"prod/lake/quarantine/{snap}/{dataset}/part-0.parquet", Body=b""
            )
        manifest = lake.build_manifest(settings, snap, stats(*datasets))
        lake.write_manifest(settings, manifest)
        lake.set_current(settings, snap)

    # S1 still holds title_basics for the current manifest: kept beyond the retention of two.
    assert lake.prune_snapshots(settings) == ["S2"]
    assert lake.snapshot_ids(settings) == ["S1", "S3", "S4"]
    assert keys(s3, "imdb-lake", "prod/lake/processed/snapshots/S2") == []
    assert keys(s3, "imdb-lake", "prod/lake/quarantine/S2") == []
    assert len(keys(s3, "imdb-lake", "prod/lake/processed/snapshots/S1/title_basics/")) == 3
    assert lake.prune_snapshots(settings) == []  # a second prune finds nothing more
