#!/usr/bin/env bash
# dbt docs for imdb-elt (make docs): the published marts as analysts read them, then serve.
#
#   scripts/dbt_docs.sh        then open the printed URL
#
# Nothing is built: the site reads the warehouse the last run published (run `make run` first).
# Port: IMDB_DOCS_PORT (8081); folder: IMDB_DOCS_TARGET_PATH. See imdb_elt/docs.py.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
exec "$REPO/.venv/bin/python" -m imdb_elt docs
