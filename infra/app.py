"""The CDK app: ``python -m infra.app`` (``make synth``) writes the templates to infra/cdk.out/.

Offline: no AWS account, no network, no lookup. The synthesizer adds no bootstrap-version
parameter or rule, so the templates deploy as they are (CloudFormation console, ``aws
cloudformation deploy``, or ``cdk deploy`` through ``make deploy-infra``). cdk-nag's AwsSolutions
checks run on every synth; a finding without a suppression (infra/nag.py) fails it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import aws_cdk as cdk
import cdk_nag

from imdb_elt import config
from infra.airflow_stack import ImdbEltAirflowStack
from infra.nag import suppress
from infra.options import InfraOptions
from infra.stack import ImdbEltStack

OUT_DIR = Path(__file__).resolve().parent / "cdk.out"
#: CDK feature flags the stack relies on (set here so that Python and the CDK CLI agree).
FEATURE_FLAGS = {
    # Server access logs are delivered by bucket policy, not the legacy log-delivery ACL (which
    # needs ACLs enabled on the logs bucket).
    "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": True,
}


def build(
    context: dict | None = None,
    outdir: str | os.PathLike[str] | None = None,
    settings: config.Settings | None = None,
) -> tuple[cdk.App, list[cdk.Stack]]:
    """The app with its stacks and cdk-nag attached (not yet synthesised)."""
    # The CDK CLI passes its output folder in CDK_OUTDIR; run by Python, the app writes infra/cdk.out.
    app = cdk.App(
        context={**FEATURE_FLAGS, **(context or {})},
        outdir=str(outdir) if outdir else (None if os.environ.get("CDK_OUTDIR") else str(OUT_DIR)),
    )
    options = InfraOptions.from_context(app.node.try_get_context)
    synthesizer = cdk.DefaultStackSynthesizer(generate_bootstrap_version_rule=False)
    base = ImdbEltStack(
        app, "ImdbElt", settings=settings or config.load(), options=options, synthesizer=synthesizer
    )
    stacks: list[cdk.Stack] = [base]
    if options.mwaa:
        stacks.append(
            ImdbEltAirflowStack(
                app,
                "ImdbEltAirflow",
                base=base,
                synthesizer=cdk.DefaultStackSynthesizer(generate_bootstrap_version_rule=False),
            )
        )
    for stack in stacks:
        suppress(stack)
    cdk.Aspects.of(app).add(cdk_nag.AwsSolutionsChecks(reports=True, verbose=True))
    return app, stacks


def unsuppressed_findings(assembly: cdk.cx_api.CloudAssembly) -> list[str]:
    """cdk-nag's errors and warnings left after the suppressions, as "construct: message" lines
    (read from each stack's metadata file, where the CDK writes annotations)."""
    found = []
    for stack in assembly.stacks:
        metadata = Path(assembly.directory) / f"{stack.id}.metadata.json"
        entries = json.loads(metadata.read_text()) if metadata.is_file() else {}
        for path, items in entries.items():
            found += [
                f"{path}: {item['data'].strip()}"
                for item in items
                if item["type"] in ("aws:cdk:error", "aws:cdk:warning")
                and "AwsSolutions-" in str(item["data"])
            ]
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.app", description=__doc__.splitlines()[0])
    parser.add_argument(
        "-c",
        "--context",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="CDK context (infra/options.py), as `cdk -c`",
    )
    args = parser.parse_args(argv)
    context = dict(item.split("=", 1) for item in args.context)
    app, _ = build(context=context)
    assembly = app.synth()
    findings = unsuppressed_findings(assembly)
    for line in findings:
        print(line, file=sys.stderr)
    print(
        f"synthesised {', '.join(s.stack_name for s in assembly.stacks)} into {assembly.directory}"
        + (f"; {len(findings)} cdk-nag finding(s) not suppressed" if findings else "; cdk-nag: clean")
    )
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
