"""The dbt project's copies of the catalogue agree with imdb_elt/catalog.py (no dbt run needed).

- The sources YAML declares every catalogue dataset, under the source its format belongs to,
  with exactly the catalogue's columns in the catalogue's order, then the lineage columns.
- The reconciliation test maps every dataset to its source, in catalogue order.
- The weighted-rating unit test's expected values are what the documented arithmetic gives,
  recomputed here from its own input rows.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path

import pytest
import yaml

from imdb_elt import catalog
from imdb_elt.config import DBT_PROJECT_DIR

SOURCE_OF_FORMAT = {"imdb_tsv": "imdb", "kaggle_csv": "kaggle"}
SOURCES_YAML = {
    "imdb": DBT_PROJECT_DIR / "models" / "staging" / "imdb" / "_imdb__sources.yml",
    "kaggle": DBT_PROJECT_DIR / "models" / "staging" / "kaggle" / "_kaggle__sources.yml",
}
RECONCILE_SQL = DBT_PROJECT_DIR / "tests" / "reconcile_staged_rows.sql"
MART_UNIT_TESTS = DBT_PROJECT_DIR / "models" / "marts" / "_marts__unit_tests.yml"


def declared_sources() -> list[tuple[str, str, list[str]]]:
    """(source, table, columns) in file order, over both sources files."""
    declared = []
    for path in SOURCES_YAML.values():
        for source in yaml.safe_load(path.read_text())["sources"]:
            for table in source["tables"]:
                declared.append(
                    (source["name"], table["name"], [c["name"] for c in table.get("columns", [])])
                )
    return declared


def expected_sources() -> list[tuple[str, str, list[str]]]:
    lineage = [name for name, _ in catalog.LINEAGE_COLUMNS]
    ordered = sorted(catalog.INPUTS, key=lambda raw: list(SOURCES_YAML).index(SOURCE_OF_FORMAT[raw.fmt]))
    return [(SOURCE_OF_FORMAT[raw.fmt], raw.dataset, [*raw.column_names, *lineage]) for raw in ordered]


def test_sources_yaml_declares_the_catalogue() -> None:
    assert declared_sources() == expected_sources()


def test_sources_check_sees_a_renamed_column(monkeypatch: pytest.MonkeyPatch) -> None:
    """The comparison can fail: a catalogue column renamed (or reordered) breaks it."""
    renamed = catalog.RawInput(**{
        **catalog.TITLE_RATINGS.__dict__,
        "columns": tuple(reversed(catalog.TITLE_RATINGS.columns)),
    })  # fmt: skip
    monkeypatch.setattr(
        catalog, "INPUTS", tuple(renamed if i is catalog.TITLE_RATINGS else i for i in catalog.INPUTS)
    )
    assert declared_sources() != expected_sources()


def reconcile_map(sql: str) -> list[tuple[str, str, str]]:
    return re.findall(r"'(\w+)':\s*source\('(\w+)',\s*'(\w+)'\)", sql)


def test_reconciliation_covers_every_dataset_in_catalogue_order() -> None:
    expected = [(raw.dataset, SOURCE_OF_FORMAT[raw.fmt], raw.dataset) for raw in catalog.INPUTS]
    found = reconcile_map(RECONCILE_SQL.read_text())
    assert found == expected
    # The check can fail: a dataset dropped from the map is seen.
    assert reconcile_map(RECONCILE_SQL.read_text().replace("'title_akas':", "'title_akaz':")) != expected


def _round_half_up(value: Fraction, places: int) -> Decimal:
    scaled = value * 10**places
    return (
        (Decimal(scaled.numerator) / Decimal(scaled.denominator))
        .quantize(Decimal(1), rounding=ROUND_HALF_UP)
        .scaleb(-places)
    )


def test_weighted_rating_unit_test_matches_the_arithmetic_by_hand() -> None:
    """C to 6 decimals half up, then WR from that C to 6 decimals half up, as documented."""
    tests = {t["name"]: t for t in yaml.safe_load(Path(MART_UNIT_TESTS).read_text())["unit_tests"]}
    case = tests["test_top_ten_weighted_rating_exact_decimal"]
    m = case["overrides"]["vars"]["ranking_min_votes"]
    movies = [r for r in case["given"][0]["rows"] if r["votes"] >= m]
    c = _round_half_up(sum(Fraction(str(r["rating"])) for r in movies) / len(movies), 6)
    assert c == Decimal("8.133333")
    wr = {}
    for r in movies:
        v, rating = r["votes"], Fraction(str(r["rating"]))
        wr[r["tconst"]] = _round_half_up((v * rating + m * Fraction(c)) / (v + m), 6)
    assert wr == {"tt1": Decimal("8.012121"), "tt2": Decimal("7.633333"), "tt3": Decimal("8.616667")}
    expected = {
        r["tconst"]: (r["year_rank"], Decimal(str(r["weighted_rating"]))) for r in case["expect"]["rows"]
    }
    ranked = sorted(wr, key=lambda t: -wr[t])
    assert expected == {t: (ranked.index(t) + 1, wr[t]) for t in wr}
