#!/usr/bin/env bash
# Finds or installs what the project needs outside Python: Java 17/21 for Spark and a JDK's javac
# for the compiled line check, PostgreSQL 15 server binaries for the real-server tests, Chromium
# for the browser tests, Node.js for the AWS CDK's jsii runtime (make synth, tests/infra).
# Quiet when everything is present, so a second `make` run costs nothing.
set -euo pipefail

need_apt=()

java_major() {
  local java_bin="$1"
  "$java_bin" -version 2>&1 | awk -F'"' '/version/ {split($2, v, "."); print v[1]; exit}'
}

java_ok=false
for candidate in "${JAVA_HOME:-}/bin/java" "$(command -v java || true)"; do
  if [[ -x "$candidate" ]]; then
    major="$(java_major "$candidate")"
    if [[ "$major" == "17" || "$major" == "21" ]]; then java_ok=true; break; fi
  fi
done
$java_ok || need_apt+=(openjdk-17-jre-headless)
# The compiled line check (spark_jobs/line_check.py) is built with the JDK's compiler.
{ [[ -x "${JAVA_HOME:-}/bin/javac" ]] || command -v javac >/dev/null; } || need_apt+=(openjdk-17-jdk-headless)

pg_ok=false
if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then pg_ok=true; fi
if ! $pg_ok; then
  for dir in /usr/lib/postgresql/*/bin; do
    [[ -x "$dir/initdb" ]] && pg_ok=true
  done
fi
$pg_ok || need_apt+=(postgresql)

command -v node >/dev/null || need_apt+=(nodejs)

if [[ -z "${IMDB_SKIP_BROWSER:-}" ]]; then
  { [[ -x /usr/bin/chromium ]] && [[ -x /usr/bin/chromedriver ]]; } || need_apt+=(chromium chromium-driver)
fi

if (( ${#need_apt[@]} )); then
  echo "installing missing system packages: ${need_apt[*]}"
  if [[ "$(id -u)" != "0" ]] || ! command -v apt-get >/dev/null; then
    echo "ERROR: missing ${need_apt[*]}; install them (Debian: apt-get install ${need_apt[*]})" >&2
    echo "       Spark needs Java 17 or 21 (and its javac, for the line check); the PostgreSQL tests need initdb/pg_ctl." >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  echo "installed: ${need_apt[*]}"
fi
