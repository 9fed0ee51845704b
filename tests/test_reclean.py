"""`python -m imdb_elt reclean`: the files whose valid last line an earlier version refused
(partial_line) are found from the lake and cleaned again by the next run, once."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from imdb_elt import config, lake, reclean
from imdb_elt.__main__ import main


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> config.Settings:
    """A lake published by the old rules: snapshot S1 refused the last line of title.ratings."""
    raw = tmp_path / "raw"
    raw.mkdir()
    monkeypatch.setenv("IMDB_RAW_DIR", str(raw))
    monkeypatch.setenv("IMDB_LAKE_DIR", str(tmp_path / "lake"))
    settings = config.load()
    (raw / "title.ratings.tsv.gz").write_bytes(gzip.compress(b"tconst\taverageRating\tnumVotes\ntt1\t5.0\t9"))
    (raw / "title.basics.tsv.gz").write_bytes(gzip.compress(b"tconst\n"))
    _publish(settings, "S1", {
        "title_ratings": {"source_file": "title.ratings.tsv.gz", "rows_written": 530,
                          "quarantined_by_reason": {"partial_line": 1}},
        "title_basics": {"source_file": "title.basics.tsv.gz", "rows_written": 9,
                         "quarantined_by_reason": {}},
    })  # fmt: skip
    return settings


def _publish(settings: config.Settings, snapshot_id: str, stats: dict) -> None:
    """What a run's publish leaves: stats, manifest, CURRENT, the ledger's entries."""
    folder = Path(settings.snapshot_dir(snapshot_id))
    folder.mkdir(parents=True)
    (folder / lake.SPARK_STATS_FILE).write_text(json.dumps({"datasets": stats}))
    lake.write_manifest(settings, lake.build_manifest(settings, snapshot_id, {"datasets": stats}))
    lake.set_current(settings, snapshot_id)
    new, _ = lake.new_deliveries(settings, lake.list_deliveries(settings).deliveries)
    lake.append_ledger(settings, lake.ledger_entries([d for d in new if d.dataset in stats], snapshot_id))


def test_finds_the_refused_last_line_and_the_next_run_cleans_that_file_once(settings, capsys) -> None:
    assert lake.new_deliveries(settings, lake.list_deliveries(settings).deliveries)[0] == []
    ledger = lake.read_ledger(settings)

    assert main(["reclean", "--dry-run"]) == 0
    out = capsys.readouterr().out
    print(out)
    assert ("title_ratings: snapshot S1 refused 1 last line(s) of title.ratings.tsv.gz as partial_line; "
            "title.ratings.tsv.gz is still in the raw zone: the next run cleans it again") in out
    assert "title_basics" not in out and "1 request(s) would be written" in out
    assert lake.read_ledger(settings) == ledger  # a dry run changes nothing

    assert main(["reclean"]) == 0
    [request] = lake.read_ledger(settings)[len(ledger):]
    assert request["dataset"] == "title_ratings" and request[reclean.REQUEST_KEY]
    new, known = lake.new_deliveries(settings, lake.list_deliveries(settings).deliveries)
    assert [d.file_name for d in new] == ["title.ratings.tsv.gz"]
    assert [d.file_name for d in known] == ["title.basics.tsv.gz"]

    assert main(["reclean"]) == 0  # idempotent: no second request
    assert "(already requested)" in capsys.readouterr().out
    assert len(lake.read_ledger(settings)) == len(ledger) + 1

    # The next run cleans it under today's rules (the last line written) and publishes.
    _publish(settings, "S2", {"title_ratings": {"source_file": "title.ratings.tsv.gz", "rows_written": 531,
                                                "quarantined_by_reason": {}}})  # fmt: skip
    assert reclean.find(settings) == []
    assert lake.new_deliveries(settings, lake.list_deliveries(settings).deliveries)[0] == []


def test_a_newer_delivery_or_none_is_named(settings) -> None:
    path = Path(settings.raw_dir) / "title.ratings.tsv.gz"
    path.write_bytes(gzip.compress(b"tconst\taverageRating\tnumVotes\ntt1\t5.1\t9\n"))
    [candidate] = reclean.find(settings)
    assert candidate.in_raw_zone == "newer" and "cleans it anyway" in candidate.describe()
    path.unlink()
    [candidate] = reclean.find(settings)
    assert candidate.in_raw_zone is None and "deliver it again" in candidate.describe()
