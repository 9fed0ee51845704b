"""The run report: one JSON document per run in the lake, and the summary printed at the end.

The report is the run's plan (``imdb_elt.pipeline.Plan``) as it stands when the run ends, the
same document for the command line and the Airflow DAG. ``reports/<run_id>.json`` keeps every
run; ``reports/latest.json`` is a copy of the newest so that dashboards can read it without
listing the folder.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from imdb_elt import catalog, storage
from imdb_elt.config import Settings


def write_report(settings: Settings, rep: dict, *, update_latest: bool = True) -> str:
    rep.setdefault("finished_at", datetime.now(UTC).isoformat(timespec="seconds"))
    text = json.dumps(rep, indent=2, sort_keys=False, default=str) + "\n"
    uri = f"{settings.reports_dir}/{rep['run_id']}.json"
    storage.write_text_atomic(uri, text)
    if update_latest:
        storage.write_text_atomic(f"{settings.reports_dir}/latest.json", text)
    return uri


def dbt_summary(results: list[dict[str, Any]], seconds: float, models: list[str] | None,
                error: str | None = None) -> dict[str, Any]:
    """The build's figures from its node results (``dbt_runner.node_results``), whoever ran it.

    ``warnings`` names each warn-severity test that found rows and how many: plausibility
    checks that do not block publication, but an operator should see them.
    """
    count: Counter[tuple[str, str]] = Counter((r["resource_type"], r["status"]) for r in results)

    def n(resource_type: str, *statuses: str) -> int:
        return sum(count[(resource_type, s)] for s in statuses)

    failures = [f"{r['unique_id']}: {r['message']}" for r in results if r["status"] in ("fail", "error")]
    return {
        "ok": not failures and error is None,
        "seconds": round(seconds, 2),
        "models_ok": n("model", "success"),
        "models_failed": n("model", "error"),
        "tests_passed": n("test", "pass") + n("unit_test", "pass"),
        "tests_warned": n("test", "warn"),
        "tests_failed": n("test", "fail", "error") + n("unit_test", "fail", "error"),
        "skipped": sum(v for (_, st), v in count.items() if st == "skipped"),
        "selected": "all" if models is None else models,
        "warnings": {r["name"]: r.get("failures") for r in results if r["status"] == "warn"},
        "failures": (failures or ([error] if error else []))[:20],
        "nodes": results,
    }


_HOURS = {"minute": 1 / 60, "hour": 1.0, "day": 24.0}


def freshness(sources_json: dict[str, Any], error: str | None = None) -> dict[str, dict[str, Any]]:
    """Each source's age from dbt's ``sources.json``: ``{"imdb.title_basics": {"loaded_at",
    "age_hours", "status" (pass/warn/error/runtime error), "warn_after_hours",
    "error_after_hours", "message"}}``. A source dbt could not check is recorded as such."""
    out: dict[str, dict[str, Any]] = {}
    for result in sources_json.get("results", []):
        name = ".".join(result["unique_id"].split(".")[-2:])
        age = result.get("max_loaded_at_time_ago_in_s")
        entry: dict[str, Any] = {
            "loaded_at": result.get("max_loaded_at"),
            "age_hours": round(age / 3600, 1) if age is not None else None,
            "status": result.get("status"),
        }
        for level in ("warn_after", "error_after"):
            rule = (result.get("criteria") or {}).get(level) or {}
            if rule.get("count") and rule.get("period") in _HOURS:
                entry[f"{level}_hours"] = rule["count"] * _HOURS[rule["period"]]
        if result.get("error") or result.get("message"):
            entry["message"] = result.get("error") or result.get("message")
        out[name] = entry
    if not out and error:
        out["*"] = {"status": "runtime error", "message": error}
    return out


def stale_sources(fresh: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The sources a person should hear about: older than their warn age, or not checkable."""
    return {name: f for name, f in fresh.items() if f.get("status") not in ("pass", None)}


def is_published_mart(node: dict) -> bool:
    """A mart: a table or incremental model under models/marts (macro published_mart_names)."""
    return (
        node["resource_type"] == "model"
        and len(node["fqn"]) > 1
        and node["fqn"][1] == "marts"
        and node["config"].get("materialized") in ("table", "incremental")
    )


def published_mart_names(manifest: dict | None) -> list[str]:
    """The marts' names in a build's manifest."""
    if not manifest:
        return []
    return sorted(node["alias"] or node["name"] for node in manifest.get("nodes", {}).values()
                  if is_published_mart(node))


def mart_row_counts(settings: Settings, names: list[str]) -> dict[str, int]:
    """Rows per published mart, read back from the warehouse (local targets only)."""
    if settings.dbt_target not in ("duckdb", "postgres"):
        return {}
    from imdb_elt.readback import count_rows

    return count_rows(settings, settings.marts_schema, names)


def no_final_newline_notice(file_name: str, last_line: dict | None) -> str:
    """What a file without a final newline means, for the summary: its last line was checked
    like any other; was the file cut?

    A gzip stream that decompressed whole was not cut, so only a refused last line asks for a
    re-fetch. An uncompressed file gives no such proof: a cut inside its last field can leave a
    valid but wrong value (``456`` cut to ``45``).
    """
    gzip = file_name.endswith(".gz")
    if last_line is None or last_line.get("reason") not in (None, "deduplicated"):
        what = (f"the last line ({last_line['line_number']:,}) was refused ({last_line['reason']})"
                if last_line else "see the quarantine for its last line")
        advice = "the download may have been cut; re-fetch this file" if gzip else \
            "the file may have been cut; check that it is complete, or re-fetch it"
        return f"NO FINAL NEWLINE: {what}: {advice}"
    if gzip:
        return "notice: no final newline; the last line passed every check and was written"
    return ("notice: no final newline; the last line passed every check and was written, but an "
            "uncompressed file cut inside its last field still looks valid: check that it is complete")


def spark_placement(spark: dict) -> str:
    """``spark: spark://127.0.0.1:7077 (client mode), 2 executors: 0 ran 138 tasks, 1 ran 115``."""
    if spark.get("mode") == "local":
        return f"spark: {spark.get('master')} (local mode: the executors are threads of the driver)"
    text = f"spark: {spark.get('master')} ({spark.get('deploy_mode') or 'client'} mode)"
    executors = spark.get("executors") or {}
    if not executors:
        return text + ", no event log: executors unknown"
    parts = []
    for executor_id, e in sorted(executors.items(), key=lambda item: item[0]):
        part = f"{executor_id} ran {e['tasks']} tasks"
        if e.get("failed_tasks"):
            part += f" ({e['failed_tasks']} failed)"
        if e.get("removed"):
            part += f", lost: {e['removed']}"
        parts.append(part)
    return text + f", {len(executors)} executors: " + "; ".join(parts)


def format_summary(rep: dict) -> str:
    """A table a person reads at a glance."""
    lines = [
        "",
        f"imdb-elt run {rep['run_id']}  status: {rep['status'].upper()}  "
        f"snapshot: {rep.get('snapshot_id') or '-'}  target: {rep['dbt_target']}  "
        f"({rep.get('orchestrator', 'cli')})",
    ]
    files = rep.get("files") or {}
    if files:
        lines.append("")
        header = "  {:<24} {:>10} {:>10} {:>8} {:>9} {:>10}".format(
            "input file", "read", "written", "dedup", "quarant.", "rows/s"
        )
        lines += [header, "  " + "-" * (len(header) - 2)]
        for dataset, st in files.items():
            name = st.get("source_file") or (
                catalog.BY_DATASET[dataset].file_name if dataset in catalog.BY_DATASET else dataset)
            lines.append(
                f"  {name:<24} {st['rows_read']:>10,} {st['rows_written']:>10,} "
                f"{st['rows_deduplicated']:>8,} {st['rows_quarantined']:>9,} "
                f"{st.get('rows_per_second') or 0:>10,.0f}"
            )
            reasons = st.get("quarantined_by_reason") or {}
            if reasons:
                lines.append("      set aside: " + ", ".join(f"{k}={v}" for k, v in sorted(reasons.items())))
            if st.get("ends_with_newline") is False:
                lines.append("      " + no_final_newline_notice(name, st.get("last_line")))
    if rep.get("spark"):
        lines.append("  " + spark_placement(rep["spark"]))
    if rep["status"] == "nothing_new":
        lines.append("  no new deliveries: nothing cleaned, nothing rebuilt")
    if rep.get("already_processed"):
        lines.append(f"  already processed (skipped): {', '.join(rep['already_processed'])}")
    if rep.get("missing_inputs"):
        lines.append(f"  missing from the raw zone: {', '.join(rep['missing_inputs'])}")
    if rep.get("ignored_files"):
        lines.append(f"  ignored (not a file this product reads): {', '.join(rep['ignored_files'])}")
    fresh = rep.get("freshness") or {}
    if fresh:
        lines.append("")
        lines.append("  sources, hours since _loaded_at: " + ", ".join(
            f"{name} {f['age_hours']:,.1f}" for name, f in fresh.items() if f.get("age_hours") is not None))
        staged = rep.get("staged_rows") or {}
        for name, f in stale_sources(fresh).items():
            if staged.get(name.split(".")[-1]) == 0:
                lines.append(f"    WARNING source {name}: empty (never delivered to this lake)")
            elif f.get("age_hours") is None:
                reason = (f.get("message") or f["status"]).strip().splitlines()[0][:160]
                lines.append(f"    WARNING source {name}: freshness not checked ({reason})")
            else:
                limits = ", ".join(f"{level.split('_')[0]} after {f[f'{level}_hours']:g} h"
                                   for level in ("warn_after", "error_after") if f"{level}_hours" in f)
                lines.append(f"    WARNING stale source {name}: loaded {f['age_hours']:,.1f} h ago "
                             f"({f['status']}; {limits})")
    marts = rep.get("marts") or {}
    if marts:
        lines.append("")
        lines.append(f"  marts ({rep.get('marts_schema', 'marts')}): "
                     + ", ".join(f"{k} {v:,}" for k, v in marts.items()))
    dbt = rep.get("dbt") or {}
    if dbt:
        lines.append(
            f"  dbt: {dbt['models_ok']} models built, tests {dbt['tests_passed']} passed, "
            f"{dbt['tests_warned']} warned, {dbt['tests_failed']} failed ({dbt['seconds']:.1f} s)"
        )
        if dbt.get("selected", "all") != "all":
            lines.append(f"       selective build: {len(dbt['selected'])} models that the new deliveries "
                         "or changed code reach")
        for name, rows in sorted((dbt.get("warnings") or {}).items()):
            lines.append(f"    warn {name}: {rows} row(s)")
        for failure in dbt.get("failures", [])[:5]:
            lines.append(f"    FAILED {failure}")
    if rep.get("error"):
        where = f" (in {rep['failed_task']})" if rep.get("failed_task") else ""
        lines.append(f"  error{where}: {rep['error']}")
    if rep.get("log_url"):
        lines.append(f"  task log: {rep['log_url']}")
    logs = rep.get("logs") or {}
    if logs:
        lines.append("  logs: " + "   ".join(f"{k} {v}" for k, v in logs.items()))
    lines.append(f"  wall time: {rep.get('seconds') or 0:.1f} s")
    return "\n".join(lines)
