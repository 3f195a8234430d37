"""The deploy rehearsal (make rehearse) against moto server, and how each deploy step fails.

The rehearsal runs the pipeline's own make targets for dev (bootstrap, deploy-infra,
build-push, deploy-api, then a second push) with only docker replaced. Failures must stop
the right step with a message that names the problem, and a non-zero exit.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import copy_project

SUMMARY = re.compile(r"rehearse: (\d+) passed, (\d+) failed \((\d+) emulated, (\d+) static\)")
NOWHERE = "http://127.0.0.1:9"  # nothing listens here: a script that calls AWS fails loudly
UUID = "5e4c0a3b-9d7f-4b1a-8c2e-3f4a5b6c7d8e"
BOOTSTRAP_OIDC = {  # as Bitbucket's Repository settings > Pipelines > OpenID Connect shows them
    "AWS_DEFAULT_REGION": "eu-west-1",
    "BITBUCKET_OIDC_AUDIENCE": f"ari:cloud:bitbucket::workspace/{UUID}",
    "BITBUCKET_REPO_UUID": "{" + UUID + "}",
    "BITBUCKET_DEPLOYMENT_ENVIRONMENT_UUID": "{" + UUID + "}",
}


def make(project: Path, tmp_path: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """make in a baked project, using this interpreter's environment as its .venv (no install)."""
    stamp = tmp_path / "installed"
    stamp.touch()
    command = ["make", "--no-print-directory", *args, f"VENV={sys.prefix}", f"STAMP={stamp}"]
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BITBUCKET_"))}
    result = subprocess.run(
        command, cwd=project, env={**base, **(env or {})}, capture_output=True, text=True, timeout=500
    )
    result.output = result.stdout + result.stderr
    return result


def assert_rehearsal_passed(result):
    assert result.returncode == 0, result.output[-4000:]
    _, failed, emulated, static = map(int, SUMMARY.search(result.stdout).groups())
    assert failed == 0 and emulated >= 10 and static >= 5
    for target in ("bootstrap", "deploy-infra", "build-push", "deploy-api"):
        assert f"--- {target}: ok" in result.stdout
    for check in (
        "stacks complete",
        "API stack resolved the imports",
        "service runs this commit's image",
        "second push updated the service",
        "running and previous images tagged",
        "circuit breaker with rollback",
        "autoscaling target",
    ):
        assert re.search(rf"PASS  \w+ +{re.escape(check)}", result.stdout), check
    assert "No changes to deploy. Stack property-valuation-api-dev-infra is up to date" in result.stdout


def test_rehearsal_of_the_default_project(default_project, tmp_path):
    project = copy_project(default_project, tmp_path)
    result = make(project, tmp_path, "rehearse")
    assert_rehearsal_passed(result)
    assert "AWS_ROLE_ARN       = arn:aws:iam::111111111111:role/property-valuation-api-deploy" in result.stdout
    assert "PASS  emulated  CloudWatch agent copied to ECR" in result.stdout


def test_the_failures_rehearsal_recovers_each_step(default_project, tmp_path):
    """A first deploy through failures: rolled-back create, then its retry; refused image check, then its retry."""
    project = copy_project(default_project, tmp_path)
    result = make(project, tmp_path, "rehearse-failures")
    assert result.returncode == 0, result.output[-4000:]
    for check in (
        "failed first create rolled back, step failed",
        "failed nested stack's own events printed",
        "retry deleted the rolled-back stack, created anew",
        "existence check error stops build-push, no push",
        "stacks complete",
        "service runs this commit's image",
    ):
        assert re.search(rf"PASS  \w+ +{re.escape(check)}", result.stdout), check
    _, failed, _, _ = map(int, SUMMARY.search(result.stdout).groups())
    assert failed == 0
    # The nested stack's own event names the resource and AWS's reason; the root's only the nested stack.
    assert re.search(
        r"\n {6}Cluster  CREATE_FAILED  Resource handler returned message: \"Unable to assume", result.stdout
    )
    assert "stack property-valuation-api-dev-infra is ROLLBACK_COMPLETE: its first create failed" in result.stdout
    assert "error: could not tell whether property-valuation-api-dev/api:" in result.stdout
    for target in ("deploy-infra", "build-push"):
        assert f"--- {target}: failed, as meant" in result.stdout and f"--- {target}: ok" in result.stdout
    assert "--- deploy-api: ok" in result.stdout


def test_rehearsal_with_access_keys(access_keys_project, tmp_path):
    project = copy_project(access_keys_project, tmp_path)
    result = make(project, tmp_path, "rehearse")
    assert_rehearsal_passed(result)
    assert "aws iam create-access-key --user-name property-valuation-api-deploy" in result.stdout


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["deploy-api"], {}, "no environment given"),
        (["deploy-infra", "ENV=qa"], {}, "unknown environment 'qa': use dev or prod"),
        (["deploy-infra", "ENV=dev"], {}, "variable AWS_DEFAULT_REGION is not set"),
        (
            ["deploy-infra", "ENV=dev"],
            {"AWS_DEFAULT_REGION": "eu-west-1", "BITBUCKET_STEP_OIDC_TOKEN": "x.y.z"},
            "variable AWS_ROLE_ARN is not set: set it as a deployment variable",
        ),
        (
            ["build-push", "ENV=dev"],
            {"AWS_DEFAULT_REGION": "eu-west-1", "BITBUCKET_BUILD_NUMBER": "7", "BITBUCKET_COMMIT": "abc"},
            "no OIDC token in this pipeline step: give the step 'oidc: true'",
        ),
        (
            ["bootstrap", "ENV=prod"],
            {"AWS_DEFAULT_REGION": "eu-west-1"},
            "variable BITBUCKET_OIDC_AUDIENCE is not set: copy it from Bitbucket: Repository settings > Pipelines"
            " > OpenID Connect (Audience)",
        ),
        (
            ["bootstrap", "ENV=prod"],
            {**BOOTSTRAP_OIDC, "BITBUCKET_OIDC_AUDIENCE": "ari:cloud:bitbucket::workspace/{" + UUID + "}"},
            "BITBUCKET_OIDC_AUDIENCE is 'ari:cloud:bitbucket::workspace/{" + UUID + "}', not ari:cloud:bitbucket"
            "::workspace/<uuid without braces>",
        ),
        (
            ["bootstrap", "ENV=prod"],
            {**BOOTSTRAP_OIDC, "BITBUCKET_REPO_UUID": UUID},
            f"BITBUCKET_REPO_UUID is '{UUID}', not {{<uuid>}} with the braces",
        ),
        (
            ["bootstrap", "ENV=prod"],
            {k: v for k, v in BOOTSTRAP_OIDC.items() if k != "BITBUCKET_DEPLOYMENT_ENVIRONMENT_UUID"},
            "variable BITBUCKET_DEPLOYMENT_ENVIRONMENT_UUID is not set: copy it from Bitbucket: Repository settings"
            " > Pipelines > OpenID Connect (the UUID of deployment environment Production, with the braces)",
        ),
    ],
    ids=[
        "no-env",
        "unknown-env",
        "no-region",
        "oidc-without-role",
        "step-without-oidc",
        "bootstrap-without-audience",
        "bootstrap-audience-with-braces",
        "bootstrap-repository-without-braces",
        "bootstrap-without-environment",
    ],
)
def test_a_missing_variable_stops_the_step_before_aws(default_project, tmp_path, args, env, message):
    result = make(default_project, tmp_path, *args, env={"AWS_ENDPOINT_URL": NOWHERE, **env})
    assert result.returncode != 0
    assert f"error: {message}" in result.stderr, result.output


def test_access_keys_step_without_its_secured_variables(access_keys_project, tmp_path):
    env = {"AWS_ENDPOINT_URL": NOWHERE, "AWS_DEFAULT_REGION": "eu-west-1", "BITBUCKET_BUILD_NUMBER": "7"}
    result = make(access_keys_project, tmp_path, "deploy-api", "ENV=dev", "IMAGE_TAG=abc", env=env)
    assert result.returncode != 0
    assert "error: variable AWS_ACCESS_KEY_ID is not set: store the deploy user's access key id" in result.stderr


def test_a_broken_parameter_stops_deploy_infra_before_aws(default_project, tmp_path):
    project = copy_project(default_project, tmp_path)
    params = project / "infra/params/dev.json"
    params.write_text(params.read_text().replace('"VpcCidr"', '"VpcCIDR"'))
    result = make(
        project,
        tmp_path,
        "deploy-infra",
        "ENV=dev",
        env={"AWS_ENDPOINT_URL": NOWHERE, "AWS_DEFAULT_REGION": "eu-west-1"},
    )
    assert result.returncode != 0
    assert "infra/params/dev.json: infra.VpcCIDR is not a parameter of infra/root.yaml" in result.stderr
    assert "infra/params/dev.json: infra has no value for VpcCidr, which infra/root.yaml requires" in result.stderr
    assert "error: fix infra/params/dev.json or the template; nothing was deployed" in result.stderr


def test_a_failing_stack_fails_its_step_in_the_rehearsal(default_project, tmp_path):
    project = copy_project(default_project, tmp_path)
    params = project / "infra/params/dev.json"
    params.write_text(params.read_text().replace('"VpcCidr": "10.0.0.0/16"', '"VpcCidr": "10.0.0.0/33"'))
    result = make(project, tmp_path, "rehearse")
    assert result.returncode != 0
    assert "--- bootstrap: ok" in result.stdout
    assert "rehearse: step deploy-infra failed" in result.stderr
    assert "error: deploy of stack property-valuation-api-dev-infra failed" in result.stderr
    assert "10.0.0.0/33" in result.output and "not a valid CIDR block" in result.output
    assert "--- make build-push" not in result.stdout


def test_a_value_the_script_passes_is_checked_against_the_template_too(default_project, tmp_path):
    result = make(
        default_project, tmp_path, "deploy-api", "ENV=dev", "IMAGE_TAG=bad/tag", env={"AWS_ENDPOINT_URL": NOWHERE}
    )
    assert result.returncode != 0
    assert "  - ImageTag is 'bad/tag' (from the deploy script); infra/api.yaml wants ^[A-Za-z0-9_]" in result.stderr
    assert "error: fix infra/params/dev.json or the template; nothing was deployed" in result.stderr
