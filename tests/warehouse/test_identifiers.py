"""Identifiers and literals from configuration: allowlisted, quoted, hostile values refused."""

from __future__ import annotations

import pytest

from imdb_elt.warehouse.identifiers import (
    contains_access_key,
    qualified_name,
    quote_identifier,
    sql_string_literal,
    validate_iam_role_arn,
    validate_s3_uri,
)
from tests import fake_credentials as fake


@pytest.mark.parametrize("name", ["raw", "_x", "titleType", "a1_B2", "x" * 63])
def test_plain_identifiers_are_quoted(name: str) -> None:
    assert quote_identifier(name) == f'"{name}"'


@pytest.mark.parametrize(
    "name",
    ["raw; drop table x", '"a"', "x--", "", "1abc", "x" * 64, "a b", "a.b", "rät", "a\x00", "a'b", None],
)
def test_hostile_identifiers_raise(name: object) -> None:
    with pytest.raises(ValueError):
        quote_identifier(name)  # type: ignore[arg-type]


def test_qualified_name_validates_both_parts() -> None:
    assert qualified_name("raw", "title_basics") == '"raw"."title_basics"'
    with pytest.raises(ValueError):
        qualified_name("raw", 'x"; drop schema raw; --')


def test_role_arn_accepts_roles_and_chains_only() -> None:
    role = "arn:aws:iam::123456789012:role/service/imdb-copy"
    assert validate_iam_role_arn(role) == role
    chain = f"{role},arn:aws:iam::210987654321:role/lake-reader"
    assert validate_iam_role_arn(chain) == chain
    for bad in ["", "arn:aws:iam::123:role/x", "arn:aws:iam::123456789012:user/x", role + "'"]:
        with pytest.raises(ValueError):
            validate_iam_role_arn(bad)


@pytest.mark.parametrize(
    "secret",
    [
        fake.KEY_ID,
        fake.copy_credentials(),
        fake.SESSION_KEY_ID,
    ],
)
def test_access_keys_refused_without_echo(secret: str) -> None:
    assert contains_access_key(secret)
    with pytest.raises(ValueError, match="refused") as info:
        validate_iam_role_arn(secret)
    assert "IOSFODNN7" not in str(info.value) and "wJalr" not in str(info.value)


def test_s3_uris_and_literals() -> None:
    assert validate_s3_uri("s3://imdb-lake/processed/snapshots/S1/title_basics")
    for bad in ["s3://imdb-lake/x'y", "s3://Bad_Bucket/x", "/tmp/x", "s3://ab", "s3://imdb-lake/a b"]:
        with pytest.raises(ValueError):
            validate_s3_uri(bad)
    assert sql_string_literal("/tmp/it's") == "'/tmp/it''s'"
