"""Check 14: no credential in code, SQL, rendered COPY statements, run logs or reports.

The scanner looks for what a leaked secret looks like (an AWS access key id, a secret key or a
password with a literal value), not for the word "password": configuration by env_var() and
${...} references is how secrets are meant to reach the tools.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from imdb_elt.config import REPO_ROOT
from tests import fake_credentials as fake

LEAK_PATTERNS: dict[str, re.Pattern[str]] = {
    "aws_access_key_id": re.compile(r"(?<![A-Z0-9])A[KS]IA[0-9A-Z]{16}(?![A-Z0-9])"),
    "aws_secret_literal": re.compile(
        r"aws_secret_access_key[\"']?\s*[=:]\s*[\"']?[A-Za-z0-9/+]{16,}", re.IGNORECASE
    ),
    # password: "literal" / password='literal' (not "{{ env_var(...) }}", not ${VAR})
    "password_literal": re.compile(
        r"(?:password|passwd)[\"']?\s*[=:]\s*[\"'](?![{$])[^\"'\s]{4,}[\"']", re.IGNORECASE
    ),
    # libpq / JDBC / SQLAlchemy style: password=secret or scheme://user:secret@host
    "dsn_password": re.compile(r"\bpassword=(?![{$%])[^\s\"'&;{}()]{4,}(?=[\s&;\"']|$)|://[^/\s:@]+:[^/\s:@{$]{4,}@"),
    # Alert channels: a Slack incoming webhook's URL is its own secret (imdb_elt/alerts.py reads
    # it from an Airflow connection, never from a file).
    "slack_webhook": re.compile(r"hooks\.slack\.com/services/[A-Za-z0-9]+/[A-Za-z0-9]+/[A-Za-z0-9]{8,}"),
}

#: Files that deliberately hold fake credentials to prove they are refused (exact paths only).
ALLOWLIST: dict[str, str] = {
    "tests/warehouse/test_warehouse_redshift.py": "moto's placeholder client credentials",
    "tests/airflow/test_aws_paths.py": "moto's placeholder credentials",
    "tests/dbt/test_dbt_postgres.py": "PGPASSWORD 'unused' for a trust-authenticated throwaway server",
    "tests/fixtures/postgres.py": "PGPASSWORD 'unused' for a trust-authenticated throwaway server",
    "tests/reliability/test_secrets.py": "the scanner's own patterns and the fakes that prove it can fail",
}

TEXT_SUFFIXES = {
    ".py", ".sql", ".yml", ".yaml", ".md", ".toml", ".cfg", ".ini", ".txt", ".json", ".sh", ".lock",
    ".csv", ".env", ".conf", "",
}


def find_leaks(text: str) -> list[str]:
    """Names of the patterns found, each with the matched text masked (never print a secret)."""
    found = []
    for name, pattern in LEAK_PATTERNS.items():
        for match in pattern.finditer(text):
            value = match.group(0)
            found.append(f"{name}: {value[:6]}…({len(value)} chars)")
    return found


def repository_text_files() -> list[str]:
    """Tracked files plus the new ones not ignored (the lead commits them next)."""
    names = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT, capture_output=True, text=True, check=True,
    ).stdout.splitlines()
    return [n for n in names if Path(n).suffix in TEXT_SUFFIXES and (REPO_ROOT / n).is_file()]


def test_scanner_catches_what_a_leak_looks_like():
    # Built at run time so that this file itself holds no key-shaped literal.
    assert find_leaks(f"creds {fake.KEY_ID} here")
    assert find_leaks(f"aws_{'secret'}_access_key = {fake.SECRET}")
    assert find_leaks('password: "' + "hunter22" + '"')
    assert find_leaks("host=db password=" + "hunter22" + " user=x")
    assert find_leaks("postgresql://etl:" + "hunter22" + "@db:5432/imdb")
    # Alert channel secrets: a webhook URL, an SMTP login in a connection URI or JSON.
    assert find_leaks("https://hooks.slack.com/services/" + "T0ABCDEF/B0ABCDEF/" + "a1b2c3d4e5f6")
    assert find_leaks("AIRFLOW_CONN_SMTP_DEFAULT=smtp://alerts:" + "hunter22" + "@mail:587")
    assert find_leaks('{"conn_type": "smtp", "password": "' + "hunter22" + '"}')
    # References are how secrets are meant to arrive: not leaks.
    assert not find_leaks("password: \"{{ env_var('PGPASSWORD', '') }}\"")
    assert not find_leaks("password=${REDSHIFT_PASSWORD}")
    assert not find_leaks("REDSHIFT_IAM_ROLE_ARN=arn:aws:iam::123456789012:role/copy")
    assert not find_leaks("IMDB_ALERT_SLACK_CONN_ID=imdb_alerts_slack")


def test_no_credential_in_the_repository():
    files = repository_text_files()
    leaks = {}
    for name in files:
        if name in ALLOWLIST:
            continue
        text = (REPO_ROOT / name).read_text(encoding="utf-8", errors="replace")
        hits = find_leaks(text)
        if hits:
            leaks[name] = hits
    print(f"\nsecret scan: {len(files)} repository text files, {len(ALLOWLIST)} allowlisted by path, "
          f"{len(leaks)} with a leak")
    assert not leaks, leaks
    missing = [p for p in ALLOWLIST if not (REPO_ROOT / p).exists()]
    assert not missing, f"allowlisted paths that no longer exist (remove them): {missing}"


def test_rendered_copy_statements_carry_a_role_never_a_key():
    from imdb_elt.warehouse.redshift_loader import render_stage_statements

    datasets = {"title_basics": "s3://imdb-lake/processed/snapshots/S/title_basics"}
    role = "arn:aws:iam::123456789012:role/imdb-copy"
    sql = ";\n".join(render_stage_statements("raw", datasets, role))
    assert "IAM_ROLE 'arn:aws:iam::123456789012:role/imdb-copy'" in sql
    assert not find_leaks(sql) and "CREDENTIALS" not in sql.upper()
    with pytest.raises(ValueError) as refused:
        render_stage_statements("raw", datasets, fake.copy_credentials())
    assert fake.KEY_ID not in str(refused.value) and fake.SECRET not in str(refused.value)


def find_values(data: bytes, secrets: dict[str, str]) -> list[str]:
    """The variables whose exact value appears in ``data`` (named, never echoed)."""
    return sorted(name for name, value in secrets.items() if value.encode() in data)


def written_by_the_run(site) -> dict[str, bytes]:
    """Everything the run left: its output aside, every file of the lake (reports, manifests,
    Parquet, ledger), its Spark and dbt logs, dbt's artifacts and the warehouse file itself."""
    found = {}
    for root in (site.lake, site.logs, site.dbt_target, site.db.parent):
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            found[str(path.relative_to(site.lake.parent))] = path.read_bytes()
    return found


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_no_credential_in_run_logs_or_reports(baseline):
    """The baseline run had fake AWS keys and database passwords in its environment, as a
    deployment hands them over: none of those values may appear in anything it wrote."""
    secrets = baseline["secrets"]
    files = written_by_the_run(baseline["site"])
    texts = {"pipeline output": baseline["out"].encode(), **files}
    kinds = {"reports": "reports/", "Spark/dbt logs": "logs/", "dbt artifacts": "dbt_target/"}
    for kind, prefix in kinds.items():
        assert any(prefix in name for name in files), f"the run wrote no {kind}: nothing was scanned"
    leaked = {name: found for name, data in texts.items() if (found := find_values(data, secrets))}
    shaped = {name: hits for name, data in texts.items() if name.endswith((".json", ".log", "output"))
              if (hits := find_leaks(data.decode(errors="replace")))}
    print(f"\nsecret scan of a run with {len(secrets)} fake secrets in its environment "
          f"({', '.join(sorted(secrets))}): {len(texts)} outputs, logs, artifacts and files, "
          f"{sum(len(d) for d in texts.values()):,} bytes; {len(leaked)} hold a secret's value, "
          f"{len(shaped)} a credential-shaped string")
    assert not leaked, leaked
    assert not shaped, shaped


def test_the_value_scan_finds_a_secret_wherever_it_lands():
    """The scan of a run can fail: a secret echoed into a log, a report or a binary file is found."""
    secrets = fake.environment()
    assert find_values(f"connecting with {fake.SECRET}\n".encode(), secrets) == ["AWS_SECRET_ACCESS_KEY"]
    assert find_values(b"\x00PAR1" + fake.PASSWORD.encode() + b"\x00", secrets) == [
        "PGPASSWORD", "REDSHIFT_PASSWORD"]
    assert find_values(b"nothing here", secrets) == []
