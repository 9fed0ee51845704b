"""Run history in the warehouse and the alerts of real failures, end to end on the command line.

The session's sample site (tests/fixtures/sample_site.py) already ran twice: a first run that
published, then one with nothing new. A copy of it then runs
- a rebuild whose dbt test fails (a processed Parquet file lost a row after Spark counted it),
  with an alert-late threshold it exceeds: one failure message and one lateness message;
- a run refused because another run holds the lake's lock: one message naming the lock;
- a run with nothing new, two days later as far as the sources' load times go: one staleness
  message, and none the next hour;
and every run's report is read back from ``ops.run_history`` and its siblings. The channels
are a webhook and an SMTP server on loopback (tests/fixtures/alert_receivers.py).
"""

from __future__ import annotations

import json
import os
import re
import socket
import time
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest
import sqlglot
import yaml

from imdb_elt import run_history
from imdb_elt.config import DBT_PROJECT_DIR
from tests.fake_credentials import SMTP_PASSWORD, WEBHOOK_TOKEN
from tests.reliability.helpers import clone, drop_last_row, excerpt, run_cli

# ---- the appended tables (fast) ------------------------------------------------------------------


def a_report(run_id: str, status: str = "failed") -> dict:
    return {
        "run_id": run_id, "orchestrator": "airflow", "status": status, "dbt_target": "duckdb",
        "started_at": "2026-12-04T10:00:00+00:00", "finished_at": "2026-12-04T10:01:00+00:00",
        "seconds": 60.0, "snapshot_id": run_id, "new_deliveries": ["title.ratings.tsv.gz"],
        "failed_task": "dbt.movies_run", "error": "it's a \\ back'slash",
        "files": {"title_ratings": {"rows_read": 10, "rows_written": 7, "rows_deduplicated": 1,
                                    "rows_quarantined": 2, "rows_per_second": 5.5,
                                    "quarantined_by_reason": {"bad_rating": 2}}},
        "dbt": {"models_ok": 1, "tests_failed": 1, "seconds": 2.0, "nodes": [
            {"unique_id": "test.imdb_elt.t1", "resource_type": "test", "name": "t1", "status": "fail",
             "failures": 4, "message": "Got 4 results", "seconds": 0.1}]},
        "logs": {"report": f"/lake/reports/{run_id}.json"},
    }


def test_the_ops_source_declares_exactly_the_appended_tables():
    doc = yaml.safe_load((DBT_PROJECT_DIR / "models" / "ops" / "_ops__sources.yml").read_text())
    [source] = doc["sources"]
    declared = {t["name"]: [c["name"] for c in t["columns"]] for t in source["tables"]}
    assert declared == {t.name: t.column_names for t in run_history.TABLES}


def test_an_append_counts_each_run_once_and_a_refused_append_waits(tmp_path, monkeypatch):
    monkeypatch.setenv("IMDB_LAKE_DIR", str(tmp_path / "lake"))
    monkeypatch.setenv("DBT_TARGET", "duckdb")
    (tmp_path / "not_a_folder").write_text("")
    monkeypatch.setenv("DUCKDB_PATH", str(tmp_path / "not_a_folder" / "imdb.duckdb"))  # cannot open
    from imdb_elt import config, report

    settings = config.load()
    first = a_report("20261204T100000000000Z")
    report.write_report(settings, first)
    assert run_history.append(settings, first) is False
    assert json.loads((tmp_path / "lake/state/ops_pending.json").read_text()) == [first["run_id"]]

    monkeypatch.setenv("DUCKDB_PATH", str(tmp_path / "imdb.duckdb"))
    settings = config.load()
    second = a_report("20261204T110000000000Z", "success")
    assert run_history.append(settings, second) and run_history.append(settings, second)  # twice
    assert not (tmp_path / "lake/state/ops_pending.json").exists()
    with duckdb.connect(str(tmp_path / "imdb.duckdb"), read_only=True) as con:
        runs = con.execute("select run_id, status, failed_task, error from ops.run_reports order by 1")
        runs = runs.fetchall()
        files = con.execute("select count(*), sum(rows_read) from ops.run_report_files").fetchone()
        nodes = con.execute("select name, failures from ops.run_report_dbt_nodes").fetchall()
    assert runs == [(first["run_id"], "failed", "dbt.movies_run", "it's a \\ back'slash"),
                    (second["run_id"], "success", "dbt.movies_run", "it's a \\ back'slash")]
    assert files == (2, 20) and nodes == [("t1", 4), ("t1", 4)]


def test_on_an_s3_lake_a_missed_run_and_the_backfill_read_the_reports_back(s3_zones, tmp_path, monkeypatch):
    """The lake on S3 (the stack's buckets when tests/infra runs this): a run the warehouse
    missed waits in state/ops_pending.json and the next append reads its report back from
    reports/; the backfill lists reports/ and appends each run once (latest.json is a copy)."""
    from imdb_elt import config, report, storage

    monkeypatch.setenv("DBT_TARGET", "duckdb")
    monkeypatch.setenv("DUCKDB_PATH", str(tmp_path / "imdb.duckdb"))
    settings = config.load()
    assert settings.reports_dir.startswith("s3://")
    missed, current = a_report("20261204T100000000000Z"), a_report("20261204T110000000000Z", "success")
    report.write_report(settings, missed)
    assert run_history.append(settings, missed, defer=True) is False
    pending = f"{settings.state_dir}/{run_history.PENDING_FILE}"
    assert json.loads(storage.read_text(pending)) == [missed["run_id"]]
    report.write_report(settings, current)
    assert run_history.append(settings, current) is True
    assert not storage.exists(pending)
    assert run_history.backfill(settings) == 2
    with duckdb.connect(str(tmp_path / "imdb.duckdb"), read_only=True) as con:
        runs = con.execute("select run_id, status from ops.run_reports order by 1").fetchall()
    assert runs == [(missed["run_id"], "failed"), (current["run_id"], "success")]


def test_the_redshift_statements_parse_and_escape_backslashes():
    statements = [*run_history.create_statements("ops", "redshift"),
                  *run_history.append_statements("ops", "redshift", run_history.rows(a_report("r1")))]
    for sql in statements:
        sqlglot.parse_one(sql, read="redshift")
    text = "\n".join(statements)
    assert "'it''s a \\\\ back''slash'" in text  # Redshift reads a backslash as an escape
    assert "VARCHAR(65535)" in text and "CAST('2026-12-04 10:00:00' AS TIMESTAMP)" in text


def test_a_redshift_append_is_one_data_api_batch(mocked_aws, monkeypatch):
    """On Redshift the history goes through the Data API like staging: one batch, so one
    transaction (moto records it; tests/moto_redshift.py)."""
    from imdb_elt import config
    from tests.fixtures.aws import REGION
    from tests.moto_redshift import patch_redshift_data

    api = patch_redshift_data(monkeypatch, REGION)
    for key, value in {"DBT_TARGET": "redshift", "REDSHIFT_CLUSTER_ID": "imdb", "REDSHIFT_DB_USER": "loader",
                       "REDSHIFT_IAM_ROLE_ARN": "arn:aws:iam::123456789012:role/imdb-copy",
                       "IMDB_OPS_SCHEMA": "ops_history"}.items():
        monkeypatch.setenv(key, value)
    run_history.append_reports(config.load(), [a_report("r1"), a_report("r2", "success")])
    [(kind, sqls, target)] = api["calls"]
    assert kind == "batch" and target["cluster"] == "imdb" and target["db_user"] == "loader"
    assert sqls[0] == 'CREATE SCHEMA IF NOT EXISTS "ops_history"'
    deletes = [q for q in sqls if q.startswith("DELETE")]
    assert len(deletes) == 8 and "run_id = 'r2'" in deletes[-1]
    assert sum(q.startswith('INSERT INTO "ops_history"."run_reports"') for q in sqls) == 2


# ---- real runs (slow) -----------------------------------------------------------------------------


def _messages(channels) -> dict[str, list[str]]:
    got = {"webhook": channels.received.texts(),
           "email": [f"{m['subject']}\n{m['body']}" for m in channels.received.mails]}
    channels.received.clear()
    return got


def _hold_the_lock(lake: Path) -> None:
    """A live lease, as a run in another process on this host holds it (this test's own pid)."""
    now = time.time()
    (lake / "state" / "run.lock.json").write_text(json.dumps({
        "owner": "20261204T000000000000Z-other", "holder": "process", "host": socket.gethostname(),
        "pid": os.getpid(), "acquired_at": now, "heartbeat_at": now}))


def _two_days_ago(lake: Path) -> None:
    """The sources' remembered load times moved back 50 hours: as if nothing had arrived since."""
    path = lake / "state" / "alerts.json"
    state = json.loads(path.read_text())
    for source in state["sources"].values():
        source["loaded_at"] = (datetime.fromisoformat(source["loaded_at"]) - timedelta(hours=50)).isoformat()
    path.write_text(json.dumps(state))


@pytest.fixture(scope="module")
def runs(sample_site, alert_channels, tmp_path_factory) -> dict:
    site = clone(sample_site.site, tmp_path_factory.mktemp("history"))
    env = alert_channels.env
    alert_channels.received.clear()
    out: dict = {"site": site}
    drop_last_row(site.lake, site.current(), "title_ratings")
    out["failed"] = run_cli(site, "--rebuild", IMDB_ALERT_LATE_MINUTES="0.02", **env)
    out["failed_report"] = site.latest_report()
    out["failed_messages"] = _messages(alert_channels)
    _hold_the_lock(site.lake)
    out["refused"] = run_cli(site, **env)
    out["refused_messages"] = _messages(alert_channels)
    (site.lake / "state" / "run.lock.json").unlink()
    _two_days_ago(site.lake)
    out["stale"] = run_cli(site, **env)
    out["stale_messages"] = _messages(alert_channels)
    out["stale_again"] = run_cli(site, **env)
    out["stale_again_messages"] = _messages(alert_channels)
    for name in ("failed", "refused", "stale", "stale_again"):
        print(f"{name} run: exit {out[name].code} in {out[name].seconds:.1f} s")
    return out


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_failing_dbt_test_sends_one_message_that_names_it(runs):
    assert runs["failed"].code == 1, excerpt(runs["failed"].out)
    messages = runs["failed_messages"]
    run_id = runs["failed_report"]["run_id"]
    for channel in ("webhook", "email"):
        failures = [m for m in messages[channel] if "FAILED" in m]
        assert len(failures) == 1, (channel, messages[channel])
        text = failures[0]
        assert f"imdb-elt run {run_id} failed in build" in text
        found = re.search(r"test reconcile_staged_rows: (\d+) failing row\(s\)", text)
        assert found and int(found.group(1)) >= 1, text
        assert "dbt.log" in text and "published marts and the current snapshot are unchanged" in text
    secrets = json.dumps(messages) + runs["failed"].out
    assert WEBHOOK_TOKEN not in secrets and SMTP_PASSWORD not in secrets


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_run_past_its_lateness_threshold_sends_one_late_message(runs):
    run_id = runs["failed_report"]["run_id"]
    for channel in ("webhook", "email"):
        late = [m for m in runs["failed_messages"][channel] if "LATE" in m]
        assert len(late) == 1 and f"imdb-elt run LATE: {run_id} unfinished after 0.02 min" in late[0]


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_run_refused_the_lock_says_so(runs):
    assert runs["refused"].code == 1
    [message] = runs["refused_messages"]["webhook"]
    assert "REFUSED" in message and "run lock not taken: another imdb-elt run holds" in message
    assert "20261204T000000000000Z-other" in message


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_stale_source_is_told_once_without_dbt(runs):
    assert runs["stale"].code == 0 and "no new deliveries" in runs["stale"].out
    [message] = runs["stale_messages"]["webhook"]
    assert "STALE source(s)" in message
    assert re.search(r"imdb\.title_basics: last loaded \S+ \(50\.\d h ago; warn after 26 h", message)
    assert "kaggle.movie_metadata" in message
    assert runs["stale_again_messages"] == {"webhook": [], "email": []}


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_no_channel_secret_in_what_the_alerting_runs_wrote(runs):
    """The runs above had a webhook token and an SMTP password in their environment (Airflow
    connections) and used them: neither is in their output, lake, logs, dbt artifacts or
    warehouse."""
    from tests.reliability.test_secrets import find_values, written_by_the_run

    secrets = {"webhook token": WEBHOOK_TOKEN, "SMTP password": SMTP_PASSWORD}
    written = written_by_the_run(runs["site"])
    outputs = {name: runs[name].out.encode() for name in ("failed", "refused", "stale", "stale_again")}
    everything = {**written, **outputs}
    leaked = {name: found for name, data in everything.items() if (found := find_values(data, secrets))}
    assert len(written) > 50 and not leaked, leaked


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_every_run_is_in_the_ops_history_once(runs, sample_site):
    """Three runs read back (published, nothing new, failed), then the refused one (appended by
    the next run, as it held no lock) and the two nothing-new ones, each once."""
    site = runs["site"]
    with duckdb.connect(str(site.db), read_only=True) as con:
        history = con.execute("select run_id, status, trigger, files_cleaned, rows_read, failed_task, "
                              "dbt_tests_failed from ops.run_history order by started_at, run_id").fetchall()
        tests = con.execute("select test_name, status, failures from ops.dbt_test_history "
                            "where run_id = ? and status <> 'pass'", [runs["failed_report"]["run_id"]])
        tests = tests.fetchall()
        files = con.execute("select count(*) from ops.run_file_history where run_id = ?",
                            [sample_site.first_report["run_id"]]).fetchone()
        quality = con.execute("select count(distinct dataset), sum(rows_quarantined) "
                              "from ops.data_quality_daily").fetchone()
    print("\nops.run_history:\n" + "\n".join(map(str, history)))
    reports = sorted(p.stem for p in (site.lake / "reports").glob("*.json") if p.name != "latest.json")
    assert sorted(r[0] for r in history) == reports  # every report once, latest.json not counted
    first, second, failed = history[:3]
    assert first[:3] == (sample_site.first_report["run_id"], "success", "cli") and first[3] == 8
    assert first[4] == sum(f["rows_read"] for f in sample_site.first_report["files"].values())
    assert second[:4] == (sample_site.second_report["run_id"], "nothing_new", "cli", 0)
    assert failed[:2] == (runs["failed_report"]["run_id"], "failed")
    assert failed[5] == "build" and failed[6] >= 1
    assert [r[1] for r in history[3:]] == ["refused", "nothing_new", "nothing_new"]
    assert ("reconcile_staged_rows", "fail") in [t[:2] for t in tests]
    assert all(t[2] >= 1 for t in tests if t[1] == "fail")
    assert files == (8,) and quality[0] == 8
