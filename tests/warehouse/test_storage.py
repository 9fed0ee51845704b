"""Local-or-S3 storage helpers, S3 through moto (pagination included)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from imdb_elt import storage

BUCKET = "imdb-lake-test"


def test_local_files(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "b.tsv").write_bytes(b"x" * 3_000_000)  # several 1 MiB checksum chunks
    (tmp_path / "a.csv").write_text("hello")
    (tmp_path / "sub" / "nested.txt").write_text("not listed")
    files = storage.list_files(str(tmp_path))
    assert [(f.name, f.size) for f in files] == [("a.csv", 5), ("b.tsv", 3_000_000)]
    assert files[1].etag_or_checksum == hashlib.sha256(b"x" * 3_000_000).hexdigest()
    assert files[0].uri == str(tmp_path / "a.csv")
    assert storage.list_files(str(tmp_path / "a.csv")) == [files[0]]
    assert storage.list_files(str(tmp_path / "missing")) == []


def test_local_atomic_write_read_exists_delete(tmp_path: Path) -> None:
    target = tmp_path / "state" / "CURRENT"  # parent created on demand
    storage.write_text_atomic(str(target), "S1\n")
    storage.write_text_atomic(str(target), "S2\n")
    assert storage.read_text(str(target)) == "S2\n"
    assert [p.name for p in target.parent.iterdir()] == ["CURRENT"]  # no temp file left behind
    assert storage.exists(str(target)) and not storage.exists(str(tmp_path / "nope"))
    assert storage.delete_tree(str(tmp_path / "state")) == 1
    assert not storage.exists(str(target))
    assert storage.delete_tree(str(tmp_path / "state")) == 0  # idempotent


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    storage.reset_client()
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client
    storage.reset_client()


def test_s3_listing_paginates_and_stays_at_one_level(s3: Any) -> None:
    n = 45
    for i in range(n):
        s3.put_object(Bucket=BUCKET, Key=f"raw/f{i:04d}.tsv", Body=f"row {i}".encode())
    s3.put_object(Bucket=BUCKET, Key="raw/sub/deeper.tsv", Body=b"x")
    s3.put_object(Bucket=BUCKET, Key="raw_other/x.tsv", Body=b"x")
    calls: list[dict[str, Any]] = []
    s3_client = storage.s3_client()
    s3_client.meta.events.register(
        "provide-client-params.s3.ListObjectsV2", lambda params, **_: calls.append(params)
    )
    files = storage.list_files(f"s3://{BUCKET}/raw", page_size=10)
    assert len(calls) == 5  # 45 keys (+1 common prefix) in pages of 10: every page read
    assert len(files) == n
    assert files[0].name == "f0000.tsv" and files[-1].name == "f0044.tsv"
    assert files[7].size == len(b"row 7")
    assert files[7].etag_or_checksum == hashlib.md5(b"row 7").hexdigest()
    assert files[7].uri == f"s3://{BUCKET}/raw/f0007.tsv"
    assert storage.list_files(f"s3://{BUCKET}/raw/f0007.tsv") == [files[7]]
    assert storage.list_files(f"s3://{BUCKET}/none") == []


def test_s3_write_read_exists_delete(s3: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(storage, "DELETE_BATCH", 10)
    uri = f"s3://{BUCKET}/lake/processed/CURRENT"
    storage.write_text_atomic(uri, "S1")
    storage.write_text_atomic(uri, "S2 é")
    assert storage.read_text(uri) == "S2 é"
    assert storage.exists(uri) and storage.exists(f"s3://{BUCKET}/lake/processed")
    assert not storage.exists(f"s3://{BUCKET}/lake/proc")  # a prefix of a name is not a folder
    for i in range(23):  # three delete_objects batches of at most 10
        s3.put_object(Bucket=BUCKET, Key=f"lake/snapshots/S1/part-{i}", Body=b"")
    s3.put_object(Bucket=BUCKET, Key="lake/snapshots/S10/keep", Body=b"")
    assert storage.delete_tree(f"s3://{BUCKET}/lake/snapshots/S1") == 23
    assert not storage.exists(f"s3://{BUCKET}/lake/snapshots/S1")
    assert storage.exists(f"s3://{BUCKET}/lake/snapshots/S10/keep")
    with pytest.raises(ValueError, match="whole bucket"):
        storage.delete_tree(f"s3://{BUCKET}")


def test_uri_helpers() -> None:
    assert storage.split_s3("s3://b/a/c") == ("b", "a/c")
    assert storage.join("s3://b/lake/", "processed", "/CURRENT") == "s3://b/lake/processed/CURRENT"
    with pytest.raises(ValueError):
        storage.split_s3("/local/path")
