"""The DAG under the real scheduler, run after run, against the command line on the same files.

Airflow runs as `make airflow` starts it (tests/fixtures/airflow_server.py); the runs are
triggered through the REST API, in order, on one lake and one DuckDB file:
1. the bundled sample: every model built and published;
2. nothing new: everything after `detect` skipped;
3. a new `title.ratings`: only the models ratings reach are rebuilt.
After each run the marts and the report equal those of `python -m imdb_elt run` fed the same
files: the session's two runs on the sample (``sample_site``), then a copy of that site.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from devtools import sample
from tests.reliability.helpers import LINEAGE_COLUMNS, Site, clone, excerpt, run_cli, table_checksums

pytestmark = [pytest.mark.slow]

#: The report's figures that do not depend on who ran the steps.
SAME_IN_BOTH = ("status", "new_deliveries", "already_processed", "missing_inputs", "files", "staged_rows",
                "marts", "marts_schema", "published")
DBT_FIGURES = ("models_ok", "models_failed", "tests_passed", "tests_warned", "tests_failed", "selected",
               "warnings")


def _comparable(report: dict) -> dict:
    files = {ds: {k: v for k, v in st.items() if k not in ("seconds", "seconds_by_step", "rows_per_second")}
             for ds, st in (report.get("files") or {}).items()}
    dbt = {k: report["dbt"].get(k) for k in DBT_FIGURES} if report.get("dbt") else {}
    return {**{k: report.get(k) for k in SAME_IN_BOTH}, "files": files, "dbt": dbt}


def _dag_run(airflow_server, timeout: float, with_id: bool = False) -> tuple:
    run_id = airflow_server.trigger()
    state, seconds = airflow_server.wait(run_id, timeout)
    report = json.loads((airflow_server.lake / "reports" / "latest.json").read_text())
    found = state, seconds, airflow_server.task_states(run_id), report
    return (*found, run_id) if with_id else found


def _cli_run(site: Site) -> tuple[float, dict]:
    run = run_cli(site, timeout=900)
    assert run.code == 0, excerpt(run.out)
    return run.seconds, site.latest_report()


def _assert_same_marts(airflow_server, site: Site) -> None:
    dag = table_checksums(airflow_server.db, skip_columns=LINEAGE_COLUMNS)
    cli = table_checksums(site.db, skip_columns=LINEAGE_COLUMNS)
    assert dag == cli


@pytest.mark.timeout(1500)
def test_first_run_builds_everything_like_the_command_line(airflow_server, sample_site):
    state, seconds, states, report, dag_run_id = _dag_run(airflow_server, timeout=1200, with_id=True)
    bad = {t: s for t, s in states.items() if s != "success"}
    assert state == "success", (bad, excerpt((airflow_server.home.parent / "airflow.log").read_text()))
    assert not bad
    assert sample_site.first.code == 0, excerpt(sample_site.first.out)
    cli_seconds, cli_report = sample_site.first.seconds, sample_site.first_report
    print(f"\nfull run on the sample: DAG {seconds:.1f} s ({len(states)} tasks), "
          f"command line {cli_seconds:.1f} s, ratio {seconds / cli_seconds:.2f}")
    assert report["orchestrator"] == "airflow" and cli_report["orchestrator"] == "cli"
    assert _comparable(report) == _comparable(cli_report)
    _assert_same_marts(airflow_server, sample_site.site)
    # The run history is current after the DAG run, with no build of its own.
    assert airflow_server.ops_history()[report["run_id"]] == ("success", "airflow", None, 8)
    # Its deadline (IMDB_ALERT_LATE_MINUTES=0.1 in the fixture) passed while it ran: the
    # scheduler found it missed, the triggerer ran imdb_elt.alerts.dag_run_late, once.
    late = airflow_server.alerts_for(f"imdb-elt run LATE: {dag_run_id} ")
    assert len(late) == 1, airflow_server.alerts.texts()
    assert f"/dags/imdb_elt_hourly/runs/{quote(dag_run_id)}" in late[0]
    # make airflow's warm start for the LocalExecutor's tasks (docs/airflow.md)
    local_settings = airflow_server.home / "config" / "airflow_local_settings.py"
    assert "imdb_elt.orchestration.local_settings" in local_settings.read_text()


@pytest.mark.timeout(300)
def test_nothing_new_skips_everything_after_detect(airflow_server, sample_site):
    state, seconds, states, report = _dag_run(airflow_server, timeout=240)
    assert state == "success"
    ran = sorted(t for t, s in states.items() if s not in ("skipped", None))
    assert ran == ["acquire", "detect"], ran
    assert report["status"] == "nothing_new"
    assert airflow_server.ops_history()[report["run_id"]] == ("nothing_new", "airflow", None, 0)
    assert sample_site.second.code == 0, excerpt(sample_site.second.out)
    cli_seconds, cli_report = sample_site.second.seconds, sample_site.second_report
    print(f"\nnothing-new run: DAG {seconds:.1f} s, command line {cli_seconds:.1f} s")
    assert _comparable(report) == _comparable(cli_report)


@pytest.mark.timeout(900)
def test_new_ratings_rebuild_only_what_ratings_reach(airflow_server, sample_site, tmp_path):
    cli_site = clone(sample_site.site, tmp_path)  # the shared sample site stays as it is
    for raw in (airflow_server.raw, cli_site.raw):
        sample.generate(raw, inputs=["title.ratings.tsv.gz"], snapshot=1, changed_fraction=0.05)
    state, seconds, states, report = _dag_run(airflow_server, timeout=800)
    assert state == "success", {t: s for t, s in states.items() if s != "success"}
    cli_seconds, cli_report = _cli_run(cli_site)
    built = sorted(t.removeprefix("dbt.").removesuffix("_run") for t, s in states.items()
                   if t.endswith("_run") and s == "success")
    print(f"\nnew title.ratings: DAG {seconds:.1f} s, command line {cli_seconds:.1f} s; "
          f"{len(built)} models rebuilt: {built}")
    assert report["dbt"]["selected"] != "all"
    assert built == sorted(report["dbt"]["selected"]) == sorted(cli_report["dbt"]["selected"])
    skipped = [t for t, s in states.items() if t.endswith("_run") and s == "skipped"]
    assert skipped and "fct_title_ratings" in built and "dim_people" not in built
    assert _comparable(report) == _comparable(cli_report)
    _assert_same_marts(airflow_server, cli_site)
