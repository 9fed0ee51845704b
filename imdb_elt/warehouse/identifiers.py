"""Validation and quoting of identifiers and literals that come from configuration.

Schema names, table names and IAM role ARNs reach SQL text through settings (environment
variables). Quoting alone is not enough against a hostile value, so every identifier is first
checked against a strict allowlist, then double-quoted; a value that does not match is refused
with ValueError rather than escaped.
"""

from __future__ import annotations

import re

#: Letters, digits and underscores, not starting with a digit, at most 63 characters
#: (PostgreSQL's limit; Redshift and DuckDB accept at least as much).
IDENTIFIER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")

#: One IAM role ARN; Redshift accepts a comma-separated chain of them (role chaining).
_ROLE_ARN = r"arn:aws[a-z-]*:iam::\d{12}:role/[A-Za-z0-9+=.@_/-]{1,512}"
IAM_ROLE_ARN_RE = re.compile(rf"^{_ROLE_ARN}(,{_ROLE_ARN})*$")

#: s3://bucket/key with a valid bucket name and no character that could end a SQL literal.
S3_URI_RE = re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[A-Za-z0-9!_.*()=/+,:@&$-]*)?$")

#: What static AWS credentials look like; they must never reach SQL text or logs.
ACCESS_KEY_RE = re.compile(
    r"A[KS]IA[0-9A-Z]{16}|aws_access_key_id|aws_secret_access_key|aws_session_token",
    re.IGNORECASE,
)


def validate_identifier(name: str) -> str:
    """Return ``name`` unchanged if it is a plain identifier, else raise ValueError."""
    if not isinstance(name, str) or not IDENTIFIER_RE.fullmatch(name):
        raise ValueError(
            f"invalid SQL identifier {name!r}: expected letters, digits and underscores "
            "(not starting with a digit, at most 63 characters)"
        )
    return name


def quote_identifier(name: str) -> str:
    """Validate then double-quote one identifier (quoting keeps catalogue case, e.g. titleType)."""
    return f'"{validate_identifier(name)}"'


def qualified_name(schema: str, table: str) -> str:
    """``"schema"."table"`` with both parts validated."""
    return f"{quote_identifier(schema)}.{quote_identifier(table)}"


def contains_access_key(text: str) -> bool:
    """True if ``text`` looks like it carries static AWS credentials."""
    return bool(ACCESS_KEY_RE.search(text))


def validate_iam_role_arn(value: str) -> str:
    """Return the role ARN (or role chain) if valid; refuse access keys explicitly.

    Redshift COPY also accepts ``CREDENTIALS 'aws_access_key_id=...;aws_secret_access_key=...'``;
    this project never renders that form, and a configured key is an error, not a fallback.
    """
    if not value:
        raise ValueError("no IAM role ARN configured for Redshift COPY (REDSHIFT_IAM_ROLE_ARN)")
    if contains_access_key(value):
        # The message must not echo the value: it may hold a secret.
        raise ValueError(
            "static AWS access keys are refused for Redshift COPY; configure an IAM role ARN "
            "(REDSHIFT_IAM_ROLE_ARN) attached to the cluster instead"
        )
    if not IAM_ROLE_ARN_RE.fullmatch(value):
        raise ValueError(
            "invalid IAM role ARN for Redshift COPY: expected arn:aws:iam::<account>:role/<name>"
        )
    return value


def validate_s3_uri(uri: str) -> str:
    """Return the S3 URI if it is safe to embed in a SQL string literal, else raise ValueError."""
    if not isinstance(uri, str) or not S3_URI_RE.fullmatch(uri):
        raise ValueError(f"invalid S3 URI {uri!r}: expected s3://bucket/prefix without quotes")
    return uri


def sql_string_literal(value: str) -> str:
    """Single-quoted SQL literal with embedded quotes doubled (for local file paths)."""
    if "\x00" in value:
        raise ValueError("NUL byte in SQL literal")
    return "'" + value.replace("'", "''") + "'"
