"""The run summary a person reads: source freshness is shown, and staleness only warns."""

from __future__ import annotations

from imdb_elt import report

HOURS_26_50 = {"warn_after": {"count": 26, "period": "hour"}, "error_after": {"count": 50, "period": "hour"}}
HOURS_26_DAYS_2 = {**HOURS_26_50, "error_after": {"count": 2, "period": "day"}}
SOURCES_JSON = {"results": [
    {"unique_id": "source.imdb_elt.imdb.title_basics", "status": "pass", "criteria": HOURS_26_50,
     "max_loaded_at": "2026-12-01T10:00:00", "max_loaded_at_time_ago_in_s": 2 * 3600.0},
    {"unique_id": "source.imdb_elt.kaggle.movie_metadata", "status": "warn", "criteria": HOURS_26_DAYS_2,
     "max_loaded_at": "2026-11-30T00:00:00", "max_loaded_at_time_ago_in_s": 30.5 * 3600},
    {"unique_id": "source.imdb_elt.imdb.title_akas", "status": "runtime error",
     "error": "Expected a non-null value\n..."},
    {"unique_id": "source.imdb_elt.imdb.title_crew", "status": "runtime error", "error": "connection reset"},
]}


def test_freshness_reads_each_sources_age_and_limits() -> None:
    fresh = report.freshness(SOURCES_JSON)
    assert fresh["imdb.title_basics"] == {
        "loaded_at": "2026-12-01T10:00:00", "age_hours": 2.0, "status": "pass",
        "warn_after_hours": 26.0, "error_after_hours": 50.0,
    }
    assert fresh["kaggle.movie_metadata"]["error_after_hours"] == 48.0
    assert fresh["imdb.title_crew"]["age_hours"] is None
    assert set(report.stale_sources(fresh)) == {"kaggle.movie_metadata", "imdb.title_akas", "imdb.title_crew"}
    # dbt could not run at all: the report says so instead of showing nothing.
    assert report.freshness({}, "RuntimeError: boom") == {"*": {"status": "runtime error",
                                                                "message": "RuntimeError: boom"}}


def test_the_summary_shows_ages_and_warns_about_stale_sources_without_failing() -> None:
    rep = {"run_id": "r1", "status": "success", "dbt_target": "duckdb",
           "freshness": report.freshness(SOURCES_JSON),
           "staged_rows": {"title_basics": 7, "movie_metadata": 5, "title_akas": 0, "title_crew": 4}}
    summary = report.format_summary(rep)
    print(summary)
    assert "status: SUCCESS" in summary
    assert "sources, hours since _loaded_at: imdb.title_basics 2.0, kaggle.movie_metadata 30.5" in summary
    assert ("WARNING stale source kaggle.movie_metadata: loaded 30.5 h ago (warn; warn after 26 h, "
            "error after 48 h)") in summary
    assert "WARNING source imdb.title_akas: empty (never delivered to this lake)" in summary
    assert "WARNING source imdb.title_crew: freshness not checked (connection reset)" in summary
    assert "title_basics" not in summary.split("WARNING", 1)[1]  # a fresh source is not a warning
