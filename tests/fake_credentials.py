"""Fake credentials for the tests that prove keys are refused and never echoed.

Assembled at run time, so that no credential-shaped string is ever committed (and a repository
scan for access keys stays meaningful without an allowlist for these tests).
"""

from __future__ import annotations

KEY_ID = "AK" + "IA" + "FAKEFAKEFAKEFAKE"
SESSION_KEY_ID = "AS" + "IA" + "FAKEFAKEFAKEFAKE"
SECRET = "fake" * 10
#: A database password: long and odd enough that it appears in a text only if it leaked there.
PASSWORD = "pw-" + "f4ke" * 4 + "-not-a-secret"
#: Alert channel secrets (tests/fixtures/alert_receivers.py): a webhook's token, an SMTP password.
WEBHOOK_TOKEN = "T0FAKE/B0FAKE/" + "f4ke" * 6
SMTP_PASSWORD = "pw-" + "smtp-" + "f4ke" * 4


def copy_credentials(key_id: str = KEY_ID, secret: str = SECRET) -> str:
    """The CREDENTIALS string Redshift COPY would accept, which the project must refuse."""
    return f"aws_access_key_id={key_id};aws_{'secret'}_access_key={secret}"


def environment() -> dict[str, str]:
    """Every secret a deployment may hand the pipeline through its environment, faked."""
    return {
        "AWS_ACCESS_KEY_ID": KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_SESSION_TOKEN": "token-" + SECRET,
        "PGPASSWORD": PASSWORD,
        "REDSHIFT_PASSWORD": PASSWORD,
    }

