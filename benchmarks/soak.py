"""`make soak`: many consecutive pipeline runs with random deliveries, then one fresh load to compare.

Each run first changes the raw folder at random (seeded): nothing new; an identical re-delivery
(same bytes, new file time); or a random subset of files regenerated as another snapshot (a new or
an older one) with a random share of changed ratings. Each run must end ``success`` when some file's
content differs from what was last processed and ``nothing_new`` otherwise. At the end, the marts
must equal those of a single fresh load of the final raw folder (checksums per table).

    python -m benchmarks.soak --runs 50 [--sf 0.00005] [--seed 7] [--work-dir bench_results/soak]

Exit status 0 only if every run had its expected status and the marts are equal.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks import inputs, marts_checksum
from benchmarks.steps import PipelineWorkspace, run_pipeline
from imdb_elt.config import REPO_ROOT

DEFAULT_SF = 0.00005  # a few hundred to a few thousand rows per file: a run costs start-up, not data


@dataclass
class SoakRun:
    number: int
    action: str
    expected: str  # success | nothing_new
    status: str
    seconds: float

    @property
    def ok(self) -> bool:
        return self.status == self.expected


def file_digests(folder: Path) -> dict[str, str]:
    return {
        name: hashlib.sha256((folder / name).read_bytes()).hexdigest()
        for name in inputs.ALL_FILE_NAMES
        if (folder / name).exists()
    }


def redeliver_identical(raw_dir: Path, names: list[str]) -> None:
    """Write the same bytes again under a new file time, as an upstream re-upload would."""
    for name in names:
        path = raw_dir / name
        tmp = path.with_name(name + ".tmp")
        tmp.write_bytes(path.read_bytes())
        os.replace(tmp, path)


def deliver_snapshot(raw_dir: Path, names: list[str], scale: float, seed: int, snapshot: int,
                     changed_fraction: float) -> None:
    """Regenerate ``names`` as delivery ``snapshot`` and move them into the raw folder."""
    from devtools import sample

    with tempfile.TemporaryDirectory(prefix="soak-delivery-") as tmp:
        sample.generate(Path(tmp), scale=scale, seed=seed, inputs=names, snapshot=snapshot,
                        changed_fraction=changed_fraction)
        for name in names:
            # Copy beside, then rename: the pipeline never sees a half-written file.
            shutil.copyfile(Path(tmp) / name, raw_dir / (name + ".part"))
            os.replace(raw_dir / (name + ".part"), raw_dir / name)


def next_delivery(
    rng: random.Random, raw_dir: Path, scale: float, seed: int, latest_snapshot: int
) -> tuple[str, int]:
    """Change the raw folder at random; returns a description and the newest snapshot number so far."""
    roll = rng.random()
    if roll < 0.25:
        return "nothing delivered", latest_snapshot
    names = rng.sample(list(inputs.ALL_FILE_NAMES), k=rng.randint(1, 3))
    if "title.ratings.tsv.gz" not in names and rng.random() < 0.7:
        names.append("title.ratings.tsv.gz")  # the only file whose content changes between snapshots
    if roll < 0.45:
        redeliver_identical(raw_dir, names)
        return f"identical re-delivery of {len(names)} file(s)", latest_snapshot
    if roll < 0.55 and latest_snapshot > 0:
        snapshot = rng.randint(0, latest_snapshot)  # an older delivery arrives again (a rollback)
    else:
        snapshot = latest_snapshot + 1
        latest_snapshot = snapshot
    fraction = 0.0 if snapshot == 0 else round(rng.uniform(0.005, 0.05), 3)
    deliver_snapshot(raw_dir, names, scale, seed, snapshot, fraction)
    return f"snapshot {snapshot} ({fraction:.1%} changed) of {', '.join(sorted(names))}", latest_snapshot


def soak(runs: int, scale: float, seed: int, work_dir: Path, data_root: Path) -> int:
    rng = random.Random(seed)
    base_dir, _ = inputs.ensure_inputs(data_root, scale, seed)
    ws = PipelineWorkspace(work_dir / "incremental")
    ws.reset(base_dir)
    processed: dict[str, str] = {}  # file -> digest last processed by a successful run
    latest_snapshot = 0
    history: list[SoakRun] = []
    print(f"soak: {runs} runs at SF={scale:g}, seed {seed}, in {work_dir}", flush=True)
    for number in range(1, runs + 1):
        action = "initial delivery" if number == 1 else None
        if action is None:
            action, latest_snapshot = next_delivery(rng, ws.raw_dir, scale, seed, latest_snapshot)
        current = file_digests(ws.raw_dir)
        expected = "success" if current != processed else "nothing_new"
        m, rep = run_pipeline(ws, f"run_{number:03d}.log")
        status = rep.get("status", "no report") if m.ok else f"failed (exit {m.returncode})"
        if status == "success":
            processed = current
        run = SoakRun(number, action, expected, status, round(m.seconds, 2))
        history.append(run)
        flag = "ok" if run.ok else f"UNEXPECTED (wanted {expected})"
        print(f"  run {number:>3} {run.seconds:>7.1f} s  {status:<12} {flag:<8} {action}", flush=True)
        if not m.ok:
            print(m.output_tail, file=sys.stderr)

    print("fresh load of the final raw folder ...", flush=True)
    fresh = PipelineWorkspace(work_dir / "fresh")
    fresh.reset(ws.raw_dir)
    m, rep = run_pipeline(fresh, "fresh.log")
    print(f"  fresh load {m.seconds:.1f} s  {rep.get('status', 'no report')}", flush=True)
    fresh_ok = m.ok and rep.get("status") == "success"
    problems = [] if fresh_ok else [f"the fresh load failed: {m.output_tail[-2000:]}"]
    if not problems:
        soaked = marts_checksum.checksum_marts(ws.duckdb_path)
        fresh_sums = marts_checksum.checksum_marts(fresh.duckdb_path)
        problems = marts_checksum.compare(soaked, fresh_sums)
        for name, c in soaked.items():
            other = fresh_sums.get(name)
            same = other is not None and (other.rows, other.digest) == (c.rows, c.digest)
            print(f"  marts.{name:<28} {c.rows:>9,} rows  {c.digest[:12]}  "
                  f"{'equal' if same else 'DIFFERENT'}")
        if not soaked:
            problems.append("no marts tables found in the soak warehouse")

    failed_runs = [r for r in history if not r.ok]
    seconds = [r.seconds for r in history]
    summary = {
        "runs": runs,
        "unexpected_statuses": len(failed_runs),
        "success_runs": sum(r.status == "success" for r in history),
        "nothing_new_runs": sum(r.status == "nothing_new" for r in history),
        "mean_seconds": round(sum(seconds) / len(seconds), 2) if seconds else 0,
        "max_seconds": max(seconds, default=0),
        "marts_equal": not problems,
        "problems": problems,
        "history": [r.__dict__ for r in history],
    }
    (work_dir / "soak.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"\nsoak: {summary['success_runs']} builds, {summary['nothing_new_runs']} no-ops, "
          f"{len(failed_runs)} unexpected; mean {summary['mean_seconds']} s, max {summary['max_seconds']} s")
    for problem in problems:
        print(f"  MISMATCH {problem}")
    verdict = "PASS" if not problems and not failed_runs else "FAIL"
    print(f"{verdict}: marts after {runs} runs {'equal' if not problems else 'differ from'} a fresh load")
    return 0 if verdict == "PASS" else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--sf", type=float, default=DEFAULT_SF)
    parser.add_argument("--seed", type=int, default=7, help="drives the deliveries (inputs use seed 42)")
    parser.add_argument("--work-dir", type=Path, default=REPO_ROOT / "bench_results" / "soak")
    parser.add_argument("--data-dir", type=Path, default=REPO_ROOT / "bench_results" / "data")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    work_dir = args.work_dir.resolve()
    shutil.rmtree(work_dir, ignore_errors=True)
    work_dir.mkdir(parents=True)
    started = time.perf_counter()
    code = soak(args.runs, args.sf, args.seed, work_dir, args.data_dir.resolve())
    print(f"soak finished in {time.perf_counter() - started:.0f} s")
    return code


if __name__ == "__main__":
    sys.exit(main())
