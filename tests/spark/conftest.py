"""Raw-file helpers of the Spark suite (its SparkSession: tests/fixtures/spark.py)."""

from __future__ import annotations

import gzip
from pathlib import Path

from imdb_elt.catalog import RawInput


def tsv_bytes(raw: RawInput, rows: list[bytes | str], eol: bytes = b"\n") -> bytes:
    """The catalogue header plus ``rows`` (each one line, without its end), joined by ``eol``."""
    header = "\t".join(raw.header).encode()
    lines = [header, *(r.encode() if isinstance(r, str) else r for r in rows)]
    return b"".join(line + eol for line in lines)


def write_gz(folder: Path, name: str, data: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(gzip.compress(data))
    return path
