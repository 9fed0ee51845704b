"""cdk-nag (AwsSolutions) and cfn-lint on every synthesised template, each with a control that
shows the check finds what it should."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import aws_cdk as cdk
import cdk_nag
from aws_cdk import aws_s3 as s3
from cfnlint.api import ManualArgs, lint

from infra import nag
from infra.app import unsuppressed_findings
from tests.infra.conftest import Synth


def test_cdk_nag_finds_nothing_unsuppressed(synth: Synth) -> None:
    assert synth.findings == []
    report = next(synth.directory.glob("AwsSolutions-*NagReport.csv")).read_text()
    assert "Non-Compliant" not in report and '"Suppressed"' in report


def test_every_suppression_gives_its_reason_and_none_is_of_an_action_wildcard_on_our_roles() -> None:
    source = Path(nag.__file__).read_text()
    tree = ast.parse(source)
    calls = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "NagPackSuppression"
    ]
    assert calls  # every suppression is a NagPackSuppression(...) with a reason of substance
    for call in calls:
        reason = next(k.value for k in call.keywords if k.arg == "reason")
        text = ast.literal_eval(reason) if isinstance(reason, ast.Constant | ast.JoinedStr) else None
        assert text is None or len(text) > 40
    for constant in (nag.OBJECTS_REASON, nag.GLUE_REASON, nag.JOB_RUNS_REASON, nag.NO_RESOURCE_TYPE_REASON):
        assert len(constant) > 40


def test_cdk_nag_does_find_an_unsafe_bucket(tmp_path: Path) -> None:
    """The control: the same checks on a default bucket (no TLS rule, no access logs)."""
    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(
        app, "Control", synthesizer=cdk.DefaultStackSynthesizer(generate_bootstrap_version_rule=False)
    )
    s3.Bucket(stack, "Unsafe")
    cdk.Aspects.of(app).add(cdk_nag.AwsSolutionsChecks(reports=False))
    found = unsuppressed_findings(app.synth())
    assert any("AwsSolutions-S1" in f for f in found) and any("AwsSolutions-S10" in f for f in found)


#: Regions the templates are linted for: where every service of the stack (MWAA included) exists.
#: (MWAA is missing from a few regions, GovCloud among them: cfn-lint says so for those.)
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"]


def _lint(text: str) -> list:
    return lint(text, config=ManualArgs(regions=REGIONS))


def test_cfn_lint_finds_no_error_in_any_template(synth: Synth) -> None:
    templates = [
        synth.directory / "ImdbElt.template.json",
        synth.mwaa_directory / "ImdbElt.template.json",
        synth.mwaa_directory / "ImdbEltAirflow.template.json",
    ]
    for path in templates:
        matches = _lint(path.read_text())
        # No error and no warning; informational notes (I1022: Fn::Sub reads better than the
        # Fn::Join the CDK writes; I4010: no architecture metadata block) are not findings.
        assert [
            f"{m.rule.id} {m.message}" for m in matches if m.rule.severity in ("error", "warning")
        ] == [], path.name


def test_cfn_lint_does_find_a_broken_template(synth: Synth) -> None:
    broken = json.loads(json.dumps(synth.template))
    [workgroup] = [
        r for r in broken["Resources"].values() if r["Type"] == "AWS::RedshiftServerless::Workgroup"
    ]
    workgroup["Properties"]["PubliclyAccessible"] = "maybe"
    workgroup["Properties"]["NoSuchProperty"] = 1
    errors = [m.rule.id for m in _lint(json.dumps(broken)) if m.rule.severity == "error"]
    assert "E3002" in errors and "E3012" in errors
