"""Errors that abort a cleaning run before its _SPARK_DONE marker is written."""

from __future__ import annotations


class CleaningError(Exception):
    """A delivery the job refuses as a whole; the message names the file and the problem."""


class ThresholdExceeded(CleaningError):
    """Too large a share of one file's rows was quarantined (the quarantine is written)."""


def root_cause(exc: BaseException) -> str:
    """The last ``Caused by:`` line of a JVM error (the useful part), else its first line."""
    text = str(exc)
    causes = [line.strip() for line in text.splitlines() if line.strip().startswith("Caused by:")]
    if causes:
        return causes[-1].removeprefix("Caused by:").strip()
    first = next((line.strip() for line in text.splitlines() if line.strip()), type(exc).__name__)
    return first[:500]
