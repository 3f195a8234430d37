"""How the deploy scripts (scripts/lib.sh) handle each state a stack can be in.

The emulator cannot put a stack in most of these states (in progress, rollback failed,
an export in use), so `aws` is replaced by a stand-in that answers as AWS would and records
every call; lib.sh's functions run unchanged in bash.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import copy_project

STACKS = {
    "bootstrap": "property-valuation-api-bootstrap",
    "infra": "property-valuation-api-dev-infra",
    "prod-infra": "property-valuation-api-prod-infra",
}
ROLE = "arn:aws:iam::111111111111:role/property-valuation-api-cfn-exec"

# Answers by the first two words of the command; anything else succeeds silently.
FAKE_AWS = """#!PYTHON
import json, os, sys
args = sys.argv[1:]
with open(os.environ["FAKE_AWS_LOG"], "a") as log:
    log.write(json.dumps(args) + "\\n")
answer = json.load(open(os.environ["FAKE_AWS_ANSWERS"])).get(" ".join(args[:2]), {})
sys.stdout.write(answer.get("stdout", ""))
sys.stderr.write(answer.get("stderr", ""))
sys.exit(answer.get("exit", 0))
"""


def stack(name: str, status: str, protected: bool = False) -> str:
    return json.dumps({"StackName": name, "StackStatus": status, "EnableTerminationProtection": protected})


def event(logical: str, kind: str, physical: str, status: str, reason: str) -> str:
    return "\t".join([logical, kind, physical, status, reason]) + "\n"


def run_lib(project: Path, tmp_path: Path, script: str, answers: dict, env_name: str = "dev"):
    """Runs `script` in bash after sourcing scripts/lib.sh; returns (result, aws calls)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "aws"
    fake.write_text(FAKE_AWS.replace("PYTHON", sys.executable, 1))
    fake.chmod(0o755)
    (tmp_path / "answers.json").write_text(json.dumps(answers))
    log = tmp_path / "calls.jsonl"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BITBUCKET_"))},
        "PATH": os.pathsep.join([str(bin_dir), os.environ["PATH"]]),
        "FAKE_AWS_LOG": str(log),
        "FAKE_AWS_ANSWERS": str(tmp_path / "answers.json"),
    }
    command = f"source scripts/lib.sh; use_environment {env_name}; {script}"
    result = subprocess.run(["bash", "-c", command], cwd=project, env=env, capture_output=True, text=True, timeout=60)
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return result, calls


def called(calls: list[list[str]], *words: str) -> bool:
    return any(call[: len(words)] == list(words) for call in calls)


def test_a_rolled_back_bootstrap_stack_stops_with_the_admins_command(default_project, tmp_path):
    answers = {"cloudformation describe-stacks": {"stdout": stack(STACKS["bootstrap"], "ROLLBACK_COMPLETE")}}
    result, calls = run_lib(default_project, tmp_path, 'deploy_stack "$BOOTSTRAP_STACK" t.yaml ""', answers)
    assert result.returncode == 1
    assert (
        "aws cloudformation delete-stack --stack-name property-valuation-api-bootstrap && "
        "aws cloudformation wait stack-delete-complete --stack-name property-valuation-api-bootstrap"
    ) in result.stderr
    assert not called(calls, "cloudformation", "delete-stack") and not called(calls, "cloudformation", "deploy")


def test_a_rolled_back_project_stack_is_deleted_with_the_role_then_deployed(default_project, tmp_path):
    answers = {"cloudformation describe-stacks": {"stdout": stack(STACKS["infra"], "ROLLBACK_COMPLETE")}}
    result, calls = run_lib(default_project, tmp_path, f'deploy_stack "$INFRA_STACK" t.yaml {ROLE} A=1', answers)
    assert result.returncode == 0, result.stderr
    verbs = [call[1] for call in calls if call[0] == "cloudformation"]
    assert verbs.index("delete-stack") < verbs.index("wait") < verbs.index("deploy")
    delete = next(call for call in calls if call[:2] == ["cloudformation", "delete-stack"])
    assert delete[2:] == ["--stack-name", STACKS["infra"], "--role-arn", ROLE]


@pytest.mark.parametrize(
    ("status", "command"),
    [
        ("CREATE_IN_PROGRESS", "aws cloudformation wait stack-create-complete --stack-name {stack}"),
        ("UPDATE_ROLLBACK_IN_PROGRESS", "aws cloudformation wait stack-rollback-complete --stack-name {stack}"),
        ("ROLLBACK_IN_PROGRESS", "aws cloudformation describe-stacks --stack-name {stack} --query"),
        (
            "UPDATE_ROLLBACK_FAILED",
            "aws cloudformation continue-update-rollback --stack-name {stack} --role-arn {role}",
        ),
        ("UPDATE_FAILED", "aws cloudformation rollback-stack --stack-name {stack} --role-arn {role}"),
        ("ROLLBACK_FAILED", "aws cloudformation delete-stack --stack-name {stack} --role-arn {role}"),
        ("DELETE_FAILED", "aws cloudformation delete-stack --stack-name {stack} --role-arn {role}  # add --retain"),
    ],
)
def test_a_stack_that_cannot_be_deployed_stops_with_the_exact_command(default_project, tmp_path, status, command):
    answers = {
        "cloudformation describe-stacks": {"stdout": stack(STACKS["infra"], status)},
        "cloudformation describe-stack-events": {
            "stdout": event("TaskRole", "AWS::IAM::Role", "-", "DELETE_FAILED", "not authorized: iam:DeleteRole")
        },
    }
    result, calls = run_lib(default_project, tmp_path, f'deploy_stack "$INFRA_STACK" t.yaml {ROLE} A=1', answers)
    assert result.returncode == 1
    assert f"stack {STACKS['infra']} is {status}" in result.stderr
    assert command.format(stack=STACKS["infra"], role=ROLE) in result.stderr
    assert not called(calls, "cloudformation", "deploy") and not called(calls, "cloudformation", "delete-stack")
    if status.endswith("_FAILED"):
        assert "TaskRole  DELETE_FAILED  not authorized: iam:DeleteRole" in result.stderr


def test_a_failure_prints_the_failed_nested_stacks_own_events(default_project, tmp_path):
    nested = "arn:aws:cloudformation:eu-west-1:111111111111:stack/property-valuation-api-dev-infra-EcsStack-X/1"
    root_events = event("EcsStack", "AWS::CloudFormation::Stack", nested, "UPDATE_FAILED", "Embedded stack failed")
    answers = {
        "cloudformation describe-stacks": {"stdout": stack(STACKS["infra"], "UPDATE_ROLLBACK_COMPLETE")},
        "cloudformation deploy": {"exit": 255},
        "cloudformation describe-stack-events": {"stdout": root_events},
    }
    # The stand-in answers every describe-stack-events alike; the nested call must name the nested stack.
    result, calls = run_lib(default_project, tmp_path, f'deploy_stack "$INFRA_STACK" t.yaml {ROLE} A=1', answers)
    assert result.returncode == 1
    described = [call[3] for call in calls if call[:2] == ["cloudformation", "describe-stack-events"]]
    assert STACKS["infra"] in described and nested in described
    assert "Failed events of property-valuation-api-dev-infra-EcsStack-X/1" in result.stderr


def test_an_export_in_use_stops_with_the_documented_path(default_project, tmp_path):
    reason = (
        "Export property-valuation-api-dev-PrivateSubnets cannot be updated as it is in use by "
        "property-valuation-api-dev-api"
    )
    answers = {
        "cloudformation describe-stacks": {"stdout": stack(STACKS["infra"], "UPDATE_ROLLBACK_COMPLETE")},
        "cloudformation deploy": {"exit": 255},
        "cloudformation describe-stack-events": {
            "stdout": event(STACKS["infra"], "AWS::CloudFormation::Stack", "-", "UPDATE_FAILED", reason)
        },
    }
    result, _ = run_lib(default_project, tmp_path, f'deploy_stack "$INFRA_STACK" t.yaml {ROLE} A=1', answers)
    assert result.returncode == 1
    section = "Changing a value a stack imports"
    assert f"docs/operations.md, '{section}'" in result.stderr
    assert f"\n## {section}\n" in (default_project / "docs" / "operations.md").read_text()


@pytest.mark.parametrize(
    ("env_name", "protected", "expected"), [("prod", False, True), ("prod", True, False), ("dev", False, False)]
)
def test_production_stacks_get_termination_protection_once_deployed(
    default_project, tmp_path, env_name, protected, expected
):
    name = STACKS["prod-infra"] if env_name == "prod" else STACKS["infra"]
    answers = {"cloudformation describe-stacks": {"stdout": stack(name, "UPDATE_COMPLETE", protected)}}
    result, calls = run_lib(
        default_project, tmp_path, f'deploy_stack "$INFRA_STACK" t.yaml {ROLE} A=1', answers, env_name
    )
    assert result.returncode == 0, result.stderr
    assert (
        called(calls, "cloudformation", "update-termination-protection", "--enable-termination-protection") is expected
    )


@pytest.mark.parametrize(
    ("stderr", "exit_code", "message"),
    [
        ("An error occurred (ImageNotFoundException) when calling the DescribeImages operation", 1, ""),
        ("An error occurred (AccessDeniedException) when calling the DescribeImages operation", 1, "could not tell"),
        ("Could not connect to the endpoint URL", 1, "could not tell"),
    ],
    ids=["not-found", "access-denied", "no-network"],
)
def test_the_image_check_tells_not_found_from_any_other_error(default_project, tmp_path, stderr, exit_code, message):
    answers = {"ecr describe-images": {"stderr": stderr, "exit": 254}}
    script = "if image_in_ecr repo tag; then echo present; else echo absent; fi"
    result, _ = run_lib(default_project, tmp_path, script, answers)
    if message:
        assert result.returncode == exit_code and "absent" not in result.stdout
        assert f"error: {message} whether repo:tag is in ECR, so nothing was pushed" in result.stderr
        assert stderr in result.stderr
    else:
        assert result.returncode == 0 and result.stdout.strip() == "absent"


@pytest.mark.parametrize(
    ("stderr", "outcome"),
    [
        (
            "An error occurred (ValidationError) when calling DescribeStacks: Stack with id x does not exist",
            "none",
        ),
        ("An error occurred (AccessDenied) when calling the DescribeStacks operation: not authorized", "stops"),
    ],
    ids=["does-not-exist", "access-denied"],
)
def test_reading_a_stack_tells_does_not_exist_from_any_other_error(default_project, tmp_path, stderr, outcome):
    answers = {"cloudformation describe-stacks": {"stderr": stderr, "exit": 254}}
    script = f'status="$(stack_status {STACKS["infra"]})"; echo "status=[$status]"'  # as deploy_stack reads it
    result, _ = run_lib(default_project, tmp_path, script, answers)
    if outcome == "none":
        assert result.returncode == 0 and "status=[]" in result.stdout
    else:
        assert f"could not read stack {STACKS['infra']}: " in result.stderr and "AccessDenied" in result.stderr
        assert "status=[]" not in result.stdout


@pytest.mark.parametrize(
    ("account", "region", "message"),
    [
        (
            "111111111111",
            "eu-west-1",
            "refusing to deploy dev into account 111111111111: dev belongs to account 999999999999 (project.json)",
        ),
        ("999999999999", "us-east-1", "refusing to deploy into region us-east-1: this project deploys to eu-west-2"),
    ],
    ids=["account", "region"],
)
def test_the_guard_refuses_another_account_or_region_than_project_json_names(
    default_project, tmp_path, account, region, message
):
    project = copy_project(default_project, tmp_path)
    facts = json.loads((project / "project.json").read_text())
    facts["accounts"]["dev"], facts["region"] = "999999999999", "eu-west-2"
    (project / "project.json").write_text(json.dumps(facts))
    answers = {"sts get-caller-identity": {"stdout": account + "\n"}}
    result, _ = run_lib(project, tmp_path, f"AWS_DEFAULT_REGION={region} guard_account", answers)
    assert result.returncode == 1
    assert f"error: {message}" in result.stderr, result.stderr


def test_rollback_finds_the_commit_of_the_image_tagged_previous(default_project, tmp_path):
    """make rollback deploys the commit the "previous" tag names (its other tag); none is no commit,
    and any other error stops the step."""
    answers = {"ecr describe-images": {"stdout": "previous\t4a36949769cef0b4a8028e1edcb2ecda31680fd8\n"}}
    result, calls = run_lib(default_project, tmp_path, 'image_commit "p-dev/api" previous', answers)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "4a36949769cef0b4a8028e1edcb2ecda31680fd8"
    assert ["ecr", "describe-images", "--repository-name", "p-dev/api", "--image-ids", "imageTag=previous"] in [
        call[:6] for call in calls
    ]
    missing = {"ecr describe-images": {"stderr": "An error occurred (ImageNotFoundException)", "exit": 254}}
    result, _ = run_lib(default_project, tmp_path, 'image_commit "p-dev/api" previous', missing)
    assert result.returncode == 0 and result.stdout == ""
    denied = {"ecr describe-images": {"stderr": "An error occurred (AccessDeniedException)", "exit": 254}}
    result, _ = run_lib(default_project, tmp_path, 'image_commit "p-dev/api" previous', denied)
    assert result.returncode == 1 and "could not read p-dev/api:previous from ECR" in result.stderr
