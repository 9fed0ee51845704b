"""The run summary tells an operator which delivery was cut and must be fetched again."""

from __future__ import annotations

from imdb_elt.report import format_summary


def _report(ends_with_newline: bool) -> dict:
    stats = {
        "source_file": "title.ratings.tsv.gz",
        "rows_read": 3,
        "rows_written": 2,
        "rows_deduplicated": 0,
        "rows_quarantined": 1,
        "quarantined_by_reason": {"partial_line": 1} if not ends_with_newline else {},
        "ends_with_newline": ends_with_newline,
        "rows_per_second": 10.0,
    }
    return {"run_id": "R", "status": "success", "dbt_target": "duckdb", "lake_dir": "/lake",
            "files": {"title_ratings": stats}}  # fmt: skip


def test_summary_names_a_file_without_final_newline() -> None:
    cut = format_summary(_report(False))
    print(cut)
    lines = cut.splitlines()
    row = next(i for i, line in enumerate(lines) if "title.ratings.tsv.gz" in line)
    assert "partial_line=1" in lines[row + 1]
    assert "NO FINAL NEWLINE" in lines[row + 2] and "re-fetch" in lines[row + 2]
    assert "NO FINAL NEWLINE" not in format_summary(_report(True))
