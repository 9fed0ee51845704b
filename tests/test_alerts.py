"""Alerts: what is due after a run (once per failure, a recovery, staleness), and the offline
channels receiving them: moto's SNS into an SQS queue, an SMTP server and a webhook on loopback.
The end-to-end failures (a failing dbt test, a refused file, a held lock, a late and a stale
run) are in tests/test_run_history.py and tests/reliability/test_bad_input.py."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from imdb_elt import alerts, config, storage
from tests.fake_credentials import SMTP_PASSWORD, WEBHOOK_TOKEN
from tests.fixtures.alert_receivers import EMAIL_TO

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def failed_report(run_id: str = "20261204T110000000000Z", failing: int = 3) -> dict:
    return {
        "run_id": run_id, "orchestrator": "cli", "status": "failed", "dbt_target": "duckdb",
        "lake_dir": "/lake", "started_at": "2026-12-04T11:00:00+00:00", "failed_task": "build",
        "error": "PipelineError: dbt build failed: published marts are unchanged. "
                 "test.imdb_elt.reconcile_staged_rows: Got 1 result, configured to fail if != 0",
        "dbt": {"nodes": [
            {"unique_id": "test.imdb_elt.reconcile_staged_rows", "resource_type": "test",
             "name": "reconcile_staged_rows", "status": "fail", "failures": failing, "message": "Got 1"},
            {"unique_id": "model.imdb_elt.movies", "resource_type": "model", "name": "movies",
             "status": "success", "failures": None, "message": "OK"},
        ]},
        "logs": {"dbt": "/logs/r/dbt.log"},
    }


def ok_report(run_id: str = "20261204T120000000000Z", status: str = "success", **extra) -> dict:
    return {"run_id": run_id, "orchestrator": "airflow", "status": status, "dbt_target": "duckdb",
            "lake_dir": "/lake", "started_at": "2026-12-04T12:00:00+00:00", **extra}


@pytest.fixture
def alert_log() -> Iterator[list[str]]:
    """What imdb_elt.alerts logs, whatever handlers pytest or Airflow's logging put in place."""
    lines: list[str] = []
    handler = logging.Handler(logging.INFO)
    handler.emit = lambda record: lines.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger("imdb_elt.alerts")
    logger.addHandler(handler)
    try:
        yield lines
    finally:
        logger.removeHandler(handler)


@pytest.fixture
def settings() -> config.Settings:
    return replace(config.load(), alert_repeat_hours=24.0)


def test_a_failure_is_told_once_until_it_changes_then_a_recovery(settings):
    state: dict = {}
    first = alerts.due_alerts(settings, failed_report("r1"), state, NOW)
    assert [a.kind for a in first] == ["failure"]
    text = first[0].text
    assert "failed in build" in text and "test reconcile_staged_rows: 3 failing row(s)" in text
    assert "dbt.log" in text  # where to look
    # The next hourly run fails the same way: no second message...
    assert alerts.due_alerts(settings, failed_report("r2", failing=5), state, NOW + timedelta(hours=1)) == []
    # ...until the repeat interval has passed, or the failure changes.
    assert len(alerts.due_alerts(settings, failed_report("r3"), state, NOW + timedelta(hours=25))) == 1
    changed = failed_report("r4")
    changed["dbt"]["nodes"][0]["unique_id"] = "test.imdb_elt.unique_movies_tconst"
    assert len(alerts.due_alerts(settings, changed, state, NOW + timedelta(hours=26))) == 1
    assert state["failing"]["failed_runs"] == 4 and state["failing"]["run_id"] == "r1"
    # A nothing-new run proves nothing; the first success tells the recovery, once.
    assert alerts.due_alerts(settings, ok_report("r5", "nothing_new"), state, NOW) == []
    recovered = alerts.due_alerts(settings, ok_report("r6"), state, NOW)
    assert [a.kind for a in recovered] == ["recovery"]
    assert "4 failed run(s)" in recovered[0].text and "first r1" in recovered[0].text
    assert alerts.due_alerts(settings, ok_report("r7"), state, NOW) == []


def test_a_refused_run_is_told_and_leaves_the_holders_state_alone(settings):
    state = {"failing": {"fingerprint": "x"}}
    report = ok_report("r1", "refused", error="RunLockedError: another imdb-elt run holds the lake's run "
                                              "lock (run r0 (process 42 on host, last heartbeat 3 s ago))")
    due = alerts.due_alerts(settings, report, state, NOW)
    assert [a.kind for a in due] == ["refused"]
    assert "run lock not taken: another imdb-elt run holds" in due[0].text
    assert state == {"failing": {"fingerprint": "x"}}


def test_staleness_is_told_once_per_source_from_the_remembered_load_times(settings):
    loaded = (NOW - timedelta(hours=2)).isoformat()
    fresh = {f"imdb.{d}": {"loaded_at": loaded, "age_hours": 2.0, "status": "pass",
                           "warn_after_hours": 26.0, "error_after_hours": 50.0}
             for d in ("title_ratings", "title_basics")}
    fresh["kaggle.movie_metadata"] = {"loaded_at": None, "age_hours": None, "status": "warn",
                                      "warn_after_hours": 26.0}  # never delivered: not stale
    state: dict = {}
    assert alerts.due_alerts(settings, ok_report(freshness=fresh), state, NOW) == []
    # Two days on, a nothing-new run (no dbt) finds both sources older than 26 h.
    later = NOW + timedelta(hours=30)
    due = alerts.due_alerts(settings, ok_report("r2", "nothing_new"), state, later)
    assert [a.kind for a in due] == ["stale"]
    assert "imdb.title_ratings: last loaded" in due[0].text and "warn after 26 h" in due[0].text
    assert "movie_metadata" not in due[0].text
    an_hour_later = later + timedelta(hours=1)
    assert alerts.due_alerts(settings, ok_report("r3", "nothing_new"), state, an_hour_later) == []
    # A new delivery of one source makes it fresh; the other stays stale, already told.
    refreshed = {"imdb.title_ratings": {**fresh["imdb.title_ratings"], "loaded_at": later.isoformat()}}
    assert alerts.due_alerts(settings, ok_report("r4", freshness=refreshed), state, later) == []
    assert set(state["stale"]) == {"imdb.title_basics"}


def test_with_no_channel_each_alert_is_one_log_line(settings, alert_log):
    quiet = replace(settings, alert_sns_topic_arn="", alert_email_to="", alert_slack_conn_id="")
    assert alerts.send(quiet, alerts.failure_alert(failed_report())) == []
    assert len(alert_log) == 1, alert_log
    assert alert_log[0].startswith("ALERT failure (no alert channel set): imdb-elt run FAILED in build")


def test_every_channel_receives_the_alert_offline(settings, alert_channels, alert_inbox, monkeypatch, capfd,
                                                  alert_log):
    """One alert through SNS (moto, subscribed by SQS), SMTP and the Slack webhook: the same
    message in each, the channel secrets used by the channels and nowhere in what they carry.
    The topic is the AWS stack's own when tests/infra runs this test against it."""
    for key, value in alert_channels.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("IMDB_ALERT_SNS_TOPIC_ARN", alert_inbox.topic_arn)
    monkeypatch.setenv("IMDB_AWS_CONN_ID", "")  # outside Airflow: the AWS credential chain
    alert_channels.received.clear()
    alert = alerts.failure_alert(failed_report())
    assert alerts.send(config.load(), alert) == ["sns", "email", "slack"]
    out, err = capfd.readouterr()

    [published] = alert_inbox.received()
    assert published["Subject"] == alert.subject and published["Message"] == alert.text
    mails = alert_channels.received.mails
    assert len(mails) == 1 and mails[0]["subject"] == alert.subject and mails[0]["to"] == [EMAIL_TO]
    assert "test reconcile_staged_rows: 3 failing row(s)" in mails[0]["body"]
    assert alert_channels.received.logins == [("imdb-elt", SMTP_PASSWORD)]  # from the connection
    hooks = alert_channels.received.webhooks
    assert len(hooks) == 1 and hooks[0]["path"].endswith(WEBHOOK_TOKEN)
    assert hooks[0]["text"] == f"{alert.subject}\n{alert.text}"
    carried = json.dumps([published, mails, hooks[0]["text"], out, err, alert_log])
    assert SMTP_PASSWORD not in carried and WEBHOOK_TOKEN not in carried


def test_an_s3_lake_keeps_the_alert_memory_the_cli_and_the_dag_share(s3_zones, alert_inbox, monkeypatch):
    """With the lake on S3, a failure is published once, its repeat not at all, and the first
    success sends the recovery: the memory is <lake>/state/alerts.json on S3."""
    for name, value in {"IMDB_ALERT_SNS_TOPIC_ARN": alert_inbox.topic_arn, "IMDB_AWS_CONN_ID": "",
                        "IMDB_ALERT_EMAIL_TO": "", "IMDB_ALERT_SLACK_CONN_ID": ""}.items():
        monkeypatch.setenv(name, value)
    settings = config.load()
    assert settings.state_dir.startswith("s3://")
    first = alerts.after_run(settings, failed_report("20261204T110000000000Z"))
    again = alerts.after_run(settings, failed_report("20261204T120000000000Z"))
    recovered = alerts.after_run(settings, ok_report("20261204T130000000000Z"))
    assert ([a.kind for a in first], again, [a.kind for a in recovered]) == (["failure"], [], ["recovery"])
    told = sorted(m["Subject"] for m in alert_inbox.received())
    assert told == sorted([first[0].subject, recovered[0].subject])
    state = json.loads(storage.read_text(f"{settings.state_dir}/{alerts.STATE_FILE}"))
    assert "failing" not in state


def test_a_channel_that_is_down_is_logged_and_the_others_still_receive(settings, alert_channels,
                                                                       monkeypatch, capfd, alert_log):
    for key, value in alert_channels.env.items():
        monkeypatch.setenv(key, value)
    down = json.dumps({"conn_type": "slackwebhook", "password": f"http://127.0.0.1:9/services/{WEBHOOK_TOKEN}"})
    monkeypatch.setenv("AIRFLOW_CONN_IMDB_ALERT_SLACK", down)
    alert_channels.received.clear()
    capfd.readouterr()
    assert alerts.send(config.load(), alerts.failure_alert(failed_report())) == ["email"]
    assert len(alert_channels.received.mails) == 1
    out, err = capfd.readouterr()  # Airflow's and slack_sdk's own logging
    assert any(line.startswith("ALERT failure could not be sent to slack: URLError") for line in alert_log)
    assert WEBHOOK_TOKEN not in out + err + "\n".join(alert_log)


def test_the_dags_deadline_alert_tells_a_late_run(alert_channels, monkeypatch):
    """The DAG's deadline (queued + IMDB_ALERT_LATE_MINUTES) and its callback, run by Airflow's
    own CallbackTrigger with the context the scheduler gives a missed deadline."""
    from airflow.sdk.definitions.deadline import DeadlineReference
    from airflow.triggers.callback import CallbackTrigger

    for key, value in alert_channels.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("IMDB_ALERT_LATE_MINUTES", "45")
    monkeypatch.setenv("IMDB_ALERT_EMAIL_TO", "")
    deadline = alerts.deadline_alert(config.load())
    assert deadline.reference == DeadlineReference.DAGRUN_QUEUED_AT
    assert deadline.interval == timedelta(minutes=45)
    assert deadline.callback.path == "imdb_elt.alerts.dag_run_late"

    run = {"dag_id": "imdb_elt_hourly", "dag_run_id": "scheduled__2026-12-04T10:00:00+00:00",
           "queued_at": "2026-12-04T10:00:02Z", "start_date": "2026-12-04T10:00:05Z", "state": "running"}
    trigger = CallbackTrigger(deadline.callback.path, {"context": {"dag_run": run, "deadline": {}}})
    alert_channels.received.clear()

    async def events() -> list:
        return [event async for event in trigger.run()]

    states = [e.payload["state"] for e in asyncio.run(events())]
    assert states[-1] == "success", states
    [late] = alert_channels.received.texts()
    assert "imdb-elt run LATE: scheduled__2026-12-04T10:00:00+00:00 unfinished after 45 min" in late
    assert "/dags/imdb_elt_hourly/runs/scheduled__2026-12-04T10" in late
