"""This model's rule on the environment's listener: its priority and its conditions, checked
against the rules the listener has now, before the deploy changes anything.

    ecs-model-tools listener-rule priority | test-priority
    aws elbv2 describe-rules --listener-arn ARN --output json | ecs-model-tools listener-rule check [--new]

The priority is derived from the project name (project.json "project"), so every model
repository computes its own without asking the others, and the same one on every deploy:
1 + (SHA-256 of the name) mod 49999. A clash with another model (1 in 49999 for two models)
stops the deploy with an error naming the other model; "listener_rule_priority" in
project.json then chooses a free number instead. `check --new` (this model's infra stack does
not exist yet) also refuses a rule that already routes exactly this model's path or host:
another repository serves it. Wildcard rules of other models that would also match this
model's path (`/churn*`) are not detected.

The test listener rule (the same routes with the header X-Release-Check, through which a
canary or linear release is checked before it gets production traffic) must be evaluated
before the production rule, so its priority is lower: derived the same way, from the name with
":test", in 1 .. priority - 1 (`test_listener_rule_priority` in project.json chooses another),
and checked the same way.
"""

import hashlib
import json
import sys
from pathlib import Path

ROOT = Path.cwd()  # the project's root: make, the pipeline and the bake run every command there
RANGE = 49999  # priorities 1..50000 are allowed; 50000 stays free for a catch-all an admin may add


def facts() -> dict:
    """The bake-time facts: project.json of the project this runs in."""
    return json.loads((ROOT / "project.json").read_text())


def derived(name: str, modulo: int) -> int:
    """1 + SHA-256 of the name mod `modulo`: the same number on every deploy, in every repository."""
    return 1 + int(hashlib.sha256(name.encode()).hexdigest(), 16) % modulo


def priority(project: str | None = None) -> int:
    """The priority of `project`'s rule; without a name, this project's (or its chosen one)."""
    if project is None:
        given = facts()
        if "listener_rule_priority" in given:
            return int(given["listener_rule_priority"])
        project = given["project"]
    return derived(project, RANGE)


def test_priority(project: str | None = None) -> int:
    """The test rule's priority: below the production rule's (or its chosen one), so it is seen first."""
    given = facts() if project is None else {}
    if "test_listener_rule_priority" in given:
        return int(given["test_listener_rule_priority"])
    production = priority(project)
    project = project or given["project"]
    if production < 2:
        raise SystemExit(
            "error: the listener rule priority is 1, so no test listener rule can come before it; set "
            '"listener_rule_priority" in project.json to a free number from 2 to 49999'
        )
    return derived(f"{project}:test", production - 1)


def routes(rule: dict) -> list[str]:
    """The paths and hosts a rule routes, as written in its conditions."""
    values = []
    for condition in rule.get("Conditions", []):
        config = condition.get("PathPatternConfig") or condition.get("HostHeaderConfig") or {}
        values += config.get("Values") or condition.get("Values") or []
    return values


def model_of(rule: dict) -> str:
    """The model a rule serves, read from its first path (/name/*) or host (name.zone)."""
    for value in routes(rule):
        name = value.strip("/").split("/")[0] if value.startswith("/") else value.split(".")[0]
        if name and name != "*":
            return name
    return rule.get("RuleArn", "an unknown rule")


def ours(value: str, project: str, host_routing: bool) -> bool:
    if host_routing:
        return value.startswith(project + ".")
    return value in (f"/{project}", f"/{project}/*")


def problems(rules: list[dict], wanted: int, new: bool) -> list[str]:
    given = facts()
    project, host_routing = given["project"], given.get("routing") == "host"
    found = []
    for rule in rules:
        if rule.get("IsDefault"):
            continue
        mine = any(ours(value, project, host_routing) for value in routes(rule))
        if str(rule.get("Priority")) == str(wanted) and not mine:
            found.append(
                f"listener rule priority {wanted} (derived from the project name {project!r}) is taken by "
                f'model {model_of(rule)!r} (rule routes {routes(rule)}); set "listener_rule_priority" in '
                "project.json to a number from 1 to 49999 that no rule of the listener uses, and deploy again"
            )
        elif mine and new:
            found.append(
                f"the listener already routes {routes(rule)} (priority {rule.get('Priority')}) to model "
                f"{model_of(rule)!r}, although this model's stacks do not exist yet: another repository "
                f"named {project!r} serves it in this environment; rename one of the two projects"
            )
    return found


def main(argv: list[str]) -> int:
    if argv[:1] == ["priority"]:
        print(priority())
        return 0
    if argv[:1] == ["test-priority"]:
        print(test_priority())
        return 0
    if argv[:1] == ["check"]:
        rules = json.load(sys.stdin).get("Rules", [])
        found = problems(rules, priority(), new="--new" in argv)
        found += [p for p in problems(rules, test_priority(), new=False) if p not in found]
        if test_priority() >= priority():
            found.append(
                f"the test listener rule's priority {test_priority()} is not below the production rule's "
                f"{priority()}: it would never see a request; set test_listener_rule_priority in project.json lower"
            )
        for problem in found:
            print(f"error: {problem}", file=sys.stderr)
        return 1 if found else 0
    print(__doc__, file=sys.stderr)
    return 2
