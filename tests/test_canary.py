"""Canary and linear releases (issue 26): what the emulator cannot show, checked from the
templates and the authoritative sources.

- Production's service declares the rollout the bake chose (canary by default), alarm rollback
  on this model's own alarms, the alternate target group and the release check; dev's rolls.
- Every property the release adds is checked against the CloudFormation registry's schema of
  AWS::ECS::Service (the one cfn-lint ships), with the parameters of each environment resolved.
- The rollback alarms are alarms the API stack creates, and they watch both target groups.
- The test listener rule only catches requests with its header, ahead of the production rule.
"""

import importlib.util
import json
import sys
from pathlib import Path

import jsonschema
import pytest
from ecs_model_tools import release_check

from .cfn_values import load_template
from .conftest import TOOL, run
from .iam_policy import Request, is_allowed
from .test_matrix import MATRIX, combination_id

DEFAULT = {}
SHARED = next(c for c in MATRIX if c.get("infrastructure") == "shared")
LINEAR = next(c for c in MATRIX if c.get("production_rollout") == "linear")
ROLLING = next(c for c in MATRIX if c.get("production_rollout") == "rolling")
STRATEGIES = [(DEFAULT, "CANARY"), (SHARED, "CANARY"), (LINEAR, "LINEAR"), (ROLLING, "ROLLING")]
HOOK_STAGE = "POST_TEST_TRAFFIC_SHIFT"  # test traffic reaches the new revision, production traffic not yet


def resolved(node, parameters: dict, conditions: dict):
    """A template node with Ref to parameters and Fn::If resolved (AWS::NoValue dropped); other
    intrinsics (imports, Sub, GetAtt) stay as written."""
    if isinstance(node, list):
        return [v for v in (resolved(item, parameters, conditions) for item in node) if v != {"Ref": "AWS::NoValue"}]
    if not isinstance(node, dict):
        return node
    if list(node) == ["Ref"] and node["Ref"] in parameters:
        return parameters[node["Ref"]]
    if list(node) == ["Fn::If"]:
        name, then, otherwise = node["Fn::If"]
        return resolved(then if conditions[name] else otherwise, parameters, conditions)
    items = {key: resolved(value, parameters, conditions) for key, value in node.items()}
    return {key: value for key, value in items.items() if value != {"Ref": "AWS::NoValue"}}


def api_stack(project: Path, env: str) -> tuple[dict, dict]:
    """infra/api.yaml's resources as deployed to `env`: its parameters from infra/params/<env>.json
    (defaults otherwise), its conditions evaluated."""
    api = load_template(project / "infra" / "api.yaml")
    given = json.loads((project / "infra" / "params" / f"{env}.json").read_text())["api"]
    parameters = {k: v.get("Default") for k, v in api["Parameters"].items()} | given | {"EnvironmentName": env}
    conditions = {}
    for name, condition in api["Conditions"].items():
        (left, right) = condition["Fn::Equals"]
        conditions[name] = str(resolved(left, parameters, conditions)) == str(right)
    return resolved(api["Resources"], parameters, conditions), parameters


def service(resources: dict) -> dict:
    (found,) = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::ECS::Service"]
    return found


@pytest.fixture(scope="module", params=STRATEGIES, ids=[combination_id(c) for c, _ in STRATEGIES])
def rollout(request, bake_once) -> tuple[Path, str]:
    answers, strategy = request.param
    return bake_once(answers), strategy


def test_production_takes_the_chosen_rollout_and_dev_rolls(rollout):
    project, strategy = rollout
    prod, dev = service(api_stack(project, "prod")[0]), service(api_stack(project, "dev")[0])
    assert prod["DeploymentConfiguration"]["Strategy"] == strategy
    assert dev["DeploymentConfiguration"]["Strategy"] == "ROLLING"
    for deployed in (prod, dev):  # every strategy keeps the circuit breaker and rolls back on the alarms
        config = deployed["DeploymentConfiguration"]
        assert config["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
        assert config["Alarms"]["Enable"] is True and config["Alarms"]["Rollback"] is True
    progressive = [s for s in (prod, dev) if s["DeploymentConfiguration"]["Strategy"] != "ROLLING"]
    for deployed in (prod, dev):
        config, balancer = deployed["DeploymentConfiguration"], deployed["LoadBalancers"][0]
        if deployed in progressive:
            advanced = balancer["AdvancedConfiguration"]
            assert set(advanced) == {"AlternateTargetGroupArn", "ProductionListenerRule", "TestListenerRule", "RoleArn"}
            (hook,) = config["LifecycleHooks"]
            assert hook["LifecycleStages"] == [HOOK_STAGE]
            assert hook["HookTargetArn"] == {"Fn::GetAtt": ["ReleaseCheck", "Arn"]}
            assert config["BakeTimeInMinutes"] >= 1
        else:
            for key in ("LifecycleHooks", "CanaryConfiguration", "LinearConfiguration", "BakeTimeInMinutes"):
                assert key not in config
            assert "AdvancedConfiguration" not in balancer
    prod_config = prod["DeploymentConfiguration"]
    if strategy == "CANARY":  # about 10% for 10 minutes, then the rest
        assert prod_config["CanaryConfiguration"] == {"CanaryPercent": 10, "CanaryBakeTimeInMinutes": 10}
        assert "LinearConfiguration" not in prod_config
    if strategy == "LINEAR":
        assert set(prod_config["LinearConfiguration"]) == {"StepPercent", "StepBakeTimeInMinutes"}
        assert "CanaryConfiguration" not in prod_config


def registry_schema(kind: str) -> dict:
    """The CloudFormation registry's resource schema of `kind`, as cfn-lint ships it."""
    spec = importlib.util.find_spec("cfnlint")
    schemas = Path(spec.origin).parent / "data" / "schemas"
    provider = json.loads((schemas / "providers" / "eu-west-1.json").read_text())
    return json.loads((schemas / "resources" / f"{provider[kind]}.json").read_text())


def validator(schema: dict, definitions: dict) -> jsonschema.Draft7Validator:
    """The registry's schemas are draft-07; some patterns elsewhere in them (\\p{L} in Tag) are
    not Python regular expressions, so the schema itself is not checked, only the instance."""
    return jsonschema.Draft7Validator({**schema, "definitions": definitions})


RESOLVED_NUMBERS = {"ContainerPort": 8000}  # imports that resolve to numbers (root.yaml exports the port)


def as_placeholders(node):
    """Intrinsics CloudFormation resolves at deploy time, as the values they become."""
    if isinstance(node, dict) and len(node) == 1 and next(iter(node)).startswith(("Fn::", "Ref")):
        return "arn:aws:resolved-at-deploy-time"
    if isinstance(node, dict):
        return {k: RESOLVED_NUMBERS.get(k) or as_placeholders(v) if k in RESOLVED_NUMBERS else as_placeholders(v)
                for k, v in node.items()}  # fmt: skip
    if isinstance(node, list):
        return [as_placeholders(v) for v in node]
    return node


@pytest.mark.parametrize("env", ["prod", "dev"])
def test_the_release_properties_are_valid_for_the_registry_schema(rollout, env):
    """DeploymentConfiguration (Strategy, CanaryConfiguration, LinearConfiguration, Alarms,
    LifecycleHooks, BakeTimeInMinutes) and LoadBalancers (AdvancedConfiguration) against the
    registry's AWS::ECS::Service schema: unknown keys, types, ranges and enums."""
    project, _ = rollout
    schema = registry_schema("AWS::ECS::Service")
    definitions = schema["definitions"]
    deployed = service(api_stack(project, env)[0])
    for key, definition in (("DeploymentConfiguration", "DeploymentConfiguration"), ("LoadBalancers", None)):
        value = as_placeholders(deployed[key])
        sub = {"$ref": f"#/definitions/{definition}"} if definition else schema["properties"][key]
        validator(sub, definitions).validate(value)
    hook_stages = definitions["DeploymentLifecycleHook"]["properties"]["LifecycleStages"]["items"]["enum"]
    assert HOOK_STAGE in hook_stages and "PRE_PRODUCTION_TRAFFIC_SHIFT" in hook_stages


def test_the_registry_schema_refuses_what_ecs_refuses(default_project):
    """The schema check above can fail: a canary share off the 0.1 grid and an unknown stage."""
    definitions = registry_schema("AWS::ECS::Service")["definitions"]
    config = service(api_stack(default_project, "prod")[0])["DeploymentConfiguration"]
    for broken in (
        {**config, "CanaryConfiguration": {"CanaryPercent": 10.05, "CanaryBakeTimeInMinutes": 10}},
        {**config, "LifecycleHooks": [{**config["LifecycleHooks"][0], "LifecycleStages": ["BEFORE_PRODUCTION"]}]},
        {**config, "Strategy": "canary"},
    ):
        with pytest.raises(jsonschema.ValidationError):
            validator({"$ref": "#/definitions/DeploymentConfiguration"}, definitions).validate(as_placeholders(broken))


def test_the_rollback_alarms_are_this_models_alarms_on_both_target_groups(rollout):
    project, _ = rollout
    resources, _ = api_stack(project, "prod")
    names = service(resources)["DeploymentConfiguration"]["Alarms"]["AlarmNames"]
    refs = [name["Ref"] for name in names]  # a Ref of an alarm is its name: no name typed twice
    assert all(resources[ref]["Type"] == "AWS::CloudWatch::Alarm" for ref in refs)
    created = sorted(resources[ref]["Properties"]["AlarmName"]["Fn::Sub"] for ref in refs)
    prefix = "${Prefix}-${EnvironmentName}-"
    assert [name.removeprefix(prefix) for name in created if not name.endswith("-p99")] == [
        "model-errors",
        "target-5xx",
        "unhealthy-hosts",
    ]
    assert len(created) == 4 and all(name.startswith(prefix) for name in created)
    metrics = {}
    for ref in refs:
        props = resources[ref]["Properties"]
        stats = [m["MetricStat"]["Metric"] for m in props.get("Metrics", []) if "MetricStat" in m] or [props]
        metrics[ref] = stats
    by_name = {
        stat["MetricName"] if isinstance(stat["MetricName"], str) else stat["MetricName"]["Fn::Sub"]: ref
        for ref, stats in metrics.items()
        for stat in stats
    }
    assert {"HTTPCode_Target_5XX_Count", "UnHealthyHostCount", "${Prefix}.responses.5xx"} <= set(by_name)
    for name in ("HTTPCode_Target_5XX_Count", "UnHealthyHostCount"):  # the new revision runs in the other group
        groups = {
            d["Value"]["Fn::ImportValue"]["Fn::Sub"]
            for stat in metrics[by_name[name]]
            for d in stat["Dimensions"]
            if d["Name"] == "TargetGroup"
        }
        assert groups == {
            "${Prefix}-${EnvironmentName}-TargetGroupFullName",
            "${Prefix}-${EnvironmentName}-AlternateTargetGroupFullName",
        }
    errors = metrics[by_name["${Prefix}.responses.5xx"]][0]
    assert errors["Dimensions"] == [{"Name": "metric_type", "Value": "counter"}]  # as the agent publishes counters


def test_every_import_of_the_release_is_exported_by_the_infrastructure_stack(rollout):
    project, _ = rollout
    root = load_template(project / "infra" / "root.yaml")
    exported = {o["Export"]["Name"]["Fn::Sub"] for o in root["Outputs"].values() if "Export" in o}
    for name in (
        "AlternateTargetGroupArn",
        "AlternateTargetGroupFullName",
        "ListenerRuleArn",
        "TestListenerRuleArn",
        "EcsInfrastructureRoleArn",
        "ReleaseCheckRoleArn",
        "ReleaseCheckSecurityGroup",
        "ApiUrl",
    ):
        assert f"${{Prefix}}-${{EnvironmentName}}-{name}" in exported


def test_the_test_listener_rule_needs_its_header_and_comes_first(rollout):
    project, _ = rollout
    routing = load_template(project / "infra" / "routing.yaml")
    rules = routing["Resources"]
    production, test = rules["ListenerRule"]["Properties"], rules["TestListenerRule"]["Properties"]
    header = [c for c in test["Conditions"] if c["Field"] == "http-header"]
    assert header == [
        {
            "Field": "http-header",
            "HttpHeaderConfig": {"HttpHeaderName": "X-Release-Check", "Values": [{"Ref": "Prefix"}]},
        }
    ]
    assert [c for c in test["Conditions"] if c["Field"] != "http-header"] == production["Conditions"]
    assert test["Priority"] == {"Ref": "TestListenerRulePriority"}
    assert release_check.HEADER == "X-Release-Check"
    priority = run([*TOOL, "listener-rule", "priority"], project)
    test_priority = run([*TOOL, "listener-rule", "test-priority"], project)
    assert 1 <= int(test_priority.stdout) < int(priority.stdout) <= 49999


def listener_check(project: Path, rules: list[dict], *flags: str):
    return run([*TOOL, "listener-rule", "check", *flags], project, input=json.dumps({"Rules": rules}))


def test_a_taken_test_rule_priority_stops_the_deploy_naming_the_other_model(default_project):
    test_priority = int(run([*TOOL, "listener-rule", "test-priority"], default_project).stdout)
    other = {
        "Priority": str(test_priority),
        "Conditions": [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/churn", "/churn/*"]}}],
    }
    result = listener_check(default_project, [other])
    assert result.returncode == 1
    assert f"priority {test_priority}" in result.stderr and "'churn'" in result.stderr
    assert listener_check(default_project, []).returncode == 0


def test_the_release_check_is_a_small_stdlib_lambda_in_the_vpc(default_project):
    resources, _ = api_stack(default_project, "prod")
    function = resources["ReleaseCheck"]["Properties"]
    assert function["Handler"] == "release_check.handler"
    major, minor = function["Runtime"].removeprefix("python").split(".")
    assert (int(major), int(minor)) >= (3, 12)
    assert set(function["VpcConfig"]) == {"SubnetIds", "SecurityGroupIds"}
    assert function["Timeout"] <= 900
    # The packaged folder is what scripts/deploy-api.sh fills: the tool's handler and model.json.
    deploy = (default_project / "scripts" / "deploy-api.sh").read_text()
    assert function["Code"] == "../build/release_check"
    assert "ecs-model-tools release-check build/release_check model/artifacts/model.json" in deploy
    source = Path(release_check.__file__).read_text()
    imported = {line.split()[1].split(".")[0] for line in source.splitlines() if line.startswith(("import ", "from "))}
    assert imported <= set(sys.stdlib_module_names), imported - set(sys.stdlib_module_names)
    assert len(source.splitlines()) < 150


# IAM: the new roles and CloudFormation's new rights, evaluated on the resolved policies
# (tests/iam_policy.py), in a default and a shared bake.


@pytest.fixture(scope="module", params=[DEFAULT, SHARED], ids=[combination_id(c) for c in (DEFAULT, SHARED)])
def release_iam(request, bake_once):
    from .test_iam import Bootstrap
    from .test_matrix import answers_of

    return Bootstrap(bake_once(request.param), answers_of(request.param))


def test_cloudformation_manages_only_this_models_release_check_and_passes_roles_only_to_ecs_and_lambda(release_iam):
    iam = release_iam
    ours = iam.arn("lambda", f"function:{iam.prefix}-dev-release-check")
    for action in ("lambda:CreateFunction", "lambda:UpdateFunctionCode", "lambda:DeleteFunction"):
        assert iam.cfn_may(action, ours), action
        assert not iam.cfn_may(action, iam.arn("lambda", "function:another-teams-function")), action
    role = iam.arn("iam", f"role/{iam.prefix}/{iam.prefix}-dev-infra-EcsStack-X-EcsInfrastructureRole-GENERATED")
    for service_name in ("ecs.amazonaws.com", "lambda.amazonaws.com"):
        assert iam.cfn_may("iam:PassRole", role, **{"iam:PassedToService": service_name}), service_name
    assert not iam.cfn_may("iam:PassRole", role, **{"iam:PassedToService": "ec2.amazonaws.com"})
    assert not iam.cfn_may(
        "iam:PassRole", iam.arn("iam", "role/someone-elses-role"), **{"iam:PassedToService": "ecs.amazonaws.com"}
    )


def test_ecs_shifts_only_this_models_rules_and_targets_and_invokes_only_its_check(release_iam):
    iam = release_iam
    roles = iam.stack_roles()
    infra = roles["EcsInfrastructureRole"]["Properties"]
    statements = [s for p in infra["Policies"] for s in p["PolicyDocument"]["Statement"]]
    trust = infra["AssumeRolePolicyDocument"]["Statement"]
    assert trust[0]["Principal"] == {"Service": "ecs.amazonaws.com"}
    rules, groups = iam.ecs.parameters["ListenerRuleArns"], iam.ecs.parameters["TargetGroupArns"]
    for rule in rules:
        assert is_allowed(Request("elasticloadbalancing:ModifyRule", rule), statements, iam.boundary)
    for group in groups:
        assert is_allowed(Request("elasticloadbalancing:RegisterTargets", group), statements, iam.boundary)
    other_rule = iam.arn("elasticloadbalancing", "listener-rule/app/lb/1/2/another-model")
    assert not is_allowed(Request("elasticloadbalancing:ModifyRule", other_rule), statements, iam.boundary)
    listener = iam.arn("elasticloadbalancing", "listener/app/lb/1/2")
    assert not is_allowed(Request("elasticloadbalancing:ModifyListener", listener), statements, iam.boundary)
    check = iam.arn("lambda", f"function:{iam.prefix}-dev-release-check")
    assert is_allowed(Request("lambda:InvokeFunction", check), statements, iam.boundary)
    assert not is_allowed(
        Request("lambda:InvokeFunction", iam.arn("lambda", "function:other")), statements, iam.boundary
    )
    lambda_role = roles["ReleaseCheckRole"]["Properties"]
    assert lambda_role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "lambda.amazonaws.com"}
    lambda_statements = [s for p in lambda_role["Policies"] for s in p["PolicyDocument"]["Statement"]]
    for action in ("ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface"):
        assert is_allowed(Request(action, "*"), lambda_statements, iam.boundary), action
    actions = [a for s in lambda_statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])]
    assert not [a for a in actions if a.startswith(("iam:", "lambda:", "elasticloadbalancing:"))]


def test_a_replayed_rollout_that_is_not_a_choice_is_refused_naming_the_field():
    """Cookiecutter checks the choice when asked or given on the command line; a replayed or
    hand-written answer file reaches the hook's check."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "hooks"))
    from answers import check_rollout

    assert check_rollout({"production_rollout": "blue-green"}) == [
        "production_rollout: 'blue-green' is not one of canary, linear, rolling"
    ]
    assert all(check_rollout({"production_rollout": choice}) == [] for choice in ("canary", "linear", "rolling"))
