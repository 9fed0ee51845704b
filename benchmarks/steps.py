"""The measured steps of one scale factor, each in its own subprocess on the same files.

Every step is timed from the outside (wall clock, peak RSS of the process tree), so the figures
include interpreter start-up, the JVM and dbt exactly as a user running the command would pay.
"""

from __future__ import annotations

import gzip
import json
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

from benchmarks import inputs
from benchmarks.measure import Measurement, run_measured
from benchmarks.reference_duckdb import SKIPS
from imdb_elt.config import REPO_ROOT

#: The files imdb-sqlite 2.1.0 loads (it has no table for title.crew).
IMDB_SQLITE_FILES: tuple[str, ...] = (
    "name.basics.tsv.gz",
    "title.basics.tsv.gz",
    "title.akas.tsv.gz",
    "title.principals.tsv.gz",
    "title.episode.tsv.gz",
    "title.ratings.tsv.gz",
)
SPARK_SNAPSHOT_ID = "20000101T000000000000Z"
DUCKDB_STEP = "duckdb reference"
SPARK_NAIVE_STEP = "spark naive reference"
#: dbt build with every test inside the full load, timed by the run report (not a process of its own).
DBT_STEP = "dbt build (in full load)"
IMDB_SQLITE_STEP = "imdb-sqlite 2.1.0"


@dataclass
class StepResult:
    """One row of the benchmark table."""

    sf: float
    step: str
    rows: int
    seconds: float
    peak_rss_mib: float
    ok: bool
    note: str = ""
    rows_per_second: float | None = None
    ratio_duckdb: float | None = None
    ratio_imdb_sqlite: float | None = None

    def __post_init__(self) -> None:
        if self.rows_per_second is None and self.rows > 0 and self.seconds > 0:
            self.rows_per_second = self.rows / self.seconds

    def as_dict(self) -> dict:
        return asdict(self)


def _result(sf: float, step: str, rows: int, m: Measurement, note: str = "") -> StepResult:
    if not m.ok:
        note = (note + "; " if note else "") + f"FAILED exit {m.returncode}"
        print(f"  {step} failed (exit {m.returncode}); last output:\n{m.output_tail}", file=sys.stderr)
    return StepResult(sf, step, rows, round(m.seconds, 3), round(m.peak_rss_mib, 1), m.ok, note)


#: Issue 30: "the median of 3 runs for anything shorter than 5 minutes". A step whose first run
#: ends sooner than this runs ``SHORT_RUNS`` times and shows the median; a longer one runs once.
SHORT_STEP_SECONDS = 300.0
SHORT_RUNS = 3

Run = tuple[Measurement, dict]


def runs_while_short(run_once: Callable[[int], Run], short_seconds: float = SHORT_STEP_SECONDS) -> list[Run]:
    """Run 1, then runs 2..``SHORT_RUNS`` if run 1 succeeded in under ``short_seconds``."""
    measured = [run_once(1)]
    if measured[0][0].ok and measured[0][0].seconds < short_seconds:
        measured += [run_once(i) for i in range(2, SHORT_RUNS + 1)]
    return measured


def _median_run(measured: list[Run], digits: int = 2) -> tuple[Measurement, dict, str]:
    """The median of ``measured`` runs (by wall time), and a note naming every run's seconds."""
    m, rep = sorted(measured, key=lambda mr: mr[0].seconds)[len(measured) // 2]
    return m, rep, f"runs {', '.join(f'{x.seconds:.{digits}f}' for x, _ in measured)} s (median shown)"


def _median_result(sf: float, step: str, rows: int, measured: list[Run], note: str = "") -> StepResult:
    """One row for ``measured``: the median run's time, the highest peak memory of the runs, ok
    only if every run was. With more than one run the note names each run's seconds first."""
    m, _, runs = _median_run(measured)
    parts = [runs] if len(measured) > 1 else []
    res = _result(sf, step, rows, m, "; ".join([*parts, note] if note else parts))
    res.peak_rss_mib = round(max(x.peak_rss_mib for x, _ in measured), 1)
    res.ok = all(x.ok for x, _ in measured)
    return res


def _present_tsvs(raw_dir: Path) -> list[str]:
    """The catalogue's IMDb TSVs in ``raw_dir``, in catalogue order: what the Spark and DuckDB steps read."""
    return [n for n in inputs.TSV_FILE_NAMES if (raw_dir / n).exists()]


def _python() -> str:
    return sys.executable


def _project_env() -> dict[str, str]:
    return {"PYTHONPATH": str(REPO_ROOT), "DBT_SEND_ANONYMOUS_USAGE_STATS": "False", "DO_NOT_TRACK": "1"}


_STARTUP_SCRIPT = (
    "from spark_jobs.session import build_session, stop_session\n"
    "spark = build_session(master='local[2]', ui=False)\n"
    "spark.range(1).count()\n"
    "stop_session(spark)\n"
)


def spark_startup(sf: float, work: Path, short_seconds: float = SHORT_STEP_SECONDS) -> list[StepResult]:
    """Python + JVM + SparkSession + one trivial job: the fixed cost every Spark run pays.

    A new environment writes the JVM's class archive once (`make setup`, from a cleaning run of
    the bundled sample: ``imdb_elt.spark_class_archive``). If it is missing it is written first,
    reported apart, so that neither this step nor ``spark clean`` carries a cost a user pays once.
    """
    from spark_jobs.session import class_archive

    results = []
    archive = class_archive()
    if archive is not None and not archive.exists():
        m = run_measured(
            [_python(), "-m", "imdb_elt.spark_class_archive"],
            env=_project_env(),
            cwd=REPO_ROOT,
            log_file=work / "spark_class_archive.log",
        )
        results.append(
            _result(
                sf,
                "spark class archive, once",
                0,
                m,
                "once per environment (make setup): the sample's cleaning run writes it",
            )
        )
    measured = runs_while_short(
        lambda i: (run_measured([_python(), "-c", _STARTUP_SCRIPT], env=_project_env(), cwd=REPO_ROOT,
                                log_file=work / f"spark_startup_{i}.log"), {}),
        short_seconds,
    )
    results.append(_median_result(sf, "spark start-up (JVM+session)", 0, measured,
                                  "fixed cost, included in spark clean"))
    return results


def spark_clean(
    sf: float, raw_dir: Path, work: Path, rows: dict[str, int], short_seconds: float = SHORT_STEP_SECONDS
) -> StepResult:
    """The project's cleaning job alone on the seven TSVs, as the pipeline starts it, each run
    into a fresh lake."""
    lake = work / "spark_lake"
    files = _present_tsvs(raw_dir)
    cmd = [
        _python(), "-m", "spark_jobs.clean_imdb", "--raw-dir", str(raw_dir), "--lake-dir", str(lake),
        "--snapshot-id", SPARK_SNAPSHOT_ID, "--files", ",".join(files), "--master", "local[2]",
    ]
    stats_file = lake / "processed" / "snapshots" / SPARK_SNAPSHOT_ID / "_spark_stats.json"

    def run_once(i: int) -> Run:
        shutil.rmtree(lake, ignore_errors=True)
        m = run_measured(cmd, env=_project_env(), cwd=REPO_ROOT, log_file=work / f"spark_clean_{i}.log")
        stats = json.loads(stats_file.read_text()) if m.ok and stats_file.exists() else {}
        shutil.rmtree(lake, ignore_errors=True)
        return m, stats

    measured = runs_while_short(run_once, short_seconds)
    note = "local[2], 7 TSVs"
    stats = _median_run(measured)[1]
    if stats:
        quarantined = sum(d.get("rows_quarantined", 0) for d in stats.get("datasets", {}).values())
        note += f", {quarantined} quarantined"
    return _median_result(sf, "spark clean", inputs.total_rows(rows, files), measured, note)


#: Where the packaged job runs, side by side on the same files: (step name, workers, cores each).
#: Workers 0: ``--master local[2]``, the executors threads of the driver.
SPARK_PLACEMENTS: tuple[tuple[str, int, int], ...] = (
    ("spark-submit local[2]", 0, 2),
    ("spark-submit 1 worker x 2 cores", 1, 2),
    ("spark-submit 2 workers x 1 core", 2, 1),
)
#: Memory of the driver and of each executor in the placements (the settings' defaults).
PLACEMENT_MEMORY = "2g"


def spark_placements(sf: float, raw_dir: Path, work: Path, rows: dict[str, int]) -> list[StepResult]:
    """The packaged bundle by spark-submit on the seven TSVs: in local mode, then on a standalone
    cluster of one worker with two cores, then of two workers with one core each.

    Each cluster is started before its step (the start-up is in the note, not in the time) and
    stopped after it; the step's memory is the submit's tree (driver) plus the cluster's processes
    (daemons, executors). The event log says how many tasks each executor ran.
    """
    from dataclasses import replace

    from imdb_elt import config, spark_bundle, spark_cluster, spark_events, spark_submit

    bundle = spark_bundle.build_bundle(with_jar=True)
    code = spark_bundle.write_bundle(bundle, work / "dist")
    files = _present_tsvs(raw_dir)
    total = inputs.total_rows(rows, files)
    plan = {"run_id": SPARK_SNAPSHOT_ID, "new_deliveries": files,
            "deliveries": [{"size": (raw_dir / n).stat().st_size} for n in files]}
    results = []
    for step, workers, cores in SPARK_PLACEMENTS:
        root = work / "placements" / step.split(" ", 1)[1].replace(" ", "_").replace("[", "").replace("]", "")
        shutil.rmtree(root, ignore_errors=True)
        settings = replace(config.load(), raw_dir=str(raw_dir), lake_dir=str(root / "lake"),
                           log_dir=str(root / "logs"), spark_driver_memory=PLACEMENT_MEMORY,
                           spark_executor_memory=PLACEMENT_MEMORY, spark_workers=workers,
                           spark_worker_cores=cores)
        folder = Path(settings.spark_cluster_dir)
        note, master, started = "", f"local[{cores}]", 0.0
        try:
            if workers:
                started = time.perf_counter()
                cluster = spark_cluster.start(folder, spark_cluster.ClusterSpec.from_settings(settings))
                master = cluster.master_url
                note = f"cluster up in {time.perf_counter() - started:.1f} s (not timed); "
            events = root / "events"
            events.mkdir(parents=True)
            command = spark_submit.standalone_command(
                settings, plan, master, code, spark_submit.isolated_python(root), events, local_cluster=True)
            m = run_measured(command, env=spark_submit.scrubbed_environment(SPARK_LOCAL_IP="127.0.0.1"),
                             cwd=root, log_file=work / f"{root.name}.log",
                             also=partial(spark_cluster.processes, folder))
            where = spark_events.latest_placement(events) or {}
            tasks = ", ".join(f"executor {i}: {e['tasks']} tasks, {e['task_seconds']:.0f} task-s"
                              for i, e in sorted((where.get("executors") or {}).items()))
            longest = max((where.get("longest_task_seconds") or {}).items(), key=lambda kv: kv[1],
                          default=("", 0.0))
            note += (f"7 TSVs, driver and executors {PLACEMENT_MEMORY} each; {tasks}; "
                     f"longest task {longest[1]:.1f} s ({longest[0].removeprefix('clean ')})")
        finally:
            if workers:
                spark_cluster.stop(folder)
            shutil.rmtree(root / "lake", ignore_errors=True)
        results.append(_result(sf, step, total, m, note))
    return results


def duckdb_reference(
    sf: float, raw_dir: Path, work: Path, rows: dict[str, int], short_seconds: float = SHORT_STEP_SECONDS
) -> StepResult:
    out = work / "duckdb_parquet"
    run_once = _reference_runs("benchmarks.reference_duckdb", raw_dir, out, work, "duckdb")
    files = _present_tsvs(raw_dir)
    note = f"typed zstd Parquet, JSON parsed, all threads; {SKIPS}"
    return _median_result(sf, DUCKDB_STEP, inputs.total_rows(rows, files),
                          runs_while_short(run_once, short_seconds), note)


def spark_naive_reference(
    sf: float, raw_dir: Path, work: Path, rows: dict[str, int], short_seconds: float = SHORT_STEP_SECONDS
) -> StepResult:
    """The same conversion as DuckDB's in the job's Spark session, with no check
    (``benchmarks.reference_spark``): the engine's floor under the job."""
    out = work / "spark_naive_parquet"
    run_once = _reference_runs("benchmarks.reference_spark", raw_dir, out, work, "spark_naive")
    measured = runs_while_short(run_once, short_seconds)
    files = _present_tsvs(raw_dir)
    note = f"local[2], the job's session and typing, no checks; {SKIPS}"
    cpu = _median_run(measured)[1].get("jvm_cpu_seconds")
    if cpu:
        note += f"; JVM CPU {cpu:.1f} s (median run)"
    return _median_result(sf, SPARK_NAIVE_STEP, inputs.total_rows(rows, files), measured, note)


def _reference_runs(module: str, raw_dir: Path, out: Path, work: Path, log_name: str) -> Callable[[int], Run]:
    """One run of a reference converter (``python -m <module> --raw-dir --out-dir``) into a fresh
    ``out``, removed after; its report is the JSON document it prints last."""
    cmd = [_python(), "-m", module, "--raw-dir", str(raw_dir), "--out-dir", str(out)]

    def run_once(i: int) -> Run:
        shutil.rmtree(out, ignore_errors=True)
        m = run_measured(cmd, env=_project_env(), cwd=REPO_ROOT, log_file=work / f"{log_name}_{i}.log")
        shutil.rmtree(out, ignore_errors=True)
        return m, _last_json_line(m.output_tail) if m.ok else {}

    return run_once


def _last_json_line(output: str) -> dict:
    """The JSON document a reference prints as its last line of output ({} if there is none)."""
    for line in reversed(output.splitlines()):
        if line.startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                return {}
    return {}


#: imdb-sqlite declares these keys PRIMARY KEY and stops at the first repeat (IMDb repeats some name rows).
IMDB_SQLITE_PRIMARY_KEYS = ("name.basics.tsv.gz", "title.basics.tsv.gz", "title.ratings.tsv.gz")


def imdb_sqlite_inputs(raw_dir: Path) -> tuple[Path, int]:
    """A copy of its six files that imdb-sqlite can load: repeated keys dropped (first one kept).

    Cached next to the generated inputs; not timed. Returns the folder and the rows dropped.
    """
    folder = raw_dir / "imdb_sqlite_input"
    marker = folder / "_dropped.json"
    if marker.exists():
        return folder, int(json.loads(marker.read_text())["dropped"])
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    dropped = 0
    for name in IMDB_SQLITE_FILES:
        if not (raw_dir / name).exists():
            continue
        if name not in IMDB_SQLITE_PRIMARY_KEYS:
            shutil.copyfile(raw_dir / name, folder / name)
            continue
        seen: set[str] = set()
        with gzip.open(raw_dir / name, "rt", encoding="utf-8", newline="") as src, \
                gzip.open(folder / name, "wt", encoding="utf-8", newline="", compresslevel=1) as dst:
            dst.write(next(src))
            for line in src:
                key = line.split("\t", 1)[0]
                if key in seen:
                    dropped += 1
                    continue
                seen.add(key)
                dst.write(line)
    marker.write_text(json.dumps({"dropped": dropped}) + "\n")
    return folder, dropped


def imdb_sqlite(
    sf: float, raw_dir: Path, work: Path, rows: dict[str, int], short_seconds: float = SHORT_STEP_SECONDS
) -> StepResult:
    """imdb-sqlite 2.1.0 offline: --cache-dir holds the official file names, so nothing is fetched."""
    source, dropped = imdb_sqlite_inputs(raw_dir)
    db = work / "imdb_sqlite.db"
    exe = Path(sys.executable).with_name("imdb-sqlite")
    cmd = [str(exe), "--db", str(db), "--cache-dir", str(source)]

    def run_once(i: int) -> Run:
        db.unlink(missing_ok=True)
        # Progress bars off: their \r-joined output is noise in the log.
        m = run_measured(cmd, env={"TQDM_DISABLE": "1"}, cwd=work, log_file=work / f"imdb_sqlite_{i}.log")
        db.unlink(missing_ok=True)
        return m, {}

    return _median_result(sf, IMDB_SQLITE_STEP, inputs.total_rows(rows, IMDB_SQLITE_FILES) - dropped,
                          runs_while_short(run_once, short_seconds),
                          f"6 files (no crew), with indexes; {dropped} repeated keys removed first")


@dataclass
class PipelineWorkspace:
    """A raw folder, lake and DuckDB file private to the benchmark's pipeline runs."""

    root: Path
    #: dbt's target folder (its parse cache); default inside the root, reset with it.
    dbt_target: Path | None = None

    @property
    def raw_dir(self) -> Path:
        return self.root / "raw"

    @property
    def lake_dir(self) -> Path:
        return self.root / "lake"

    @property
    def duckdb_path(self) -> Path:
        return self.root / "warehouse" / "imdb.duckdb"

    def env(self) -> dict[str, str]:
        return {
            **_project_env(),
            "IMDB_RAW_DIR": str(self.raw_dir),
            "IMDB_LAKE_DIR": str(self.lake_dir),
            "DUCKDB_PATH": str(self.duckdb_path),
            "DBT_TARGET": "duckdb",
            "DBT_TARGET_PATH": str(self.dbt_target or self.root / "dbt_target"),
            "IMDB_LOG_DIR": str(self.root / "logs"),
        }

    def reset(self, source_raw: Path) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
        self.duckdb_path.parent.mkdir(parents=True)
        inputs.copy_inputs(source_raw, self.raw_dir)

    def latest_report(self) -> dict:
        path = self.lake_dir / "reports" / "latest.json"
        return json.loads(path.read_text()) if path.exists() else {}


def run_pipeline(ws: PipelineWorkspace, log_name: str, log_dir: Path | None = None) -> Run:
    """``python -m imdb_elt run`` with the workspace's settings; returns the cost and its run report.

    The log goes to ``log_dir`` (default the workspace, which a reset removes)."""
    m = run_measured([_python(), "-m", "imdb_elt", "run"], env=ws.env(), cwd=REPO_ROOT,
                     log_file=(log_dir or ws.root) / log_name)
    return m, ws.latest_report()


def _report_rows(rep: dict) -> int:
    return sum(int(st.get("rows_read", 0)) for st in (rep.get("files") or {}).values())


def _report_note(rep: dict) -> str:
    dbt = rep.get("dbt") or {}
    parts = [f"status {rep.get('status', '?')}"]
    if rep.get("new_deliveries") is not None:
        parts.append(f"{len(rep.get('new_deliveries') or [])} new files")
    if dbt:
        parts.append(f"dbt {dbt.get('seconds', 0):.1f}s, {dbt.get('models_ok', 0)} models, "
                     f"{dbt.get('tests_passed', 0)} tests passed")
    return ", ".join(parts)


def _pipeline_result(sf: float, step: str, measured: list[Run], status: str, rows: int = 0) -> StepResult:
    """The median run of ``measured`` with its run report's rows (else ``rows``) and note; ok when
    each run ended in ``status``."""
    rep = _median_run(measured)[1]
    res = _median_result(sf, step, _report_rows(rep) or rows, measured, _report_note(rep))
    res.ok = all(x.ok and r.get("status") == status for x, r in measured)
    return res


def pipeline_steps(
    sf: float, raw_dir: Path, changed_raw_dir: Path, work: Path, rows: dict[str, int],
    short_seconds: float = SHORT_STEP_SECONDS,
) -> list[StepResult]:
    """Full load on a fresh lake; the same run again (nothing new); then 1%-changed snapshots.

    Each full load starts from a fresh workspace; the later steps run on the last one's lake.
    Its dbt row is the median full load's. Each 1%-changed run delivers title.ratings 1%
    different from the current one: the changed snapshot's, then the original again, in turns
    (every other file is the same in both).
    """
    ws = PipelineWorkspace(work / "pipeline")

    def full_load(i: int) -> Run:
        ws.reset(raw_dir)
        return run_pipeline(ws, f"pipeline_full_{i}.log", log_dir=work)

    full = runs_while_short(full_load, short_seconds)
    results = [_pipeline_result(sf, "pipeline full load", full, "success",
                                inputs.total_rows(rows, inputs.ALL_FILE_NAMES))]
    m, rep, _ = _median_run(full)
    dbt = rep.get("dbt") or {}
    if dbt.get("seconds") is not None:
        results.append(StepResult(
            sf, DBT_STEP, sum((rep.get("staged_rows") or {}).values()), float(dbt["seconds"]),
            m.peak_rss_mib, ok=m.ok and rep.get("status") == "success",
            note="rows = staged rows; memory is the whole run's; from the median full load",
        ))

    unchanged = runs_while_short(lambda i: run_pipeline(ws, f"pipeline_nothing_new_{i}.log"), short_seconds)
    results.append(_pipeline_result(sf, "pipeline no new data", unchanged, "nothing_new"))

    def changed_run(i: int) -> Run:
        inputs.copy_inputs(changed_raw_dir if i % 2 == 1 else raw_dir, ws.raw_dir)
        return run_pipeline(ws, f"pipeline_changed_{i}.log")

    results.append(_pipeline_result(sf, "pipeline 1% changed", runs_while_short(changed_run, short_seconds),
                                    "success"))
    return results


#: The bundled sample's step: `make run` on a warm environment and a fresh lake, the median of
#: this many runs (it is short: one run's jitter would decide a 30 s target).
SAMPLE_RUNS = 3
SAMPLE_STEP = "make run (bundled sample)"
#: The sample is not a scale factor of the generator; its rows are reported under this SF.
SAMPLE_SF = 0.0


def sample_run(work: Path, runs: int = SAMPLE_RUNS) -> StepResult:
    """`python -m imdb_elt run` on the bundled sample, each run on a fresh lake and DuckDB file.

    dbt's target folder (its partial-parse cache) is kept between the runs, as a user's
    `make run` keeps `dbt_project/target/` after removing the lake: warm environment, fresh lake.

    The note names where the median run's seconds went: the run report's steps (detect, clean,
    stage, build, publish; dbt's own seconds inside build) and what is outside them (the
    interpreter's imports, the report, the run history).
    """
    from imdb_elt.config import SAMPLE_DIR

    ws = PipelineWorkspace(work / "sample", dbt_target=work / "sample_dbt_target")
    measured: list[tuple[Measurement, dict]] = []
    for i in range(runs):
        ws.reset(SAMPLE_DIR)
        measured.append(run_pipeline(ws, f"sample_run_{i + 1}.log"))
    m, rep, runs_note = _median_run(measured, digits=1)
    steps = rep.get("step_seconds") or {}
    outside = m.seconds - sum(steps.values())
    parts = [runs_note]
    if steps:
        parts.append(
            ", ".join(f"{k} {v:.1f}" for k, v in steps.items()) + f", outside the steps {outside:.1f} s"
        )
    if rep.get("dbt"):
        parts.append(f"dbt build {rep['dbt'].get('seconds', 0):.1f} s")
    ok = all(x.ok for x, _ in measured) and rep.get("status") == "success"
    res = _result(SAMPLE_SF, SAMPLE_STEP, _report_rows(rep), m, "; ".join(parts))
    res.peak_rss_mib = round(max(x.peak_rss_mib for x, _ in measured), 1)  # as every repeated step
    res.ok = ok
    return res
