"""Create a synthesised template in moto's CloudFormation (inside ``mock_aws``).

moto builds what it models (S3 buckets, IAM roles and their inline policies, the VPC, subnets,
security groups, endpoints) and cannot build EMR Serverless, Redshift Serverless, MWAA, a Glue
database or bucket policies (and fails on a flow log). Those resources are taken out of the
template first, and every ``Ref`` / ``Fn::GetAtt`` to them is replaced by a stand-in value of the right shape
(``stand_in``), so that the outputs and policies that name them still resolve. The permission
tests use the same stand-ins for the resources the recorded calls address.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from moto.cloudformation.parsing import get_model_map
from moto.core import DEFAULT_ACCOUNT_ID

ACCOUNT = DEFAULT_ACCOUNT_ID
APPLICATION_ID = "00imdbeltspark01"
WORKGROUP_ID = "0e1d2c3b-4a59-6877-8695-a4b3c2d1e0f9"


def stand_in(resource_type: str, properties: dict[str, Any], attribute: str | None, region: str) -> str:
    """The value AWS would give a Ref (``attribute`` None) or Fn::GetAtt of a resource moto skips."""
    if resource_type == "AWS::EMRServerless::Application":
        if attribute == "Arn":
            return f"arn:aws:emr-serverless:{region}:{ACCOUNT}:/applications/{APPLICATION_ID}"
        return APPLICATION_ID
    if resource_type == "AWS::RedshiftServerless::Workgroup":
        name = properties["WorkgroupName"]
        return {
            "Workgroup.WorkgroupArn": (
                f"arn:aws:redshift-serverless:{region}:{ACCOUNT}:workgroup/{WORKGROUP_ID}"
            ),
            "Workgroup.WorkgroupId": WORKGROUP_ID,
            "Workgroup.Endpoint.Address": f"{name}.{ACCOUNT}.{region}.redshift-serverless.amazonaws.com",
        }.get(attribute or "", name)
    if resource_type == "AWS::RedshiftServerless::Namespace":
        return properties["NamespaceName"]
    if resource_type == "AWS::Glue::Database":
        return properties["DatabaseInput"]["Name"]
    return f"stand-in-{resource_type.split('::')[-1].lower()}-{attribute or 'ref'}"


#: Types moto models but fails to create from a template: a tagged S3 flow log (moto 5.2.5's
#: flow log model indexes an empty list when the log is created by CloudFormation).
FAILS_IN_MOTO = {"AWS::EC2::FlowLog"}


def unsupported(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    models = get_model_map()
    return {
        lid: r
        for lid, r in template["Resources"].items()
        if r["Type"] not in models or r["Type"] in FAILS_IN_MOTO
    }


def for_moto(template: dict[str, Any], region: str) -> dict[str, Any]:
    """The template without the resources moto cannot build, references to them replaced."""
    skipped = unsupported(template)

    def replace(node: Any) -> Any:
        if isinstance(node, dict):
            if set(node) == {"Ref"} and node["Ref"] in skipped:
                r = skipped[node["Ref"]]
                return stand_in(r["Type"], r.get("Properties", {}), None, region)
            if set(node) == {"Fn::GetAtt"} and node["Fn::GetAtt"][0] in skipped:
                r = skipped[node["Fn::GetAtt"][0]]
                return stand_in(r["Type"], r.get("Properties", {}), node["Fn::GetAtt"][1], region)
            return {k: replace(v) for k, v in node.items()}
        if isinstance(node, list):
            return [replace(v) for v in node]
        return node

    result = copy.deepcopy(template)
    result["Resources"] = {lid: r for lid, r in result["Resources"].items() if lid not in skipped}
    for resource in result["Resources"].values():
        depends = resource.get("DependsOn")
        if depends:
            kept = [d for d in ([depends] if isinstance(depends, str) else depends) if d not in skipped]
            resource["DependsOn"] = kept if kept else None
            if not kept:
                del resource["DependsOn"]
    return replace(result)


def deploy(template: dict[str, Any], stack_name: str, region: str) -> dict[str, str]:
    """Create the stack in moto's CloudFormation; return its outputs {key: value}."""
    import boto3

    cfn = boto3.client("cloudformation", region_name=region)
    cfn.create_stack(
        StackName=stack_name,
        TemplateBody=json.dumps(for_moto(template, region)),
        Capabilities=["CAPABILITY_NAMED_IAM"],
    )
    [stack] = cfn.describe_stacks(StackName=stack_name)["Stacks"]
    if stack["StackStatus"] != "CREATE_COMPLETE":
        raise RuntimeError(f"moto could not create {stack_name}: {stack['StackStatus']}")
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
