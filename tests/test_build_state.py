"""The selective build's bookkeeping: when a saved state is trusted, and what it selects."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imdb_elt import build_state, config, pipeline

MANIFEST = {
    "sources": {
        "source.imdb_elt.imdb.title_ratings": {"name": "title_ratings", "source_name": "imdb"},
        "source.imdb_elt.imdb.title_basics": {"name": "title_basics", "source_name": "imdb"},
        "source.imdb_elt.kaggle.movie_metadata": {"name": "movie_metadata", "source_name": "kaggle"},
    },
    "nodes": {},
}


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> config.Settings:
    monkeypatch.setenv("IMDB_LAKE_DIR", str(tmp_path / "lake"))
    monkeypatch.setenv("DUCKDB_PATH", str(tmp_path / "wh" / "imdb.duckdb"))
    monkeypatch.setenv("DBT_TARGET", "duckdb")
    return config.load()


def test_selectors_name_each_new_source_and_modified_code() -> None:
    assert build_state.selectors(MANIFEST, ["title_ratings", "movie_metadata", "title_ratings"]) == [
        "source:kaggle.movie_metadata+",
        "source:imdb.title_ratings+",
        "state:modified+",
    ]


def test_an_unknown_dataset_or_no_dataset_means_a_full_build() -> None:
    assert build_state.selectors(MANIFEST, ["title_akas"]) is None
    assert build_state.selectors(MANIFEST, []) is None


def test_saved_state_is_read_back_on_the_same_warehouse(settings: config.Settings) -> None:
    build_state.remember(settings, MANIFEST)
    assert build_state.load_manifest(settings) == MANIFEST


@pytest.mark.parametrize(
    "variable, value",
    [
        ("DUCKDB_PATH", "/elsewhere/imdb.duckdb"),
        ("IMDB_MARTS_SCHEMA", "marts_v2"),
        ("DBT_TARGET", "postgres"),
    ],
)
def test_saved_state_is_ignored_for_another_warehouse_or_schema(
    settings: config.Settings, monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    build_state.remember(settings, MANIFEST)
    monkeypatch.setenv(variable, value)
    assert build_state.load_manifest(config.load()) is None


def test_a_torn_state_file_means_a_full_build(settings: config.Settings) -> None:
    build_state.remember(settings, MANIFEST)
    uri = Path(build_state.state_uri(settings))
    uri.write_text(uri.read_text()[:40])
    assert build_state.load_manifest(settings) is None


def test_staging_forgets_the_state_before_the_audit_schema_changes(
    settings: config.Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build that fails or is killed after staging must be followed by a full build."""
    import imdb_elt.warehouse as warehouse

    seen: list[bool] = []
    monkeypatch.setattr(
        warehouse, "stage_snapshot", lambda s, d: seen.append(build_state.load_manifest(s) is None) or {}
    )
    monkeypatch.setattr(pipeline, "check_freshness", lambda s, p: None)  # no warehouse here
    build_state.remember(settings, MANIFEST)
    plan = pipeline.Plan("r1", "cli", "2026-01-01T00:00:00+00:00", "raw", "lake", "duckdb",
                         manifest={"snapshot_id": "r1", "datasets": {}})
    pipeline.stage(settings, plan)
    assert seen == [True]
    assert not Path(build_state.state_uri(settings)).exists()


def test_state_dir_holds_the_manifest_for_dbt(settings: config.Settings) -> None:
    with build_state.state_dir(MANIFEST) as folder:
        assert json.loads((Path(folder) / "manifest.json").read_text()) == MANIFEST
    assert not Path(folder).exists()


def _model(name: str, layer: str, materialized: str, schema: str) -> dict:
    return {"resource_type": "model", "name": name, "alias": name, "database": "imdb", "schema": schema,
            "fqn": ["imdb_elt", layer, name], "config": {"materialized": materialized},
            "relation_name": f'"imdb"."{schema}"."{name}"'}


def test_analysts_defer_to_the_published_marts(settings: config.Settings) -> None:
    """state/published/manifest.json: a plain manifest for `--state`, every mart at its published
    relation (the audit schema may hold a build that failed its tests); the rest as built."""
    models = [_model("movies", "marts", "table", "marts_audit"),
              _model("fct_title_ratings", "marts", "incremental", "marts_audit"),
              _model("int_movies__imdb", "intermediate", "table", "intermediate")]
    manifest = {**MANIFEST, "nodes": {f"model.imdb_elt.{m['name']}": m for m in models}}
    build_state.remember_published(settings, manifest)
    folder = Path(build_state.published_state_dir(settings))
    assert folder == Path(settings.lake_dir) / "state" / "published"
    saved = json.loads((folder / "manifest.json").read_text())
    nodes = saved["nodes"]
    assert nodes["model.imdb_elt.movies"]["relation_name"] == '"imdb"."marts"."movies"'
    assert nodes["model.imdb_elt.fct_title_ratings"]["schema"] == "marts"
    assert nodes["model.imdb_elt.int_movies__imdb"] == manifest["nodes"]["model.imdb_elt.int_movies__imdb"]
    assert saved["sources"] == MANIFEST["sources"]
    # Staging forgets the pipeline's own state, never what analysts defer to: the marts did not move.
    build_state.forget(settings)
    assert (folder / "manifest.json").exists()
