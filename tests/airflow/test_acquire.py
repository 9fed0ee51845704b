"""Acquisition against a local HTTP server that behaves like datasets.imdbws.com.

The server (http.server on 127.0.0.1, a free port) serves generated .tsv.gz files with ETag and
Last-Modified, answers conditional requests with 304, serves byte ranges with If-Range, and can
be told to cut a response short to simulate a broken transfer.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from collections.abc import Iterator
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from imdb_elt import config, lake
from imdb_elt.orchestration.acquire import IMDB_DUMPS, AcquireError, acquire, fetch_one

pytestmark = pytest.mark.timeout(60)


class FakeImdb:
    """Files served from memory, with request logging and fault injection."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.modified: dict[str, float] = {}
        self.cut_after: dict[str, int] = {}  # file -> bytes to send before dropping the connection
        self.requests: list[tuple[str, dict[str, str], int]] = []

    def put(self, name: str, body: bytes, mtime: float) -> None:
        self.files[name] = body
        self.modified[name] = mtime

    def etag(self, name: str) -> str:
        return '"' + hashlib.sha1(self.files[name]).hexdigest()[:16] + '"'


def _handler(fake: FakeImdb) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # keep test output clean
            pass

        def do_GET(self) -> None:
            name = self.path.lstrip("/")
            headers = {k: v for k, v in self.headers.items()}
            if name not in fake.files:
                fake.requests.append((name, headers, 404))
                self.send_error(404)
                return
            body, etag = fake.files[name], fake.etag(name)
            last_modified = formatdate(fake.modified[name], usegmt=True)
            if self.headers.get("If-None-Match") == etag:
                fake.requests.append((name, headers, 304))
                self.send_response(304)
                self.end_headers()
                return
            start = 0
            rng = self.headers.get("Range")
            if rng and self.headers.get("If-Range") in (etag, last_modified):
                start = int(rng.removeprefix("bytes=").split("-")[0])
            status = 206 if start else 200
            fake.requests.append((name, headers, status))
            self.send_response(status)
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", last_modified)
            self.send_header("Content-Length", str(len(body) - start))
            if start:
                self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            self.end_headers()
            payload = body[start:]
            cut = fake.cut_after.pop(name, None)
            if cut is not None:
                self.wfile.write(payload[:cut])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(payload)

    return Handler


@pytest.fixture
def server() -> Iterator[tuple[FakeImdb, str]]:
    fake = FakeImdb()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake, f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def _dump(name: str, rows: int, seed: int = 0) -> bytes:
    # Incompressible-ish content so that the gzip body is large enough to cut in the middle.
    lines = ["col_a\tcol_b"] + [
        f"{name}-{seed}-{i}\t{hashlib.md5(f'{seed}{i}'.encode()).hexdigest()}" for i in range(rows)
    ]
    return gzip.compress(("\n".join(lines) + "\n").encode())


def _catalogue_files(raw: Path) -> list[str]:
    return sorted(p.name for p in raw.iterdir() if p.is_file())


def test_first_run_downloads_then_hourly_runs_do_nothing_until_the_refresh(server, tmp_path):
    fake, url = server
    for i, name in enumerate(IMDB_DUMPS):
        fake.put(name, _dump(name, 200, seed=i), mtime=1_700_000_000)
    raw = tmp_path / "raw"

    first = acquire(url, str(raw))
    assert [r.status for r in first] == ["downloaded"] * 7
    assert _catalogue_files(raw) == sorted(IMDB_DUMPS)
    for name in IMDB_DUMPS:
        assert (raw / name).read_bytes() == fake.files[name]

    fake.requests.clear()
    second = acquire(url, str(raw))
    assert [r.status for r in second] == ["not_modified"] * 7
    assert all(status == 304 for _, _, status in fake.requests)
    assert all(
        "If-None-Match" in headers and "If-Modified-Since" in headers for _, headers, _ in fake.requests
    )

    # IMDb's daily refresh changes one file: only that one is fetched again.
    fake.put("title.ratings.tsv.gz", _dump("title.ratings.tsv.gz", 300, seed=99), mtime=1_700_086_400)
    third = {r.file_name: r.status for r in acquire(url, str(raw))}
    assert third["title.ratings.tsv.gz"] == "downloaded"
    assert [s for n, s in third.items() if n != "title.ratings.tsv.gz"] == ["not_modified"] * 6
    assert (raw / "title.ratings.tsv.gz").read_bytes() == fake.files["title.ratings.tsv.gz"]


def test_an_interrupted_download_leaves_nothing_in_the_raw_zone_and_resumes(server, tmp_path, monkeypatch):
    fake, url = server
    name = "title.basics.tsv.gz"
    body = _dump(name, 5000)
    fake.put(name, body, mtime=1_700_000_000)
    fake.cut_after[name] = len(body) // 3
    raw = tmp_path / "raw"

    with pytest.raises(AcquireError, match=r"transfer broke|got"):
        fetch_one(url, str(raw), name)
    assert _catalogue_files(raw) == []  # nothing a detect could pick up
    monkeypatch.setenv("IMDB_RAW_DIR", str(raw))
    monkeypatch.setenv("IMDB_LAKE_DIR", str(tmp_path / "lake"))
    assert lake.list_deliveries(config.load()).deliveries == []

    resumed = fetch_one(url, str(raw), name)
    assert resumed.status == "resumed"
    assert fake.requests[-1][2] == 206 and fake.requests[-1][1]["Range"] == f"bytes={len(body) // 3}-"
    assert resumed.bytes_received == len(body) - len(body) // 3
    assert (raw / name).read_bytes() == body
    print(f"\nresumed {name}: {len(body) // 3} of {len(body)} bytes kept, {resumed.bytes_received} fetched")


def test_a_file_changed_during_the_interruption_restarts_from_zero(server, tmp_path):
    fake, url = server
    name = "name.basics.tsv.gz"
    fake.put(name, _dump(name, 3000), mtime=1_700_000_000)
    fake.cut_after[name] = 1000
    raw = tmp_path / "raw"
    with pytest.raises(AcquireError):
        fetch_one(url, str(raw), name)

    fake.put(name, _dump(name, 3000, seed=7), mtime=1_700_086_400)  # If-Range no longer matches
    result = fetch_one(url, str(raw), name)
    assert result.status == "downloaded"
    assert (raw / name).read_bytes() == fake.files[name]


def test_a_corrupt_gzip_is_refused_and_not_kept(server, tmp_path):
    fake, url = server
    name = "title.crew.tsv.gz"
    good = _dump(name, 500)
    fake.put(name, good[:-20] + b"\x00" * 20, mtime=1_700_000_000)  # right length, broken CRC/size
    raw = tmp_path / "raw"
    with pytest.raises(AcquireError, match="not a complete gzip"):
        fetch_one(url, str(raw), name)
    assert _catalogue_files(raw) == []
    assert not (raw / ".acquire" / f"{name}.part").exists()  # a corrupt body is not resumed


def test_one_missing_file_fails_the_step_but_the_others_land(server, tmp_path):
    fake, url = server
    for name in IMDB_DUMPS[1:]:
        fake.put(name, _dump(name, 50), mtime=1_700_000_000)
    raw = tmp_path / "raw"
    with pytest.raises(AcquireError, match=r"1 of 7 downloads failed.*HTTP 404"):
        acquire(url, str(raw))
    assert _catalogue_files(raw) == sorted(IMDB_DUMPS[1:])
