"""CloudFormation in every supported combination of the infrastructure options.

Each combination is baked once (the strict post-generation validator runs cfn-lint, checkov
and the cross-stack check, so a bad template already fails the bake); the tests then run
the tools again and assert on their own output, check what each option changes, and show
that the cross-stack check catches a broken contract between the stacks.
"""

import json
import re
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from .conftest import TOOL, run
from .test_matrix import MATRIX, combination_id

# The combinations of tests/test_matrix.py's MATRIX whose network, region or load balancer
# options differ from the defaults (the others change nothing these tests look at).
COMBINATIONS = [
    c for c in MATRIX if not c or {"nat_gateways", "aws_region", "certificate_arn", "infrastructure"} & c.keys()
]
NESTED = ["dashboard", "ecr", "ecs", "routing"]  # this model's, under infra/
ENVIRONMENT = ["endpoints", "environment", "load-balancer", "security-groups", "topics", "vpc"]  # infra/environment/
INTERFACE_ENDPOINTS = {"EcrApiEndpoint", "EcrDockerEndpoint", "LogsEndpoint", "MonitoringEndpoint"}


class Template(yaml.SafeLoader):
    """Reads CloudFormation short tags as plain values: !Ref X -> "X".

    Deliberately not the project's scripts/cross_stack.load, which keeps the intrinsics
    ({"Ref": "X"}) that the cross-stack check needs; plain values keep these assertions short.
    """


Template.add_multi_constructor(
    "!",
    lambda loader, suffix, node: {
        yaml.ScalarNode: loader.construct_scalar,
        yaml.SequenceNode: loader.construct_sequence,
        yaml.MappingNode: loader.construct_mapping,
    }[type(node)](node),
)


def template(project: Path, name: str) -> dict:
    """infra/<name>, or the environment's infra/environment/<name>."""
    path = project / "infra" / name
    path = path if path.exists() else project / "infra" / "environment" / name
    return yaml.load(path.read_text(), Loader=Template)  # a SafeLoader subclass


def templates_of(project: Path) -> list[str]:
    paths = [*(project / "infra").glob("*.yaml"), *(project / "infra" / "environment").glob("*.yaml")]
    return sorted(str(p.relative_to(project)) for p in paths)


def params(project: Path, env: str) -> dict:
    return json.loads((project / "infra" / "params" / f"{env}.json").read_text())


@pytest.fixture(scope="module", params=COMBINATIONS, ids=[combination_id(c) for c in COMBINATIONS])
def combination(request, bake_once):
    """(answers, baked project) for each combination, baked once per session (shared with test_matrix)."""
    return request.param, bake_once(request.param)


def test_infra_files_are_exactly_those_the_options_need(combination):
    answers, project = combination
    expected = {f"{name}.yaml" for name in [*NESTED, "root", "api"]}
    found = {p.name for p in (project / "infra").glob("*.yaml")}
    # Other issues add their own templates here (the bootstrap stack); these are this one's.
    assert expected <= found
    environment = {p.name for p in (project / "infra" / "environment").glob("*.yaml")}
    assert environment - {"dns.yaml"} == {f"{name}.yaml" for name in ENVIRONMENT}
    assert ("dns.yaml" in environment) == bool(answers.get("hosted_zone_name"))
    assert {p.name for p in (project / "infra" / "params").iterdir()} == {"dev.json", "prod.json"}


def test_cfn_lint_reports_only_the_package_relative_template_urls(combination, tool_output):
    """0 errors, 0 warnings; W3002 once per nested stack proves cfn-lint followed them all (and once for
    the release check's Lambda code, a local folder `aws cloudformation package` uploads too)."""
    _, project = combination
    result = tool_output["cfn-lint"]
    findings = json.loads(result.stdout)
    others = [f"{f['Rule']['Id']} {f['Filename']}:{f['Location']['Start']['LineNumber']}" for f in findings]
    others = [f for f in others if not f.startswith("W3002 ")]
    assert others == [], result.stdout
    nested = [
        r
        for root in ("root.yaml", "environment.yaml")
        for r in template(project, root)["Resources"].values()
        if r["Type"] == "AWS::CloudFormation::Stack"
    ]
    packaged_code = [
        r for r in template(project, "api.yaml")["Resources"].values() if isinstance(r["Properties"].get("Code"), str)
    ]
    assert len(packaged_code) == 1
    assert len(findings) == len(nested) + len(packaged_code)


CHECKOV_OPTIONS = ["--framework", "cloudformation", "dockerfile", "--skip-download", "-o", "json"]


@pytest.fixture(scope="module")
def tool_output(combination):
    """cfn-lint and checkov on one baked combination, run side by side (JSON output of each)."""
    _, project = combination
    templates = templates_of(project)
    files = [arg for path in [*templates, "Dockerfile"] for arg in ("-f", path)]
    commands = {
        "cfn-lint": ["cfn-lint", "--format", "json", "--", *templates],
        # checkov's own command, its JSONPath parser built once (the same report: tools/tests/test_checks.py)
        "checkov": [sys.executable, "-m", "ecs_model_tools.checkov_scan", *files, *CHECKOV_OPTIONS],
    }
    with ThreadPoolExecutor() as pool:
        futures = {name: pool.submit(run, command, project) for name, command in commands.items()}
    return {name: future.result() for name, future in futures.items()}


def test_checkov_has_no_failed_checks_and_every_skip_says_why(tool_output):
    result = tool_output["checkov"]
    reports = json.loads(result.stdout)
    reports = {report["check_type"]: report for report in (reports if isinstance(reports, list) else [reports])}
    assert set(reports) == {"cloudformation", "dockerfile"}
    for kind, report in reports.items():
        summary = report["summary"]
        failed = [f"{c['check_id']} {c['resource']}" for c in report["results"]["failed_checks"]]
        assert (summary["failed"], failed, summary["parsing_errors"]) == (0, [], 0), kind
        assert summary["passed"] > 0, kind
        for skipped in report["results"]["skipped_checks"]:
            comment = skipped["check_result"].get("suppress_comment") or ""
            assert len(comment.strip()) > 30, (
                f"{skipped['check_id']} on {skipped['resource']} is skipped without a reason"
            )


def test_cross_stack_check_passes(combination):
    _, project = combination
    result = run([*TOOL, "cross-stack"], project)
    assert result.returncode == 0, result.stdout
    assert "cross-stack: 0 problems" in result.stdout


def test_options_change_what_they_should(combination):
    answers, project = combination
    root, api = template(project, "root.yaml"), template(project, "api.yaml")
    vpc, ecr, lb = template(project, "vpc.yaml"), template(project, "ecr.yaml"), template(project, "load-balancer.yaml")
    environment = template(project, "environment.yaml")
    dev, prod = params(project, "dev"), params(project, "prod")
    azs = int(answers.get("az_count", "2"))
    nat = answers.get("nat_gateways", "none")
    # The environment's answers shape its stack; only an "own" bake deploys it, with its parameters.
    own = answers.get("infrastructure", "own") == "own"
    assert ("environment" in dev and "environment" in prod) == own
    dev_env, prod_env = dev.get("environment", {}), prod.get("environment", {})

    assert sum(name.startswith("PrivateSubnet") and name[-1].isdigit() for name in vpc["Resources"]) == azs
    assert [name for name in vpc["Resources"] if name.startswith("NatGateway")] == (
        [] if nat == "none" else [f"NatGateway{i}" for i in range(1, azs + 1)]
    )
    if own:
        assert dev_env.get("NatGateways") == (None if nat == "none" else "single")
        assert prod_env.get("NatGateways") == {"none": None, "single": "single", "per_az": "per_az"}[nat]
    assert (dev["api"]["UseFargateSpot"], prod["api"]["UseFargateSpot"]) == ("true", "false")
    assert (dev["api"]["MinCapacity"], prod["api"]["MinCapacity"]) == (1, 2)

    agent_image = json.dumps(api["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"][1]["Image"])
    if answers.get("sidecar_image_source") == "public_ecr":
        assert "public.ecr.aws/cloudwatch-agent/cloudwatch-agent" in agent_image
        assert "AgentRepository" not in ecr["Resources"] and "AgentRepositoryUri" not in root["Outputs"]
    else:
        assert "AgentRepositoryUri" in agent_image and "AgentRepositoryUri" in root["Outputs"]

    listeners = {name: r for name, r in lb["Resources"].items() if r["Type"].endswith("::Listener")}
    if answers.get("certificate_arn"):
        # ACM certificates belong to one account: production's ARN is in prod.json only, and an
        # environment whose CertificateArn is empty (dev, until it names its own) gets HTTP.
        assert (prod_env["CertificateArn"], dev_env["CertificateArn"]) == (answers["certificate_arn"], "")
        # One listener for the environment's life: adding a certificate switches its protocol, port
        # and certificate in place, so its ARN (exported) and every model's rule on it stay.
        found = {
            n: tuple(r["Properties"][k] for k in ("Protocol", "Port", "Certificates")) for n, r in listeners.items()
        }
        assert found == {
            "Listener": (
                ["HasCertificate", "HTTPS", "HTTP"],
                ["HasCertificate", 443, 80],
                ["HasCertificate", [{"CertificateArn": "CertificateArn"}], "AWS::NoValue"],
            )
        }
        assert "Condition" not in listeners["Listener"]
        ports = environment["Resources"]["SecurityGroupsStack"]["Properties"]["Parameters"]["ListenerPort"]
        assert ports == ["HasCertificate", 443, 80]
    else:
        assert "CertificateArn" not in dev_env and "CertificateArn" not in prod_env
        assert {n: (r["Properties"]["Protocol"], r["Properties"]["Port"]) for n, r in listeners.items()} == {
            "Listener": ("HTTP", 80)
        }
    assert ("AccessLogBucket" in lb["Resources"]) == bool(answers.get("alb_access_logs"))
    if answers.get("alb_access_logs"):
        statement = lb["Resources"]["AccessLogBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
        # Regions opened after August 2022 have no ELB account; the log delivery service writes.
        expected = "Service" if answers.get("aws_region") == "ap-southeast-4" else "AWS"
        assert list(statement["Principal"]) == [expected]
    assert ("DnsStack" in environment["Resources"]) == bool(answers.get("hosted_zone_name"))
    rule = template(project, "routing.yaml")["Resources"]["ListenerRule"]["Properties"]
    if answers.get("hosted_zone_name"):
        # The zone is chosen by id (a name is ambiguous with split-horizon zones), per account;
        # one wildcard record serves every model, each routed by its host name.
        record = template(project, "dns.yaml")["Resources"]["WildcardRecord"]["Properties"]
        assert record["HostedZoneId"] == "HostedZoneId" and record["Name"] == "*.${HostedZoneName}."
        assert environment["Resources"]["DnsStack"]["Condition"] == "HasHostedZone"
        if own:
            assert dev_env["HostedZoneId"] == prod_env["HostedZoneId"] == ""  # the user fills them in
        assert [c["Field"] for c in rule["Conditions"]] == ["host-header"]
    else:
        assert rule["Conditions"] == [
            {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/${Prefix}", "/${Prefix}/*"]}}
        ]
    # The target group's health check and the service's PATH_PREFIX follow the routing: the
    # rule does not rewrite paths, so under a path prefix the service serves under it.
    health = template(project, "routing.yaml")["Resources"]["TargetGroup"]["Properties"]["HealthCheckPath"]
    environment_of_api = {e["Name"]: e["Value"] for e in app_container(api)["Environment"]}
    if answers.get("hosted_zone_name"):
        assert (health, environment_of_api["PATH_PREFIX"]) == ("/health-check", "")
    else:
        assert (health, environment_of_api["PATH_PREFIX"]) == ("/${Prefix}/health-check", "/${Prefix}")
    assert ("AlarmEmail" in dev_env) == (bool(answers.get("alarm_email")) and own)
    assert "infra/environment/" not in json.dumps(root)  # a model's stack nests only its own templates

    exec_on = bool(answers.get("ecs_exec"))
    assert api["Resources"]["Service"]["Properties"]["EnableExecuteCommand"] is exec_on
    app = api["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"][0]
    assert app["ReadonlyRootFilesystem"] is not exec_on  # the SSM agent of ECS Exec writes to the filesystem

    # No NAT: no internet gateway, no public subnets, interface endpoints instead. NAT: the
    # public subnets hold the NAT gateways, and the tasks reach AWS through them, so no
    # interface endpoints (the free S3 gateway endpoint stays either way).
    endpoints = template(project, "endpoints.yaml")["Resources"]
    groups = template(project, "security-groups.yaml")["Resources"]
    public = {name for name in vpc["Resources"] if name.startswith(("Public", "InternetGateway"))}
    if nat == "none":
        assert public == set()
        assert set(endpoints) == {"S3Endpoint"} | INTERFACE_ENDPOINTS | ({"SsmMessagesEndpoint"} if exec_on else set())
        assert "EndpointSecurityGroup" in groups
    else:
        assert len([n for n in public if n.startswith("PublicSubnet") and n[-1].isdigit()]) == azs
        assert {"InternetGateway", "InternetGatewayAttachment", "PublicRouteTable", "PublicDefaultRoute"} <= public
        assert set(endpoints) == {"S3Endpoint"}
        assert "EndpointSecurityGroup" not in groups
    assert endpoints["S3Endpoint"]["Properties"]["VpcEndpointType"] == "Gateway"


def test_a_models_stacks_create_no_network_load_balancer_or_cluster(combination):
    """The VPC, load balancer, listener and cluster are the environment's (infra/environment/, deployed
    only by an "own" bake); this model's stacks, all a "shared" bake's pipeline deploys, add to them."""
    answers, project = combination
    kinds = {
        r["Type"]
        for path in (project / "infra").glob("*.yaml")
        if path.name != "bootstrap.yaml"
        for r in template(project, path.name)["Resources"].values()
    }
    environment_kinds = {
        "AWS::EC2::VPC",
        "AWS::EC2::Subnet",
        "AWS::EC2::VPCEndpoint",
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        "AWS::ElasticLoadBalancingV2::Listener",
        "AWS::ECS::Cluster",
    }
    assert kinds & environment_kinds == set()
    assert {"AWS::ElasticLoadBalancingV2::TargetGroup", "AWS::ElasticLoadBalancingV2::ListenerRule"} <= kinds
    facts = json.loads((project / "project.json").read_text())
    assert (facts["infrastructure"], facts["environment"]) == (answers.get("infrastructure", "own"), "ml-models")
    header = (project / "infra" / "environment" / "environment.yaml").read_text().splitlines()[0]
    assert ("NOT DEPLOYED BY THIS REPOSITORY'S PIPELINE" in header) == (facts["infrastructure"] == "shared")


def app_container(api: dict) -> dict:
    return api["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"][0]


def test_the_docs_describe_the_network_that_is_built(combination):
    """Architecture row, diagram and cost table follow the NAT choice, as the templates do."""
    answers, project = combination
    architecture = (project / "docs" / "architecture.md").read_text()
    costs = (project / "docs" / "costs.md").read_text()
    endpoints = template(project, "endpoints.yaml")["Resources"].values()
    interface = [
        r["Properties"]["ServiceName"].split("${AWS::Region}.")[1]
        for r in endpoints
        if r["Properties"]["VpcEndpointType"] == "Interface"
    ]
    drawn = re.search(r'endpoints\["Interface endpoints: ([^"]+)"\]', architecture)
    if interface:
        assert drawn and drawn.group(1).split(", ") == interface
        assert f"| Interface endpoints | {len(interface)} endpoints \N{MULTIPLICATION SIGN}" in costs
    else:
        assert drawn is None
        assert "| Interface endpoints | none: with NAT" in costs
    nat = answers.get("nat_gateways", "none") != "none"
    assert ("an internet gateway" in architecture) == nat
    assert ('subgraph public["public subnets"]' in architecture) == nat


def test_replaceable_resources_have_no_fixed_names(combination):
    """A fixed Name/GroupName makes CloudFormation fail any update that must replace the resource."""
    _, project = combination
    resources = {
        **template(project, "load-balancer.yaml")["Resources"],
        **template(project, "security-groups.yaml")["Resources"],
        **template(project, "routing.yaml")["Resources"],
    }
    kinds = {
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        "AWS::EC2::SecurityGroup",
    }
    named = {name: r["Properties"] for name, r in resources.items() if r["Type"] in kinds}
    assert len(named) >= 4
    for name, props in named.items():
        assert "Name" not in props and "GroupName" not in props, name
        assert props["Tags"][0]["Key"] == "Name", name  # found in the console by its tag


def test_a_value_users_tune_is_a_parameter_of_both_stacks_not_an_export(combination):
    """AWS refuses to change an export another stack imports: LatencyAlarmMs goes to each stack as a parameter."""
    answers, project = combination
    root, api = template(project, "root.yaml"), template(project, "api.yaml")
    assert "LatencyAlarmMs" not in root["Outputs"]
    assert "LatencyAlarmMs" in api["Parameters"] and "Default" not in api["Parameters"]["LatencyAlarmMs"]
    # <Prediction>LatencyAlarm: named after the answer prediction_name (ValuationLatencyAlarm by default)
    [latency] = [r["Properties"] for name, r in api["Resources"].items() if name.endswith("LatencyAlarm")]
    assert latency["Threshold"] == "LatencyAlarmMs"  # !Ref, not Fn::ImportValue
    assert root["Resources"]["DashboardStack"]["Properties"]["Parameters"]["LatencyAlarmMs"] == "LatencyAlarmMs"
    expected = int(answers.get("latency_alarm_ms", "250"))
    for env in ("dev", "prod"):
        values = params(project, env)
        assert values["infra"]["LatencyAlarmMs"] == values["api"]["LatencyAlarmMs"] == expected
    imported = re.findall(r"-\$\{EnvironmentName\}-(\w+)", (project / "infra" / "api.yaml").read_text())
    assert "LatencyAlarmMs" not in imported


def alarms(project: Path) -> dict[str, dict]:
    """The API stack's alarms by name, without the <Prefix>-<EnvironmentName>- start."""
    resources = template(project, "api.yaml")["Resources"].values()
    return {
        r["Properties"]["AlarmName"].removeprefix("${Prefix}-${EnvironmentName}-"): r["Properties"]
        for r in resources
        if r["Type"] == "AWS::CloudWatch::Alarm"
    }


def test_a_full_outage_pages_through_the_environments_load_balancer_5xx_alarm(default_project):
    """With no healthy target the ALB answers 503 itself; target 5XX stays silent. The load balancer
    is the environment's, so is this alarm; each model alarms on its own target group."""
    environment = template(default_project, "environment.yaml")["Resources"]
    elb = environment["LoadBalancer5xxAlarm"]["Properties"]
    assert elb["AlarmName"] == "${EnvironmentPrefix}-${EnvironmentName}-elb-5xx"
    assert (elb["Namespace"], elb["MetricName"]) == ("AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count")
    assert elb["Statistic"] == "Sum"
    assert [d["Name"] for d in elb["Dimensions"]] == ["LoadBalancer"]  # ELB responses have no target group
    assert elb["Dimensions"][0]["Value"] == "LoadBalancerStack.Outputs.LoadBalancerFullName"
    assert (elb["Threshold"], elb["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")
    assert elb["AlarmActions"] == ["TopicsStack.Outputs.AlarmTopicArn"]
    assert "Look at" in elb["AlarmDescription"] and "503" in elb["AlarmDescription"]
    assert "elb-5xx" not in alarms(default_project)
    for name in ("target-5xx", "unhealthy-hosts"):  # the model's own two target groups (a release moves between them)
        stats = [m["MetricStat"]["Metric"] for m in alarms(default_project)[name]["Metrics"] if "MetricStat" in m]
        groups = [{d["Name"]: d["Value"] for d in stat["Dimensions"]}["TargetGroup"] for stat in stats]
        assert groups == [
            {"Fn::ImportValue": "${Prefix}-${EnvironmentName}-TargetGroupFullName"},
            {"Fn::ImportValue": "${Prefix}-${EnvironmentName}-AlternateTargetGroupFullName"},
        ]


def test_every_alarm_is_in_the_observability_page_and_its_cost(default_project):
    found = alarms(default_project)
    page = (default_project / "docs" / "observability.md").read_text()
    section = page.split("## The alarms")[1].split("\n## ")[0]
    assert set(re.findall(r"^\| `<prefix>-<env>-([a-z0-9-]+)`", section, re.MULTILINE)) == set(found)
    words = {5: "five", 6: "six", 7: "seven", 8: "eight"}
    assert f"The state of the {words[len(found)]} alarms below" in page
    watched = sum(1 if "MetricName" in a else sum("MetricStat" in m for m in a["Metrics"]) for a in found.values())
    assert f"{watched} alarm metrics" in (default_project / "docs" / "costs.md").read_text()


def test_the_alarm_topic_key_serves_only_this_accounts_alarms(default_project):
    key = template(default_project, "topics.yaml")["Resources"]["TopicKey"]["Properties"]
    statements = key["KeyPolicy"]["Statement"]
    services = [s for s in statements if "Service" in s["Principal"]]
    assert [s["Principal"]["Service"] for s in services] == ["cloudwatch.amazonaws.com"]
    assert services[0]["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "AWS::AccountId"},
        "ArnLike": {"aws:SourceArn": "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:*"},
    }


def test_only_dev_repositories_are_emptied_on_delete(combination):
    _, project = combination
    ecr = template(project, "ecr.yaml")
    assert ecr["Conditions"]["IsProduction"] == ["EnvironmentName", "prod"]
    repositories = [r for r in ecr["Resources"].values() if r["Type"] == "AWS::ECR::Repository"]
    assert repositories
    for repository in repositories:
        assert repository["Properties"]["EmptyOnDelete"] == ["IsProduction", False, True]


def test_the_cloudwatch_agent_tag_is_a_pinned_version_and_names_its_source(default_project):
    """A tag the agent's own numbering gives (1.<release>.<patch>b<build>), never "latest"."""
    pattern = template(default_project, "api.yaml")["Parameters"]["AgentImageTag"]["AllowedPattern"]
    tags = {env: params(default_project, env)["api"]["AgentImageTag"] for env in ("dev", "prod")}
    assert len(set(tags.values())) == 1, tags
    tag = tags["dev"]
    assert re.fullmatch(r"1\.\d{6}\.\d+b\d+", tag) and re.fullmatch(pattern, tag)
    assert not re.fullmatch(pattern, "latest") and not re.fullmatch(pattern, "1.300062.0")
    source = (default_project / "infra" / "api.yaml").read_text()
    assert f"tag {tag}" in source and "aws-observability/helm-charts" in source  # where the tag was checked


def test_the_task_role_may_put_metrics_only_in_the_service_namespace(default_project):
    ecs = template(default_project, "ecs.yaml")
    statements = [
        statement
        for policy in ecs["Resources"]["TaskRole"]["Properties"]["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
    ]
    metrics = [s for s in statements if s["Action"] == "cloudwatch:PutMetricData"]
    assert len(metrics) == 1
    assert metrics[0]["Condition"] == {"StringEquals": {"cloudwatch:namespace": "${Prefix}/${EnvironmentName}"}}
    assert ecs["Outputs"]["MetricsNamespace"]["Value"] == "${Prefix}/${EnvironmentName}"


def test_no_security_group_keeps_the_default_allow_all_egress(default_project):
    """Without SecurityGroupEgress, CloudFormation gives a group allow-all egress; checkov does not flag it."""
    groups = {
        **template(default_project, "security-groups.yaml")["Resources"],
        **template(default_project, "routing.yaml")["Resources"],
    }
    for name, resource in groups.items():
        if resource["Type"] == "AWS::EC2::SecurityGroup":
            egress = resource["Properties"].get("SecurityGroupEgress")
            assert egress, f"{name} has the default allow-all egress"
            assert all(rule.get("CidrIp") != "0.0.0.0/0" or rule["FromPort"] == 443 for rule in egress), name


BREAKAGES = {
    "import-without-export": (
        "api.yaml",
        "${Prefix}-${EnvironmentName}-TaskRoleArn",
        "${Prefix}-${EnvironmentName}-TaskRole",
        "imports ${Prefix}-${EnvironmentName}-TaskRole, which no other template in infra/ exports",
    ),
    "export-renamed": (
        "root.yaml",
        "Name: !Sub ${Prefix}-${EnvironmentName}-TargetGroupArn",
        "Name: !Sub ${Prefix}-${EnvironmentName}-TargetGroup",
        "imports ${Prefix}-${EnvironmentName}-TargetGroupArn, which no other template",
    ),
    "import-outside-the-contract": (
        "api.yaml",
        "${EnvironmentPrefix}-${EnvironmentName}:v1:ClusterName",
        "${EnvironmentPrefix}-${EnvironmentName}:v2:ClusterName",
        "api.yaml: imports ${EnvironmentPrefix}-${EnvironmentName}:v2:ClusterName, which is neither this model's",
    ),
    "environment-export-without-version": (
        "environment/environment.yaml",
        "Name: !Sub ${EnvironmentPrefix}-${EnvironmentName}:v1:VpcId",
        "Name: !Sub ${EnvironmentPrefix}-${EnvironmentName}-VpcId",
        "environment.yaml: export of VpcId must be named ${EnvironmentPrefix}-${EnvironmentName}:v1:VpcId",
    ),
    "nested-parameter-not-passed": (
        "root.yaml",
        "        KeepImages: !Ref KeepImages\n",
        "",
        "EcrStack does not pass KeepImages, which ./ecr.yaml requires",
    ),
    "nested-parameter-unknown": (
        "root.yaml",
        "        KeepImages: !Ref KeepImages\n",
        "        KeepImages: !Ref KeepImages\n        KeepTags: !Ref KeepImages\n",
        "EcrStack passes KeepTags, which ./ecr.yaml does not declare",
    ),
    "child-output-missing": (
        "root.yaml",
        "!GetAtt EcsStack.Outputs.ServiceName",
        "!GetAtt EcsStack.Outputs.Service",
        "GetAtt EcsStack.Outputs.Service: no such output in that template",
    ),
    "child-output-missing-in-sub": (
        "root.yaml",
        "Value: !GetAtt EcsStack.Outputs.LogGroupName",
        "Value: !Sub ${EcsStack.Outputs.LogGroup}",
        "GetAtt EcsStack.Outputs.LogGroup: no such output in that template",
    ),
    "params-file-key-unknown": (
        "params/prod.json",
        '"MinCapacity"',
        '"MinTasks"',
        "infra/params/prod.json: api.MinTasks is not a parameter of infra/api.yaml",
    ),
    "params-file-key-missing": (
        "params/dev.json",
        '    "LogRetentionDays": 14,\n',
        "",
        "infra/params/dev.json: infra has no value for LogRetentionDays, which infra/root.yaml requires",
    ),
    "export-from-a-tuned-parameter": (
        "root.yaml",
        'Description: Port the API container listens on.\n    Value: "8000"',
        "Description: Port the API container listens on.\n    Value: !Ref KeepImages",
        "root.yaml: export ${Prefix}-${EnvironmentName}-ContainerPort comes from the parameter KeepImages",
    ),
    "params-file-shared-value-disagrees": (
        "params/dev.json",
        '"LatencyAlarmMs": 250\n  },\n  "api"',
        '"LatencyAlarmMs": 300\n  },\n  "api"',
        "infra/params/dev.json: LatencyAlarmMs must be the same in every section (both stacks use it), "
        "got infra 300, api 250",
    ),
    "params-file-value-not-matching-pattern": (
        "params/prod.json",
        '"AgentImageTag": "',
        '"AgentImageTag": "latest ',
        "infra/params/prod.json: api.AgentImageTag is 'latest 1.",
    ),
    "params-file-value-not-allowed": (
        "params/dev.json",
        '"UseFargateSpot": "true"',
        '"UseFargateSpot": "yes"',
        "infra/params/dev.json: api.UseFargateSpot is 'yes'",
    ),
    "project-name-rule-differs": (
        "api.yaml",
        'AllowedPattern: "^[a-z][a-z0-9-]{1,22}[a-z0-9]$"',
        'AllowedPattern: "^[a-z][a-z0-9-]{1,30}[a-z0-9]$"',
        "Prefix must have the same AllowedPattern in bootstrap.yaml, root.yaml, api.yaml",
    ),
    "load-balancer-deletion-protection": (
        "environment/load-balancer.yaml",
        'Value: "false"  # see the CKV_AWS_150 note above',
        'Value: "true"',
        "load-balancer.yaml: LoadBalancer has deletion protection, which turns a failed first create into",
    ),
    "bucket-deleted-with-its-stack": (
        "bootstrap.yaml",
        "DeletionPolicy: RetainExceptOnCreate",
        "DeletionPolicy: Delete",
        "bootstrap.yaml: ArtifactBucket: a bucket needs DeletionPolicy Retain or RetainExceptOnCreate",
    ),
    "retained-with-a-fixed-name": (
        "bootstrap.yaml",
        "DeletionPolicy: RetainExceptOnCreate",
        "DeletionPolicy: Retain",
        "bootstrap.yaml: ArtifactBucket is retained on delete but has a fixed BucketName",
    ),
    "dev-repository-not-emptied": (
        "ecr.yaml",
        "EmptyOnDelete: !If [IsProduction, false, true]",
        "EmptyOnDelete: !If [IsProduction, false, false]",
        "ecr.yaml: Repository: EmptyOnDelete must be true in dev",
    ),
}


@pytest.mark.parametrize("breakage", list(BREAKAGES), ids=list(BREAKAGES))
def test_cross_stack_check_catches_a_broken_contract(default_project, tmp_path, breakage):
    file, old, new, message = BREAKAGES[breakage]
    project = tmp_path / "project"
    shutil.copytree(default_project, project, ignore=shutil.ignore_patterns(".venv", "model"))
    path = project / "infra" / file
    text = path.read_text()
    assert old in text, f"the test's edit no longer applies to {file}"
    path.write_text(text.replace(old, new, 1))

    result = run([*TOOL, "cross-stack"], project)
    assert result.returncode == 1
    assert message in result.stdout, result.stdout


ACCESS_LOGS = [c for c in MATRIX if c.get("alb_access_logs")]


@pytest.mark.parametrize("answers", ACCESS_LOGS, ids=[combination_id(c) for c in ACCESS_LOGS])
def test_the_access_log_bucket_must_outlive_a_failed_first_create(answers, bake_once, tmp_path):
    """The ALB writes a test object at once: RetainExceptOnCreate would still try to delete a non-empty bucket."""
    baked = bake_once(answers)
    project = tmp_path / "project"
    shutil.copytree(baked, project, ignore=shutil.ignore_patterns(".venv", "model"))
    path = project / "infra" / "environment" / "load-balancer.yaml"
    text = path.read_text()
    assert "    DeletionPolicy: Retain\n" in text
    path.write_text(text.replace("    DeletionPolicy: Retain\n", "    DeletionPolicy: RetainExceptOnCreate\n", 1))
    result = run([*TOOL, "cross-stack"], project)
    assert result.returncode == 1
    assert "AccessLogBucket receives load balancer logs from its first minute" in result.stdout, result.stdout


def test_the_validator_fails_on_a_broken_contract(default_project, tmp_path):
    project = tmp_path / "project"
    shutil.copytree(default_project, project, ignore=shutil.ignore_patterns(".venv", "model"))
    api = project / "infra" / "api.yaml"
    api.write_text(api.read_text().replace(":v1:ClusterName", ":v1:Cluster"))
    result = run([*TOOL, "validate", "cross-stack"], project)
    assert result.returncode == 1
    assert "FAIL  cross-stack" in result.stdout and ":v1:Cluster, which no other template" in result.stdout
