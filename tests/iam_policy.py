"""A small IAM policy evaluator: exactly the parts of AWS's evaluation logic the baked
project's policies use, so tests can prove what a principal may and may not do.

AWS's logic (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html),
for requests inside one account without SCPs, RCPs or session policies:
- an explicit Deny in any applicable policy wins;
- otherwise an identity-based policy must Allow the request and, when the principal has a
  permissions boundary, the boundary must Allow it too (the effective permissions are the
  intersection);
- otherwise the request is implicitly denied.
A role's trust policy (a resource-based policy) is evaluated for the principal of the
request (Principal Service, Federated or AWS).

A statement applies when its Action (or NotAction), Resource (or NotResource), Principal
and Condition all match. Action patterns match case-insensitively and Resource patterns
case-sensitively, with the wildcards * (any run of characters) and ? (one character).
Conditions: every operator and every key must hold (AND); a key's values are alternatives
(OR); a key absent from the request context makes its condition false, except for Null,
which tests exactly that ("true": absent, "false": present). Only Null and the operators in
OPERATORS are implemented; any other operator (IfExists, ForAnyValue:, negations) raises.
"""

import re
from dataclasses import dataclass, field
from functools import cache


@dataclass(frozen=True)
class Request:
    action: str
    resource: str = "*"
    context: dict = field(default_factory=dict)  # condition keys (names match case-insensitively)
    principal: dict = field(default_factory=dict)  # for trust policies: {"Federated": arn}


@cache
def _regex(pattern: str, ignore_case: bool) -> re.Pattern:
    body = ".*".join(".".join(map(re.escape, part.split("?"))) for part in pattern.split("*"))
    return re.compile(body, re.IGNORECASE if ignore_case else 0)


def wildcard(pattern: str, value: str, ignore_case: bool = False) -> bool:
    return _regex(pattern, ignore_case).fullmatch(value) is not None


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


OPERATORS = {
    "StringEquals": lambda actual, expected: actual == expected,
    "StringLike": lambda actual, expected: wildcard(expected, actual),
    "ArnLike": lambda actual, expected: wildcard(expected, actual),
    "ArnEquals": lambda actual, expected: wildcard(expected, actual),
    "Bool": lambda actual, expected: str(actual).lower() == str(expected).lower(),
}


def condition_holds(condition: dict, context: dict) -> bool:
    values = {key.lower(): value for key, value in context.items()}
    for operator, keys in condition.items():
        if operator == "Null":
            if any((key.lower() not in values) != (str(absent).lower() == "true") for key, absent in keys.items()):
                return False
            continue
        if operator not in OPERATORS:
            raise NotImplementedError(f"condition operator {operator} is not implemented")
        for key, expected in keys.items():
            if key.lower() not in values:
                return False
            actual = values[key.lower()]
            if not any(OPERATORS[operator](str(actual), str(e)) for e in as_list(expected)):
                return False
    return True


def _names_action(statement: dict, action: str) -> bool:
    if "NotAction" in statement:
        return not any(wildcard(p, action, ignore_case=True) for p in as_list(statement["NotAction"]))
    return any(wildcard(p, action, ignore_case=True) for p in as_list(statement["Action"]))


def _names_resource(statement: dict, resource: str) -> bool:
    if "NotResource" in statement:
        return not any(wildcard(p, resource) for p in as_list(statement["NotResource"]))
    return any(wildcard(p, resource) for p in as_list(statement.get("Resource", "*")))


def _names_principal(statement: dict, principal: dict) -> bool:
    named = statement["Principal"]
    if named == "*":
        return True
    return any(value in as_list(named.get(kind, [])) for kind, value in principal.items())


def applies(statement: dict, request: Request) -> bool:
    if "Principal" in statement and not _names_principal(statement, request.principal):
        return False
    return (
        _names_action(statement, request.action)
        and ("Principal" in statement or _names_resource(statement, request.resource))
        and condition_holds(statement.get("Condition", {}), request.context)
    )


def effects(statements: list[dict], request: Request) -> set[str]:
    """The Effects of the statements that apply to the request."""
    return {s["Effect"] for s in statements if applies(s, request)}


def is_allowed(request: Request, identity: list[dict], boundary: list[dict] | None = None) -> bool:
    """An identity's request: explicit Deny wins, then identity Allow and (if any) boundary Allow."""
    found = effects(identity, request)
    bounded = effects(boundary, request) if boundary is not None else {"Allow"}
    if "Deny" in found | bounded:
        return False
    return "Allow" in found and "Allow" in bounded


def trusts(trust_policy: list[dict], request: Request) -> bool:
    """Whether a role's trust policy lets the request's principal assume it."""
    found = effects(trust_policy, request)
    return "Deny" not in found and "Allow" in found
