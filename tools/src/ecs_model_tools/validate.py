"""Check everything in this repository that can be checked without AWS.

    ecs-model-tools validate [--strict] [CHECK ...]

The same checks run after the template is baked, in `make validate` and in the pipeline.
A check whose tool is not installed is skipped and says how to install it; with --strict
(or VALIDATE_STRICT=1) a skipped check fails instead. Exit status 1 if anything failed.
The external checkers' passes are remembered in ~/.cache/ecs-model-tools/validate, keyed by the
exact bytes they read (pass_key), checkov's and cfn-lint's file by file: an unchanged file is
not checked twice. VALIDATE_CACHE=0 runs every checker.
"""

import argparse
import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from . import __version__, cfn_role_check, cross_stack, deploy_policy_check, openapi_snapshot
from .pipeline_check import problems as pipeline_problems

ROOT = cross_stack.ROOT
INSTALL = "make validate"  # installs the pinned tools into .venv first, then runs every check
SKIP_DIRS = {".git", ".venv", "venv", "__pycache__", ".ruff_cache", ".pytest_cache", "node_modules"}
JINJA = re.compile("[{][{]|[{]%|[{]#")  # written so this file holds no Jinja opener itself
# A checker's pass, remembered by what it read (below). VALIDATE_CACHE=0 runs every checker.
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ecs-model-tools" / "validate"
CONFIGS = (".cfnlintrc", ".cfnlintrc.yaml", ".checkov.yaml", ".checkov.yml", ".hadolint.yaml", ".shellcheckrc")


@dataclass
class Result:
    status: str  # pass, warn (counted as passed), fail or skip
    summary: str
    details: list[str] = field(default_factory=list)


def files(*patterns: str) -> list[Path]:
    found = []
    for path in sorted(ROOT.rglob("*")):
        rel = path.relative_to(ROOT)
        if path.is_file() and not SKIP_DIRS.intersection(rel.parts) and any(rel.match(p) for p in patterns):
            found.append(path)
    return found


def tool(name: str) -> str | None:
    """A command from this interpreter's environment, or else from PATH."""
    return shutil.which(name, path=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]))


def pass_key(command: str, args: list[str], inputs: list[str]) -> Path | None:
    """Where a checker's pass is kept: a hash of its executable, its arguments and the bytes of
    every file it reads (`inputs`, and any checker config file at the root). The same run on the
    same bytes then passes at once; a failure is never kept (as ruff's and pre-commit's caches)."""
    if os.environ.get("VALIDATE_CACHE") == "0":
        return None
    stat = Path(command).resolve().stat()
    digest = hashlib.sha256(f"{__version__} {command} {stat.st_size} {stat.st_mtime_ns} {args}".encode())
    for path in [*inputs, *(c for c in CONFIGS if (ROOT / c).is_file())]:
        digest.update(f"\0{path}\0".encode() + (ROOT / path).read_bytes())
    return CACHE / digest.hexdigest()


def remember(key: Path | None, result: Result) -> Result:
    if key is not None and result.status == "pass":
        key.parent.mkdir(parents=True, exist_ok=True)
        key.write_text(result.summary)
    return result


def run_tool(name: str, *args: str, inputs: list[str] | None = None) -> Result:
    """Run a checker from the project root; with `inputs`, a pass is remembered (pass_key)."""
    command = tool(name)
    if command is None:
        return Result("skip", f"{name} is not installed")
    key = pass_key(command, list(args), inputs) if inputs is not None else None
    if key is not None and key.is_file():
        return Result("pass", key.read_text())
    proc = subprocess.run([command, *args], cwd=ROOT, capture_output=True, text=True)
    output = (proc.stdout + proc.stderr).strip().splitlines()
    if proc.returncode != 0:
        return Result("fail", f"{name} exit {proc.returncode}", output[-40:])
    return remember(key, Result("pass", f"{name} found no problems"))


def check_yaml() -> Result:
    paths = files("*.yml", "*.yaml")
    problems = []
    for path in paths:
        try:
            cross_stack.load(path)
        except yaml.YAMLError as error:
            problems.append(f"{path.relative_to(ROOT)}: {error}".replace("\n", " "))
    if problems:
        return Result("fail", f"{len(problems)} of {len(paths)} YAML files do not parse", problems)
    return Result("pass", f"{len(paths)} YAML files parse")


def check_jinja() -> Result:
    """Nothing the template meant to render may survive into the repository."""
    problems = []
    for path in files("*"):
        try:
            lines = path.read_text().splitlines()
        except (UnicodeDecodeError, OSError):
            continue
        for number, line in enumerate(lines, 1):
            if JINJA.search(line):
                problems.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:100]}")
    if problems:
        return Result("fail", f"{len(problems)} lines look like unrendered Jinja", problems)
    return Result("pass", "no unrendered Jinja")


def check_python_compiles() -> Result:
    paths = files("*.py")
    problems = []
    for path in paths:
        try:
            compile(path.read_text(), str(path), "exec")
        except SyntaxError as error:
            problems.append(f"{path.relative_to(ROOT)}:{error.lineno}: {error.msg}")
    if problems:
        return Result("fail", "Python files do not compile", problems)
    return Result("pass", f"{len(paths)} Python files compile")


def check_ruff() -> Result:
    lint = run_tool("ruff", "check", "--no-cache", "--output-format=concise", ".")
    if lint.status != "pass":
        return lint
    return run_tool("ruff", "format", "--no-cache", "--check", ".")


def check_hadolint() -> Result:
    return run_tool("hadolint", "Dockerfile", inputs=["Dockerfile"])


def check_compose() -> Result:
    compose = "docker-compose.yml"
    return run_tool("check-jsonschema", "--builtin-schema", "vendor.compose-spec", compose, inputs=[compose])


def templates() -> list[str]:
    # This model's stacks, and the environment's (deployed by an "own" bake; in a "shared" bake
    # the stand-in the rehearsal deploys): every file is checked either way.
    paths = [*(ROOT / "infra").glob("*.yaml"), *(ROOT / "infra/environment").glob("*.yaml")]
    return [str(path.relative_to(ROOT)) for path in sorted(paths)]


def nested(template: str) -> list[str]:
    """The local templates a template nests (TemplateURL: ./x.yaml), which cfn-lint reads with it."""
    resources = cross_stack.load(ROOT / template).get("Resources") or {}
    urls = [r.get("Properties", {}).get("TemplateURL") for r in resources.values() if isinstance(r, dict)]
    folder = Path(template).parent
    local = (str(folder / url) for url in urls if isinstance(url, str) and url.startswith("./"))
    return sorted(path for path in local if (ROOT / path).is_file())  # a missing one is cfn-lint's to report


def check_cfn_lint() -> Result:
    # From the project root, so cfn-lint also follows the nested stacks (TemplateURL: ./x.yaml)
    # and checks the parameters and outputs they exchange. W3002 says such local URLs only work
    # after `aws cloudformation package`, which is exactly how scripts/ deploy them. A template's
    # pass is remembered by its bytes and its nested templates' (pass_key); only the others run.
    command = tool("cfn-lint")
    if command is None:
        return Result("skip", "cfn-lint is not installed")
    args = ["--ignore-checks", "W3002", "--"]
    keys = {path: pass_key(command, args, [path, *nested(path)]) for path in templates()}
    todo = [path for path, key in keys.items() if key is None or not key.is_file()]
    if todo:
        proc = subprocess.run([command, *args, *todo], cwd=ROOT, capture_output=True, text=True)
        if proc.returncode != 0:
            return Result(
                "fail", f"cfn-lint exit {proc.returncode}", (proc.stdout + proc.stderr).strip().splitlines()[-40:]
            )
    summary = f"0 errors, 0 warnings in {len(keys)} templates (W3002 ignored)"
    for path in todo:
        remember(keys[path], Result("pass", summary))
    return Result("pass", summary)


def checkov_counts(reports: list[dict], paths: list[str]) -> dict[str, dict[str, int]]:
    """Passed and skipped checks of each file, from checkov's JSON reports."""
    counts = {path: {"passed": 0, "skipped": 0} for path in paths}
    for report in reports:
        for kind in ("passed", "skipped"):
            for check in report.get("results", {}).get(f"{kind}_checks", []):
                path = check["file_path"].lstrip("/")
                if path in counts:
                    counts[path][kind] += 1
    return counts


def check_checkov() -> Result:
    # Every template and the Dockerfile as -f in one call: checkov 3.3 ignores -f when -d
    # is given. Skips live in each resource's Metadata (or a Dockerfile comment), with why.
    # Each file's counts are remembered by its bytes (pass_key): only changed files are scanned.
    command = tool("checkov")
    if command is None:
        return Result("skip", "checkov is not installed")
    options = ["--framework", "cloudformation", "dockerfile", "--skip-download", "--output", "json"]
    paths = [*templates(), "Dockerfile"]
    keys = {path: pass_key(command, options, [path]) for path in paths}
    counts = {path: json.loads(key.read_text()) for path, key in keys.items() if key is not None and key.is_file()}
    todo = [path for path in paths if path not in counts]
    if todo:
        # checkov beside this tool runs through checkov_scan.py: the same command, its JSONPath
        # parser built once instead of once per attribute path (close to half its time here).
        beside = Path(command).parent == Path(sys.executable).parent and importlib.util.find_spec("checkov")
        checkov = [sys.executable, "-m", "ecs_model_tools.checkov_scan"] if beside else [command]
        proc = subprocess.run(
            [*checkov, *(arg for path in todo for arg in ("-f", path)), *options],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        try:
            reports = json.loads(proc.stdout)
        except ValueError:
            return Result(
                "fail", f"checkov exit {proc.returncode}", (proc.stdout + proc.stderr).strip().splitlines()[-60:]
            )
        reports = reports if isinstance(reports, list) else [reports]
        failed = [
            f"{c['check_id']} {c['file_path'].lstrip('/')} {c['resource']}: {c['check_name']}"
            for report in reports
            for c in report.get("results", {}).get("failed_checks", [])
        ]
        unparsed = sum(report.get("summary", {}).get("parsing_errors", 0) for report in reports)
        if proc.returncode != 0 or failed or unparsed:
            return Result(
                "fail",
                f"checkov exit {proc.returncode}: {len(failed)} failed checks, {unparsed} files it could not parse",
                failed or proc.stderr.strip().splitlines()[-20:],
            )
        for path, found in checkov_counts(reports, todo).items():
            counts[path] = found
            remember(keys[path], Result("pass", json.dumps(found)))
    totals = {}
    for path, found in counts.items():
        kind = "dockerfile" if path == "Dockerfile" else "cloudformation"
        total = totals.setdefault(kind, {"passed": 0, "skipped": 0})
        total["passed"] += found["passed"]
        total["skipped"] += found["skipped"]
    if any(total["passed"] == 0 for total in totals.values()):  # checkov recognised nothing to check
        return Result("fail", f"checkov passed no check of a kind: {totals}")
    return Result(
        "pass",
        "; ".join(
            f"{kind} passed checks: {t['passed']}, failed checks: 0, skipped checks: {t['skipped']}"
            for kind, t in sorted(totals.items())
        ),
    )


def check_cross_stack() -> Result:
    problems, summary = cross_stack.problems()
    if problems:
        return Result("fail", f"{len(problems)} problems between stacks and parameter files", problems)
    return Result("pass", f"stacks and parameter files agree ({summary})")


def check_cfn_role() -> Result:
    """CloudFormation's role allows each handler permission of the stacks' resources (cfn_role_check.py)."""
    found, summary = cfn_role_check.problems()
    if summary == "skip":
        return Result("skip", "cfn-lint (which ships the registry's resource schemas) is not installed")
    if found:
        return Result("fail", f"{len(found)} problems ({summary})", found)
    return Result("pass", summary)


def check_deploy_policy() -> Result:
    """The deploy identity may make exactly the AWS calls of the deploy scripts (deploy_policy_check.py)."""
    if importlib.util.find_spec("botocore") is None:
        return Result("skip", "awscli (whose botocore models name each call's IAM action) is not installed")
    found, summary = deploy_policy_check.problems()
    if found:
        return Result("fail", f"{len(found)} differences between the deploy policy and the scripts", found)
    return Result("pass", summary)


def check_bitbucket() -> Result:
    pipeline = "bitbucket-pipelines.yml"
    return run_tool("check-jsonschema", "--builtin-schema", "vendor.bitbucket-pipelines", pipeline, inputs=[pipeline])


def check_shellcheck() -> Result:
    # lib.sh on its own, then the scripts that source it without following it (SC1091): followed,
    # it is analysed again for every script that sources it (2.3 s instead of 0.5 s).
    scripts = [str(path.relative_to(ROOT)) for path in files("scripts/*.sh")]
    library = [s for s in scripts if Path(s).name == "lib.sh"]
    groups = ([], library), (["--exclude=SC1091"], [s for s in scripts if s not in library])
    results = [run_tool("shellcheck", *options, *group, inputs=group) for options, group in groups if group]
    if not_passed := [result for result in results if result.status != "pass"]:  # every problem, not the first group's
        return Result(not_passed[0].status, not_passed[0].summary, [line for r in not_passed for line in r.details])
    return Result("pass", "shellcheck found no problems") if scripts else Result("skip", "no scripts/*.sh")


def check_pipeline_steps() -> Result:
    """What the schema lets through: step keys, called targets and scripts (pipeline_check.py)."""
    found = pipeline_problems(ROOT)
    if found:
        return Result("fail", f"{len(found)} problems in bitbucket-pipelines.yml", found)
    return Result("pass", "every step uses known keys and calls a make target or script that exists")


def check_openapi() -> Result:
    """The request schema against its snapshot, docs/openapi.json (ecs_model_tools/openapi_snapshot.py)."""
    return Result(*openapi_snapshot.check(ROOT))


CHECKS = {
    "yaml": check_yaml,
    "jinja": check_jinja,
    "python": check_python_compiles,
    "ruff": check_ruff,
    "hadolint": check_hadolint,
    "compose": check_compose,
    "cfn-lint": check_cfn_lint,
    "checkov": check_checkov,
    "cross-stack": check_cross_stack,
    "cfn-role": check_cfn_role,
    "deploy-policy": check_deploy_policy,
    "bitbucket": check_bitbucket,
    "pipeline-steps": check_pipeline_steps,
    "shellcheck": check_shellcheck,
    "openapi": check_openapi,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checks", nargs="*", metavar="CHECK", help="run only these: " + ", ".join(CHECKS))
    parser.add_argument("--strict", action="store_true", default=os.environ.get("VALIDATE_STRICT") == "1")
    args = parser.parse_args(argv)
    if unknown := set(args.checks) - set(CHECKS):
        parser.error(f"unknown check {', '.join(sorted(unknown))}; choose from {', '.join(CHECKS)}")
    names = args.checks or list(CHECKS)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(names)) as pool:  # the slow ones (checkov, cfn-lint) start at once
        results = dict(zip(names, pool.map(lambda name: CHECKS[name](), names), strict=True))

    failed = skipped = 0
    print(f"validate: {len(names)} checks in {ROOT.name}")
    for name, result in results.items():
        if result.status == "skip" and args.strict:
            result.status, result.summary = "fail", f"skipped in strict mode: {result.summary}"
        failed += result.status == "fail"
        skipped += result.status == "skip"
        print(f"  {result.status.upper():4}  {name:11} {result.summary}")
        for line in result.details:
            print(f"        {line}")
    print(
        f"validate: {len(names) - failed - skipped} passed, {failed} failed, {skipped} skipped "
        f"in {time.perf_counter() - started:.1f} s"
    )
    if skipped:
        print(f"validate: to run the skipped checks: {INSTALL}")
    return 1 if failed else 0
