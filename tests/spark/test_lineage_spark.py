"""The cleaning job's own OpenLineage events when it fails: START, then FAIL with the reason, for
the application and each file, under the run that started it (the file transport)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from imdb_elt import lineage
from imdb_elt.catalog import TITLE_BASICS, TITLE_RATINGS
from spark_jobs.clean_imdb import DONE_MARKER, run_with_lineage
from spark_jobs.errors import CleaningError
from tests.spark.conftest import tsv_bytes, write_gz

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def test_a_failing_spark_step_emits_fail(spark: SparkSession, tmp_path: Path, monkeypatch) -> None:
    for key in [k for k in __import__("os").environ if k.startswith("OPENLINEAGE")]:
        monkeypatch.delenv(key)
    events_file = tmp_path / "events.jsonl"
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TYPE", "file")
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__LOG_FILE_PATH", str(events_file))
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__APPEND", "true")
    # The run that started the job, handed over as the local runner hands it over.
    top = lineage.Parent("imdb_elt", lineage.RUN_JOB, "01930000-0000-7000-8000-0000000000aa")
    monkeypatch.setenv(lineage.PARENT_ENV, top.env()[lineage.PARENT_ENV])

    raw, lake = tmp_path / "raw", tmp_path / "lake"
    write_gz(raw, TITLE_RATINGS.file_name, tsv_bytes(TITLE_RATINGS, ["tt0000001\t5.0\t10"]))
    # A delivery whose header is not the catalogue's: refused before any heavy work.
    wrong = tsv_bytes(TITLE_BASICS, ["tt0000001\tshort\tA\tA\t0\t1894\t\\N\t1\tShort"])
    write_gz(raw, TITLE_BASICS.file_name, wrong.replace(b"primaryTitle", b"title", 1))
    files = [TITLE_BASICS.file_name, TITLE_RATINGS.file_name]

    with pytest.raises(CleaningError, match=r"title\.basics\.tsv\.gz"):
        run_with_lineage(spark, str(raw), str(lake), "F1", files, namespace="imdb_elt")
    assert not (lake / "processed" / "snapshots" / "F1" / DONE_MARKER).exists()

    events = [json.loads(line) for line in events_file.read_text().splitlines()]
    got = sorted((e["job"]["name"], e["eventType"]) for e in events)
    jobs = ["imdb_elt.clean", "imdb_elt.clean.title_basics", "imdb_elt.clean.title_ratings"]
    assert got == sorted((job, state) for job in jobs for state in ("START", "FAIL"))
    by_job = {e["job"]["name"]: e for e in events if e["eventType"] == "FAIL"}
    app = by_job["imdb_elt.clean"]
    assert "title.basics.tsv.gz" in app["run"]["facets"]["errorMessage"]["message"]
    assert app["run"]["facets"]["parent"]["run"]["runId"] == top.run_id
    assert app["run"]["facets"]["processing_engine"]["name"] == "spark"
    basics = by_job["imdb_elt.clean.title_basics"]
    assert basics["run"]["facets"]["parent"]["run"]["runId"] == app["run"]["runId"]
    assert basics["run"]["facets"]["parent"]["root"]["run"]["runId"] == top.run_id
    assert [i["name"] for i in basics["inputs"]] == [str(raw / TITLE_BASICS.file_name)]
    assert basics["outputs"] == []  # nothing the job wrote is used
