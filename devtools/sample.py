"""Seeded generator of IMDb-shaped raw files: the bundled sample, test inputs and benchmark loads.

``generate(out_dir, scale=..., seed=...)`` writes the seven IMDb TSVs (gzip) and the Kaggle
``movie_metadata.csv`` with the exact catalogue headers (``imdb_elt.catalog``). The same arguments
always give byte-identical files. ``scale`` multiplies the row counts of the real dumps (0.1 ≈ 20M
rows); the files carry the traps of the real data (unmatched quotes, many scripts, multi-valued
fields, 7- and 8-digit ids, dangling references, repeated name rows, Kaggle's repeated ids).

``dirty=True`` adds a few defective lines per file and lists them, with the reason code a strict
cleaner must give, in ``_injected_defects.json``. ``snapshot=k, changed_fraction=f`` is the k-th
next daily delivery: identical files except that each delivery changes the votes (and sometimes the
rating) of about ``f`` of the title.ratings rows.

CLI: ``python -m devtools.sample --out DIR [--scale F] [--seed N] [--dirty] [--inputs a,b]
[--snapshot K --changed-fraction F]``.
"""

from __future__ import annotations

import argparse
import bisect
import csv
import gzip
import io
import json
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from devtools import sample_defects as D
from devtools import sample_tables as T
from devtools.sample_kaggle import kaggle_rows
from imdb_elt import catalog

DEFAULT_SCALE = 0.0002  # ≈ 2,500 titles, 20k principals: the bundled sample (< 1 MB)
DEFAULT_DIRTY_SCALE = 0.002  # big enough that every defect kind fits under 0.5% of each file
DEFAULT_SEED = 42
SIDECAR = "_injected_defects.json"
KAGGLE_FILE = catalog.MOVIE_METADATA.file_name
FILE_IDS = {name: i for i, name in enumerate(catalog.BY_FILE_NAME, start=1)}
GZIP_LEVEL = 1  # speed over size: level 1 is ~4x faster than 6 and only ~15% bigger
PARALLEL_MIN_ROWS = 2_000_000  # below this, forking costs more than it saves

Progress = Callable[[str], None]


@dataclass
class FileResult:
    """What one file ended up holding (rows = data lines, header excluded)."""

    file_name: str
    rows: int = 0
    bytes: int = 0
    seconds: float = 0.0  # wall clock
    cpu_seconds: float = 0.0  # CPU of the process that wrote it (meaningful on a busy machine)
    defects: list[dict[str, object]] = field(default_factory=list)
    not_defects: list[dict[str, object]] = field(default_factory=list)
    legitimate_duplicates: list[dict[str, object]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def generate(
    out_dir: str | Path,
    *,
    scale: float | None = None,
    seed: int = DEFAULT_SEED,
    dirty: bool = False,
    inputs: Iterable[str] | None = None,
    snapshot: int = 0,
    changed_fraction: float = 0.0,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Write the sample files into out_dir; return data rows written per file name.

    scale: None means DEFAULT_SCALE, or DEFAULT_DIRTY_SCALE when dirty (a smaller dirty file could
    not hold every defect kind under 0.5% of its lines; the sidecar lists what was left out).
    inputs: catalogue file names to write (default: all eight).
    snapshot/changed_fraction: snapshot 0 is the base delivery; snapshot k applies k successive
    rounds of rating/vote changes, each to ~changed_fraction of the title.ratings rows.
    progress: called with one line of text per chunk written (long runs).
    """
    return {r.file_name: r.rows for r in generate_files(
        out_dir, scale=scale, seed=seed, dirty=dirty, inputs=inputs, snapshot=snapshot,
        changed_fraction=changed_fraction, progress=progress)}


def generate_files(
    out_dir: str | Path,
    *,
    scale: float | None = None,
    seed: int = DEFAULT_SEED,
    dirty: bool = False,
    inputs: Iterable[str] | None = None,
    snapshot: int = 0,
    changed_fraction: float = 0.0,
    progress: Progress | None = None,
) -> list[FileResult]:
    """Like ``generate`` with per-file sizes, timings and defect records (used by the CLI)."""
    scale = (DEFAULT_DIRTY_SCALE if dirty else DEFAULT_SCALE) if scale is None else scale
    files = _check_args(scale, inputs, snapshot, changed_fraction)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    global _JOB
    _JOB = job = _Job(T.build_universe(seed, scale), out, seed, dirty, snapshot, changed_fraction)
    try:
        expected = {f: job.expected_rows(f) for f in files}
        if sum(expected.values()) >= PARALLEL_MIN_ROWS and len(files) > 1 and (os.cpu_count() or 1) > 1:
            results = _parallel(files, expected, progress)
        else:
            results = [job.write(f, progress) for f in files]
    finally:
        _JOB = None  # the universe is ~300 MB at scale 0.1
    sidecar = out / SIDECAR
    if dirty:
        sidecar.write_text(json.dumps(_sidecar(results, seed, scale, snapshot), indent=2,
                                      ensure_ascii=False) + "\n", encoding="utf-8")
    elif sidecar.exists():
        sidecar.unlink()  # a stale list from an earlier dirty run would mislead the tests
    return results


def _check_args(scale: float, inputs: Iterable[str] | None, snapshot: int,
                changed_fraction: float) -> list[str]:
    if not scale > 0:
        raise ValueError(f"scale must be > 0, got {scale}")
    if snapshot < 0 or not 0.0 <= changed_fraction <= 1.0:
        raise ValueError("snapshot must be >= 0 and changed_fraction within [0, 1]")
    if snapshot == 0 and changed_fraction > 0:
        raise ValueError("snapshot 0 is the base delivery: changed_fraction needs snapshot >= 1")
    wanted = list(catalog.BY_FILE_NAME) if inputs is None else list(inputs)
    unknown = sorted(set(wanted) - set(catalog.BY_FILE_NAME))
    if unknown:
        raise ValueError(f"unknown input file(s) {unknown}; known: {sorted(catalog.BY_FILE_NAME)}")
    return [f for f in catalog.BY_FILE_NAME if f in wanted]  # catalogue order, no repeats


@dataclass
class _Job:
    u: T.Universe
    out: Path
    seed: int
    dirty: bool
    snapshot: int
    changed_fraction: float

    def expected_rows(self, file_name: str) -> int:
        u, n = self.u, self.u.n_titles
        return {
            "title.basics.tsv.gz": n,
            "title.ratings.tsv.gz": int(T.RATED_P[u.ttype].sum()),
            "title.crew.tsv.gz": n,
            "title.episode.tsv.gz": int((u.ttype == T.T_EPISODE).sum()),
            "title.principals.tsv.gz": int(n * 0.92 * 8.7),
            "name.basics.tsv.gz": u.n_names,
            "title.akas.tsv.gz": int(n * 4.5),
            KAGGLE_FILE: min(5043, max(40, round(0.8 * int((u.ttype == T.T_MOVIE).sum())))),
        }[file_name]

    def write(self, file_name: str, progress: Progress | None) -> FileResult:
        start, cpu_start = time.perf_counter(), time.process_time()
        ops: list[D.Op] = []
        skipped: list[str] = []
        if self.dirty:
            ops, skipped = D.plan(file_name, self.expected_rows(file_name), self.seed, FILE_IDS[file_name])
        end = ""  # how the file ends: whole, or (dirty) without its final newline, or cut
        if self.dirty and file_name in D.CUT_FILES:
            end = "cut"
        elif self.dirty and file_name in D.NO_FINAL_NEWLINE_FILES:
            end = "no_newline"
        if file_name == KAGGLE_FILE:
            result = _write_kaggle(self.out / file_name, self.u, ops, end)
        else:
            result = _write_tsv(self.out / file_name, self._chunks(file_name), ops, self._fresh(file_name),
                                self.dirty, end, lambda rows: progress and progress(
                                    f"{file_name}: {rows:,} rows written "
                                    f"(~{min(100, 100 * rows // max(1, self.expected_rows(file_name)))}%)"))
        result.skipped = skipped
        result.bytes = (self.out / file_name).stat().st_size
        result.seconds = time.perf_counter() - start
        result.cpu_seconds = time.process_time() - cpu_start
        return result

    def _chunks(self, file_name: str) -> Iterator[T.Chunk]:
        fn, over = T.TSV_GENERATORS[file_name]
        extra = {"snapshot": self.snapshot, "changed_fraction": self.changed_fraction} \
            if file_name == "title.ratings.tsv.gz" else {}
        n = self.u.n_titles if over == "titles" else self.u.n_names
        for no, lo, hi in self.u.chunks(n):
            yield fn(self.u, no, lo, hi, **extra)

    def _fresh(self, file_name: str) -> Callable[[list[str], int], list[str]]:
        """Give a mutated line a key used nowhere else (k = how many fresh keys so far)."""
        if file_name == "name.basics.tsv.gz":
            top = int(self.u.nnum[-1]) + 5_000_000
            return lambda fields, k: [f"nm{top + k:07d}", *fields[1:]]
        top = int(self.u.tnum[-1]) + 5_000_000
        if file_name in D.KEY_FIELDS:  # (id, ordering)
            return lambda fields, k: [f"tt{top + k:07d}", "1", *fields[2:]]
        return lambda fields, k: [f"tt{top + k:07d}", *fields[1:]]


# Set before forking so workers inherit the universe (and the progress callback) instead of pickling.
_JOB: _Job | None = None
_PROGRESS: Progress | None = None


def _write_in_worker(file_name: str) -> FileResult:
    assert _JOB is not None
    return _JOB.write(file_name, _PROGRESS)


def _parallel(files: list[str], expected: dict[str, int], progress: Progress | None) -> list[FileResult]:
    """Two processes, biggest files first (principals alone is about half of the rows)."""
    global _PROGRESS
    _PROGRESS = progress
    by_size = sorted(files, key=lambda f: -expected[f])
    ctx = multiprocessing.get_context("fork")
    results: dict[str, FileResult] = {}
    with ProcessPoolExecutor(max_workers=2, mp_context=ctx) as pool:
        futures = {f: pool.submit(_write_in_worker, f) for f in by_size}
        for f in by_size:
            results[f] = futures[f].result()
            if progress:
                r = results[f]
                progress(f"{f}: done, {r.rows:,} rows, {r.bytes:,} bytes in {r.seconds:.1f} s")
    return [results[f] for f in files]


def _write_tsv(path: Path, chunks: Iterator[T.Chunk], ops: list[D.Op],
               fresh: Callable[[list[str], int], list[str]], dirty: bool, end: str,
               progress: Callable[[int], object]) -> FileResult:
    """Write header + chunks; splice the planned defects in, recording their line numbers.

    end: "no_newline" drops the final newline afterwards (a valid last line, saved without it);
    "cut" also cuts the last line mid-field (an interrupted download); "" leaves the file whole.
    """
    header = "\t".join(catalog.BY_FILE_NAME[path.name].header)
    result = FileResult(path.name)
    errors = "surrogateescape" if dirty else "strict"
    written = 1  # lines so far, header included
    clean_offset = 0  # clean data rows consumed so far
    pending = list(ops)
    carry: str | None = None  # last usable line of the previous chunk
    n_fresh = 0
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw,
                                                compresslevel=GZIP_LEVEL, mtime=0) as gz:
        gz.write((header + "\n").encode())
        for lines, copies in chunks:
            n = len(lines)
            here = [op for op in pending if op.position < clean_offset + n]
            pending = pending[len(here):]
            out, carry, n_fresh = _splice(lines, copies, here, clean_offset, written, carry, fresh,
                                          n_fresh, result)
            gz.write(("\n".join(out) + "\n").encode("utf-8", errors) if out else b"")
            written += len(out)
            clean_offset += n
            progress(written - 1)
        for op in pending:  # the file came out shorter than planned: append at the end
            if op.defect is None or carry is None:
                continue
            line, n_fresh = _defect_line(op.defect, carry, fresh, n_fresh)
            gz.write((line + "\n").encode("utf-8", errors))
            written += 1
            result.defects.append({"line_number": written, "reason": op.defect.reason,
                                   "detail": op.defect.detail})
    result.rows = written - 1
    if end:
        data = gzip.decompress(path.read_bytes())
        with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw,
                                                    compresslevel=GZIP_LEVEL, mtime=0) as gz:
            gz.write(_end_file(data.decode("utf-8", "surrogateescape"), end, result, "\t")
                     .encode("utf-8", "surrogateescape"))
    return result


def _end_file(text: str, end: str, result: FileResult, delimiter: str) -> str:
    """The file's text (ending in a newline) without its final newline, its last line cut
    mid-field if ``end`` is "cut"; the sidecar records what the last line became.

    A valid last line without a newline is data (``no_final_newline``, a not-defect). A cut one
    keeps its first half of the fields and half of the next: too few fields, a field_count defect.
    """
    last = result.rows + 1  # header = line 1
    assert all(d["line_number"] != last for d in result.defects), "the last line already has a defect"
    head, _, line = text.removesuffix("\n").rpartition("\n")
    if end == "no_newline":
        result.not_defects.append({"line_number": last, "kind": "no_final_newline"})
        return f"{head}\n{line}"
    fields = next(csv.reader([line])) if delimiter == "," else line.split(delimiter)
    k = len(fields) // 2
    kept = [*fields[:k], fields[k][: len(fields[k]) // 2]]
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(kept)
    cut = out.getvalue() if delimiter == "," else delimiter.join(kept)
    # What the line was is gone: it is no longer a CRLF line, a repeat or the source of one.
    result.not_defects = [d for d in result.not_defects if d["line_number"] != last]
    result.legitimate_duplicates = [d for d in result.legitimate_duplicates if last not in
                                    (d["line_number"], d["first_line_number"])]
    result.defects.append({"line_number": last, "reason": "field_count",
                           "detail": "cut mid-field with no final newline: an interrupted download"})
    return f"{head}\n{cut}"


def _splice(lines: list[str], copies: set[int], ops: list[D.Op], offset: int, written: int,
            carry: str | None, fresh: Callable[[list[str], int], list[str]], n_fresh: int,
            result: FileResult, tail_only: bool = False) -> tuple[list[str], str | None, int]:
    """One chunk with its ops applied. Line numbers: written + index in the output + 1."""
    avoid = set(copies) | {c - 1 for c in copies}  # the natural duplicate pairs are not sources
    out: list[str] = []
    inserted: list[int] = []  # chunk positions before which a line was inserted (ascending)
    prev = 0

    def line_no(i: int) -> int:  # output line number of input line i of this chunk
        return written + i + bisect.bisect_right(inserted, i) + 1

    for op in ops:
        j = max(prev, op.position - offset)
        if op.defect is None:  # modify a clean line in place: not a defect
            while j < len(lines) - 1 and j in avoid:
                j += 1
            if j >= len(lines) or j in avoid:
                continue
            out.extend(lines[prev:j])
            line = lines[j]
            if op.kind == "crlf_line_end":
                line += "\r"
            else:  # historical_year: people of antiquity
                (birth, death), values = D.HISTORICAL_YEARS[result.file_name]
                done = sum(1 for d in result.not_defects if d["kind"] == op.kind)
                fields = line.split("\t")
                fields[birth], fields[death] = values[done % len(values)]
                line = "\t".join(fields)
            out.append(line)
            result.not_defects.append({"line_number": written + len(out), "kind": op.kind})
            avoid.add(j)
            prev = j + 1
            continue
        out.extend(lines[prev:j])
        prev = j
        s = j - 1
        while s >= 0 and s in avoid:
            s -= 1
        source, source_line = (lines[s], line_no(s)) if s >= 0 else (carry, None)
        if source is None:  # nothing earlier to copy from (cannot happen past position 2)
            continue
        new, n_fresh = _defect_line(op.defect, source, fresh, n_fresh)
        out.append(new)
        inserted.append(j)
        entry: dict[str, object] = {"line_number": written + len(out), "reason": op.defect.reason,
                                    "detail": op.defect.detail}
        if op.defect.copies_key and source_line is not None:
            entry["first_line_number"] = source_line
        result.defects.append(entry)
    out.extend(lines[prev:])
    for c in sorted(copies):
        result.legitimate_duplicates.append(
            {"line_number": line_no(c), "first_line_number": line_no(c - 1), "kind": "exact_copy"})
    usable = [i for i in range(len(lines)) if i not in avoid]
    return out, (lines[usable[-1]] if usable else carry), n_fresh


def _defect_line(defect: D.Defect, source: str, fresh: Callable[[list[str], int], list[str]],
                 n_fresh: int) -> tuple[str, int]:
    fields = source.split("\t")
    if defect.fresh_key:
        fields = fresh(fields, n_fresh)
        n_fresh += 1
    return "\t".join(defect.mutate(fields)), n_fresh


def _write_kaggle(path: Path, u: T.Universe, ops: list[D.Op], end: str) -> FileResult:
    rows, repeats = kaggle_rows(u)
    result = FileResult(path.name)
    # Inserting a line shifts every later row: map data-row index -> final line number.
    positions = sorted(op.position for op in ops)
    def line_of(i: int) -> int:
        return i + 2 + bisect.bisect_right(positions, i)
    for r in repeats:
        result.legitimate_duplicates.append({
            "line_number": line_of(int(r["index"])), "first_line_number": line_of(int(r["of"])),
            "kind": r["kind"]})
    repeated = {int(r["index"]) for r in repeats} | {int(r["of"]) for r in repeats}
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(catalog.MOVIE_METADATA.header)
    top = int(u.tnum[-1]) + 5_000_000
    by_pos = {op.position: op for op in ops}
    for i, row in enumerate(rows):
        op = by_pos.get(i)
        if op is not None and op.defect is not None:
            s = i - 1
            while s in repeated and s > 0:
                s -= 1
            fields = list(rows[s])
            fields[17] = f"http://www.imdb.com/title/tt{top + len(result.defects):07d}/?ref_=fn_tt_tt_1"
            writer.writerow(op.defect.mutate(fields))
            result.defects.append({"line_number": line_of(i) - 1, "reason": op.defect.reason,
                                   "detail": op.defect.detail})
        writer.writerow(row)
    text = buf.getvalue()
    result.rows = len(rows) + len(result.defects)
    if end:
        text = _end_file(text, end, result, ",")
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    return result


def _sidecar(results: list[FileResult], seed: int, scale: float, snapshot: int) -> dict[str, object]:
    files: dict[str, object] = {}
    for r in results:
        counts: dict[str, int] = {}
        for d in r.defects:
            counts[str(d["reason"])] = counts.get(str(d["reason"]), 0) + 1
        files[r.file_name] = {
            "data_lines": r.rows,
            "defect_lines": len(r.defects),
            "defect_fraction": round(len(r.defects) / max(1, r.rows), 6),
            "counts": counts,
            "defects": r.defects,
            "not_defects": r.not_defects,
            "legitimate_duplicates": r.legitimate_duplicates,
            "skipped_too_small": r.skipped,
        }
    return {
        "about": ("Lines injected by devtools.sample (dirty=True). line_number is 1-based in the "
                  "decompressed file, header = line 1. Each defect line has exactly one defect; "
                  "for duplicate_key/exact_duplicate it is the later copy (first_line_number: the "
                  "earlier one). A last line without a final newline is checked like any other: "
                  "a cut one is a defect with its ordinary reason, a valid one is a not_defect "
                  "(no_final_newline). not_defects (CRLF line ends, historical years, a valid last "
                  "line without a newline) must be accepted as data. "
                  "legitimate_duplicates are "
                  "in the clean data too (name.basics exact repeats, Kaggle repeated ids). Every "
                  f"file keeps its defect lines under {D.MAX_DEFECT_FRACTION:.1%} of its lines."),
        "seed": seed, "scale": scale, "snapshot": snapshot,
        "reasons": list(D.REASONS),
        "files": files,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.sample", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--scale", type=float, default=None,
                        help=f"share of the real dumps' rows (default {DEFAULT_SCALE}, "
                             f"{DEFAULT_DIRTY_SCALE} with --dirty; 0.1 ≈ 20M rows)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--dirty", action="store_true", help="inject defects, list them in " + SIDECAR)
    parser.add_argument("--inputs", default=None, help="comma list of file names (default: all eight)")
    parser.add_argument("--snapshot", type=int, default=0, help="k-th next delivery (0 = base)")
    parser.add_argument("--changed-fraction", type=float, default=0.0,
                        help="share of ratings rows changed per delivery (with --snapshot >= 1)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)
    inputs = [s.strip() for s in args.inputs.split(",") if s.strip()] if args.inputs else None
    started = time.perf_counter()
    try:
        results = generate_files(
            args.out, scale=args.scale, seed=args.seed, dirty=args.dirty, inputs=inputs,
            snapshot=args.snapshot, changed_fraction=args.changed_fraction,
            progress=None if args.quiet else lambda line: print(line, file=sys.stderr, flush=True))
    except ValueError as exc:
        parser.error(str(exc))
    total_s = time.perf_counter() - started
    print(f"{'file':<26}{'rows':>13}{'bytes':>15}{'seconds':>9}{'cpu s':>8}{'rows/s':>12}")
    for r in results:
        print(f"{r.file_name:<26}{r.rows:>13,}{r.bytes:>15,}{r.seconds:>9.2f}{r.cpu_seconds:>8.2f}"
              f"{r.rows / max(r.seconds, 1e-9):>12,.0f}")
    rows, size = sum(r.rows for r in results), sum(r.bytes for r in results)
    cpu = sum(r.cpu_seconds for r in results)
    print(f"{'total':<26}{rows:>13,}{size:>15,}{total_s:>9.2f}{cpu:>8.2f}{rows / max(total_s, 1e-9):>12,.0f}")
    if args.dirty:
        print(f"defects listed in {Path(args.out) / SIDECAR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

