"""Which dbt nodes a run rebuilds: only what its new deliveries or a code change reach.

An hourly delivery usually touches one or two files, yet every mart used to be rebuilt and
re-tested. After a build is fully published, the run saves dbt's manifest in the lake (the
"state"). The next run builds ``source:<source>.<dataset>+`` for each newly delivered dataset
and ``state:modified+`` against that manifest (dbt's own slim-CI selection); every other mart
is already correct in both the audit and the published schema, and only the rebuilt marts are
published.

The saved state is trusted only while the audit schema matches the published marts: staging
deletes it before any build, so after a failed or interrupted build, a build by the Airflow DAG
or a switch to another warehouse, the next run builds everything.

Analysts get the same build as production publishes it: ``state/published/manifest.json``, a
plain manifest with every mart at its published relation, for ``dbt build --select movies+
--defer --state <that folder>`` (a slice built against production without its parents). It is
replaced at each publish only, so it always describes what analysts can read.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from imdb_elt import report, storage
from imdb_elt.config import Settings

STATE_FILE = "last_published_build.json"
PUBLISHED_STATE_DIR = "published"


def state_uri(settings: Settings) -> str:
    return f"{settings.state_dir}/{STATE_FILE}"


def warehouse_identity(settings: Settings) -> str:
    """The warehouse and schemas a saved state describes; any change means a full build."""
    if settings.dbt_target == "duckdb":
        where = os.path.abspath(settings.duckdb_path)
    elif settings.dbt_target == "postgres":
        where = ":".join(os.environ.get(k, "") for k in ("PGHOST", "PGPORT", "PGDATABASE"))
    else:
        cluster = settings.redshift_host or settings.redshift_cluster_id or settings.redshift_workgroup
        where = f"{cluster}/{settings.redshift_database}"
    schemas = "/".join(os.environ.get(k, "") for k in ("IMDB_AUDIT_SCHEMA", "IMDB_MARTS_SCHEMA"))
    return f"{settings.dbt_target}|{where}|{settings.raw_schema}|{schemas}"


def forget(settings: Settings) -> None:
    """Called before anything writes the audit schema: from here on it may differ from the marts."""
    storage.delete_tree(state_uri(settings))


def remember(settings: Settings, manifest: dict) -> None:
    """Called after the marts are published: the audit schema equals them again."""
    state = {"warehouse": warehouse_identity(settings), "manifest": manifest}
    storage.write_text_atomic(state_uri(settings), json.dumps(state))


def published_state_dir(settings: Settings) -> str:
    """The folder analysts pass to ``--state``: it holds the published build's ``manifest.json``."""
    return f"{settings.state_dir}/{PUBLISHED_STATE_DIR}"


def as_published(manifest: dict, marts_schema: str) -> dict:
    """The build's manifest with every mart moved from the audit schema to its published relation."""
    nodes = dict(manifest.get("nodes", {}))
    for unique_id, node in nodes.items():
        if report.is_published_mart(node):
            parts = (node["database"], marts_schema, node["alias"])
            relation = ".".join(f'"{part}"' for part in parts if part)
            nodes[unique_id] = {**node, "schema": marts_schema, "relation_name": relation}
    return {**manifest, "nodes": nodes}


def remember_published(settings: Settings, manifest: dict) -> None:
    """Called after the marts are published: what analysts defer to from now on."""
    text = json.dumps(as_published(manifest, settings.marts_schema))
    storage.write_text_atomic(f"{published_state_dir(settings)}/manifest.json", text)


def load_manifest(settings: Settings) -> dict | None:
    """The manifest of the last published build on this warehouse, if it can be trusted."""
    uri = state_uri(settings)
    if not storage.exists(uri):
        return None
    try:
        state = json.loads(storage.read_text(uri))
    except ValueError:  # a torn or hand-edited file: build everything
        return None
    if state.get("warehouse") != warehouse_identity(settings):
        return None
    return state.get("manifest")


def selectors(manifest: dict, datasets: list[str]) -> list[str] | None:
    """dbt selectors for the new datasets and modified code; None when a full build is needed."""
    sources = {node["name"]: node["source_name"] for node in manifest.get("sources", {}).values()}
    if not datasets or any(dataset not in sources for dataset in datasets):
        return None
    return [f"source:{sources[d]}.{d}+" for d in sorted(set(datasets))] + ["state:modified+"]


@contextmanager
def state_dir(manifest: dict) -> Iterator[str]:
    """A folder holding the manifest, for dbt's ``--state``."""
    with tempfile.TemporaryDirectory(prefix="imdb-elt-state-") as folder:
        (Path(folder) / "manifest.json").write_text(json.dumps(manifest))
        yield folder
