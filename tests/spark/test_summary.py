"""The run summary on a file without a final newline: a notice, and a re-fetch only when it helps."""

from __future__ import annotations

import pytest

from imdb_elt.report import format_summary


def _report(source_file: str, last_line: dict | None, ends_with_newline: bool = False) -> dict:
    refused = last_line and last_line["reason"]
    stats = {
        "source_file": source_file,
        "rows_read": 531,
        "rows_written": 530 if refused else 531,
        "rows_deduplicated": 0,
        "rows_quarantined": 1 if refused else 0,
        "quarantined_by_reason": {refused: 1} if refused else {},
        "ends_with_newline": ends_with_newline,
        "last_line": last_line,
        "rows_per_second": 10.0,
    }
    return {"run_id": "R", "status": "success", "dbt_target": "duckdb", "lake_dir": "/lake",
            "files": {"title_ratings": stats},
            "ignored_files": ["notes.txt", "title.ratings.csv"]}  # fmt: skip


def _file_lines(rep: dict) -> list[str]:
    text = format_summary(rep)
    print(text)
    lines = text.splitlines()
    name = rep["files"]["title_ratings"]["source_file"]
    row = next(i for i, line in enumerate(lines) if line.strip().startswith(name))
    return lines[row:row + 3]


WRITTEN = {"line_number": 532, "written": True, "reason": None}
CUT = {"line_number": 532, "written": False, "reason": "field_count"}


@pytest.mark.parametrize(
    ("source_file", "last_line", "says", "never"),
    [
        ("title.ratings.tsv.gz", WRITTEN,
         "notice: no final newline; the last line passed every check and was written", "re-fetch"),
        ("title.ratings.tsv.gz", CUT, "NO FINAL NEWLINE: the last line (532) was refused (field_count): the "
         "download may have been cut; re-fetch this file", "notice"),
        ("title.ratings.tsv", WRITTEN, "uncompressed file cut inside its last field still looks valid: check "
         "that it is complete", "re-fetch"),
        ("title.ratings.tsv", CUT, "NO FINAL NEWLINE: the last line (532) was refused (field_count): "
         "the file may have been cut; check that it is complete, or re-fetch it", "notice"),
    ],
    ids=["gzip-written", "gzip-refused", "plain-written", "plain-refused"],
)
def test_no_final_newline_is_a_notice_and_a_refetch_only_when_the_last_line_was_refused(
    source_file: str, last_line: dict, says: str, never: str
) -> None:
    row, *notes = _file_lines(_report(source_file, last_line))
    assert row.split()[0] == source_file  # the name it was delivered under
    notice = next(line for line in notes if "final newline" in line.lower())
    assert says in notice and never not in notice


def test_a_whole_file_has_no_notice_and_ignored_files_are_listed() -> None:
    text = format_summary(_report("title.ratings.tsv.gz", None, ends_with_newline=True))
    assert "final newline" not in text.lower()
    assert "  ignored (not a file this product reads): notes.txt, title.ratings.csv" in text.splitlines()
