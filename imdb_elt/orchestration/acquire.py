"""Fetch the seven IMDb dumps into the raw zone, cheaply enough to run every hour.

IMDb refreshes https://datasets.imdbws.com/ once a day. Each hourly run asks with a conditional
request (``If-None-Match`` / ``If-Modified-Since``); an unchanged file costs one 304 reply.

A changed file is downloaded to a partial file *outside* the raw zone's listing (the hidden
``.acquire/`` folder, which ``storage.list_files`` does not descend into), verified (byte count
against the server's length, whole gzip stream decompressed so a truncated or corrupt member
raises), and only then renamed into place atomically. A broken transfer therefore never lands a
file that detect would pick up; the next attempt resumes it with a ``Range`` request guarded by
``If-Range`` so that a file that changed meanwhile restarts from zero.

For an ``s3://`` raw zone the partial file lives in a local staging folder and the verified file
is uploaded under its final key (S3 puts are atomic); the validators travel as object metadata.
"""

from __future__ import annotations

import gzip
import http.client
import json
import logging
import os
import time
import urllib.error
import urllib.request
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

from imdb_elt import catalog, storage

log = logging.getLogger(__name__)

#: The seven official dumps (the Kaggle CSV is not published there).
IMDB_DUMPS: tuple[str, ...] = tuple(i.file_name for i in catalog.INPUTS if i.fmt == "imdb_tsv")
STATE_FOLDER = ".acquire"
_CHUNK = 1 << 20


class AcquireError(RuntimeError):
    """A download failed or did not verify; nothing was placed in the raw zone."""


@dataclass
class FetchResult:
    file_name: str
    status: str  # downloaded | resumed | not_modified
    bytes_received: int
    size: int
    seconds: float


@dataclass
class _Validators:
    etag: str = ""
    last_modified: str = ""
    size: int = -1


# ---- where things live ------------------------------------------------------------------------


class _Target:
    """The final home of one file (local folder or S3) and the local folder for its partial."""

    def __init__(self, raw_dir: str, file_name: str, staging_dir: str | None) -> None:
        self.raw_dir = raw_dir.rstrip("/")
        self.file_name = file_name
        self.is_s3 = storage.is_s3(raw_dir)
        if self.is_s3:
            work = Path(staging_dir or Path(os.environ.get("TMPDIR", "/tmp")) / "imdb-elt-acquire")
        else:
            work = Path(raw_dir) / STATE_FOLDER
        work.mkdir(parents=True, exist_ok=True)
        self.part = work / f"{file_name}.part"
        self.part_meta = work / f"{file_name}.part.json"
        self.meta = work / f"{file_name}.json"

    @property
    def uri(self) -> str:
        return f"{self.raw_dir}/{self.file_name}"

    def current(self) -> _Validators | None:
        """Validators of the file now in the raw zone, or None when there is no such file."""
        if self.is_s3:
            bucket, key = storage.split_s3(self.uri)
            try:
                head = storage.s3_client().head_object(Bucket=bucket, Key=key)
            except Exception:  # absent (404) or unreadable: fetch unconditionally
                return None
            md = head.get("Metadata", {})
            return _Validators(md.get("source-etag", ""), md.get("source-last-modified", ""),
                               int(head["ContentLength"]))
        path = Path(self.uri)
        if not path.is_file():
            return None
        saved = json.loads(self.meta.read_text()) if self.meta.is_file() else {}
        return _Validators(saved.get("etag", ""), saved.get("last_modified", ""), path.stat().st_size)

    def publish(self, validators: _Validators) -> None:
        """Move the verified partial into the raw zone in one step."""
        if self.is_s3:
            bucket, key = storage.split_s3(self.uri)
            meta = {"source-etag": validators.etag, "source-last-modified": validators.last_modified}
            storage.s3_client().upload_file(str(self.part), bucket, key, ExtraArgs={"Metadata": meta})
            self.part.unlink()
        else:
            os.replace(self.part, self.uri)  # same filesystem: atomic
            self.meta.write_text(json.dumps(asdict(validators)))
        self.part_meta.unlink(missing_ok=True)


# ---- one file ---------------------------------------------------------------------------------


def verify_gzip(path: Path) -> None:
    """Decompress the whole stream: raises on truncation, a bad CRC or a non-gzip body."""
    try:
        with gzip.open(path, "rb") as fh:
            while fh.read(_CHUNK):
                pass
    except (OSError, EOFError, zlib.error) as exc:
        raise AcquireError(f"{path.name}: not a complete gzip file ({exc})") from exc


def _request(url: str, headers: dict[str, str]) -> urllib.request.Request:
    return urllib.request.Request(url, headers={"User-Agent": "imdb-elt", **headers})


def fetch_one(
    base_url: str, raw_dir: str, file_name: str, *, timeout: float = 60.0, staging_dir: str | None = None
) -> FetchResult:
    """Bring one dump up to date; raises AcquireError (raw zone untouched) on any failure."""
    started = time.perf_counter()
    target = _Target(raw_dir, file_name, staging_dir)
    url = f"{base_url.rstrip('/')}/{file_name}"
    headers: dict[str, str] = {}
    have = target.current()
    if have is not None:
        if have.etag:
            headers["If-None-Match"] = have.etag
        if have.last_modified:
            headers["If-Modified-Since"] = have.last_modified

    # Resume a partial left by an interrupted attempt, only if the server still has that version.
    offset = target.part.stat().st_size if target.part.is_file() else 0
    part_validators = json.loads(target.part_meta.read_text()) if target.part_meta.is_file() else {}
    if offset and (part_validators.get("etag") or part_validators.get("last_modified")):
        headers["Range"] = f"bytes={offset}-"
        headers["If-Range"] = part_validators.get("etag") or part_validators["last_modified"]
    else:
        offset = 0

    try:
        response = urllib.request.urlopen(_request(url, headers), timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 304:
            return FetchResult(file_name, "not_modified", 0, have.size if have else -1,
                               time.perf_counter() - started)
        raise AcquireError(f"{url}: HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise AcquireError(f"{url}: {exc}") from exc

    with response:
        validators = _Validators(response.headers.get("ETag", ""), response.headers.get("Last-Modified", ""))
        resumed = response.status == 206
        if resumed:
            total = int(response.headers["Content-Range"].rsplit("/", 1)[1])
        else:
            offset = 0
            length = response.headers.get("Content-Length")
            total = int(length) if length is not None else -1
        validators.size = total
        # Record what the partial belongs to before writing it, so a crash mid-body can resume.
        target.part_meta.write_text(json.dumps(asdict(validators)))
        received = 0
        with open(target.part, "ab" if resumed else "wb") as out:
            try:
                while chunk := response.read(_CHUNK):
                    out.write(chunk)
                    received += len(chunk)
            except (OSError, http.client.HTTPException) as exc:  # IncompleteRead: peer closed early
                raise AcquireError(f"{url}: transfer broke after {offset + received} bytes ({exc})") from exc

    size = target.part.stat().st_size
    if total >= 0 and size != total:
        raise AcquireError(f"{url}: got {size} of {total} bytes; kept the partial for the next attempt")
    try:
        verify_gzip(target.part)
    except AcquireError:
        # A corrupt body must not be resumed: start from zero next time.
        target.part.unlink(missing_ok=True)
        target.part_meta.unlink(missing_ok=True)
        raise
    target.publish(validators)
    return FetchResult(file_name, "resumed" if resumed else "downloaded", received, size,
                       time.perf_counter() - started)


def acquire(
    base_url: str,
    raw_dir: str,
    files: tuple[str, ...] = IMDB_DUMPS,
    *,
    timeout: float = 60.0,
    staging_dir: str | None = None,
) -> list[FetchResult]:
    """Bring every dump up to date. All files are tried; the first error is raised at the end.

    Trying the others first means one flaky file does not hold back the rest of the refresh.
    """
    results: list[FetchResult] = []
    errors: list[str] = []
    for name in files:
        try:
            result = fetch_one(base_url, raw_dir, name, timeout=timeout, staging_dir=staging_dir)
        except AcquireError as exc:
            log.error("acquire: %s", exc)
            errors.append(str(exc))
            continue
        log.info("acquire: %s %s (%d bytes in %.1f s)", name, result.status, result.bytes_received,
                 result.seconds)
        results.append(result)
    if errors:
        raise AcquireError(f"{len(errors)} of {len(files)} downloads failed: " + "; ".join(errors))
    return results
