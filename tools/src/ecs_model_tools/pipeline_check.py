"""What Bitbucket's schema lets through in bitbucket-pipelines.yml (run by validate.py).

- every step, stage and parallel group uses only keys Bitbucket knows (the schema accepts a
  misspelled `scrpit:` or `deploymnet:` and the step then silently does nothing);
- every script line calls `make <target>` with a target the Makefile defines, or a file
  under scripts/ that exists (thin YAML: nothing important lives only in the pipeline);
- a deploy step deploys the environment of its deployment (test: dev, production: prod),
  has `oidc: true` when the project deploys with OIDC, and build-push has the docker service;
- production never builds (no build-push, no train): it promotes the image dev ran.
"""

import json
import re
import shlex
from pathlib import Path

import yaml

STEP_KEYS = {
    "after-script", "artifacts", "auth", "caches", "clone", "concurrency-group", "condition", "custom",
    "deployment", "environment", "fail-fast", "image", "input-variables", "max-time", "name", "oidc",
    "runs-on", "runtime", "script", "services", "size", "trigger", "type",
}  # fmt: skip
STAGE_KEYS = {"condition", "deployment", "environment", "name", "steps", "trigger"}
PARALLEL_KEYS = {"fail-fast", "steps"}
DEPLOY_TARGETS = {"deploy-infra", "build-push", "promote", "deploy-api"}
NEVER_IN_PRODUCTION = {"build-push", "train", "import-model"}  # production runs the image dev ran
ENV_OF_DEPLOYMENT = {"test": "dev", "staging": "dev", "production": "prod"}
MAKE_TARGET = re.compile(r"^([A-Za-z0-9_.-]+(?:\s+[A-Za-z0-9_.-]+)*)\s*:(?!=)", re.MULTILINE)


def make_targets(root: Path) -> set[str]:
    makefile = root / "Makefile"
    if not makefile.is_file():
        return set()
    return {name for names in MAKE_TARGET.findall(makefile.read_text()) for name in names.split()}


def uses_oidc(root: Path) -> bool:
    return json.loads((root / "project.json").read_text())["deploy_identity"] == "oidc"


def steps_of(node, where: str, deployment: str | None = None):
    """Yield (location, step, deployment, problems) for each step in a list of pipeline items."""
    for index, item in enumerate(node or []):
        here = f"{where}[{index}]"
        if not isinstance(item, dict):
            yield here, {}, deployment, [f"{here}: expected a step, stage or parallel item"]
            continue
        if "step" in item:
            yield f"{here}.step", item["step"] or {}, deployment, []
        elif "stage" in item:
            stage = item["stage"] or {}
            unknown = sorted(set(stage) - STAGE_KEYS)
            problems = [
                f"{here}.stage: unknown key {key!r} (known: {', '.join(sorted(STAGE_KEYS))})" for key in unknown
            ]
            if problems:
                yield f"{here}.stage", {}, deployment, problems
            yield from steps_of(stage.get("steps"), f"{here}.stage.steps", stage.get("deployment", deployment))
        elif "parallel" in item:
            group = item["parallel"]
            if isinstance(group, dict):
                unknown = sorted(set(group) - PARALLEL_KEYS)
                if unknown:
                    yield f"{here}.parallel", {}, deployment, [f"{here}.parallel: unknown key {k!r}" for k in unknown]
                group = group.get("steps")
            yield from steps_of(group, f"{here}.parallel", deployment)
        else:
            yield here, {}, deployment, [f"{here}: unknown item {sorted(item)} (use step, stage or parallel)"]


def all_steps(config: dict):
    pipelines = config.get("pipelines") or {}
    for kind, value in pipelines.items():
        if kind == "default":
            yield from steps_of(value, "pipelines.default")
        elif isinstance(value, dict):
            for name, items in value.items():
                yield from steps_of(items, f"pipelines.{kind}.{name}")


def check_script_line(line, where: str, root: Path, targets: set[str]) -> list[str]:
    if not isinstance(line, str):
        return [f"{where}: runs a pipe or a non-command; call a make target or a script in scripts/ instead"]
    words = shlex.split(line)
    if words and words[0] == "make":
        called = [w for w in words[1:] if not w.startswith("-") and "=" not in w]
        missing = [t for t in called if t not in targets]
        if not called:
            return [f"{where}: 'make' without a target"]
        return [f"{where}: make target {t!r} is not in the Makefile" for t in missing]
    path = next((w for w in words[:2] if w.startswith(("scripts/", "./scripts/"))), None)
    if path is None:
        return [f"{where}: {line!r} is not a make target or a script in scripts/ (keep the YAML thin)"]
    if not (root / path).is_file():
        return [f"{where}: {path} does not exist"]
    return []


def check_deploy_step(step: dict, where: str, deployment: str | None, oidc: bool) -> list[str]:
    problems = []
    for line in step.get("script") or []:
        words = shlex.split(line) if isinstance(line, str) else []
        if words[:1] == ["make"] and deployment == "production":
            problems += [
                f"{where}: production never runs make {w}: it promotes the image dev ran (make promote ENV=prod)"
                for w in words[1:]
                if w in NEVER_IN_PRODUCTION
            ]
        target = next((w for w in words[1:2] if w in DEPLOY_TARGETS), None) if words[:1] == ["make"] else None
        if target is None:
            continue
        env = next((w.split("=", 1)[1] for w in words if w.startswith("ENV=")), None)
        expected = ENV_OF_DEPLOYMENT.get(str(deployment))
        if expected is None:
            problems.append(f"{where}: make {target} runs outside a deployment (test or production)")
        elif env != expected:
            problems.append(f"{where}: deployment {deployment} must deploy ENV={expected}, not ENV={env}")
        if oidc and step.get("oidc") is not True:
            problems.append(f"{where}: make {target} needs 'oidc: true' to get AWS credentials")
        if target == "build-push" and "docker" not in (step.get("services") or []):
            problems.append(f"{where}: make build-push needs 'services: [docker]'")
    return problems


def problems(root: Path, path: str = "bitbucket-pipelines.yml") -> list[str]:
    try:
        config = yaml.safe_load((root / path).read_text())
    except (OSError, yaml.YAMLError) as error:
        return [f"{path}: {error}"]
    targets, oidc = make_targets(root), uses_oidc(root)
    found = []
    steps = list(all_steps(config if isinstance(config, dict) else {}))
    if not steps:
        found.append(f"{path}: no steps found under pipelines")
    for where, step, deployment, step_problems in steps:
        found += step_problems
        if not step:
            continue
        unknown = sorted(set(step) - STEP_KEYS)
        found += [f"{where}: unknown step key {key!r} (known: {', '.join(sorted(STEP_KEYS))})" for key in unknown]
        script = step.get("script")
        if not script:
            found.append(f"{where}: has no script")
        for number, line in enumerate(script or []):
            found += check_script_line(line, f"{where}.script[{number}]", root, targets)
        found += check_deploy_step(step, where, deployment or step.get("deployment"), oidc)
    return found
