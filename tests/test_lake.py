"""The lake's bookkeeping: which deliveries are new, manifests carry data forward, CURRENT moves last."""

from __future__ import annotations

import gzip
import json
import os
import time
from pathlib import Path

import pytest

from imdb_elt import config, lake, locking, pipeline, storage


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> config.Settings:
    raw = tmp_path / "raw"
    raw.mkdir()
    monkeypatch.setenv("IMDB_RAW_DIR", str(raw))
    monkeypatch.setenv("IMDB_LAKE_DIR", str(tmp_path / "lake"))
    monkeypatch.setenv("IMDB_SNAPSHOT_RETENTION", "2")
    return config.load()


def _deliver(settings: config.Settings, name: str, body: str) -> None:
    path = Path(settings.raw_dir) / name
    if name.endswith(".gz"):
        path.write_bytes(gzip.compress(body.encode(), mtime=0))
    else:
        path.write_text(body)


def _fake_stats(*datasets: str) -> dict:
    return {
        "datasets": {
            d: {"rows_written": 3, "source_file": f"{d}.raw"} for d in datasets
        }
    }


def test_lists_catalogue_files_and_names_the_missing_ones(settings):
    _deliver(settings, "title.ratings.tsv.gz", "tconst\taverageRating\tnumVotes\n")
    _deliver(settings, "notes.txt", "not an input")
    zone = lake.list_deliveries(settings)
    assert [d.file_name for d in zone.deliveries] == ["title.ratings.tsv.gz"]
    assert "movie_metadata.csv" in zone.missing and len(zone.missing) == 7
    assert zone.deliveries[0].size > 0 and zone.deliveries[0].fingerprint
    assert zone.ignored == ["notes.txt"] and zone.conflicts == []


def test_a_gunzipped_dump_is_a_delivery_and_anything_else_is_named_as_ignored(settings):
    (Path(settings.raw_dir) / "old").mkdir()
    for name in ("title.ratings.tsv", "title.basics.tsv.gz", "notes.txt", "movie_metadata.csv.gz",
                 "title.ratings.tsv.zip", "old/title.crew.tsv.gz"):
        _deliver(settings, name, "tconst\n")
    zone = lake.list_deliveries(settings)
    assert [(d.file_name, d.dataset) for d in zone.deliveries] == [
        ("title.basics.tsv.gz", "title_basics"), ("title.ratings.tsv", "title_ratings")]
    assert "title.ratings.tsv.gz" not in zone.missing and len(zone.missing) == 6
    assert zone.ignored == ["movie_metadata.csv.gz", "notes.txt", "title.ratings.tsv.zip"]


def test_both_names_of_one_input_are_a_conflict_that_fails_the_run_before_any_work(settings):
    _deliver(settings, "title.ratings.tsv.gz", "tconst\taverageRating\tnumVotes\n")
    _deliver(settings, "title.ratings.tsv", "tconst\taverageRating\tnumVotes\n")
    _deliver(settings, "title.basics.tsv.gz", "tconst\n")
    zone = lake.list_deliveries(settings)
    assert zone.conflicts == [["title.ratings.tsv.gz", "title.ratings.tsv"]]
    assert [d.file_name for d in zone.deliveries] == ["title.basics.tsv.gz"]
    assert "title.ratings.tsv.gz" not in zone.missing

    plan = pipeline.detect(settings)
    assert plan.status == pipeline.FAILED and plan.new_deliveries == []
    assert plan.error == ("title.ratings.tsv.gz and title.ratings.tsv are both in the raw zone: one input "
                          "delivered twice (gzipped and not); remove the one that is not the delivery")
    assert locking.read_lease(settings) is None  # the lease was given back
    print(pipeline.finish(settings, plan))
    assert lake.read_ledger(settings) == []


def _same_size(*bodies: bytes) -> list[bytes]:
    """gzip members of exactly equal size for bodies of equal length (stored, not compressed:
    a compressed size would be equal only by luck)."""
    payloads = [gzip.compress(body, compresslevel=0, mtime=0) for body in bodies]
    assert len({len(p) for p in payloads}) == 1 and len(set(payloads)) == len(payloads)
    return payloads


def test_identical_redelivery_is_not_new_but_changed_content_of_the_same_size_is(settings):
    path = Path(settings.raw_dir) / "title.ratings.tsv.gz"
    first, second = _same_size(b"tconst\taverageRating\tnumVotes\ntt0000001\t5.0\t10\n",
                               b"tconst\taverageRating\tnumVotes\ntt0000001\t5.1\t10\n")
    path.write_bytes(first)
    deliveries = lake.list_deliveries(settings).deliveries
    new, known = lake.new_deliveries(settings, deliveries)
    assert new == deliveries and known == []

    lake.append_ledger(settings, lake.ledger_entries(new, "S1"))
    # The same bytes delivered again (a new mtime does not matter): nothing new.
    path.unlink()
    path.write_bytes(first)
    again = lake.list_deliveries(settings).deliveries
    new, known = lake.new_deliveries(settings, again)
    assert new == [] and [d.file_name for d in known] == ["title.ratings.tsv.gz"]

    path.write_bytes(second)  # new bytes, same size, same name: only the content tells them apart
    changed = lake.list_deliveries(settings).deliveries
    assert changed[0].size == again[0].size and changed[0].fingerprint != again[0].fingerprint
    new, _ = lake.new_deliveries(settings, changed)
    assert [d.file_name for d in new] == ["title.ratings.tsv.gz"]


def test_a_dump_gunzipped_in_place_is_new_once_then_known(settings):
    """The ledger keeps its fingerprint per input, whichever name the content came under."""
    body = "tconst\taverageRating\tnumVotes\ntt0000001\t5.0\t10\n"
    _deliver(settings, "title.ratings.tsv.gz", body)
    lake.append_ledger(settings, lake.ledger_entries(lake.list_deliveries(settings).deliveries, "S1"))
    (Path(settings.raw_dir) / "title.ratings.tsv.gz").unlink()
    _deliver(settings, "title.ratings.tsv", body)  # `gunzip title.ratings.tsv.gz`
    new, _ = lake.new_deliveries(settings, lake.list_deliveries(settings).deliveries)
    assert [(d.file_name, d.dataset) for d in new] == [("title.ratings.tsv", "title_ratings")]
    lake.append_ledger(settings, lake.ledger_entries(new, "S2"))
    new, known = lake.new_deliveries(settings, lake.list_deliveries(settings).deliveries)
    assert new == [] and [d.file_name for d in known] == ["title.ratings.tsv"]


def _count_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    reads: list[str] = []
    real = storage.sha256_file

    def counting(path):
        reads.append(Path(path).name)
        return real(path)

    monkeypatch.setattr(storage, "sha256_file", counting)
    return reads


def test_an_unchanged_file_is_not_read_again_but_any_rewrite_is(settings, monkeypatch):
    monkeypatch.setattr(storage, "RACY_SECONDS", 0.0)
    reads = _count_reads(monkeypatch)
    _deliver(settings, "title.ratings.tsv.gz", "tconst\taverageRating\tnumVotes\ntt0000001\t5.0\t10\n")
    first = lake.list_deliveries(settings).deliveries
    again = lake.list_deliveries(settings).deliveries
    assert again == first and reads == ["title.ratings.tsv.gz"]  # the second listing used the memo

    # New bytes of the same size, with the old modification time put back: hashed again.
    path = Path(settings.raw_dir) / "title.ratings.tsv.gz"
    before = path.stat()
    time.sleep(0.05)  # past the file system's timestamp tick
    _deliver(settings, "title.ratings.tsv.gz", "tconst\taverageRating\tnumVotes\ntt0000001\t5.1\t10\n")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size and path.stat().st_mtime_ns == before.st_mtime_ns
    changed = lake.list_deliveries(settings).deliveries
    assert reads == ["title.ratings.tsv.gz"] * 2
    assert changed[0].fingerprint != first[0].fingerprint


def test_a_file_changed_moments_ago_is_hashed_on_every_listing(settings, monkeypatch):
    reads = _count_reads(monkeypatch)
    _deliver(settings, "title.ratings.tsv.gz", "tconst\taverageRating\tnumVotes\n")
    lake.list_deliveries(settings)
    lake.list_deliveries(settings)
    assert reads == ["title.ratings.tsv.gz"] * 2  # within RACY_SECONDS: its stamp is not trusted


def test_manifest_carries_unchanged_datasets_forward(settings):
    first = lake.build_manifest(settings, "S1", _fake_stats("title_basics", "title_ratings"))
    lake.write_manifest(settings, first)
    lake.set_current(settings, "S1")

    second = lake.build_manifest(settings, "S2", _fake_stats("title_ratings"))
    assert second["previous_snapshot_id"] == "S1"
    assert second["datasets"]["title_basics"]["snapshot_id"] == "S1"
    assert second["datasets"]["title_ratings"]["snapshot_id"] == "S2"
    assert second["datasets"]["title_ratings"]["path"].endswith("snapshots/S2/title_ratings")


def test_current_moves_only_when_set(settings):
    assert lake.current_snapshot_id(settings) is None
    lake.write_manifest(settings, lake.build_manifest(settings, "S1", _fake_stats("title_basics")))
    assert lake.current_snapshot_id(settings) is None  # a written snapshot is not yet published
    lake.set_current(settings, "S1")
    assert lake.current_snapshot_id(settings) == "S1"
    assert lake.current_manifest(settings)["snapshot_id"] == "S1"


def test_prune_keeps_retention_and_every_snapshot_still_referenced(settings):
    # S1 holds title_basics, which no later snapshot replaces: it must survive pruning.
    for snap, datasets in [("S1", ["title_basics"]), ("S2", ["title_ratings"]), ("S3", ["title_ratings"]),
                           ("S4", ["title_ratings"])]:
        manifest = lake.build_manifest(settings, snap, _fake_stats(*datasets))
        lake.write_manifest(settings, manifest)
        lake.set_current(settings, snap)
    removed = lake.prune_snapshots(settings)
    assert removed == ["S2"]
    remaining = sorted(p.name for p in Path(settings.snapshots_dir).iterdir())
    assert remaining == ["S1", "S3", "S4"]


def test_ledger_survives_as_json_lines(settings):
    _deliver(settings, "movie_metadata.csv", "color\n")
    deliveries = lake.list_deliveries(settings).deliveries
    lake.append_ledger(settings, lake.ledger_entries(deliveries, "S9"))
    lines = Path(lake.ledger_uri(settings)).read_text().splitlines()
    entry = json.loads(lines[0])
    assert entry["dataset"] == "movie_metadata" and entry["snapshot_id"] == "S9"

