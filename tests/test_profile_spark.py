"""`make profile`'s reading of a flight recording: which category a stack sample is charged to."""

from __future__ import annotations

from benchmarks.profile_spark import OTHER, _duration_s, _frame_name, category


def test_a_sample_goes_to_the_first_known_frame_from_the_leaf() -> None:
    regex_in_generated_code = [
        "java.util.regex.Pattern$Start.match",
        "java.util.regex.Matcher.find",
        "org.apache.spark.sql.catalyst.expressions.GeneratedClass$GeneratedIteratorForCodegenStage2.processNext",
        "org.apache.spark.executor.Executor$TaskRunner.run",
    ]
    assert category(regex_in_generated_code) == "regular expressions"
    # JDK frames above a Spark frame do not decide: the first library frame below them does.
    assert category(["java.lang.String.split", "org.apache.spark.unsafe.types.UTF8String.split"]) == (
        "UTF-8 string functions (split, contains, ...)"
    )
    assert category(["java.lang.Thread.run"]) == OTHER


def test_frames_and_durations_as_jfr_prints_them() -> None:
    frame = {"method": {"type": {"name": "org/apache/parquet/io/api/Binary"}, "name": "equals"}}
    assert _frame_name(frame) == "org.apache.parquet.io.api.Binary.equals"
    assert category([_frame_name(frame)]) == "Parquet encoding"
    assert _duration_s("PT0.012S") == 0.012
    assert _duration_s("PT1M2.5S") == 62.5
    assert _duration_s(None) == 0.0
