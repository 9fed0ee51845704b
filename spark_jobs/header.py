"""Header check: a delivery whose first line is not the catalogue header is refused whole.

A changed layout (renamed, added, missing or reordered column, other delimiter) would make every
row land in the wrong column, so it is an error naming the file, never a per-row quarantine.
"""

from __future__ import annotations

from imdb_elt.catalog import RawInput
from spark_jobs.errors import CleaningError

_DELIMITERS = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe"}


def expected_delimiter(raw: RawInput) -> str:
    return "," if raw.fmt == "kaggle_csv" else "\t"


def check_header(line: str, raw: RawInput, name: str | None = None) -> None:
    """Raise CleaningError unless ``line`` (trailing "\\r" allowed) is exactly the catalogue header.

    ``name``: the file as delivered (``title.ratings.tsv``), named in the error; default the
    catalogue's name.
    """
    line = line.removesuffix("\r")
    delim = expected_delimiter(raw)
    expected = list(raw.header)
    got = line.split(delim)
    if got == expected:
        return
    name = name or raw.file_name
    if len(got) == 1 and len(expected) > 1:
        for other, label in _DELIMITERS.items():
            if other != delim and len(line.split(other)) > 1:
                raise CleaningError(
                    f"{name}: wrong delimiter: the header looks {label}-separated, "
                    f"expected {_DELIMITERS[delim]}-separated columns {expected}"
                )
    missing = [c for c in expected if c not in got]
    added = [c for c in got if c not in expected]
    problems = []
    if missing:
        problems.append(f"missing column(s) {missing}")
    if added:
        problems.append(f"unexpected column(s) {added}")
    if not problems and len(got) != len(expected):
        problems.append(f"repeated column(s): got {got}")
    if not problems:
        moved = [e for e, g in zip(expected, got, strict=False) if e != g]
        problems.append(f"columns out of order (first difference: {moved[:3]}); got {got}")
    raise CleaningError(f"{name}: header drift: {'; '.join(problems)}")
