"""The job's edges: list, read and write files, local paths and s3:// URIs alike.

Everything goes through Spark's Hadoop FileSystem, so the same code reads a local folder in tests
and S3 on EMR (EMRFS), with no boto3 on the cluster. Only local paths are exercised here.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession


def _uri(path: str) -> str:
    # A bare local path is made explicit so that Hadoop does not resolve it against fs.defaultFS
    # (HDFS on EMR).
    if "://" in path or path.startswith("file:"):
        return path
    return "file://" + path if path.startswith("/") else path


def _fs_path(spark: SparkSession, path: str) -> tuple[Any, Any]:
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    hpath = jvm.org.apache.hadoop.fs.Path(_uri(path))
    fs = hpath.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    return fs, hpath


def file_size(spark: SparkSession, path: str) -> int | None:
    """Size in bytes, or None when the file does not exist."""
    fs, hpath = _fs_path(spark, path)
    if not fs.exists(hpath):
        return None
    return int(fs.getFileStatus(hpath).getLen())


def exists(spark: SparkSession, path: str) -> bool:
    fs, hpath = _fs_path(spark, path)
    return bool(fs.exists(hpath))


def write_text(spark: SparkSession, path: str, text: str) -> None:
    """Write a small text file (stats, marker), replacing any previous one."""
    fs, hpath = _fs_path(spark, path)
    out = fs.create(hpath, True)
    try:
        out.write(bytearray(text.encode("utf-8")))
    finally:
        out.close()


def delete(spark: SparkSession, path: str) -> None:
    fs, hpath = _fs_path(spark, path)
    if fs.exists(hpath):
        fs.delete(hpath, True)


def local_path(path: str) -> Path | None:
    """The local file behind ``path`` (bare or file: path), or None for a remote URI (s3://...)."""
    if path.startswith("file://"):
        return Path(path.removeprefix("file://"))
    if path.startswith("file:"):
        return Path(path.removeprefix("file:"))
    if "://" in path:
        return None
    return Path(path)


def first_lines_local(path: Path, n: int = 2) -> list[str]:
    """The first ``n`` lines of a local file (gunzipped when it ends in .gz), split on "\\n" only.

    Plain Python, no Spark job: the header check of a local delivery then costs microseconds
    instead of a Spark job per file. Bytes that are not UTF-8 are replaced (the header check only
    compares names). Raises OSError/EOFError for an unreadable or corrupt file.
    """
    opener = gzip.open if path.name.endswith(".gz") else open
    lines: list[str] = []
    with opener(path, "rb") as f:  # type: ignore[operator]
        for _ in range(n):
            line = f.readline()
            if not line:
                break
            lines.append(line.removesuffix(b"\n").decode("utf-8", errors="replace"))
    return lines


def read_lines(spark: SparkSession, path: str) -> DataFrame:
    """One file as text lines split on "\\n" only (a bare "\\r" stays inside its field).

    The text source keeps the bytes as they are (no decoding, no U+FFFD), so invalid UTF-8 can
    be detected and quarantined byte for byte.
    """
    return spark.read.text(_uri(path), lineSep="\n")


def write_parquet(df: DataFrame, path: str) -> None:
    df.write.mode("overwrite").option("compression", "zstd").parquet(_uri(path))


def _tail_bytes(spark: SparkSession, path: str, n: int) -> bytes:
    """The last ``n`` bytes of the file as stored (compressed or not): a ranged read, no scan."""
    local = local_path(path)
    if local is not None:
        with open(local, "rb") as f:
            f.seek(max(0, local.stat().st_size - n))
            return f.read()
    fs, hpath = _fs_path(spark, path)
    size = int(fs.getFileStatus(hpath).getLen())
    stream = fs.open(hpath)
    try:
        stream.seek(max(0, size - n))
        return bytes(stream.read() for _ in range(min(n, size)))
    finally:
        stream.close()


def _last_byte_decompressed(spark: SparkSession, path: str, offset: int) -> int:
    """The decompressed byte at ``offset`` (-1 past the end), streamed on the JVM (slow path)."""
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    fs, hpath = _fs_path(spark, path)
    codecs = jvm.org.apache.hadoop.io.compress.CompressionCodecFactory(
        spark.sparkContext._jsc.hadoopConfiguration()
    )
    codec = codecs.getCodec(hpath)
    stream = codec.createInputStream(fs.open(hpath)) if codec is not None else fs.open(hpath)
    try:
        jvm.org.apache.hadoop.io.IOUtils.skipFully(stream, offset)
        return int(stream.read())
    finally:
        stream.close()


def ends_with_newline(spark: SparkSession, path: str, line_bytes: int) -> bool:
    """Whether the (decompressed) file ends with "\\n", given what reading it counted.

    ``line_bytes`` = the bytes of every line read (split on "\\n") plus one per line, i.e. the
    file's size if its last line was terminated, one more if not. The size is known without a
    second scan: the file size, or for gzip the ISIZE trailer (size mod 2^32). A multi-member
    gzip (whose trailer covers its last member only) falls back to streaming the file once more.
    """
    if not path.endswith(".gz"):
        size = file_size(spark, path)
        assert size is not None
        if line_bytes in (size, size + 1):
            return line_bytes == size
    else:
        trailer = _tail_bytes(spark, path, 4)
        isize = int.from_bytes(trailer, "little") if len(trailer) == 4 else -1
        if isize == line_bytes % 2**32:
            return True
        if isize == (line_bytes - 1) % 2**32:
            return False
    return _last_byte_decompressed(spark, path, line_bytes - 1) == ord("\n")


def replace_dir(spark: SparkSession, source: str, target: str) -> None:
    """Move folder ``source`` to ``target``, replacing it (a rename on HDFS and local disk)."""
    fs, target_path = _fs_path(spark, target)
    _, source_path = _fs_path(spark, source)
    if fs.exists(target_path):
        fs.delete(target_path, True)
    if not fs.rename(source_path, target_path):
        raise OSError(f"could not move {source} to {target}")


def parquet_rows(spark: SparkSession, path: str) -> int:
    """Rows of a Parquet folder, summed from its files' footers: no Spark job, no data page."""
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    fs, folder = _fs_path(spark, path)
    rows = 0
    for status in fs.listStatus(folder):
        name = status.getPath().getName()
        if status.isFile() and not name.startswith(("_", ".")) and name.endswith(".parquet"):
            input_file = jvm.org.apache.parquet.hadoop.util.HadoopInputFile.fromStatus(status, conf)
            reader = jvm.org.apache.parquet.hadoop.ParquetFileReader.open(input_file)
            try:
                rows += int(reader.getRecordCount())
            finally:
                reader.close()
    return rows


def read_parquet(spark: SparkSession, path: str) -> DataFrame:
    return spark.read.parquet(_uri(path))
