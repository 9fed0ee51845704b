"""The run report: one JSON document per run in the lake, and the summary printed at the end.

`reports/<run_id>.json` keeps every run; `reports/latest.json` is a copy of the newest so that
dashboards and the Airflow DAG can read it without listing the folder.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from imdb_elt import catalog, storage
from imdb_elt.config import Settings
from imdb_elt.dbt_runner import DbtOutcome

MART_TABLES = (
    "movies",
    "top_ten_movies_by_year",
    "movies_of_the_decade",
    "director_movies",
    "director_profit_by_rating",
    "dim_titles",
    "dim_people",
    "bridge_title_genres",
    "fct_title_ratings",
    "fct_title_principals",
    "fct_episodes",
    "dim_title_akas",
)


def new_report(run_id: str, settings: Settings) -> dict:
    return {
        "run_id": run_id,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "status": "running",
        "snapshot_id": None,
        "raw_dir": settings.raw_dir,
        "lake_dir": settings.lake_dir,
        "dbt_target": settings.dbt_target,
        "missing_inputs": [],
        "new_deliveries": [],
        "already_processed": [],
        "files": {},
        "staged_rows": {},
        "dbt": {},
        "marts": {},
    }


def write_report(settings: Settings, rep: dict, *, update_latest: bool = True) -> str:
    rep["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    text = json.dumps(rep, indent=2, sort_keys=False, default=str) + "\n"
    uri = f"{settings.reports_dir}/{rep['run_id']}.json"
    storage.write_text_atomic(uri, text)
    if update_latest:
        storage.write_text_atomic(f"{settings.reports_dir}/latest.json", text)
    return uri


def dbt_summary(outcome: DbtOutcome, selection: list[str] | None = None) -> dict:
    return {
        "ok": outcome.ok,
        "seconds": round(outcome.seconds, 2),
        "models_ok": outcome.count("model", "success"),
        "models_failed": outcome.count("model", "error"),
        "tests_passed": outcome.count("test", "pass") + outcome.count("unit_test", "pass"),
        "tests_warned": outcome.count("test", "warn"),
        "tests_failed": outcome.count("test", "fail", "error") + outcome.count("unit_test", "fail", "error"),
        "skipped": sum(n for (_, st), n in outcome.statuses.items() if st == "skipped"),
        "selected": selection or "all",
        "failures": outcome.failures[:20],
    }


def mart_row_counts(settings: Settings) -> dict[str, int]:
    """Rows per published mart, read back from the warehouse (local targets only)."""
    from imdb_elt.readback import count_rows

    return count_rows(settings, "marts", MART_TABLES)


def format_summary(rep: dict) -> str:
    """A table a person reads at a glance."""
    lines = [
        "",
        f"imdb-elt run {rep['run_id']}  status: {rep['status'].upper()}  "
        f"snapshot: {rep.get('snapshot_id') or '-'}  target: {rep['dbt_target']}",
    ]
    files = rep.get("files") or {}
    if files:
        lines.append("")
        header = "  {:<24} {:>10} {:>10} {:>8} {:>9} {:>10}".format(
            "input file", "read", "written", "dedup", "quarant.", "rows/s"
        )
        lines += [header, "  " + "-" * (len(header) - 2)]
        for dataset, st in files.items():
            name = catalog.BY_DATASET[dataset].file_name if dataset in catalog.BY_DATASET else dataset
            lines.append(
                f"  {name:<24} {st['rows_read']:>10,} {st['rows_written']:>10,} "
                f"{st['rows_deduplicated']:>8,} {st['rows_quarantined']:>9,} "
                f"{st.get('rows_per_second', 0):>10,.0f}"
            )
            reasons = st.get("quarantined_by_reason") or {}
            if reasons:
                lines.append("      set aside: " + ", ".join(f"{k}={v}" for k, v in sorted(reasons.items())))
            if st.get("ends_with_newline") is False:
                lines.append("      NO FINAL NEWLINE: last line cut off (partial_line); re-fetch this file")
    if rep.get("new_deliveries") == [] and rep["status"] == "nothing_new":
        lines.append("  no new deliveries: nothing cleaned, nothing rebuilt")
    if rep.get("already_processed"):
        lines.append(f"  already processed (skipped): {', '.join(rep['already_processed'])}")
    if rep.get("missing_inputs"):
        lines.append(f"  missing from the raw zone: {', '.join(rep['missing_inputs'])}")
    marts = rep.get("marts") or {}
    if marts:
        lines.append("")
        lines.append("  marts: " + ", ".join(f"{k} {v:,}" for k, v in marts.items()))
    dbt = rep.get("dbt") or {}
    if dbt:
        lines.append(
            f"  dbt: {dbt['models_ok']} models built, tests {dbt['tests_passed']} passed, "
            f"{dbt['tests_warned']} warned, {dbt['tests_failed']} failed ({dbt['seconds']:.1f} s)"
        )
        if dbt.get("selected", "all") != "all":
            lines.append("       selective build, only what the new deliveries or changed code reach: "
                         + " ".join(dbt["selected"]))
        for failure in dbt.get("failures", [])[:5]:
            lines.append(f"    FAILED {failure}")
    if rep.get("error"):
        lines.append(f"  error: {rep['error']}")
    report_uri = f"{rep['lake_dir']}/reports/{rep['run_id']}.json"
    lines.append(f"  wall time: {rep.get('seconds', 0):.1f} s   report: {report_uri}")
    return "\n".join(lines)
