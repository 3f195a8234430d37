"""Which actions an IAM policy in a CloudFormation template grants, action by action.

Shared by cfn_role_check.py and deploy_policy_check.py. It reads the
statements as written (Effect, Action or NotAction with * and ? wildcards): an action is
granted when an Allow statement names it and no Deny statement on every resource ("*",
without a condition) names it too. Resources and conditions are not resolved here; the
template's own tests evaluate them (which role, which stack, which boundary).
"""

import re
from functools import cache


@cache
def _pattern(action_pattern: str) -> re.Pattern:
    return re.compile(".*".join(".".join(map(re.escape, part.split("?"))) for part in action_pattern.split("*")), re.I)


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def action_matches(action_pattern: str, action: str) -> bool:
    """IAM action wildcards: * any run of characters, ? one; case does not matter."""
    return _pattern(action_pattern).fullmatch(action) is not None


def names(statement: dict, action: str) -> bool:
    if "NotAction" in statement:
        return not any(action_matches(p, action) for p in as_list(statement["NotAction"]))
    return any(action_matches(p, action) for p in as_list(statement.get("Action", [])))


def granted(statements: list[dict], action: str) -> bool:
    allowed = any(s.get("Effect") == "Allow" and names(s, action) for s in statements)
    denied_everywhere = any(
        s.get("Effect") == "Deny"
        and names(s, action)
        and as_list(s.get("Resource")) == ["*"]
        and not s.get("Condition")
        for s in statements
    )
    return allowed and not denied_everywhere


def inline_statements(resource: dict) -> list[dict]:
    """Statements of a role's inline policies, or of a managed policy's document."""
    properties = resource.get("Properties", {})
    documents = [p.get("PolicyDocument", {}) for p in properties.get("Policies", [])]
    if "PolicyDocument" in properties:
        documents.append(properties["PolicyDocument"])
    return [s for document in documents for s in as_list(document.get("Statement", []))]
