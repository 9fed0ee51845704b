"""Acquisition into an s3:// raw zone (moto), from the fake datasets.imdbws.com of test_acquire.

On S3 the partial download lives in a local staging folder and only a verified file is uploaded,
under its final key, with the server's validators as object metadata; the next run sends them
back as a conditional request. The buckets are the test's own, or the deployed stack's
(tests/infra/test_deployed_in_moto.py).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from typing import Any

import boto3
import pytest

from imdb_elt import config, lake
from imdb_elt.orchestration.acquire import IMDB_DUMPS, AcquireError, acquire, fetch_one
from tests.airflow.test_acquire import FakeImdb, _dump, _handler
from tests.fixtures.aws import REGION, S3Zones

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def imdb() -> Iterator[tuple[FakeImdb, str]]:
    fake = FakeImdb()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake, f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def s3(s3_zones: S3Zones) -> Any:
    return boto3.client("s3", region_name=REGION)


@pytest.fixture
def raw(s3_zones: S3Zones) -> str:
    return s3_zones.raw


def raw_keys(s3: Any, raw: str) -> list[str]:
    """The raw zone's keys, relative to it."""
    bucket, prefix = S3Zones.at(raw)
    found = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    return sorted(o["Key"][len(prefix):].lstrip("/") for o in found)


def raw_object(s3: Any, raw: str, name: str) -> dict:
    bucket, key = S3Zones.at(raw, name)
    return s3.get_object(Bucket=bucket, Key=key)


def test_s3_raw_zone_gets_verified_files_and_conditional_requests_after(imdb, s3, raw, tmp_path) -> None:
    fake, url = imdb
    for i, name in enumerate(IMDB_DUMPS):
        fake.put(name, _dump(name, 100, seed=i), mtime=1_700_000_000)
    staging = tmp_path / "staging"

    first = acquire(url, raw, staging_dir=str(staging))
    assert [r.status for r in first] == ["downloaded"] * 7
    assert raw_keys(s3, raw) == sorted(IMDB_DUMPS)
    for name in IMDB_DUMPS:
        obj = raw_object(s3, raw, name)
        assert obj["Body"].read() == fake.files[name]
        assert obj["Metadata"]["source-etag"] == fake.etag(name)
    assert [p.name for p in staging.iterdir()] == []  # partials removed once uploaded

    fake.requests.clear()
    assert [r.status for r in acquire(url, raw, staging_dir=str(staging))] == ["not_modified"] * 7
    assert all(status == 304 and headers["If-None-Match"] == fake.etag(name)
               for name, headers, status in fake.requests)  # fmt: skip

    # detect sees exactly the seven dumps, fingerprinted by their S3 ETags
    zone = lake.list_deliveries(config.load())
    assert sorted(d.file_name for d in zone.deliveries) == sorted(IMDB_DUMPS)
    assert zone.missing == ["movie_metadata.csv"] and zone.ignored == []


def test_an_interrupted_download_never_reaches_s3_and_resumes(imdb, s3, raw, tmp_path) -> None:
    fake, url = imdb
    name = "title.principals.tsv.gz"
    body = _dump(name, 5000)
    fake.put(name, body, mtime=1_700_000_000)
    fake.cut_after[name] = len(body) // 2
    staging = tmp_path / "staging"
    with pytest.raises(AcquireError, match=r"transfer broke|got"):
        fetch_one(url, raw, name, staging_dir=str(staging))
    assert raw_keys(s3, raw) == []  # nothing detect could pick up
    assert lake.list_deliveries(config.load()).deliveries == []

    resumed = fetch_one(url, raw, name, staging_dir=str(staging))
    assert resumed.status == "resumed" and fake.requests[-1][2] == 206
    assert raw_object(s3, raw, name)["Body"].read() == body


def test_a_corrupt_gzip_is_never_uploaded(imdb, s3, raw, tmp_path) -> None:
    fake, url = imdb
    name = "title.crew.tsv.gz"
    good = _dump(name, 500)
    fake.put(name, good[:-20] + b"\x00" * 20, mtime=1_700_000_000)
    with pytest.raises(AcquireError, match="not a complete gzip"):
        fetch_one(url, raw, name, staging_dir=str(tmp_path / "staging"))
    assert raw_keys(s3, raw) == []
