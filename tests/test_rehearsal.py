"""The deploy rehearsal (make rehearse) against moto server, and how each deploy step fails.

The rehearsal runs the pipeline's own make targets for dev (bootstrap, deploy-infra,
build-push, deploy-api), the main pipeline's promotion to production (deploy-infra, promote,
deploy-api ENV=prod), then a second push to dev, with only docker and skopeo replaced. Failures must stop
the right step with a message that names the problem, and a non-zero exit.
"""

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3
import pytest

from .conftest import TOOL, copy_project
from .test_matrix import CERTIFICATE as MATRIX_CERTIFICATE
from .test_matrix import MATRIX

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
    command = ["make", "--no-print-directory", *args, f"VENV={sys.prefix}", f"STAMP={stamp}", f"TRAINING={stamp}"]
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BITBUCKET_"))}
    result = subprocess.run(
        command, cwd=project, env={**base, **(env or {})}, capture_output=True, text=True, timeout=500
    )
    result.output = result.stdout + result.stderr
    return result


SECOND_PUSH = ["second push updated the service", "running and previous images tagged"]


def assert_rehearsal_passed(result, project="property-valuation-api", first_release=False):
    """A whole rehearsal passed, or with `first_release` (REHEARSE_FIRST_RELEASE=1) the part up to the
    production release, and nothing after it ran."""
    assert result.returncode == 0, result.output[-4000:]
    _, failed, emulated, static = map(int, SUMMARY.search(result.stdout).groups())
    assert failed == 0 and emulated >= 10 and static >= 5
    for target in ("bootstrap", "deploy-infra", "build-push", "promote", "deploy-api", "status", "rollback"):
        assert (f"--- {target}: ok" in result.stdout) != (first_release and target == "rollback"), target
    assert all((check in result.stdout) != first_release for check in SECOND_PUSH)
    for check in (
        "stacks complete",
        "API stack resolved the imports",
        "service runs this commit's image",
        *([] if first_release else SECOND_PUSH),
        "circuit breaker with rollback",
        "autoscaling target",
        "alarm rollback; prod releases with the check",
        "test listener rule: header, before production",
        "release check packaged with model.json",
        *([] if first_release else ["rollback serves the previous image, rolling"]),
        "production runs the digest dev ran",
        "promoted byte for byte; production never builds",
        "production refuses an image dev did not run",
        "make status shows commit, digest, model",
    ):
        assert re.search(rf"PASS  \w+ +{re.escape(check)}", result.stdout), check
    unchanged = f"No changes to deploy. Stack {project}-dev-infra is up to date"  # the second push's
    assert (unchanged in result.stdout) != first_release


# The MATRIX's "shared" bake: a second model for the environment of the default bake.
SHARED = next(c for c in MATRIX if c.get("infrastructure") == "shared")


def running_emulator(project: Path) -> tuple[subprocess.Popen, str]:
    """moto server with the bake's emulator patches on a free port of 127.0.0.1, as make rehearse
    starts it: the process and its URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "MOTO_ACCOUNT_ID": "111111111111", "EMULATOR_FAULTS": ""}
    command = [*TOOL, "emulator", str(port), "1"]
    proc = subprocess.Popen(command, cwd=project, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=1)
            return proc, f"http://localhost:{port}"
        except OSError:
            assert proc.poll() is None and time.monotonic() < deadline, "the emulator did not start"
            time.sleep(0.1)


def laptop(url: str) -> dict[str, str]:
    """Someone deploying from a laptop with an admin's keys (the emulator takes any), nothing else."""
    return {
        "AWS_ENDPOINT_URL": url,
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "admin",
        "AWS_SECRET_ACCESS_KEY": "admin",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }


def rehearse_two_models(own: Path, rehearse_own, shared: Path, tmp_path: Path) -> None:
    """The default bake (infrastructure "own": it deploys the environment ml-models) and the MATRIX's
    "shared" bake rehearse into ONE emulator: the second deploys only its own stacks, both are
    reachable through their listener rules, and deleting the second leaves the first intact.
    rehearse_own(url) runs the first's `make rehearse` into the emulator at url (test_fresh_clone.py:
    from a fresh clone, installed from its lock)."""
    emulator, url = running_emulator(own)
    try:
        first = rehearse_own(url)
        assert_rehearsal_passed(first)
        assert "AWS_ROLE_ARN       = arn:aws:iam::111111111111:role/property-valuation-api-deploy" in first.stdout
        assert "PASS  emulated  CloudWatch agent copied to ECR" in first.stdout
        session = boto3.Session("admin", "admin", region_name="eu-west-1")
        cfn, elb = (session.client(name, endpoint_url=url) for name in ("cloudformation", "elbv2"))
        environment = cfn.describe_stacks(StackName="ml-models-dev")["Stacks"][0]

        # The second model up to its production release (the first rehearsed a second push and a rollback).
        second = make(shared, tmp_path, "rehearse", env={"REHEARSE_EMULATOR_URL": url, "REHEARSE_FIRST_RELEASE": "1"})
        assert_rehearsal_passed(second, "rent-estimate", first_release=True)
        assert "environment ml-models-dev exists already" in second.stdout
        for check in ("listener rule routes to this model's targets", "model stacks hold no VPC, load balancer"):
            assert re.search(rf"PASS  \w+ +{re.escape(check)}", second.stdout), check
        # The second model's pipeline never touched the environment's stack.
        assert cfn.describe_stacks(StackName="ml-models-dev")["Stacks"][0] == environment

        def routes() -> dict[str, list[str]]:
            """Each model's paths, read from the listener's rules and the target groups they forward to."""
            exports = {e["Name"]: e["Value"] for e in cfn.list_exports()["Exports"]}
            rules = elb.describe_rules(ListenerArn=exports["ml-models-dev:v1:ListenerArn"])["Rules"]
            found = {}
            for rule in rules:
                forward = [a for a in rule["Actions"] if a["Type"] == "forward"]
                weighted = [
                    g["TargetGroupArn"] for a in forward for g in a.get("ForwardConfig", {}).get("TargetGroups", [])
                ]
                target = [a["TargetGroupArn"] for a in forward if a.get("TargetGroupArn")] + weighted
                model = next((m for m in ("property-valuation-api", "rent-estimate") if target and
                              exports.get(f"{m}-dev-TargetGroupArn") == target[0]), None)  # fmt: skip
                test = any(c["Field"] == "http-header" for c in rule["Conditions"])  # a release's test rule
                paths = sorted(v for c in rule["Conditions"] for v in c.get("PathPatternConfig", {}).get("Values", []))
                found[
                    (model and model + (" test" if test else ""))
                    or ("default" if rule["IsDefault"] else rule["RuleArn"])
                ] = paths
            return found

        assert routes() == {
            "property-valuation-api": ["/property-valuation-api", "/property-valuation-api/*"],
            "property-valuation-api test": ["/property-valuation-api", "/property-valuation-api/*"],
            "rent-estimate": ["/rent-estimate", "/rent-estimate/*"],
            "rent-estimate test": ["/rent-estimate", "/rent-estimate/*"],
            "default": [],  # the fixed 404
        }

        # Another model's priority or path: the deploy stops before changing anything, naming it.
        facts = json.loads((shared / "project.json").read_text())
        for output in cfn.describe_stacks(StackName="ml-models-dev")["Stacks"][0]["Outputs"]:
            if output["OutputKey"] == "ListenerArn":
                rules = elb.describe_rules(ListenerArn=output["OutputValue"])["Rules"]
        own_priority = next(
            r["Priority"]
            for r in rules
            if "/property-valuation-api/*" in str(r["Conditions"]) and "http-header" not in str(r["Conditions"])
        )
        (shared / "project.json").write_text(json.dumps({**facts, "listener_rule_priority": int(own_priority)}))
        clash = make(shared, tmp_path, "deploy-infra", "ENV=dev", env=laptop(url))
        assert clash.returncode != 0
        assert (
            f"error: listener rule priority {own_priority} (derived from the project name 'rent-estimate') is taken by "
            "model 'property-valuation-api'" in clash.stderr
        ), clash.output[-3000:]
        assert "nothing was deployed" in clash.stderr

        for stack in ("rent-estimate-dev-api", "rent-estimate-dev-infra"):  # retiring the second model
            cfn.delete_stack(StackName=stack)
            cfn.get_waiter("stack_delete_complete").wait(StackName=stack, WaiterConfig={"Delay": 1})
        assert routes() == {
            "property-valuation-api": ["/property-valuation-api", "/property-valuation-api/*"],
            "property-valuation-api test": ["/property-valuation-api", "/property-valuation-api/*"],
            "default": [],
        }
        statuses = {s["StackName"]: s["StackStatus"] for s in cfn.describe_stacks()["Stacks"]}
        for stack in ("ml-models-dev", "property-valuation-api-dev-infra", "property-valuation-api-dev-api"):
            assert statuses[stack] in ("CREATE_COMPLETE", "UPDATE_COMPLETE"), statuses
        ecs = session.client("ecs", endpoint_url=url)
        service = ecs.describe_services(cluster="ml-models-dev", services=["property-valuation-api"])["services"]
        assert [s["status"] for s in service] == ["ACTIVE"]
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)


def test_a_shared_bake_alone_rehearses_its_first_deploy_through_failures(bake_once, tmp_path):
    """A "shared" bake with no environment yet (make rehearse-failures deploys the stand-in from
    infra/environment/ first), its first deploy through failures: rolled-back create, then its retry;
    refused image check, then its retry. (Its whole rehearsal, second push and rollback included,
    runs beside the default bake in test_fresh_clone.py.)"""
    project = copy_project(bake_once(SHARED), tmp_path)
    result = make(project, tmp_path, "rehearse-failures")
    assert result.returncode == 0, result.output[-4000:]
    assert "--- stand-in environment ml-models-dev (not deployed by this repository's pipeline)" in result.stdout
    assert "aws iam create-access-key --user-name rent-estimate-deploy" in result.stdout
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
        r"\n {6}TargetGroup  CREATE_FAILED  Resource handler returned message: injected failure", result.stdout
    )
    assert "stack rent-estimate-dev-infra is ROLLBACK_COMPLETE: its first create failed" in result.stdout
    assert "error: could not tell whether rent-estimate-dev/api:" in result.stdout
    for target in ("deploy-infra", "build-push"):
        assert f"--- {target}: failed, as meant" in result.stdout and f"--- {target}: ok" in result.stdout
    assert "--- deploy-api: ok" in result.stdout


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
    env = "infra/environment/environment.yaml"
    assert f"infra/params/dev.json: environment.VpcCIDR is not a parameter of {env}" in result.stderr
    assert f"infra/params/dev.json: environment has no value for VpcCidr, which {env} requires" in result.stderr
    assert "error: fix infra/params/dev.json or the template; nothing was deployed" in result.stderr


def test_a_failing_stack_fails_its_step_in_the_rehearsal(default_project, tmp_path):
    project = copy_project(default_project, tmp_path)
    params = project / "infra/params/dev.json"
    params.write_text(params.read_text().replace('"VpcCidr": "10.0.0.0/16"', '"VpcCidr": "10.0.0.0/33"'))
    (project / "model/artifacts").mkdir(parents=True)
    (project / "model/artifacts/model.onnx").touch()  # no training: the rehearsal stops before any build
    result = make(project, tmp_path, "rehearse")
    assert result.returncode != 0
    assert "--- bootstrap: ok" in result.stdout
    assert "rehearse: step deploy-infra failed" in result.stderr
    assert "error: deploy of stack ml-models-dev failed" in result.stderr  # the environment's, deployed first
    assert "10.0.0.0/33" in result.output and "not a valid CIDR block" in result.output
    assert "--- make build-push" not in result.stdout


def test_a_value_the_script_passes_is_checked_against_the_template_too(default_project, tmp_path):
    result = make(
        default_project, tmp_path, "deploy-api", "ENV=dev", "IMAGE_TAG=bad/tag", env={"AWS_ENDPOINT_URL": NOWHERE}
    )
    assert result.returncode != 0
    assert "  - ImageTag is 'bad/tag' (from the deploy script); infra/api.yaml wants ^[A-Za-z0-9_]" in result.stderr
    assert "error: fix infra/params/dev.json or the template; nothing was deployed" in result.stderr


# Two models by host name in an environment that starts on HTTP (dev's CertificateArn is empty).
ZONE = "internal.example.com"
OWN_BY_HOST = {"certificate_arn": MATRIX_CERTIFICATE, "hosted_zone_name": ZONE}
SHARED_BY_HOST = {**SHARED, "hosted_zone_name": ZONE}


def test_adding_a_certificate_keeps_the_listener_and_every_models_rule(bake_once, tmp_path):
    """docs/configuration.md invites adding dev's certificate later: the environment's one listener
    switches to HTTPS in place, so its ARN (a v1 export both models import) and both models' rules
    stay, and each model's next deploy gives it an https URL."""
    own = copy_project(bake_once(OWN_BY_HOST), tmp_path / "own")
    shared = copy_project(bake_once(SHARED_BY_HOST), tmp_path / "shared")
    emulator, url = running_emulator(own)
    on_laptop = laptop(url)
    try:
        # Each model's first deploy of its infrastructure, which holds its listener rules and target
        # groups (both models' whole rehearsal into one environment is the test above).
        admin = {**on_laptop, **BOOTSTRAP_OIDC}
        for project in (own, shared):
            for target, env in (("bootstrap", admin), ("deploy-infra", on_laptop)):
                result = make(project, tmp_path, target, "ENV=dev", env=env)
                assert result.returncode == 0, f"{project.name} {target}:\n{result.output[-4000:]}"
        session = boto3.Session("admin", "admin", region_name="eu-west-1")
        cfn, elb, acm = (session.client(name, endpoint_url=url) for name in ("cloudformation", "elbv2", "acm"))

        def exports() -> dict[str, str]:
            return {e["Name"]: e["Value"] for e in cfn.list_exports()["Exports"]}

        def routes(listener: str) -> dict[str, list[str]]:
            """Each model's host names, from the listener's production rules and the target groups they
            forward to (a release's test rule, the same hosts plus its header, is left out)."""
            found = {}
            for rule in elb.describe_rules(ListenerArn=listener)["Rules"]:
                if any(c["Field"] == "http-header" for c in rule["Conditions"]):
                    continue
                target = [
                    a.get("TargetGroupArn") or a["ForwardConfig"]["TargetGroups"][0]["TargetGroupArn"]
                    for a in rule["Actions"]
                    if a["Type"] == "forward"
                ]
                model = next((m for m in ("property-valuation-api", "rent-estimate") if target and
                              exports().get(f"{m}-dev-TargetGroupArn") == target[0]), None)  # fmt: skip
                hosts = sorted(v for c in rule["Conditions"] for v in c.get("HostHeaderConfig", {}).get("Values", []))
                found[model or ("default" if rule["IsDefault"] else rule["RuleArn"])] = hosts
            return found

        def api_url(stack: str) -> str:
            outputs = cfn.describe_stacks(StackName=stack)["Stacks"][0]["Outputs"]
            return next(o["OutputValue"] for o in outputs if o["OutputKey"] == "ApiUrl")

        listener = exports()["ml-models-dev:v1:ListenerArn"]
        before = routes(listener)
        assert before == {
            "property-valuation-api": [f"property-valuation-api.{ZONE}"],
            "rent-estimate": [f"rent-estimate.{ZONE}"],
            "default": [],
        }
        assert api_url("rent-estimate-dev-infra") == f"http://rent-estimate.{ZONE}"
        assert elb.describe_listeners(ListenerArns=[listener])["Listeners"][0]["Protocol"] == "HTTP"

        # dev's own certificate, named in infra/params/dev.json, deployed by the environment's owner.
        certificate = acm.request_certificate(DomainName=f"*.{ZONE}")["CertificateArn"]
        params = own / "infra" / "params" / "dev.json"
        values = json.loads(params.read_text())
        values["environment"]["CertificateArn"] = certificate
        params.write_text(json.dumps(values, indent=2))
        deployed = make(own, tmp_path, "deploy-infra", "ENV=dev", env=on_laptop)
        assert deployed.returncode == 0, deployed.output[-4000:]

        assert exports()["ml-models-dev:v1:ListenerArn"] == listener  # the same listener, export unchanged
        now = elb.describe_listeners(ListenerArns=[listener])["Listeners"][0]
        assert (now["Protocol"], now["Port"], [c["CertificateArn"] for c in now["Certificates"]]) == (
            "HTTPS",
            443,
            [certificate],
        )
        assert routes(listener) == before  # both models' rules, forwarding to their target groups
        assert api_url("property-valuation-api-dev-infra") == f"https://property-valuation-api.{ZONE}"
        # The other model's next deploy reads the new protocol (not an export: nothing blocked the change).
        redeployed = make(shared, tmp_path, "deploy-infra", "ENV=dev", env=on_laptop)
        assert redeployed.returncode == 0, redeployed.output[-4000:]
        assert api_url("rent-estimate-dev-infra") == f"https://rent-estimate.{ZONE}"
        statuses = {s["StackName"]: s["StackStatus"] for s in cfn.describe_stacks()["Stacks"]}
        for stack in ("ml-models-dev", "property-valuation-api-dev-infra", "rent-estimate-dev-infra"):
            assert statuses[stack] in ("CREATE_COMPLETE", "UPDATE_COMPLETE"), statuses
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)


def test_the_oidc_provider_outlives_a_rerun_with_the_existing_provider_and_the_stack(default_project, tmp_path):
    """Every repository of the workspace that deploys to the account trusts the one provider: the
    bootstrap that created it keeps it when re-run with EXISTING_OIDC_PROVIDER_ARN (the resource's
    condition turns false) and when its stack is deleted (DeletionPolicy and UpdateReplacePolicy Retain)."""
    project = copy_project(default_project, tmp_path / "own")
    emulator, url = running_emulator(project)
    admin = {**laptop(url), **BOOTSTRAP_OIDC}
    try:
        session = boto3.Session("admin", "admin", region_name="eu-west-1")
        iam, cfn = (session.client(name, endpoint_url=url) for name in ("iam", "cloudformation"))

        def providers() -> list[str]:
            return [p["Arn"] for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]]

        first = make(project, tmp_path, "bootstrap", "ENV=dev", env=admin)
        assert first.returncode == 0, first.output[-3000:]
        (provider,) = providers()
        assert provider.endswith("api.bitbucket.org/2.0/workspaces/my-workspace/pipelines-config/identity/oidc")

        again = make(project, tmp_path, "bootstrap", "ENV=dev", env={**admin, "EXISTING_OIDC_PROVIDER_ARN": provider})
        assert again.returncode == 0, again.output[-3000:]
        resources = cfn.describe_stack_resources(StackName="property-valuation-api-bootstrap")["StackResources"]
        assert "BitbucketOidcProvider" not in {r.get("LogicalResourceId") for r in resources}  # not the stack's now
        assert providers() == [provider]
        role = iam.get_role(RoleName="property-valuation-api-deploy")["Role"]
        assert provider in json.dumps(role["AssumeRolePolicyDocument"])

        # A fresh account, whose bootstrap stack still holds the provider: deleting the stack keeps it.
        urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST"), timeout=10)
        fresh = make(project, tmp_path, "bootstrap", "ENV=dev", env=admin)
        assert fresh.returncode == 0, fresh.output[-3000:]
        (provider,) = providers()
        cfn.delete_stack(StackName="property-valuation-api-bootstrap")
        cfn.get_waiter("stack_delete_complete").wait(
            StackName="property-valuation-api-bootstrap", WaiterConfig={"Delay": 1}
        )
        assert providers() == [provider]
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)
