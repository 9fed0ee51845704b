"""Local-or-S3 file operations for the lake and the ledger.

The same code runs on a laptop (folders) and on AWS (s3:// URIs). S3 access goes through boto3
with the default credential chain (AWS_* variables, profile, instance or task role): no key is
ever passed in code. The client is created on first S3 use, so local runs never import boto3.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_CHUNK = 1 << 20
#: A local file changed less than this long ago is not remembered by its stat (``_local_file``).
RACY_SECONDS = 2.0
#: delete_objects takes at most 1,000 keys per call.
DELETE_BATCH = 1000
_client: Any = None


@dataclass(frozen=True)
class FileInfo:
    """One file: base name, size in bytes, change marker, full URI.

    ``etag_or_checksum`` is the S3 ETag (quotes stripped) for objects and the SHA-256 hex digest
    for local files; compare it only with values from the same kind of storage.
    """

    name: str
    size: int
    etag_or_checksum: str
    uri: str


def is_s3(uri: str) -> bool:
    return uri.startswith("s3://")


def split_s3(uri: str) -> tuple[str, str]:
    """``s3://bucket/a/b`` → (``bucket``, ``a/b``)."""
    if not is_s3(uri):
        raise ValueError(f"not an s3:// URI: {uri!r}")
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not bucket:
        raise ValueError(f"no bucket in {uri!r}")
    return bucket, key


def join(uri: str, *parts: str) -> str:
    """Join path parts with '/', for folders and s3:// URIs alike."""
    return "/".join([uri.rstrip("/"), *(p.strip("/") for p in parts)])


def s3_client() -> Any:
    """The shared boto3 S3 client (AWS_ENDPOINT_URL_S3 is honoured by boto3 itself)."""
    global _client
    if _client is None:
        import boto3

        _client = boto3.client("s3")
    return _client


def reset_client() -> None:
    """Forget the cached client (tests switch between mocked accounts)."""
    global _client
    _client = None


def sha256_file(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file, streamed in 1 MiB chunks (raw dumps are gigabytes)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _dir_key(key: str) -> str:
    return key if not key or key.endswith("/") else key + "/"


def _local_file(path: Path, checksums: dict[str, Any] | None) -> FileInfo:
    """A local file's FileInfo; its SHA-256 comes from ``checksums`` while its stat is unchanged.

    Hashing is a full read: the raw zone at full size is 2.5 GB, which took 45 s from a cold disk
    on every hourly run that found nothing new. The stat stamp includes the inode change time,
    which any write to the file moves and no tool can set back, so new content with the same size
    and a restored modification time is still hashed again.
    """
    st = path.stat()
    stamp = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]
    key = str(path.resolve())
    known = checksums.get(key) if checksums is not None else None
    if isinstance(known, list) and len(known) == 2 and known[0] == stamp:
        digest = str(known[1])
    else:
        digest = sha256_file(path)
        if checksums is not None:
            checksums.pop(key, None)
            # Git's "racy clean" case: a file changed within the clock's last tick could change
            # again without moving its stamp, so a file this recent is hashed again next time.
            if time.time_ns() - st.st_ctime_ns > RACY_SECONDS * 1e9:
                checksums[key] = [stamp, digest]
    return FileInfo(path.name, st.st_size, digest, str(path))


def list_files(
    uri: str, page_size: int | None = None, checksums: dict[str, Any] | None = None
) -> list[FileInfo]:
    """Files directly inside a folder/prefix (not recursive), sorted by name; [] if absent.

    A URI naming one file/object lists just that file. ``page_size`` caps keys per S3 listing
    call (default: S3's 1,000); every page is read. ``checksums``: a memo of local files'
    SHA-256 by path and stat (see ``_local_file``), updated in place; S3 needs none (ETags).
    """
    if not is_s3(uri):
        path = Path(uri)
        if path.is_file():
            return [_local_file(path, checksums)]
        if not path.is_dir():
            return []
        return [_local_file(p, checksums) for p in sorted(path.iterdir()) if p.is_file()]
    bucket, key = split_s3(uri)
    prefix = _dir_key(key)
    files: list[FileInfo] = []
    paginator = s3_client().get_paginator("list_objects_v2")
    # Delimiter="/" keeps it to this level: sub-"folders" come back as CommonPrefixes.
    pages = paginator.paginate(
        Bucket=bucket,
        Prefix=prefix,
        Delimiter="/",
        PaginationConfig={"PageSize": page_size} if page_size else {},
    )
    for page in pages:
        for obj in page.get("Contents", []):
            name = obj["Key"][len(prefix) :]
            if name:
                files.append(
                    FileInfo(name, int(obj["Size"]), obj["ETag"].strip('"'), f"s3://{bucket}/{obj['Key']}")
                )
    if not files and key and not key.endswith("/"):
        one = _head(bucket, key)
        if one is not None:
            files.append(
                FileInfo(key.rsplit("/", 1)[-1], int(one["ContentLength"]), one["ETag"].strip('"'), uri)
            )
    return sorted(files, key=lambda f: f.name)


def _head(bucket: str, key: str) -> dict[str, Any] | None:
    from botocore.exceptions import ClientError

    try:
        return s3_client().head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise


def read_text(uri: str, encoding: str = "utf-8") -> str:
    """Whole file as text."""
    if not is_s3(uri):
        return Path(uri).read_text(encoding=encoding)
    bucket, key = split_s3(uri)
    return s3_client().get_object(Bucket=bucket, Key=key)["Body"].read().decode(encoding)


def write_text_atomic(uri: str, text: str, encoding: str = "utf-8") -> None:
    """Replace a file in one step: readers see the old or the new content, never a part.

    Local: write a temp file in the same folder, fsync, os.replace. S3: one put_object (S3 makes
    an object visible only once it is complete).
    """
    data = text.encode(encoding)
    if is_s3(uri):
        bucket, key = split_s3(uri)
        s3_client().put_object(Bucket=bucket, Key=key, Body=data)
        return
    path = Path(uri)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def exists(uri: str) -> bool:
    """True for an existing file/object or a non-empty folder/prefix."""
    if not is_s3(uri):
        return Path(uri).exists()
    bucket, key = split_s3(uri)
    if key and not key.endswith("/") and _head(bucket, key) is not None:
        return True
    page = s3_client().list_objects_v2(Bucket=bucket, Prefix=_dir_key(key), MaxKeys=1)
    return bool(page.get("KeyCount", 0))


def delete_tree(uri: str) -> int:
    """Delete a file/object or everything under a folder/prefix; return objects deleted (S3)
    or 1/0 (local). Missing is not an error: retention may run twice."""
    if not is_s3(uri):
        path = Path(uri)
        if path.is_dir():
            shutil.rmtree(path)
            return 1
        if path.exists():
            path.unlink()
            return 1
        return 0
    bucket, key = split_s3(uri)
    if not key:
        raise ValueError(f"refusing to delete a whole bucket: {uri!r}")
    client = s3_client()
    deleted = 0
    keys: list[str] = []
    if not key.endswith("/") and _head(bucket, key) is not None:
        keys.append(key)
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=_dir_key(key)):
        keys.extend(obj["Key"] for obj in page.get("Contents", []))
    for start in range(0, len(keys), DELETE_BATCH):
        chunk = keys[start : start + DELETE_BATCH]
        client.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in chunk], "Quiet": True})
        deleted += len(chunk)
    return deleted
