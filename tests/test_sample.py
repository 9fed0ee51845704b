"""The sample generator: deterministic, catalogue-shaped, carries the real data's traps, and its
defect list says exactly which lines a strict cleaner must reject and why.

The strict checker below is written independently of the generator (from the catalogue types), so
the tests fail if a "clean" line would be quarantined or an injected line has another reason.
"""

from __future__ import annotations

import csv
import gzip
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from devtools import sample
from imdb_elt import catalog
from imdb_elt.config import SAMPLE_DIR

TSV_FILES = [i.file_name for i in catalog.INPUTS if i.fmt == "imdb_tsv"]
KAGGLE = catalog.MOVIE_METADATA.file_name
ID_RE = {"tt": re.compile(r"tt[0-9]{7,}"), "nm": re.compile(r"nm[0-9]{7,}")}
ID_COLUMNS = {"tconst": "tt", "titleId": "tt", "parentTconst": "tt", "nconst": "nm",
              "directors": "nm", "writers": "nm", "knownForTitles": "tt"}
YEAR_COLUMNS = {"startYear", "endYear", "birthYear", "deathYear", "title_year"}
RANGES = {"averageRating": (1, 10), "imdb_score": (1, 10), "numVotes": (0, None)}
INT_RE, DEC_RE = re.compile(r"-?[0-9]+"), re.compile(r"-?[0-9]+(\.[0-9]+)?")
#: C0 control characters; U+FFFD (bytes lost upstream); what JSON text may not decode to.
CONTROL_RE, BROKEN_TEXT_RE = re.compile("[\x00-\x1f]"), re.compile("[\x00-\x1f\ufffd\ud800-\udfff]")
TITLE_COLUMNS = {"title.basics.tsv.gz": (2, 3), "movie_metadata.csv": (11,)}
KAGGLE_LINK_RE = re.compile(r"[!-~]*?/title/(tt[0-9]{7,})(?:[/?#][!-~]*)?")
VARCHAR_BYTES = 65535  # Redshift's longest VARCHAR, in bytes


# --- an independent strict checker --------------------------------------------------------------
def field_reason(col: catalog.Column, value: str, null: str) -> str | None:
    if value == null:
        return None
    if col.name in ID_COLUMNS:
        pattern = ID_RE[ID_COLUMNS[col.name]]
        items = value.split(",") if col.type.startswith("array") else [value]
        return None if all(pattern.fullmatch(v) for v in items) else "bad_id"
    if col.name in YEAR_COLUMNS:  # historical people: one to four digits
        return None if re.fullmatch(r"[0-9]{1,4}", value) else "bad_year"
    if col.type in ("int", "bigint"):
        if not INT_RE.fullmatch(value):
            return "bad_integer"
    elif col.type.startswith("decimal"):
        if not DEC_RE.fullmatch(value):
            return "bad_decimal"
    elif col.type == "boolean":
        return None if value in ("0", "1") else "bad_boolean"
    elif col.name == "characters":
        try:
            parsed = json.loads(value)
        except ValueError:
            return "bad_json"
        strings = isinstance(parsed, list) and all(isinstance(x, str) for x in parsed)
        if not strings or any(BROKEN_TEXT_RE.search(x) for x in parsed):
            return "bad_json"
        return "too_long" if any(len(x.encode()) > VARCHAR_BYTES for x in parsed) else None
    if col.type == "string" and len(value.encode()) > VARCHAR_BYTES:  # Redshift counts bytes
        return "too_long"
    if col.type.startswith("array") and any(len(x.encode()) > VARCHAR_BYTES
                                            for x in value.split(col.separator or ",")):
        return "too_long"
    low, high = RANGES.get(col.name, (None, None))
    number = float(value) if low is not None else 0.0
    if (low is not None and number < low) or (high is not None and number > high):
        return "out_of_range"
    return None


def check_file(path: Path) -> dict[int, str]:
    """Line number -> reason for every line a strict cleaner rejects (duplicates included)."""
    spec = catalog.BY_FILE_NAME[path.name]
    raw = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
    lines = raw.split(b"\n")
    reasons: dict[int, str] = {}
    if lines[-1] != b"":  # no final newline: the last line is checked like any other
        lines.append(b"")
    seen: dict[tuple[str, ...], list[str]] = {}
    columns = spec.columns if spec.fmt == "imdb_tsv" else spec.columns[1:]  # Kaggle: tconst is derived
    for no, line in enumerate(lines[1:-1], start=2):
        if no in reasons:
            continue
        try:
            text = line.removesuffix(b"\r").decode("utf-8")
        except UnicodeDecodeError:
            reasons[no] = "invalid_utf8"
            continue
        if "\ufffd" in text:
            reasons[no] = "invalid_utf8"
            continue
        if spec.fmt == "imdb_tsv":
            fields, null = text.split("\t"), "\\N"
            # \x02 separates akas types and attributes (fields 5, 6); any other control character is bad
            akas_lists = (5, 6) if spec.dataset == "title_akas" else ()
            if any(CONTROL_RE.search(f.replace("\x02", "") if i in akas_lists else f)
                   for i, f in enumerate(fields)):
                reasons[no] = "control_character"
                continue
        else:
            if CONTROL_RE.search(text):
                reasons[no] = "control_character"
                continue
            fields, null = next(csv.reader([text])), ""
        if len(fields) != len(spec.header):
            reasons[no] = "field_count"
            continue
        bad = [r for c, v in zip(columns, fields, strict=True) if (r := field_reason(c, v, null))]
        if spec.fmt == "kaggle_csv" and not KAGGLE_LINK_RE.fullmatch(fields[17]):
            bad.append("bad_id")
        if bad:
            reasons[no] = bad[0]
            continue
        titles = [fields[i].strip(" \u00a0") for i in TITLE_COLUMNS.get(path.name, ())]
        if titles and all(t in ("", null) for t in titles):
            reasons[no] = "missing_title"
            continue
        if spec.fmt == "imdb_tsv":
            key = tuple(fields[spec.header.index(k)] for k in spec.key)
        else:
            key = (KAGGLE_LINK_RE.fullmatch(fields[17]).group(1),)  # type: ignore[union-attr]
        if key in seen:
            reasons[no] = "exact_duplicate" if fields in seen[key] else "duplicate_key"
        seen.setdefault(key, []).append(fields)
    return reasons


def read_tsv(path: Path) -> list[list[str]]:
    with gzip.open(path, "rt", encoding="utf-8", newline="\n") as f:
        return [line.rstrip("\n").split("\t") for line in f]


# --- fixtures -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    out = tmp_path_factory.mktemp("clean")
    return out, sample.generate(out)


@pytest.fixture(scope="module")
def dirty(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    out = tmp_path_factory.mktemp("dirty")
    sample.generate(out, dirty=True)
    return out, json.loads((out / sample.SIDECAR).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def tables(clean: tuple[Path, dict[str, int]]) -> dict[str, list[list[str]]]:
    out, _ = clean
    data = {f: read_tsv(out / f) for f in TSV_FILES}
    with open(out / KAGGLE, encoding="utf-8", newline="") as f:
        data[KAGGLE] = list(csv.reader(f))
    return data


# --- shape and determinism ------------------------------------------------------------------------
def test_writes_all_eight_files_with_catalogue_headers(clean, tables) -> None:
    out, rows = clean
    assert set(rows) == set(catalog.BY_FILE_NAME)
    for spec in catalog.INPUTS:
        assert tuple(tables[spec.file_name][0]) == spec.header, spec.file_name
        assert rows[spec.file_name] == len(tables[spec.file_name]) - 1
    assert not (out / sample.SIDECAR).exists()
    total = sum((out / f).stat().st_size for f in rows)
    print(f"default sample: {sum(rows.values()):,} rows, {total:,} bytes", rows)
    assert total < 1_000_000
    assert 2_000 <= rows["title.basics.tsv.gz"] <= 5_000


def test_same_seed_gives_identical_bytes_and_other_seed_does_not(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    sample.generate(a, scale=0.0001, seed=7)
    sample.generate(b, scale=0.0001, seed=7)
    sample.generate(c, scale=0.0001, seed=8)
    for f in catalog.BY_FILE_NAME:
        assert (a / f).read_bytes() == (b / f).read_bytes(), f
        assert (a / f).read_bytes() != (c / f).read_bytes(), f


def test_parallel_writing_gives_the_same_bytes(clean, tmp_path: Path, monkeypatch) -> None:
    serial, _ = clean
    monkeypatch.setattr(sample, "PARALLEL_MIN_ROWS", 0)  # big runs write files in two processes
    lines: list[str] = []
    sample.generate(tmp_path, progress=lines.append)
    for f in catalog.BY_FILE_NAME:
        assert (tmp_path / f).read_bytes() == (serial / f).read_bytes(), f
    assert any("title.principals.tsv.gz" in line for line in lines)


def test_bundled_sample_is_the_documented_generation(tmp_path: Path) -> None:
    # data/sample/README.md documents: python -m devtools.sample --out data/sample
    assert sample.main(["--out", str(tmp_path), "--quiet"]) == 0
    for f in catalog.BY_FILE_NAME:
        assert (SAMPLE_DIR / f).read_bytes() == (tmp_path / f).read_bytes(), f"{f} drifted: regenerate"
    assert "python -m devtools.sample --out data/sample" in (SAMPLE_DIR / "README.md").read_text()


def test_inputs_subset_writes_only_those_files_identically(clean, tmp_path: Path) -> None:
    full, _ = clean
    subset = ["title.ratings.tsv.gz", KAGGLE]
    rows = sample.generate(tmp_path, inputs=subset)
    assert set(rows) == set(subset)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(subset)
    for f in subset:
        assert (tmp_path / f).read_bytes() == (full / f).read_bytes()
    with pytest.raises(ValueError, match="unknown input"):
        sample.generate(tmp_path, inputs=["title.basics.tsv"])


def test_next_delivery_changes_about_that_share_of_ratings_and_nothing_else(clean, tmp_path: Path) -> None:
    base, _ = clean
    sample.generate(tmp_path, snapshot=1, changed_fraction=0.2)
    for f in catalog.BY_FILE_NAME:
        if f != "title.ratings.tsv.gz":
            assert (tmp_path / f).read_bytes() == (base / f).read_bytes(), f
    old, new = read_tsv(base / "title.ratings.tsv.gz"), read_tsv(tmp_path / "title.ratings.tsv.gz")
    assert [r[0] for r in old] == [r[0] for r in new]  # same titles, same order
    changed = [(o, n) for o, n in zip(old[1:], new[1:], strict=True) if o != n]
    share = len(changed) / (len(old) - 1)
    print(f"changed {len(changed)} of {len(old) - 1} ratings ({share:.1%})")
    assert 0.14 < share < 0.26
    assert all(int(n[2]) > int(o[2]) for o, n in changed)  # votes only grow
    again = tmp_path / "again"
    sample.generate(again, snapshot=1, changed_fraction=0.2, inputs=["title.ratings.tsv.gz"])
    assert (again / "title.ratings.tsv.gz").read_bytes() == (tmp_path / "title.ratings.tsv.gz").read_bytes()
    with pytest.raises(ValueError):
        sample.generate(tmp_path, changed_fraction=0.1)


# --- the clean sample is clean -------------------------------------------------------------------
def test_clean_sample_has_no_defects_beyond_legitimate_duplicates(clean) -> None:
    out, _ = clean
    for f in catalog.BY_FILE_NAME:
        reasons = check_file(out / f)
        if f == "name.basics.tsv.gz":
            assert set(reasons.values()) == {"exact_duplicate"}, reasons  # the real dump repeats rows
        elif f == KAGGLE:
            assert set(reasons.values()) == {"exact_duplicate", "duplicate_key"}  # repeated imdb ids
        else:
            assert reasons == {}, (f, list(reasons.items())[:5])


# --- traps in the clean sample -------------------------------------------------------------------
SCRIPTS = {"Japanese": r"[\u3040-\u30ff\u4e00-\u9fff]", "Cyrillic": r"[\u0400-\u04ff]",
           "Arabic": r"[\u0600-\u06ff]", "Greek": r"[\u0370-\u03ff]", "Devanagari": r"[\u0900-\u097f]"}


def test_title_traps(tables) -> None:
    basics = tables["title.basics.tsv.gz"][1:]
    assert {r[1] for r in basics} == {t for t, _ in sample.T.V.TITLE_TYPES}
    assert {r[4] for r in basics} == {"0", "1"}
    titles = [r[2] for r in basics] + [r[3] for r in basics]
    assert 'The "Quoted Movie' in titles
    assert any(t.count('"') % 2 == 1 for t in titles) and any(t.count('"') == 2 for t in titles)
    assert any("'" in t for t in titles)
    for script, pattern in SCRIPTS.items():
        assert any(re.search(pattern, t) for t in titles), script
    ids = [r[0] for r in basics]
    assert len(set(ids)) == len(ids)
    assert {len(i) for i in ids} == {9, 10}  # tt + 7 digits and tt + 8 digits
    genres = [r[8].split(",") for r in basics if r[8] != "\\N"]
    assert max(map(len, genres)) == 3 and all(set(g) <= set(sample.T.V.GENRES) for g in genres)
    assert any(r[8] == "\\N" for r in basics) and any(r[6] != "\\N" for r in basics)


def test_reference_traps(tables) -> None:
    basics = {r[0]: r for r in tables["title.basics.tsv.gz"][1:]}
    names = {r[0] for r in tables["name.basics.tsv.gz"][1:]}
    crew, ratings = tables["title.crew.tsv.gz"][1:], tables["title.ratings.tsv.gz"][1:]
    episodes, principals = tables["title.episode.tsv.gz"][1:], tables["title.principals.tsv.gz"][1:]
    for rows in (crew, ratings, episodes, principals):  # dangling titles
        assert any(r[0] not in basics for r in rows)
    assert any(r[2] not in names for r in principals)  # dangling names
    assert any(r[1] not in basics for r in episodes)  # dangling parents
    parents = [basics[r[1]][1] for r in episodes if r[1] in basics]
    assert set(parents) <= {"tvSeries", "tvMiniSeries"}
    assert {len(n) for n in names} == {9, 10}
    assert any(r[1] == r[2] == "\\N" for r in crew)
    assert any("," in r[1] for r in crew)
    assert max(len(r[2].split(",")) for r in crew) > 1000  # the real dump has such writer lists
    votes = sorted(int(r[2]) for r in ratings)
    assert votes[-1] > 100_000 and votes[len(votes) // 2] < 1_000
    assert all(re.fullmatch(r"\d{1,2}\.\d", r[1]) and 1 <= float(r[1]) <= 10 for r in ratings)


def test_people_traps(tables) -> None:
    principals = tables["title.principals.tsv.gz"][1:]
    assert {"actor", "actress", "self", "director", "writer", "producer", "composer",
            "cinematographer", "editor"} <= {r[3] for r in principals}
    characters = [json.loads(r[5]) for r in principals if r[5] != "\\N"]
    assert any(len(c) > 1 for c in characters) and any(r[5] == "\\N" for r in principals)
    assert any(r[4] != "\\N" for r in principals)
    names = tables["name.basics.tsv.gz"][1:]
    counts = Counter("\t".join(r) for r in names)
    assert any(n > 1 for n in counts.values())  # exact repeated rows
    assert len({r[0] for r in names}) == len(counts)  # ...and no other repeated ids
    for script, pattern in SCRIPTS.items():
        assert any(re.search(pattern, r[1]) for r in names), script
    assert any("'" in r[1] for r in names) and any(r[1].count('"') == 1 for r in names)
    assert any(r[3] != "\\N" for r in names) and any("," in r[4] for r in names)
    assert any("," in r[5] for r in names)


def test_akas_traps(tables) -> None:
    akas = tables["title.akas.tsv.gz"][1:]
    assert {r[7] for r in akas} == {"0", "1"}
    assert any("\x02" in r[5] for r in akas) and any("\x02" in r[6] for r in akas)
    assert len({(r[0], r[1]) for r in akas}) == len(akas)
    assert {"JP", "RU", "GR", "IN"} <= {r[3] for r in akas} and any(r[4] == "ja" for r in akas)


def test_kaggle_traps(tables) -> None:
    rows = [dict(zip(tables[KAGGLE][0], r, strict=True)) for r in tables[KAGGLE][1:]]
    assert sum(r["movie_title"].endswith("\u00a0") for r in rows) > 0.9 * len(rows)
    assert {"Color", " Black and White"} <= {r["color"] for r in rows}
    assert any("|" in r["genres"] for r in rows) and any("|" in r["plot_keywords"] for r in rows)
    for column in ("title_year", "content_rating", "budget", "gross"):
        assert any(r[column] == "" for r in rows), column
    biggest = max((r for r in rows if r["budget"]), key=lambda r: int(r["budget"]))
    assert biggest["budget"] == "12215500000"
    assert (biggest["country"], biggest["language"]) == ("South Korea", "Korean")
    assert all(re.fullmatch(r"\d+\.\d", r["imdb_score"]) for r in rows)
    assert any('"' in r["movie_title"] for r in rows)  # written quoted and doubled by the csv module
    tconsts = [re.search(r"/title/(tt\d+)/\?ref_=fn_tt_tt_1$", r["movie_imdb_link"]).group(1) for r in rows]
    movies = {r[0] for r in tables["title.basics.tsv.gz"][1:] if r[1] == "movie"}
    unique = set(tconsts)
    assert 0.7 < len(unique & movies) / len(unique) < 1.0  # most join, some are Kaggle-only
    by_id: dict[str, list[dict[str, str]]] = {}
    for t, r in zip(tconsts, rows, strict=True):
        by_id.setdefault(t, []).append(r)
    repeated = [v for v in by_id.values() if len(v) > 1]
    exact = [v for v in repeated if v[0] == v[1]]
    conflicting = [v for v in repeated if v[0] != v[1]]
    assert len(exact) >= 3 and len(conflicting) >= 3
    for a, b in (v[:2] for v in conflicting):
        assert {k for k in a if a[k] != b[k]} == {"num_voted_users"}


# --- dirty ------------------------------------------------------------------------------------------
def test_dirty_sidecar_points_at_exactly_the_rejected_lines(dirty) -> None:
    out, sidecar = dirty
    covered: set[str] = set()
    for f, info in sidecar["files"].items():
        found = check_file(out / f)
        listed = {d["line_number"]: d["reason"] for d in info["defects"]}
        legit = {d["line_number"] for d in info["legitimate_duplicates"]}
        assert {n: r for n, r in found.items() if n not in legit} == listed, f
        assert info["defect_lines"] == len(listed) and info["defect_fraction"] < 0.01
        assert info["skipped_too_small"] == []
        covered |= set(listed.values())
        print(f, info["data_lines"], "lines,", info["counts"])
    assert covered == set(sample.D.REASONS)


def test_dirty_not_defects_are_where_the_sidecar_says(dirty) -> None:
    out, sidecar = dirty
    for f in TSV_FILES:
        info = sidecar["files"][f]
        lines = gzip.decompress((out / f).read_bytes()).split(b"\n")
        kinds = Counter(d["kind"] for d in info["not_defects"])
        assert kinds["crlf_line_end"] == 2
        assert kinds["historical_year"] == (2 if f in sample.D.HISTORICAL_YEARS else 0)
        for d in info["not_defects"]:
            line = lines[d["line_number"] - 1]
            if d["kind"] == "no_final_newline":  # the last line, valid, without its newline
                assert f in sample.D.NO_FINAL_NEWLINE_FILES and d["line_number"] == len(lines), f
            elif d["kind"] == "crlf_line_end":
                assert line.endswith(b"\r") and line.count(b"\r") == 1
            else:  # a birth or death year of one to three digits
                (birth, death), _ = sample.D.HISTORICAL_YEARS[f]
                fields = line.split(b"\t")
                assert any(fields[i].isdigit() and len(fields[i]) < 4 for i in (birth, death)), line
        defects = {d["line_number"] for d in info["defects"]}
        crlf = [i for i, line in enumerate(lines, 1) if line.endswith(b"\r") and i not in defects]
        listed = [d["line_number"] for d in info["not_defects"] if d["kind"] == "crlf_line_end"]
        assert sorted(crlf) == sorted(listed)
    for f in (*sample.D.NO_FINAL_NEWLINE_FILES, *sample.D.CUT_FILES):
        data = (out / f).read_bytes()
        assert not (gzip.decompress(data) if f.endswith(".gz") else data).endswith(b"\n"), f
        last = sidecar["files"][f]["data_lines"] + 1
        cut = [d["reason"] for d in sidecar["files"][f]["defects"] if d["line_number"] == last]
        assert cut == (["field_count"] if f in sample.D.CUT_FILES else []), f


def test_dirty_defects_are_capped_in_small_files(tmp_path: Path) -> None:
    sample.generate(tmp_path, dirty=True, scale=0.0002, inputs=["title.ratings.tsv.gz"])
    info = json.loads((tmp_path / sample.SIDECAR).read_text())["files"]["title.ratings.tsv.gz"]
    assert info["defect_lines"] > 0 and info["defect_fraction"] < 0.01 and info["skipped_too_small"]
    sample.generate(tmp_path, inputs=["title.ratings.tsv.gz"])
    assert not (tmp_path / sample.SIDECAR).exists()  # a clean run removes a stale list
