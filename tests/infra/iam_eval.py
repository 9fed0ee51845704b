"""An IAM policy evaluator for the permission tests, following AWS's documented evaluation logic
for one account ("Policy evaluation logic", IAM User Guide):

1. an explicit Deny in any applicable policy wins;
2. else an Allow from any applicable statement allows;
3. else the request is implicitly denied.

A statement applies when its Action (or NotAction) matches the action, its Resource (or
NotResource) matches the resource, and every condition holds. Matching as AWS documents it:
actions case-insensitively, resources case-sensitively, ``*`` any run of characters and ``?``
any one character in both; policy variables (``${aws:userid}``) are replaced by the request's
values. Conditions: several operators are ANDed, several keys within an operator are ANDed,
several values for a key are ORed; a key the request lacks makes the condition false (except
``...IfExists`` operators and ``Null``). Operators implemented: String(Not)Equals, String(Not)Like,
ArnEquals, ArnLike, Bool, Null, each with IfExists. An unknown operator raises: the tests must not
pass on a condition nobody evaluated.

moto's own evaluator (moto.iam.access_control) does not fit: it matches actions case-sensitively,
ignores ``?``, NotResource and policy variables, and returns Deny when an Allow's condition fails.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

ALLOW, EXPLICIT_DENY, IMPLICIT_DENY = "Allow", "ExplicitDeny", "ImplicitDeny"


@dataclass(frozen=True)
class Request:
    action: str
    resource: str
    context: Mapping[str, str | list[str]] = field(default_factory=dict)


@lru_cache(maxsize=4096)
def _pattern(text: str, case_sensitive: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in text)
    return re.compile(f"^{body}$", 0 if case_sensitive else re.IGNORECASE | re.DOTALL)


def wildcard_match(pattern: str, value: str, *, case_sensitive: bool) -> bool:
    return bool(_pattern(pattern, case_sensitive).match(value))


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


_VARIABLE = re.compile(r"\$\{([^}]+)\}")


def substitute(text: str, context: Mapping[str, Any]) -> str:
    """Replace policy variables; one the request lacks leaves the text unmatchable (AWS: the
    statement does not apply)."""

    def value(m: re.Match[str]) -> str:
        found = context.get(m.group(1))
        return str(found) if found is not None else "\x00missing\x00"

    return _VARIABLE.sub(value, text)


def _matches_any(
    patterns: Iterable[str], value: str, context: Mapping[str, Any], *, case_sensitive: bool
) -> bool:
    return any(wildcard_match(substitute(p, context), value, case_sensitive=case_sensitive) for p in patterns)


def _string_op(op: str, expected: str, actual: str) -> bool:
    if op in ("StringEquals", "ArnEquals"):
        return expected == actual
    if op in ("StringLike", "ArnLike"):
        return wildcard_match(expected, actual, case_sensitive=True)
    if op == "StringEqualsIgnoreCase":
        return expected.lower() == actual.lower()
    if op == "Bool":
        return expected.lower() == str(actual).lower()
    raise ValueError(f"condition operator {op} is not implemented by this evaluator")


def condition_holds(operator: str, key: str, expected: Any, context: Mapping[str, Any]) -> bool:
    op = operator
    if_exists = op.endswith("IfExists")
    if if_exists:
        op = op[: -len("IfExists")]
    actual = context.get(key)
    if op == "Null":
        return (actual is None) == (str(_as_list(expected)[0]).lower() == "true")
    if actual is None:
        return if_exists
    negated = op in ("StringNotEquals", "StringNotLike", "ArnNotEquals", "ArnNotLike")
    base = op.replace("Not", "") if negated else op
    values = [substitute(str(e), context) for e in _as_list(expected)]
    actual_values = [str(a) for a in _as_list(actual)]
    hit = any(_string_op(base, e, a) for e in values for a in actual_values)
    return not hit if negated else hit


def statement_applies(statement: Mapping[str, Any], request: Request) -> bool:
    context = request.context
    if "Action" in statement:
        if not _matches_any(_as_list(statement["Action"]), request.action, context, case_sensitive=False):
            return False
    elif "NotAction" in statement:
        if _matches_any(_as_list(statement["NotAction"]), request.action, context, case_sensitive=False):
            return False
    else:
        raise ValueError(f"statement without Action or NotAction: {statement}")
    if "Resource" in statement:
        if not _matches_any(_as_list(statement["Resource"]), request.resource, context, case_sensitive=True):
            return False
    elif "NotResource" in statement and _matches_any(
        _as_list(statement["NotResource"]), request.resource, context, case_sensitive=True
    ):
        return False
    for operator, keys in statement.get("Condition", {}).items():
        for key, expected in keys.items():
            if not condition_holds(operator, key, expected, context):
                return False
    return True


def evaluate(policies: Iterable[Mapping[str, Any]], request: Request) -> str:
    """ALLOW, EXPLICIT_DENY or IMPLICIT_DENY for ``request`` under the identity ``policies``
    (policy documents: {"Statement": [...]}) of one account."""
    allowed = False
    for policy in policies:
        for statement in _as_list(policy["Statement"]):
            if not statement_applies(statement, request):
                continue
            if statement["Effect"] == "Deny":
                return EXPLICIT_DENY
            allowed = True
    return ALLOW if allowed else IMPLICIT_DENY


def matching_statements(policies: Iterable[Mapping[str, Any]], request: Request) -> list[Mapping[str, Any]]:
    """The Allow statements that apply to ``request`` (to find grants no call uses)."""
    return [
        s
        for p in policies
        for s in _as_list(p["Statement"])
        if s["Effect"] == "Allow" and statement_applies(s, request)
    ]
