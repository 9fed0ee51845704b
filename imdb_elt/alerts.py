"""Alerts: a failed, refused or late run, a recovery, a stale source, told once to the channels
the settings choose.

One message builder and one send path for the command line and the DAG. The message is built
from the run report (``pipeline.Plan``), which both write; it is sent with Airflow's own
notifiers (the Amazon provider's ``SnsNotifier``, the SMTP provider's ``SmtpNotifier``, the Slack
provider's ``SlackWebhookNotifier``) called directly, so the command line needs no Airflow
context, and their hooks read the channel secrets from Airflow connections (``AIRFLOW_CONN_*``
variables outside Airflow) or the AWS credential chain. With no channel set, each alert is one
log line, and nothing fails: a channel that cannot be reached is logged, never raised.

Once per failure, not per retry or per failed task: the command line tells at the end of its
run, the DAG in its ``report`` task, which runs once when every other task is done. A failure
that repeats run after run is told again only when it changes or after IMDB_ALERT_REPEAT_HOURS;
the first successful run after it sends a recovery notice. That memory lives in the lake
(``state/alerts.json``), beside the run lease, so the command line and the DAG share it.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import logging
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from imdb_elt import config, storage
from imdb_elt.config import Settings

log = logging.getLogger(__name__)

STATE_FILE = "alerts.json"
FAILURE, REFUSED, RECOVERY, LATE, STALE = "failure", "refused", "recovery", "late", "stale"
MAX_LINES = 40
_THRESHOLD = re.compile(
    r"(?P<file>[\w.]+): (?P<bad>\d+) of (?P<read>\d+) rows quarantined as defective "
    r"\(ratio (?P<ratio>[\d.]+) > threshold (?P<limit>[\d.eE-]+)\)"
)
_URL = re.compile(r"\w+://\S+")


@dataclass(frozen=True)
class Alert:
    kind: str
    subject: str
    lines: tuple[str, ...]
    run_id: str | None = None
    fingerprint: str = ""  # what makes two failures the same one

    @property
    def text(self) -> str:
        return "\n".join(self.lines[:MAX_LINES])


def _now() -> datetime:
    return datetime.now(UTC)


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# ---- messages ------------------------------------------------------------------------------------


def _where(report: dict[str, Any]) -> str:
    how = "Airflow DAG" if report.get("orchestrator") == "airflow" else "command line"
    return f"{how}, target {report.get('dbt_target')}, lake {report.get('lake_dir')}"


def _log_lines(report: dict[str, Any]) -> list[str]:
    if report.get("log_url"):
        return [f"task log: {report['log_url']}"]
    logs = report.get("logs") or {}
    return ["logs: " + ", ".join(f"{k} {v}" for k, v in logs.items())] if logs else []


def _failure_details(report: dict[str, Any]) -> list[str]:
    """What failed, in the operator's terms: tests and models, the threshold, the refused file."""
    error = report.get("error") or ""
    lines: list[str] = []
    nodes = (report.get("dbt") or {}).get("nodes") or []
    for node in nodes:
        if node["status"] not in ("fail", "error"):
            continue
        if node["resource_type"] == "model":
            message = (node.get("message") or "").strip().splitlines()
            found = f": {message[0][:200]}" if message else ""
            lines.append(f"  model {node['name']}: {node['status']}{found}")
        else:
            rows = node.get("failures")
            found = f"{rows} failing row(s)" if rows is not None else node["status"]
            lines.append(f"  test {node['name']}: {found}")
    if lines:
        lines.insert(0, "dbt:")
    elif (report.get("dbt") or {}).get("failures"):
        lines += ["dbt:"] + [f"  {f[:300]}" for f in report["dbt"]["failures"][:5]]
    for match in _THRESHOLD.finditer(error):
        lines.append(f"quarantine threshold tripped: {match['file']}: {match['bad']} of {match['read']} rows "
                     f"quarantined (ratio {match['ratio']} > IMDB_QUARANTINE_THRESHOLD {match['limit']})")
    if "Spark cleaning failed" in error and ": " in error:
        reasons = error.split(": ", 2)[-1].split(". Nothing was published")[0]
        for reason in reasons.split("; "):
            if reason and not _THRESHOLD.search(reason):
                lines.append(f"file refused by the cleaning job: {reason[:300]}")
    if "RunLockedError" in error:
        lines.append("run lock not taken: " + error.split("RunLockedError: ", 1)[-1][:400])
    if "LeaseLostError" in error:
        lines.append("the run lost its lock while it ran: nothing was published")
    return lines


def failure_alert(report: dict[str, Any]) -> Alert:
    task = report.get("failed_task") or "the run"
    lines = [
        f"imdb-elt run {report['run_id']} failed in {task} ({_where(report)}).",
        f"error: {(report.get('error') or 'unknown')[:600]}",
        *_failure_details(report),
        "published marts and the current snapshot are unchanged.",
        *_log_lines(report),
    ]
    failing = sorted(n["unique_id"] for n in (report.get("dbt") or {}).get("nodes") or []
                     if n["status"] in ("fail", "error"))
    key = ",".join(failing) or re.sub(r"\d+", "#", (report.get("error") or "")[:300])
    return Alert(FAILURE, f"imdb-elt run FAILED in {task}: {report['run_id']}", tuple(lines),
                 report["run_id"], f"{task}|{key}")


def refused_alert(report: dict[str, Any]) -> Alert:
    lines = [f"imdb-elt run {report['run_id']} did not start ({_where(report)}).",
             *_failure_details(report), *_log_lines(report)]
    return Alert(REFUSED, f"imdb-elt run REFUSED (run lock held): {report['run_id']}", tuple(lines),
                 report["run_id"])


def recovery_alert(report: dict[str, Any], failing: dict[str, Any]) -> Alert:
    lines = [
        f"imdb-elt run {report['run_id']} succeeded ({_where(report)}): the marts are published again.",
        f"failing since {failing.get('since')} ({failing.get('failed_runs', 1)} failed run(s), "
        f"first {failing.get('run_id')}, last failure in {failing.get('task')}).",
    ]
    subject = f"imdb-elt RECOVERED: {report['run_id']} succeeded"
    return Alert(RECOVERY, subject, tuple(lines), report["run_id"])


def late_alert(run_id: str, started_at: str | None, minutes: float, where: str,
               url: str | None = None) -> Alert:
    lines = [
        f"imdb-elt run {run_id} is still unfinished {minutes:g} minute(s) after it was queued or "
        f"started ({where}; started {started_at or 'not yet'}).",
        "It may be slow (a large delivery), waiting (a pool slot, the run lock) or hung; "
        "the next scheduled run waits for it.",
        *([f"run: {url}"] if url else []),
    ]
    return Alert(LATE, f"imdb-elt run LATE: {run_id} unfinished after {minutes:g} min", tuple(lines), run_id)


def stale_alert(stale: dict[str, dict[str, Any]], run_id: str | None) -> Alert:
    lines = ["imdb-elt sources whose data has not changed for longer than their freshness threshold:"]
    for name, info in sorted(stale.items()):
        limits = f"warn after {info['warn_after_hours']:g} h"
        if info.get("error_after_hours"):
            limits += f", error after {info['error_after_hours']:g} h"
        lines.append(f"  {name}: last loaded {info['loaded_at']} ({info['age_hours']:,.1f} h ago; {limits})")
    lines.append("Check that the raw zone still receives the file (and IMDB_ACQUIRE downloads it).")
    return Alert(STALE, f"imdb-elt STALE source(s): {', '.join(sorted(stale))}", tuple(lines), run_id)


# ---- channels: Airflow's notifiers, called directly ----------------------------------------------


def _redact(text: str) -> str:
    """No URL in our own logs: a webhook URL is its own secret."""
    return _URL.sub("<url>", text)


def channels(settings: Settings) -> dict[str, Callable[[Alert], None]]:
    """The configured channels, by name (imports on use: Airflow's providers cost seconds)."""
    found: dict[str, Callable[[Alert], None]] = {}
    if settings.alert_sns_topic_arn:
        def sns(alert: Alert) -> None:
            from airflow.providers.amazon.aws.notifications.sns import SnsNotifier

            arn = settings.alert_sns_topic_arn
            region = arn.split(":")[3] if arn.count(":") >= 5 else None
            SnsNotifier(aws_conn_id=settings.aws_conn_id or None, target_arn=arn, region_name=region,
                        subject=alert.subject[:100], message=alert.text).notify({})
        found["sns"] = sns
    if settings.alert_email_to:
        def email(alert: Alert) -> None:
            from airflow.providers.smtp.notifications.smtp import SmtpNotifier

            to = [a.strip() for a in settings.alert_email_to.split(",") if a.strip()]
            SmtpNotifier(to=to, from_email=settings.alert_email_from or None,
                         smtp_conn_id=settings.alert_smtp_conn_id, subject=alert.subject,
                         html_content=f"<pre>{html.escape(alert.text)}</pre>").notify({})
        found["email"] = email
    if settings.alert_slack_conn_id:
        def slack(alert: Alert) -> None:
            from airflow.providers.slack.notifications.slack_webhook import SlackWebhookNotifier

            # One attempt: slack_sdk logs the webhook's URL, its secret, when it retries.
            SlackWebhookNotifier(slack_webhook_conn_id=settings.alert_slack_conn_id, retry_handlers=[],
                                 text=f"{alert.subject}\n{alert.text}").notify({})
        found["slack"] = slack
    return found


def send(settings: Settings, alert: Alert) -> list[str]:
    """Send to every configured channel; return those that took it. Never raises."""
    configured = channels(settings)
    if not configured:
        log.warning("ALERT %s (no alert channel set): %s | %s", alert.kind, alert.subject,
                    alert.lines[1] if len(alert.lines) > 1 else alert.lines[0])
        return []
    sent = []
    for name, deliver in configured.items():
        try:
            deliver(alert)
            sent.append(name)
        except Exception as exc:
            log.error("ALERT %s could not be sent to %s: %s: %s | %s", alert.kind, name,
                      type(exc).__name__, _redact(str(exc))[:300], alert.subject)
    if sent:
        log.warning("ALERT %s sent to %s: %s", alert.kind, ", ".join(sent), alert.subject)
    return sent


# ---- what is due after a run ----------------------------------------------------------------------


def _state_uri(settings: Settings) -> str:
    return f"{settings.state_dir}/{STATE_FILE}"


def read_state(settings: Settings) -> dict[str, Any]:
    uri = _state_uri(settings)
    try:
        return json.loads(storage.read_text(uri)) if storage.exists(uri) else {}
    except ValueError:
        log.warning("alerts: %s is not JSON; starting afresh", uri)
        return {}


def _write_state(settings: Settings, state: dict[str, Any]) -> None:
    storage.write_text_atomic(_state_uri(settings), json.dumps(state, indent=2, sort_keys=True) + "\n")


def _due(last: str | None, settings: Settings, now: datetime) -> bool:
    when = _parse_time(last)
    return when is None or now - when >= timedelta(hours=settings.alert_repeat_hours)


def _remember_sources(state: dict[str, Any], report: dict[str, Any]) -> None:
    """Each source's last load time and thresholds from dbt's freshness check, so that a run
    with nothing new can tell staleness without dbt."""
    sources = state.setdefault("sources", {})
    staged = report.get("staged_rows") or {}
    for name, fresh in (report.get("freshness") or {}).items():
        if not fresh.get("loaded_at") or "warn_after_hours" not in fresh:
            continue
        if staged.get(name.split(".")[-1]) == 0:
            continue  # never delivered to this lake: empty, not stale
        sources[name] = {k: fresh.get(k) for k in ("loaded_at", "warn_after_hours", "error_after_hours")}


def stale_sources(state: dict[str, Any], now: datetime) -> dict[str, dict[str, Any]]:
    """Sources older than their warn threshold, by the remembered load times."""
    stale = {}
    for name, src in (state.get("sources") or {}).items():
        loaded = _parse_time(src.get("loaded_at"))
        if loaded is None or src.get("warn_after_hours") is None:
            continue
        age = (now - loaded).total_seconds() / 3600
        if age > src["warn_after_hours"]:
            stale[name] = {**src, "age_hours": age}
    return stale


def due_alerts(settings: Settings, report: dict[str, Any], state: dict[str, Any],
               now: datetime | None = None) -> list[Alert]:
    """The alerts this run's report calls for, updating ``state`` (pure but for the clock)."""
    now = now or _now()
    stamp = now.isoformat(timespec="seconds")
    status = report.get("status")
    out: list[Alert] = []
    if status == REFUSED:
        return [refused_alert(report)]  # it held no lease: the state is the holder's to change
    failing = state.get("failing")
    if status == "failed":
        alert = failure_alert(report)
        same = failing and failing.get("fingerprint") == alert.fingerprint
        if not same or _due(failing.get("alerted_at"), settings, now):
            out.append(alert)
        state["failing"] = {
            "since": (failing or {}).get("since", report.get("started_at")),
            "run_id": (failing or {}).get("run_id", report["run_id"]),
            "failed_runs": (failing or {}).get("failed_runs", 0) + 1,
            "task": report.get("failed_task"),
            "fingerprint": alert.fingerprint,
            "alerted_at": stamp if out else failing.get("alerted_at"),  # type: ignore[union-attr]
        }
    elif status == "success" and failing:
        out.append(recovery_alert(report, failing))
        state.pop("failing", None)
    _remember_sources(state, report)
    stale = stale_sources(state, now)
    told = state.get("stale") or {}
    newly = {n: s for n, s in stale.items() if _due(told.get(n), settings, now)}
    if newly:
        out.append(stale_alert(newly, report.get("run_id")))
    state["stale"] = {n: (stamp if n in newly else told.get(n)) for n in stale}
    return out


def after_run(settings: Settings, report: dict[str, Any]) -> list[Alert]:
    """Send what this run calls for; never raises (an alert must not fail or hide a run)."""
    try:
        state = read_state(settings)
        due = due_alerts(settings, report, state)
        for alert in due:
            send(settings, alert)
        if report.get("status") != REFUSED:
            _write_state(settings, state)
        return due
    except Exception as exc:
        log.error("alerts: could not decide or send this run's alerts: %s: %s", type(exc).__name__,
                  _redact(str(exc))[:300])
        return []


# ---- lateness ---------------------------------------------------------------------------------------


@contextlib.contextmanager
def late_watch(settings: Settings, run_id: str, started_at: str) -> Iterator[None]:
    """The command line's lateness alert: sent once if the block is still running
    IMDB_ALERT_LATE_MINUTES after the run started (the DAG uses Airflow's deadline alert)."""
    minutes = settings.alert_late_minutes
    if minutes <= 0:
        yield
        return
    started = _parse_time(started_at) or _now()
    delay = max(0.0, minutes * 60 - (_now() - started).total_seconds())
    alert = late_alert(run_id, started_at, minutes, "command line")
    timer = threading.Timer(delay, send, args=(settings, alert))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def deadline_alert(settings: Settings) -> Any:
    """Airflow's deadline alert for the DAG: the run still unfinished IMDB_ALERT_LATE_MINUTES
    after it was queued calls :func:`dag_run_late` in the triggerer (0: none)."""
    if settings.alert_late_minutes <= 0:
        return None
    from airflow.sdk.definitions.callback import AsyncCallback
    from airflow.sdk.definitions.deadline import DeadlineAlert, DeadlineReference

    return DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=timedelta(minutes=settings.alert_late_minutes),
        callback=AsyncCallback(dag_run_late),
        name="imdb_elt_late_run",
    )


async def dag_run_late(context: dict[str, Any] | None = None, **_: Any) -> str:
    """Deadline callback (the triggerer runs it with the missed run in ``context``)."""
    settings = config.load()
    run = (context or {}).get("dag_run") or {}
    url = None
    if run.get("dag_id") and run.get("dag_run_id"):
        from urllib.parse import quote

        from airflow.configuration import conf

        base = conf.get("api", "base_url", fallback="http://localhost:8080/").rstrip("/")
        url = f"{base}/dags/{run['dag_id']}/runs/{quote(run['dag_run_id'])}"
    alert = late_alert(run.get("dag_run_id", "?"), run.get("start_date"), settings.alert_late_minutes,
                       f"Airflow DAG {run.get('dag_id', '?')}, queued {run.get('queued_at')}", url)
    sent = await asyncio.to_thread(send, settings, alert)
    return f"late-run alert for {alert.run_id}: sent to {', '.join(sent) or 'the log'}"

