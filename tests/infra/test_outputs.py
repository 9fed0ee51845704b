"""One command turns the deployed stack's outputs into what the DAG reads: `python -m
infra.outputs` (an environment file, or MWAA's startup script). The outputs are settings that
imdb_elt/config.py reads, and the settings they give configure the production path."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from imdb_elt import alerts, config, spark_submit
from imdb_elt.config import REPO_ROOT
from imdb_elt.warehouse.redshift_data import target_params
from imdb_elt.warehouse.redshift_loader import redshift_options
from infra import outputs
from tests.fixtures.aws import REGION
from tests.infra.conftest import Synth
from tests.infra.moto_stack import deploy


def names_config_reads() -> set[str]:
    """Every environment variable imdb_elt/config.py reads (``_env("NAME", ...)``, ``_flag``)."""
    tree = ast.parse(Path(config.__file__).read_text())
    return {
        n.args[0].value
        for n in ast.walk(tree)
        if isinstance(n, ast.Call)
        and getattr(n.func, "id", "") in ("_env", "_flag")
        and n.args
        and isinstance(n.args[0], ast.Constant)
    }


def test_every_output_is_a_setting_the_project_reads() -> None:
    assert set(outputs.SETTINGS) <= names_config_reads()
    assert len(set(map(outputs.output_key, outputs.SETTINGS))) == len(outputs.SETTINGS)  # keys unique


@pytest.fixture
def stack(synth: Synth, mocked_aws: None) -> dict[str, str]:
    return deploy(synth.template, "imdb-elt", REGION)


def test_the_env_file_configures_the_production_path(stack, capsys, monkeypatch) -> None:
    assert outputs.main(["--stack", "imdb-elt", "--region", REGION]) == 0
    lines = capsys.readouterr().out.splitlines()
    values = dict(line.split("=", 1) for line in lines)
    assert list(values) == list(outputs.SETTINGS)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    settings = config.load()
    assert settings.raw_dir == stack["ImdbRawDir"] and settings.lake_dir == stack["ImdbLakeDir"]
    assert settings.processed_dir == f"{stack['ImdbLakeDir']}/processed"
    assert (settings.spark_mode, settings.dbt_target, settings.redshift_staging) == (
        "emr-serverless",
        "redshift",
        "copy",
    )
    assert settings.emr_release.spark == config.EMR_RELEASES[config.DEFAULT_EMR_RELEASE_LABEL].spark
    assert spark_submit.job_arguments(settings, {"run_id": "S1", "new_deliveries": ["title.ratings.tsv.gz"]})[
        :4
    ] == ["--raw-dir", stack["ImdbRawDir"], "--lake-dir", stack["ImdbLakeDir"]]
    assert settings.alert_sns_topic_arn == stack["ImdbAlertSnsTopicArn"] and list(
        alerts.channels(settings)
    ) == ["sns"]
    options = redshift_options(settings)  # the role ARN is valid, no key anywhere
    assert target_params(options) == {"Database": "dev", "WorkgroupName": "imdb-elt"}  # the caller's identity


def test_the_startup_script_exports_the_same_values(stack, capsys, tmp_path) -> None:
    outputs.main(["--stack", "imdb-elt", "--region", REGION, "--format", "shell"])
    script = tmp_path / "startup.sh"
    script.write_text(capsys.readouterr().out)
    shown = subprocess.run(
        ["sh", "-c", f". {script} && env"],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": os.environ["PATH"]},
    ).stdout
    exported = dict(
        line.split("=", 1) for line in shown.splitlines() if line.split("=", 1)[0] in outputs.SETTINGS
    )
    assert exported == outputs.settings_from_outputs(stack)


def test_the_cdk_cli_outputs_file_gives_the_same(stack, tmp_path, capsys) -> None:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({"imdb-elt": stack}))
    outputs.main(["--stack", "imdb-elt", "--outputs-file", str(path)])
    assert capsys.readouterr().out == outputs.render(outputs.settings_from_outputs(stack), "env")


def test_a_stack_without_an_output_is_refused() -> None:
    with pytest.raises(SystemExit, match="REDSHIFT_HOST"):
        outputs.settings_from_outputs(
            {outputs.output_key(n): "x" for n in outputs.SETTINGS if n != "REDSHIFT_HOST"}
        )


def test_every_context_key_is_documented() -> None:
    """docs/deployment.md's table of deploy-time choices names every key of infra.options."""
    from dataclasses import fields

    from infra.options import InfraOptions

    text = (REPO_ROOT / "docs" / "deployment.md").read_text()
    table = text.split("## Choices at deploy time", 1)[1].split("\n## ", 1)[0]
    documented = {
        key
        for line in table.splitlines()
        if line.startswith("| `")
        for key in re.findall(r"`([a-z_]+)`", line.split("|")[1])
    }
    assert documented == {f.name for f in fields(InfraOptions) if f.name != "extra"}
