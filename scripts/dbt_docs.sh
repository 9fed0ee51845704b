#!/usr/bin/env bash
# dbt docs for imdb-elt: generate the catalogue from the warehouse, then serve the site.
#
#   scripts/dbt_docs.sh        (make docs)   then open the printed URL
#
# The catalogue reads the built warehouse: with no DuckDB file yet, the pipeline runs once on
# the configured raw zone (the bundled sample by default) first. Port: IMDB_DOCS_PORT (8081).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
export PATH="$REPO/.venv/bin:$PATH"
export DBT_SEND_ANONYMOUS_USAGE_STATS=False

PORT="${IMDB_DOCS_PORT:-8081}"
export DBT_TARGET="${DBT_TARGET:-duckdb}"
# The same absolute path the pipeline uses (imdb_elt.config resolves relative paths from the repo).
DUCKDB_PATH="$(python -c 'from imdb_elt import config; print(config.load().duckdb_path)')"
export DUCKDB_PATH
TARGET_PATH="${IMDB_DOCS_TARGET_PATH:-$REPO/dbt_project/target/docs}"
DBT=(dbt --no-use-colors)
ARGS=(--project-dir "$REPO/dbt_project" --profiles-dir "$REPO" --target "$DBT_TARGET" --target-path "$TARGET_PATH")

if [[ "$DBT_TARGET" == "duckdb" && ! -f "$DUCKDB_PATH" ]]; then
  echo "no warehouse at $DUCKDB_PATH yet: running the pipeline once first"
  python -m imdb_elt run
fi

echo "generating dbt docs into $TARGET_PATH"
"${DBT[@]}" docs generate "${ARGS[@]}"

echo
echo "  dbt docs:  http://127.0.0.1:$PORT   (Ctrl-C stops)"
echo
exec "${DBT[@]}" docs serve "${ARGS[@]}" --host 127.0.0.1 --port "$PORT" --no-browser
