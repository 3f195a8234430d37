"""CloudFormation in every supported combination of the infrastructure options.

Each combination is baked once (the strict post-generation validator runs cfn-lint, checkov
and the cross-stack check, so a bad template already fails the bake); the tests then run
the tools again and assert on their own output, check what each option changes, and show
that the cross-stack check catches a broken contract between the stacks.
"""

import json
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from .conftest import bake, run

CERTIFICATE = "arn:aws:acm:{region}:111111111111:certificate/12345678-1234-1234-1234-123456789012"
COMBINATIONS = {
    "defaults": {},
    "az_count:3-nat_gateways:per_az-vpc_cidr:/24-region:ap-southeast-4-alb_access_logs": {
        "az_count": "3",
        "nat_gateways": "per_az",
        "vpc_cidr": "192.168.10.0/24",
        "aws_region": "ap-southeast-4",  # opened after 2022: log delivery by service principal
        "alb_access_logs": True,
    },
    "nat_gateways:single-sidecar_image_source:public_ecr": {
        "nat_gateways": "single",
        "sidecar_image_source": "public_ecr",
    },
    "certificate_arn-hosted_zone_name-alb_access_logs-ecs_exec-alarm_email": {
        "certificate_arn": CERTIFICATE.format(region="eu-west-1"),
        "hosted_zone_name": "internal.example.com",
        "alb_access_logs": True,
        "ecs_exec": True,
        "alarm_email": "ops@example.com",
    },
}
NESTED = ["dashboard", "ecr", "ecs", "endpoints", "load-balancer", "security-groups", "topics", "vpc"]


class Template(yaml.SafeLoader):
    """Reads CloudFormation short tags as plain values: !Ref X -> "X"."""


Template.add_multi_constructor(
    "!",
    lambda loader, suffix, node: {
        yaml.ScalarNode: loader.construct_scalar,
        yaml.SequenceNode: loader.construct_sequence,
        yaml.MappingNode: loader.construct_mapping,
    }[type(node)](node),
)


def template(project: Path, name: str) -> dict:
    return yaml.load((project / "infra" / name).read_text(), Loader=Template)  # a SafeLoader subclass


def params(project: Path, env: str) -> dict:
    return json.loads((project / "infra" / "params" / f"{env}.json").read_text())


@pytest.fixture(scope="module", params=list(COMBINATIONS), ids=list(COMBINATIONS))
def combination(request, cookies_session):
    """(answers, baked project) for each combination; the defaults reuse the session bake."""
    answers = COMBINATIONS[request.param]
    if not answers:
        return answers, request.getfixturevalue("default_project")
    result = bake(cookies_session, **answers)
    assert result.exit_code == 0, result.exception
    return answers, Path(result.project_path)


def test_infra_files_are_exactly_those_the_options_need(combination):
    answers, project = combination
    expected = {f"{name}.yaml" for name in [*NESTED, "root", "api"]}
    found = {p.name for p in (project / "infra").glob("*.yaml")}
    # Other issues add their own templates here (the bootstrap stack); these are this one's.
    assert expected <= found
    assert ("dns.yaml" in found) == bool(answers.get("hosted_zone_name"))
    assert {p.name for p in (project / "infra" / "params").iterdir()} == {"dev.json", "prod.json"}


def test_cfn_lint_reports_only_the_package_relative_template_urls(combination, tool_output):
    """0 errors, 0 warnings; W3002 once per nested stack proves cfn-lint followed them all."""
    _, project = combination
    result = tool_output["cfn-lint"]
    findings = json.loads(result.stdout)
    others = [f"{f['Rule']['Id']} {f['Filename']}:{f['Location']['Start']['LineNumber']}" for f in findings]
    others = [f for f in others if not f.startswith("W3002 ")]
    assert others == [], result.stdout
    nested = [
        r for r in template(project, "root.yaml")["Resources"].values() if r["Type"] == "AWS::CloudFormation::Stack"
    ]
    assert len(findings) == len(nested)


@pytest.fixture(scope="module")
def tool_output(combination):
    """cfn-lint and checkov on one baked combination, run side by side (JSON output of each)."""
    _, project = combination
    templates = sorted(str(p.relative_to(project)) for p in (project / "infra").glob("*.yaml"))
    files = [arg for path in [*templates, "Dockerfile"] for arg in ("-f", path)]
    commands = {
        "cfn-lint": ["cfn-lint", "--format", "json", "--", *templates],
        "checkov": ["checkov", *files, "--framework", "cloudformation", "dockerfile", "--skip-download", "-o", "json"],
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
    result = run([sys.executable, "scripts/cross_stack.py"], project)
    assert result.returncode == 0, result.stdout
    assert "cross-stack: 0 problems" in result.stdout


def test_options_change_what_they_should(combination):
    answers, project = combination
    root, api = template(project, "root.yaml"), template(project, "api.yaml")
    vpc, ecr, lb = template(project, "vpc.yaml"), template(project, "ecr.yaml"), template(project, "load-balancer.yaml")
    dev, prod = params(project, "dev"), params(project, "prod")
    azs = int(answers.get("az_count", "2"))
    nat = answers.get("nat_gateways", "none")

    assert sum(name.startswith("PrivateSubnet") and name[-1].isdigit() for name in vpc["Resources"]) == azs
    assert [name for name in vpc["Resources"] if name.startswith("NatGateway")] == (
        [] if nat == "none" else [f"NatGateway{i}" for i in range(1, azs + 1)]
    )
    assert dev["infra"].get("NatGateways") == (None if nat == "none" else "single")
    assert prod["infra"].get("NatGateways") == {"none": None, "single": "single", "per_az": "per_az"}[nat]
    assert (dev["api"]["UseFargateSpot"], prod["api"]["UseFargateSpot"]) == ("true", "false")
    assert (dev["api"]["MinCapacity"], prod["api"]["MinCapacity"]) == (1, 2)

    agent_image = json.dumps(api["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"][1]["Image"])
    if answers.get("sidecar_image_source") == "public_ecr":
        assert "public.ecr.aws/cloudwatch-agent/cloudwatch-agent" in agent_image
        assert "AgentRepository" not in ecr["Resources"] and "AgentRepositoryUri" not in root["Outputs"]
    else:
        assert "AgentRepositoryUri" in agent_image and "AgentRepositoryUri" in root["Outputs"]

    listener = lb["Resources"]["Listener"]["Properties"]
    assert listener["Protocol"] == ("HTTPS" if answers.get("certificate_arn") else "HTTP")
    assert ("AccessLogBucket" in lb["Resources"]) == bool(answers.get("alb_access_logs"))
    if answers.get("alb_access_logs"):
        statement = lb["Resources"]["AccessLogBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
        # Regions opened after August 2022 have no ELB account; the log delivery service writes.
        expected = "Service" if answers.get("aws_region") == "ap-southeast-4" else "AWS"
        assert list(statement["Principal"]) == [expected]
    assert ("DnsStack" in root["Resources"]) == bool(answers.get("hosted_zone_name"))
    assert ("AlarmEmail" in dev["infra"]) == bool(answers.get("alarm_email"))

    exec_on = bool(answers.get("ecs_exec"))
    assert api["Resources"]["Service"]["Properties"]["EnableExecuteCommand"] is exec_on
    app = api["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"][0]
    assert app["ReadonlyRootFilesystem"] is not exec_on  # the SSM agent of ECS Exec writes to the filesystem
    assert ("SsmMessagesEndpoint" in template(project, "endpoints.yaml")["Resources"]) == exec_on


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
    groups = template(default_project, "security-groups.yaml")["Resources"]
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
    "params-file-value-not-allowed": (
        "params/dev.json",
        '"UseFargateSpot": "true"',
        '"UseFargateSpot": "yes"',
        "infra/params/dev.json: api.UseFargateSpot is 'yes'",
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

    result = run([sys.executable, "scripts/cross_stack.py"], project)
    assert result.returncode == 1
    assert message in result.stdout, result.stdout


def test_the_validator_fails_on_a_broken_contract(default_project, tmp_path):
    project = tmp_path / "project"
    shutil.copytree(default_project, project, ignore=shutil.ignore_patterns(".venv", "model"))
    api = project / "infra" / "api.yaml"
    api.write_text(api.read_text().replace("-ClusterName", "-Cluster"))
    result = run([sys.executable, "scripts/validate.py", "cross-stack"], project)
    assert result.returncode == 1
    assert "FAIL  cross-stack" in result.stdout and "-Cluster, which no other template" in result.stdout
