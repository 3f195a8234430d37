"""The deploy identity's policy grants exactly the AWS calls the deploy scripts make.

    ecs-model-tools validate deploy-policy

The scripts the pipeline's deploy steps run (bitbucket-pipelines.yml: a step with a
deployment -> make target -> scripts/<name>.sh, and what it sources) are read for
`aws <service> <command>`, `docker push|pull|build --cache-from` and `skopeo copy` calls. Each maps to IAM
actions: an aws command names an API operation of its service in awscli's models (kebab-case
to the operation's name), `aws <service> wait <waiter>` calls the waiter's operation, and
the commands awscli implements itself are in HIGH_LEVEL (read from awscli's source:
customizations/cloudformation/deployer.py and s3uploader.py). The check fails when the
DeployPolicy in infra/bootstrap.yaml misses one of these actions, or grants one that no
script calls and UNUSED_GRANTS does not explain.
"""

import functools
import re
import shlex
from pathlib import Path

import yaml

from . import cross_stack  # CloudFormation-aware YAML
from .policy_grants import as_list, inline_statements

ROOT = cross_stack.ROOT
POLICY = "DeployPolicy"

HIGH_LEVEL = {
    # Deployer: describe_stacks, get_template_summary, create_change_set (with --role-arn,
    # which passes the role), the change_set_create_complete waiter, execute_change_set,
    # and the stack_*_complete waiters.
    ("cloudformation", "deploy"): [
        "cloudformation:DescribeStacks",
        "cloudformation:GetTemplateSummary",
        "cloudformation:CreateChangeSet",
        "cloudformation:DescribeChangeSet",
        "cloudformation:ExecuteChangeSet",
        "iam:PassRole",
    ],
    ("cloudformation", "package"): ["s3:GetObject", "s3:PutObject"],  # S3Uploader: head_object, then upload
    ("ecr", "get-login-password"): ["ecr:GetAuthorizationToken"],
    ("sts", "get-caller-identity"): [],  # needs no permission
}
# The ECR actions docker calls (ECR user guide: required IAM permissions to push, to pull).
DOCKER_PUSH = [
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:CompleteLayerUpload",
    "ecr:InitiateLayerUpload",
    "ecr:PutImage",
    "ecr:UploadLayerPart",
]
DOCKER_PULL = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
PUBLIC_REGISTRIES = ("public.ecr.aws/",)  # anonymous pulls: no permission of ours

# Granted although no script calls it yet, and why.
UNUSED_GRANTS: dict[str, str] = {}

AWS_CALL = re.compile(r"\baws\s+([a-z0-9-]+)\s+([a-z0-9-]+)(?:\s+([a-z0-9-]+))?")
MESSAGE = re.compile(r"""\b(?:die|say|echo|require_[a-z_]+)(?:\s+[A-Z_]+)?(?:\s+"(?:[^"\\$]|\\.|\$(?!\())*")+""")
SOURCED = re.compile(r"""^\s*(?:source|\.)\s+"?\$\(dirname\s+"\$0"\)/([\w.-]+)""", re.MULTILINE)


def deploy_scripts() -> list[Path]:
    """The scripts the pipeline's deployment steps run, and the files they source."""
    config = yaml.safe_load((ROOT / "bitbucket-pipelines.yml").read_text())
    targets = {t for line in _deployment_scripts(config) for t in re.findall(r"\bmake ([a-z-]+)", str(line))}
    makefile = (ROOT / "Makefile").read_text()
    scripts = []
    for target in sorted(targets):
        recipe = re.search(rf"^{re.escape(target)}:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE)
        scripts += [
            ROOT / "scripts" / name for name in re.findall(r"/([\w-]+\.sh)\b", recipe.group(1) if recipe else "")
        ]
    for script in list(scripts):
        scripts += [script.parent / name for name in SOURCED.findall(script.read_text())]
    return sorted(set(scripts))


def _deployment_scripts(node, deployment=None) -> list:
    """Script lines of the steps that run in a deployment environment."""
    found = []
    if isinstance(node, dict):
        deployment = node.get("deployment", deployment)
        if "script" in node and deployment:
            found += node["script"]
        for key, value in node.items():
            if key != "script":
                found += _deployment_scripts(value, deployment)
    elif isinstance(node, list):
        for item in node:
            found += _deployment_scripts(item, deployment)
    return found


def logical_lines(text: str) -> list[str]:
    """Lines with continuations joined, comments and the text of messages removed."""
    lines = []
    for line in text.replace("\\\n", " ").splitlines():
        line = line.strip()
        if line.startswith("#"):
            continue
        lines.append(MESSAGE.sub("", line))
    return lines


@functools.cache
def botocore_session():
    import botocore.session

    return botocore.session.get_session()


def operation_action(service: str, command: str, waiter: str | None) -> list[str]:
    """IAM actions of one `aws` command, from awscli's service and waiter models."""
    if (service, command) in HIGH_LEVEL:
        return HIGH_LEVEL[(service, command)]
    from botocore import xform_name

    session = botocore_session()
    model = session.get_service_model("s3" if service == "s3api" else service)
    prefix = model.signing_name or model.endpoint_prefix
    if command == "wait":
        waiters = session.get_waiter_model(model.service_name)
        name = next(n for n in waiters.waiter_names if xform_name(n, "-") == waiter)
        return [f"{prefix}:{waiters.get_waiter(name).operation}"]
    operation = next((op for op in model.operation_names if xform_name(op, "-") == command), None)
    if operation is None:
        raise LookupError(f"aws {service} {command}: no such operation in awscli's {service} model")
    return [f"{prefix}:{operation}"]


def docker_actions(words: list[str]) -> list[str]:
    if words[:1] == ["push"]:
        return DOCKER_PUSH
    images = words[1:2] if words[:1] == ["pull"] else []
    if words[:1] == ["build"]:
        images = [nxt for w, nxt in zip(words, [*words[1:], ""], strict=True) if w.endswith("--cache-from")]
    return DOCKER_PULL if any(not image.startswith(PUBLIC_REGISTRIES) for image in images) else []


def skopeo_actions(words: list[str]) -> list[str]:
    """skopeo copy SOURCE TARGET pulls SOURCE (unless public) and pushes TARGET."""
    images = [w.removeprefix("docker://") for w in words if w.startswith("docker://")]
    if words[:1] != ["copy"] or len(images) != 2:
        return []
    return ([] if images[0].startswith(PUBLIC_REGISTRIES) else DOCKER_PULL) + DOCKER_PUSH


def calls(path: Path) -> dict[str, set[str]]:
    """IAM action -> the calls in this file that need it."""
    needed: dict[str, set[str]] = {}
    for line in logical_lines(path.read_text()):
        for service, command, waiter in AWS_CALL.findall(line):
            for action in operation_action(service, command, waiter or None):
                needed.setdefault(action, set()).add(f"{path.name}: aws {service} {command}")
        for tool, actions_of in (("docker", docker_actions), ("skopeo", skopeo_actions)):
            for match in re.finditer(rf"\b{tool}\s+(.*)", line):
                words = shlex.split(match.group(1).split("|")[0].replace("${", "").replace("}", ""), posix=True)
                for action in actions_of(words):
                    needed.setdefault(action, set()).add(f"{path.name}: {tool} {words[0]}")
    return needed


def problems() -> tuple[list[str], str]:
    scripts = deploy_scripts()
    needed: dict[str, set[str]] = {}
    for path in [*scripts, ROOT / "bitbucket-pipelines.yml"]:
        for action, where in calls(path).items():
            needed.setdefault(action, set()).update(where)
    policy = cross_stack.load(ROOT / "infra" / "bootstrap.yaml")["Resources"][POLICY]
    allows = [s for s in inline_statements(policy) if s.get("Effect") == "Allow"]
    grants = {action for s in allows for action in as_list(s.get("Action", []))}
    found = [f"{POLICY} grants {a}: write the actions out, without wildcards" for a in sorted(grants) if "*" in a]
    found += [f"{POLICY}: an Allow with NotAction grants actions it does not name" for s in allows if "NotAction" in s]
    grants_lower = {a.lower(): a for a in grants}
    for action, where in sorted(needed.items()):
        if action.lower() not in grants_lower:
            found.append(f"{POLICY} does not allow {action}, called by {'; '.join(sorted(where))}")
        elif action in UNUSED_GRANTS:
            found.append(f"{action} is called now ({'; '.join(sorted(where))}): remove it from UNUSED_GRANTS")
    used = {a.lower() for a in needed}
    for action in sorted(grants):
        if action.lower() not in used and action not in UNUSED_GRANTS and "*" not in action:
            found.append(f"{POLICY} grants {action}, which no deploy script calls")
    names = ", ".join(p.name for p in scripts)
    return found, f"{len(needed)} actions called by {names}; {len(UNUSED_GRANTS)} granted ahead of use"
