"""bitbucket-pipelines.yml: Bitbucket's schema and our own step check pass on each deploy
identity and gate setting, and the step check catches what the schema lets through."""

import re
import sys

import pytest
import yaml

from .conftest import TOOL, copy_project, run

SCHEMA = ["check-jsonschema", "--builtin-schema", "vendor.bitbucket-pipelines", "bitbucket-pipelines.yml"]


@pytest.fixture(params=["defaults", "deploy_identity:access_keys-manual_production_gate:false"])
def project(request, default_project, access_keys_project):
    return default_project if request.param == "defaults" else access_keys_project


def pipeline(project):
    return yaml.safe_load((project / "bitbucket-pipelines.yml").read_text())


def deploy_steps(config, branch):
    stage = config["pipelines"]["branches"][branch][1]["stage"]
    return stage, [item["step"] for item in stage["steps"]]


def test_schema_and_step_check_pass(project):
    result = run(SCHEMA, project)
    assert result.returncode == 0, result.stdout + result.stderr
    result = run([*TOOL, "validate", "--strict", "bitbucket", "pipeline-steps"], project)
    assert result.returncode == 0, result.stdout
    assert "2 passed, 0 failed" in result.stdout


def test_branches_test_first_then_deploy_their_environment(project):
    config = pipeline(project)
    assert config["pipelines"]["default"][0]["step"]["script"] == ["make validate", "make browser", "make test"]
    assert config["pipelines"]["pull-requests"]["**"][0]["step"]["name"] == "Validate and test"
    for branch, deployment, env in (("dev", "test", "dev"), ("main", "production", "prod")):
        assert config["pipelines"]["branches"][branch][0]["step"]["name"] == "Validate and test"
        stage, steps = deploy_steps(config, branch)
        assert stage["deployment"] == deployment
        image = ["make build-push ENV=dev"] if env == "dev" else ["make skopeo", "make promote ENV=prod"]
        assert [s["script"] for s in steps] == [[f"make deploy-infra ENV={env}"], image, [f"make deploy-api ENV={env}"]]
        assert all("pip" in s["caches"] for s in steps)
    _, dev = deploy_steps(config, "dev")
    assert dev[1]["services"] == ["docker"] and "docker" in dev[1]["caches"]
    _, production = deploy_steps(config, "main")
    assert not any("services" in step for step in production)  # no docker: production never builds


def test_options_decide_oidc_and_the_production_gate(default_project, access_keys_project):
    stage, steps = deploy_steps(pipeline(default_project), "main")
    assert stage["trigger"] == "manual"
    assert all(step["oidc"] is True for step in steps)
    stage, steps = deploy_steps(pipeline(access_keys_project), "main")
    assert "trigger" not in stage
    assert not any("oidc" in step for step in steps)
    assert "AWS_SECRET_ACCESS_KEY" in (access_keys_project / "bitbucket-pipelines.yml").read_text()  # a comment
    assert "AWS_SECRET_ACCESS_KEY:" not in (access_keys_project / "bitbucket-pipelines.yml").read_text()


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "script:\n                  - make deploy-api ENV=dev",
            "scrpit:\n                  - make deploy-api ENV=dev",
            "unknown step key 'scrpit'",
        ),
        (
            "name: Deploy infrastructure",
            "name: Deploy infrastructure\n                deploymnet: test",
            "unknown step key 'deploymnet'",
        ),
        (
            "- make deploy-api ENV=dev",
            "- scripts/deploy-everything.sh dev",
            "scripts/deploy-everything.sh does not exist",
        ),
        ("- make deploy-api ENV=dev", "- make deploy-apii ENV=dev", "make target 'deploy-apii' is not in the Makefile"),
        ("- make deploy-api ENV=prod", "- make deploy-api ENV=dev", "deployment production must deploy ENV=prod"),
        ("- make test", "- pip install -r requirements-dev.txt && pytest", "is not a make target or a script"),
        (
            "- make promote ENV=prod",
            "- make build-push ENV=prod",
            "production never runs make build-push: it promotes the image dev ran",
        ),
        ("- make promote ENV=prod", "- make train promote ENV=prod", "production never runs make train"),
    ],
    ids=[
        "misspelled-script",
        "misspelled-deployment",
        "missing-script",
        "missing-target",
        "wrong-env",
        "logic-in-yaml",
        "production-builds",
        "production-trains",
    ],
)
def test_step_check_catches_what_the_schema_lets_through(default_project, tmp_path, old, new, message):
    project = copy_project(default_project, tmp_path)
    path = project / "bitbucket-pipelines.yml"
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new, 1))
    schema = run(SCHEMA, project)
    result = run([*TOOL, "validate", "pipeline-steps"], project)
    assert result.returncode == 1, result.stdout
    assert message in result.stdout
    if "deploymnet" in new or "scrpit" in new:
        assert schema.returncode == 0  # the gap this check exists for


def test_bootstrap_template_passes_cfn_lint(default_project, access_keys_project):
    # checkov runs on it in every bake (the strict validator's checkov check covers infra/*.yaml)
    for project in (default_project, access_keys_project):
        result = run(["cfn-lint", "infra/bootstrap.yaml"], project)
        assert result.returncode == 0, result.stdout


def test_bootstrap_trusts_only_this_repository(default_project, access_keys_project):
    from .test_infra import template

    oidc = template(default_project, "bootstrap.yaml")["Resources"]
    statement = oidc["DeployRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    provider = "api.bitbucket.org/2.0/workspaces/my-workspace/pipelines-config/identity/oidc"
    # The claims themselves are evaluated in tests/test_iam.py; here, the keys name this workspace's provider.
    assert list(statement["Condition"]["StringEquals"]) == [f"{provider}:aud"]
    assert list(statement["Condition"]["StringLike"]) == [f"{provider}:sub"]
    assert "DeployUser" not in oidc
    keys = template(access_keys_project, "bootstrap.yaml")["Resources"]
    assert {"DeployUser", "DeployGroup"} <= set(keys) and "BitbucketOidcProvider" not in keys
    for resources in (oidc, keys):  # the deploy identity may pass only the execution role, only to CloudFormation
        statements = resources["DeployPolicy"]["Properties"]["PolicyDocument"]["Statement"]
        passrole = [s for s in statements if "iam:PassRole" in str(s.get("Action"))]
        assert passrole == [s for s in statements if s["Sid"] == "PassOnlyTheExecutionRoleToCloudFormation"]
        assert passrole[0]["Condition"] == {"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}}


def test_the_deploy_steps_never_train_and_build_from_the_committed_model(default_project):
    """What the deployment steps run (their make targets, the scripts those call and what the scripts
    source) holds no training: build-push checks the committed model by checksum and builds from it."""
    scripts = run([sys.executable, "-c", DEPLOY_SCRIPTS], default_project)
    assert scripts.returncode == 0, scripts.stderr
    names = scripts.stdout.split()
    assert "build-push.sh" in names and "lib.sh" in names
    for name in names:
        text = (default_project / "scripts" / name).read_text()
        assert not re.search(r"make\b[^\n]*(train|model/artifacts)|model\.train", text), name
    assert "promote.sh" in names  # production's image step
    build = (default_project / "scripts/build-push.sh").read_text()
    assert "ecs-model-tools artifact" in build and '--label "model.sha256=$model_sha256"' in build
    for branch in ("dev", "main"):
        _, steps = deploy_steps(pipeline(default_project), branch)
        assert all("artifacts" not in step for step in steps)  # nothing passed between steps: all is committed
    ignored = (default_project / ".gitignore").read_text().splitlines()
    assert not [line for line in ignored if line.startswith("model")], "the model is committed, not ignored"


# The deployment steps' scripts, as the deploy-policy check finds them (run in the bake's folder).
DEPLOY_SCRIPTS = "from ecs_model_tools import deploy_policy_check as d; print(*(p.name for p in d.deploy_scripts()))"
