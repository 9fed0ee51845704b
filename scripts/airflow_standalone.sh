#!/usr/bin/env bash
# Local Airflow for imdb-elt: `airflow standalone` (API server + UI, scheduler, triggerer,
# dag processor) with AIRFLOW_HOME under the repo (.airflow/, git-ignored), the repo's dags/
# folder, no examples, Cosmos telemetry off, the simple auth manager, and the DAG unpaused.
#
#   scripts/airflow_standalone.sh          (make airflow)   then open the printed URL
#
# Environment: IMDB_AIRFLOW_PORT (default 8080), IMDB_RAW_DIR (default: the bundled sample),
# plus every imdb_elt setting (docs/airflow.md). Ctrl-C stops every Airflow process: standalone
# runs in its own process group and the whole group is stopped.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
# `airflow standalone` starts `airflow <component>` by name: the venv's bin must be on PATH.
export PATH="$REPO/.venv/bin:$PATH"
# The DAG imports this checkout's code, whatever else the venv has installed.
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"

PORT="${IMDB_AIRFLOW_PORT:-8080}"
export AIRFLOW_HOME="${AIRFLOW_HOME:-$REPO/.airflow}"
export AIRFLOW__CORE__DAGS_FOLDER="$REPO/dags"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__AUTH_MANAGER="airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS:-admin:admin}"
export AIRFLOW__API__PORT="$PORT"
export AIRFLOW__API__HOST="${IMDB_AIRFLOW_HOST:-127.0.0.1}"
# Tasks call the execution API at base_url: with a non-default port it must say so.
export AIRFLOW__API__BASE_URL="http://127.0.0.1:$PORT"
export AIRFLOW__COSMOS__ENABLE_TELEMETRY=False
export AIRFLOW__COSMOS__CACHE_DIR="$AIRFLOW_HOME/cosmos"
export DBT_SEND_ANONYMOUS_USAGE_STATS=False
export DO_NOT_TRACK=1
# OpenLineage (off unless a transport is set): the DAG's jobs in the project's job namespace.
export OPENLINEAGE_NAMESPACE="${OPENLINEAGE_NAMESPACE:-imdb_elt}"
export IMDB_RAW_DIR="${IMDB_RAW_DIR:-$REPO/data/sample}"
mkdir -p "$AIRFLOW_HOME/config"
# Tasks inherit the scheduler's imports of dbt, boto3 and FastAPI instead of importing them again
# (imdb_elt/orchestration/local_settings.py). An operator's own local settings are left alone.
LOCAL_SETTINGS="$AIRFLOW_HOME/config/airflow_local_settings.py"
[[ -e "$LOCAL_SETTINGS" ]] || echo "from imdb_elt.orchestration.local_settings import *  # noqa: F403" > "$LOCAL_SETTINGS"

echo "imdb-elt Airflow: AIRFLOW_HOME=$AIRFLOW_HOME  raw zone: $IMDB_RAW_DIR"
echo "checking the dbt manifest Cosmos renders the DAG from (dbt parse when the project changed)..."
python -m imdb_elt.orchestration.dbt_manifest --if-stale >/dev/null
airflow db migrate >/dev/null
# Every task that opens the DuckDB file runs in this pool: one writer at a time.
airflow pools set "${IMDB_DBT_POOL:-imdb_elt_dbt}" 1 "one DuckDB writer at a time" >/dev/null

# Own process group (setsid): stopping the group also stops scheduler, triggerer, processor.
setsid airflow standalone &
PID=$!
# Whoever started this script can stop the group even if this shell is killed outright.
echo "$PID" > "$AIRFLOW_HOME/standalone.pgid"
stop() {
  trap - INT TERM EXIT
  echo; echo "stopping Airflow (process group $PID)..."
  kill -TERM -- "-$PID" 2>/dev/null || true
  for _ in $(seq 1 30); do kill -0 -- "-$PID" 2>/dev/null || break; sleep 1; done
  kill -KILL -- "-$PID" 2>/dev/null || true
}
trap stop INT TERM EXIT

for _ in $(seq 1 120); do
  if curl -fsS "http://127.0.0.1:$PORT/api/v2/monitor/health" >/dev/null 2>&1; then break; fi
  kill -0 "$PID" 2>/dev/null || { echo "airflow standalone exited; see the output above"; exit 1; }
  sleep 1
done
# The execution API that tasks call builds its versioned routes at its first request (Cadwyn,
# about 6 s here): asked now, so that the first task of the first run does not wait for it.
curl -fsS -o /dev/null "http://127.0.0.1:$PORT/execution/health" || true
# IMDB_AIRFLOW_UNPAUSE=false keeps the DAG paused (the browser test looks without running it).
if [[ "${IMDB_AIRFLOW_UNPAUSE:-true}" == "true" ]]; then
  # The DAG exists once the dag processor has parsed it: retry for up to a minute.
  for _ in $(seq 1 30); do
    airflow dags unpause imdb_elt_hourly >/dev/null 2>&1 && break
    sleep 2
  done
fi

PASSWORDS="$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated"
cat <<MSG

  Airflow UI:  http://127.0.0.1:$PORT/dags/imdb_elt_hourly
  Log in as:   ${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS%%:*}
  Password:    in $PASSWORDS
               ($(cat "$PASSWORDS" 2>/dev/null || echo 'written once the API server is up'))
  Ctrl-C stops Airflow.

MSG
wait "$PID"
