"""The permission tests' policy evaluator against AWS's documented evaluation rules (IAM User
Guide: "Policy evaluation logic", "IAM JSON policy elements": Action, NotAction, Resource,
NotResource, Condition, policy variables)."""

from __future__ import annotations

import pytest

from tests.infra.iam_eval import ALLOW, EXPLICIT_DENY, IMPLICIT_DENY, Request, evaluate

BUCKET = "arn:aws:s3:::lake"


def policy(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action, resource, **extra) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def test_nothing_allowed_is_an_implicit_deny() -> None:
    assert evaluate([], Request("s3:GetObject", f"{BUCKET}/a")) == IMPLICIT_DENY
    assert (
        evaluate([policy(allow("s3:PutObject", f"{BUCKET}/*"))], Request("s3:GetObject", f"{BUCKET}/a"))
        == IMPLICIT_DENY
    )


def test_an_explicit_deny_wins_over_any_allow_in_any_policy() -> None:
    deny = policy(
        {
            "Effect": "Deny",
            "Action": "s3:*",
            "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    )
    grant = policy(allow("s3:GetObject", f"{BUCKET}/*"))
    assert (
        evaluate([grant, deny], Request("s3:GetObject", f"{BUCKET}/a", {"aws:SecureTransport": "true"}))
        == ALLOW
    )
    assert (
        evaluate([grant, deny], Request("s3:GetObject", f"{BUCKET}/a", {"aws:SecureTransport": "false"}))
        == EXPLICIT_DENY
    )


@pytest.mark.parametrize(
    ("pattern", "action", "expected"),
    [
        ("s3:GetObject", "s3:getobject", ALLOW),  # actions are case-insensitive
        ("s3:Get*", "s3:GetObjectVersion", ALLOW),
        ("s3:Get?bject", "s3:GetObject", ALLOW),
        ("s3:Get?bject", "s3:GetObjject", IMPLICIT_DENY),
        ("glue:GetTable", "glue:GetTables", IMPLICIT_DENY),  # no implicit prefix match
    ],
)
def test_action_wildcards_and_case(pattern: str, action: str, expected: str) -> None:
    assert evaluate([policy(allow(pattern, "*"))], Request(action, f"{BUCKET}/a")) == expected


def test_resources_are_case_sensitive_and_wildcards_cross_slashes() -> None:
    p = [policy(allow("s3:GetObject", f"{BUCKET}/processed/*"))]
    assert evaluate(p, Request("s3:GetObject", f"{BUCKET}/processed/snapshots/S1/x.parquet")) == ALLOW
    assert evaluate(p, Request("s3:GetObject", f"{BUCKET}/Processed/x")) == IMPLICIT_DENY
    assert evaluate(p, Request("s3:GetObject", f"{BUCKET}/processed")) == IMPLICIT_DENY
    assert evaluate(p, Request("s3:GetObject", f"{BUCKET}/processed_old/x")) == IMPLICIT_DENY


def test_not_action_and_not_resource_match_everything_else() -> None:
    p = [policy({"Effect": "Allow", "NotAction": "iam:*", "NotResource": f"{BUCKET}/secret/*"})]
    assert evaluate(p, Request("s3:GetObject", f"{BUCKET}/a")) == ALLOW
    assert evaluate(p, Request("iam:PassRole", f"{BUCKET}/a")) == IMPLICIT_DENY
    assert evaluate(p, Request("s3:GetObject", f"{BUCKET}/secret/a")) == IMPLICIT_DENY


def test_conditions_and_or_missing_keys() -> None:
    statement = allow(
        "s3:ListBucket", BUCKET, Condition={"StringLike": {"s3:prefix": ["processed/*", "state/*"]}}
    )
    p = [policy(statement)]
    assert evaluate(p, Request("s3:ListBucket", BUCKET, {"s3:prefix": "state/x"})) == ALLOW  # values OR
    assert evaluate(p, Request("s3:ListBucket", BUCKET, {"s3:prefix": "reports/"})) == IMPLICIT_DENY
    assert evaluate(p, Request("s3:ListBucket", BUCKET)) == IMPLICIT_DENY  # missing key: false
    both = allow(
        "iam:PassRole",
        "*",
        Condition={
            "StringEquals": {
                "iam:PassedToService": "emr-serverless.amazonaws.com",
                "aws:RequestedRegion": "eu-west-1",
            }
        },
    )
    ok = {"iam:PassedToService": "emr-serverless.amazonaws.com", "aws:RequestedRegion": "eu-west-1"}
    assert evaluate([policy(both)], Request("iam:PassRole", "r", ok)) == ALLOW
    assert (
        evaluate([policy(both)], Request("iam:PassRole", "r", {**ok, "aws:RequestedRegion": "us-east-1"}))
        == IMPLICIT_DENY
    )  # keys AND
    # A failed condition on an Allow does not deny: another statement may still allow.
    assert evaluate([policy(both, allow("iam:PassRole", "r"))], Request("iam:PassRole", "r")) == ALLOW


def test_if_exists_and_null() -> None:
    s = allow("s3:GetObject", "*", Condition={"StringEqualsIfExists": {"s3:ExistingObjectTag/x": "1"}})
    assert evaluate([policy(s)], Request("s3:GetObject", "o")) == ALLOW
    assert (
        evaluate([policy(s)], Request("s3:GetObject", "o", {"s3:ExistingObjectTag/x": "2"})) == IMPLICIT_DENY
    )
    n = allow("s3:GetObject", "*", Condition={"Null": {"aws:TokenIssueTime": "false"}})
    assert evaluate([policy(n)], Request("s3:GetObject", "o")) == IMPLICIT_DENY
    assert evaluate([policy(n)], Request("s3:GetObject", "o", {"aws:TokenIssueTime": "t"})) == ALLOW


def test_policy_variables_come_from_the_request() -> None:
    s = allow(
        "redshift-data:DescribeStatement",
        "*",
        Condition={"StringEquals": {"redshift-data:statement-owner-iam-userid": "${aws:userid}"}},
    )
    mine = {"aws:userid": "AROAEXAMPLE:task", "redshift-data:statement-owner-iam-userid": "AROAEXAMPLE:task"}
    assert evaluate([policy(s)], Request("redshift-data:DescribeStatement", "*", mine)) == ALLOW
    other = {**mine, "redshift-data:statement-owner-iam-userid": "AROAOTHER:someone"}
    assert evaluate([policy(s)], Request("redshift-data:DescribeStatement", "*", other)) == IMPLICIT_DENY


def test_an_unknown_operator_is_refused_not_ignored() -> None:
    s = allow("s3:GetObject", "*", Condition={"NumericLessThan": {"s3:max-keys": "10"}})
    with pytest.raises(ValueError, match="not implemented"):
        evaluate([policy(s)], Request("s3:GetObject", "o", {"s3:max-keys": "5"}))
