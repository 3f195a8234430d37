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
Conditions (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
and reference_policies_condition-single-vs-multi-valued-context-keys.html): every operator
and every key must hold (AND); a key's values are alternatives (OR), and a negated operator
(StringNotEquals, ArnNotLike, ...) holds when the context value matches none of them. A key
absent from the request context makes a condition false, a negated one true, an ...IfExists
one true; Null tests exactly that ("true": absent, "false": present). Set operators on a
multivalued key (a list in the context, such as aws:TagKeys): ForAllValues: holds when
every value in the request matches (and when the key is absent or empty), ForAnyValue: when
at least one does (never when absent). Only the operators in OPERATORS are implemented; any
other (numeric, date, IP, binary) raises, and so does a single-valued operator given a
multivalued key.
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


def _arn_like(pattern: str, arn: str) -> bool:
    """ArnEquals and ArnLike: each of the six colon-separated parts matched on its own, with wildcards."""
    pattern_parts, arn_parts = pattern.split(":", 5), arn.split(":", 5)
    return len(pattern_parts) == len(arn_parts) == 6 and all(map(wildcard, pattern_parts, arn_parts))


# Positive operators: (context value, one policy value) -> match. Negations are derived below.
OPERATORS = {
    "StringEquals": lambda actual, expected: actual == expected,
    "StringEqualsIgnoreCase": lambda actual, expected: actual.lower() == expected.lower(),
    "StringLike": lambda actual, expected: wildcard(expected, actual),
    "ArnEquals": lambda actual, expected: _arn_like(expected, actual),
    "ArnLike": lambda actual, expected: _arn_like(expected, actual),
    "Bool": lambda actual, expected: actual.lower() == expected.lower(),
}
NEGATIONS = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}


def _value_matches(operator: str, actual, expected: list) -> bool:
    """One context value against the policy's values: any of them (positive), none (negated)."""
    positive = NEGATIONS.get(operator, operator)
    if positive not in OPERATORS:
        raise NotImplementedError(f"condition operator {operator} is not implemented")
    found = any(OPERATORS[positive](str(actual), str(e)) for e in expected)
    return not found if operator in NEGATIONS else found


def _holds(operator: str, key: str, expected, values: dict) -> bool:
    present = key.lower() in values
    actual = values.get(key.lower())
    if operator == "Null":
        return (not present) == (str(expected).lower() == "true")
    expected = as_list(expected)
    if operator.startswith(("ForAllValues:", "ForAnyValue:")):
        qualifier, base = operator.split(":", 1)
        actuals = as_list(actual) if present else []
        matches = [_value_matches(base, value, expected) for value in actuals]
        return all(matches) if qualifier == "ForAllValues" else any(matches)
    if operator.endswith("IfExists"):
        return _holds(operator.removesuffix("IfExists"), key, expected, values) if present else True
    if isinstance(actual, list):
        raise NotImplementedError(f"{operator} on the multivalued key {key}: use ForAllValues: or ForAnyValue:")
    if not present:
        return operator in NEGATIONS
    return _value_matches(operator, actual, expected)


def condition_holds(condition: dict, context: dict) -> bool:
    values = {key.lower(): value for key, value in context.items()}
    return all(
        _holds(operator, key, expected, values)
        for operator, keys in condition.items()
        for key, expected in keys.items()
    )


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
