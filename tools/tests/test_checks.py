"""The checks on a rendered project: they pass, and each catches what it exists for."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ecs_model_tools import deploy_policy_check, listener_rule, policy_grants


def tool(*args: str) -> list[str]:
    return [sys.executable, "-m", "ecs_model_tools", *args]


def run(project, *args):
    return subprocess.run(tool(*args), cwd=project, capture_output=True, text=True)


@pytest.mark.parametrize(
    ("pattern", "action", "matches"),
    [
        ("ecs:Describe*", "ecs:DescribeServices", True),
        ("ECS:describeservices", "ecs:DescribeServices", True),  # IAM ignores case
        ("s3:?etObject", "s3:GetObject", True),
        ("s3:?etObject", "s3:GetObjectAcl", False),
        ("ecr:*", "ecs:ListTasks", False),
    ],
)
def test_action_wildcards(pattern, action, matches):
    assert policy_grants.action_matches(pattern, action) is matches


def test_a_deny_on_every_resource_takes_the_grant_back():
    statements = [
        {"Effect": "Allow", "Action": "iam:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "iam:DeleteRolePermissionsBoundary", "Resource": "*"},
    ]
    assert policy_grants.granted(statements, "iam:CreateRole")
    assert not policy_grants.granted(statements, "iam:DeleteRolePermissionsBoundary")


def test_the_listener_rule_priority_is_derived_from_the_name_within_the_range():
    first, second = listener_rule.priority("churn-api"), listener_rule.priority("fraud-api")
    assert first == listener_rule.priority("churn-api")
    assert first != second
    assert all(1 <= p <= listener_rule.RANGE for p in (first, second))


def test_cross_stack_passes_on_the_rendered_project(rendered):
    result = run(rendered, "cross-stack")
    assert result.returncode == 0, result.stdout
    assert "cross-stack: 0 problems" in result.stdout


PASSED = ["Prefix=property-valuation-api", "EnvironmentName=dev", "EnvironmentPrefix=ml-models", "ImageTag=abc"]


def test_stack_params_prints_the_checked_parameters_and_refuses_an_unknown_one(project):
    result = run(project, "stack-params", "dev", "api", *PASSED)
    assert result.returncode == 0, result.stderr
    assert "ImageTag=abc" in result.stdout.splitlines()
    params = json.loads((project / "infra/params/dev.json").read_text())
    params["api"]["NoSuchParameter"] = "1"
    (project / "infra/params/dev.json").write_text(json.dumps(params))
    result = run(project, "stack-params", "dev", "api", *PASSED)
    assert result.returncode == 1
    assert "NoSuchParameter" in result.stderr
    result = run(project, "stack-params", "dev", "api", *PASSED[:-1])
    assert "no value for ImageTag" in result.stderr


def test_a_grant_ahead_of_use_that_a_script_now_calls_is_named(rendered, monkeypatch):
    monkeypatch.setattr(deploy_policy_check, "ROOT", rendered)
    assert deploy_policy_check.problems()[0] == []
    monkeypatch.setattr(deploy_policy_check, "UNUSED_GRANTS", {"ecr:DescribeImages": "granted ahead of use"})
    found, _ = deploy_policy_check.problems()
    assert any(problem.startswith("ecr:DescribeImages is called now (") for problem in found), found


def test_a_skopeo_copy_needs_the_pull_of_its_source_and_the_push_of_its_target(rendered, tmp_path):
    """promote.sh copies with skopeo: the deploy policy must grant what the ECR user guide lists for a
    pull of the source (none for the public registry) and a push of the target."""
    called = deploy_policy_check.calls(rendered / "scripts/promote.sh")
    assert {"ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:PutImage", "ecr:CompleteLayerUpload"} <= set(called)
    assert "promote.sh: skopeo copy" in called["ecr:PutImage"]
    script = tmp_path / "public.sh"
    script.write_text('skopeo copy "docker://public.ecr.aws/cloudwatch-agent/x:1" "docker://$target"\n')
    assert set(deploy_policy_check.calls(script)) == set(deploy_policy_check.DOCKER_PUSH)


def test_the_pipeline_check_names_a_step_that_calls_nothing_the_project_has(project):
    pipeline = project / "bitbucket-pipelines.yml"
    pipeline.write_text(pipeline.read_text().replace("- make validate", "- make validate-everything", 1))
    result = run(project, "validate", "pipeline-steps")
    assert result.returncode == 1
    assert "validate-everything" in result.stdout


def test_a_checkers_pass_is_remembered_by_the_bytes_it_read_and_a_failure_never(project, tmp_path):
    env = {
        **os.environ,
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }

    def hadolint():
        return subprocess.run(tool("validate", "hadolint"), cwd=project, capture_output=True, text=True, env=env)

    assert hadolint().returncode == 0
    kept = list((tmp_path / "cache").rglob("*"))
    assert len([p for p in kept if p.is_file()]) == 1
    dockerfile = project / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text() + "\nRUN cd /tmp\n")  # DL3003: a change the cache must not hide
    failed = hadolint()
    assert failed.returncode == 1 and "DL3003" in failed.stdout
    assert hadolint().returncode == 1  # and not remembered
    assert len([p for p in (tmp_path / "cache").rglob("*") if p.is_file()]) == 1


def test_checkov_and_cfn_lint_rescan_only_the_files_that_changed(project, tmp_path):
    """Each file's pass is remembered on its own (cfn-lint's with the templates it nests): a bake
    that changes a name rescans the few files that hold it, and a new failure is still found."""
    env = {
        **os.environ,
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }

    def validate():
        return subprocess.run(
            tool("validate", "checkov", "cfn-lint"), cwd=project, capture_output=True, text=True, env=env
        )

    first = validate()
    assert first.returncode == 0, first.stdout
    counts = [line for line in first.stdout.splitlines() if "checkov" in line]
    before = {p for p in (tmp_path / "cache").rglob("*") if p.is_file()}
    dashboard = project / "infra/dashboard.yaml"
    dashboard.write_text(dashboard.read_text().replace("Service metrics", "The service's metrics", 1))
    again = validate()
    assert again.returncode == 0 and [line for line in again.stdout.splitlines() if "checkov" in line] == counts
    new = {p for p in (tmp_path / "cache").rglob("*") if p.is_file()} - before
    assert len(new) == 3  # checkov: dashboard.yaml; cfn-lint: dashboard.yaml and root.yaml, which nests it
    ecr = project / "infra/ecr.yaml"
    ecr.write_text(ecr.read_text().replace("IMMUTABLE_WITH_EXCLUSION", "MUTABLE").replace("id: CKV_AWS_51", "id: NONE"))
    failed = validate()
    assert failed.returncode == 1 and "CKV_AWS_51 infra/ecr.yaml" in failed.stdout


def test_checkov_scan_reports_what_the_checkov_command_reports(rendered):
    """checkov_scan.py only builds checkov's JSONPath parser once: the same checks pass, fail and
    are skipped on the same resources as with checkov's own command (here on api.yaml, the
    template with the most attribute paths, and the Dockerfile)."""
    args = ["-f", "infra/api.yaml", "-f", "Dockerfile", "--framework", "cloudformation", "dockerfile"]
    args += ["--skip-download", "--output", "json"]

    def results(command: list[str]) -> list:
        proc = subprocess.run([*command, *args], cwd=rendered, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        return [
            (report["check_type"], kind, sorted((c["check_id"], c["resource"]) for c in report["results"][kind]))
            for report in json.loads(proc.stdout)
            for kind in ("passed_checks", "failed_checks", "skipped_checks")
        ]

    scanned = results([sys.executable, "-m", "ecs_model_tools.checkov_scan"])
    assert scanned == results([str(Path(sys.executable).parent / "checkov")])
    assert sum(len(checks) for _, kind, checks in scanned if kind == "passed_checks") > 90
