"""What the bootstrap stack lets the pipeline and CloudFormation do, proved by evaluating the
baked policies (tests/iam_policy.py on tests/cfn_values.py's resolved templates), in every
combination of tests/test_matrix.py's MATRIX:

- the validator's cfn-role check (registry handler permissions) and deploy-policy check (the
  deploy scripts' calls) pass, and catch what they exist for;
- no escalation: CloudFormation's role creates and changes roles only with the boundary and
  never touches the bootstrap's identities, policies or stack; the deploy identity drives only
  this environment's infra and API stacks and passes only CloudFormation's role;
- the boundary allows what the stacks' roles need and no IAM;
- the OIDC trust accepts this repository's step in this account's deployment environment only;
- the policies fit IAM's size limits.
"""

import json
from pathlib import Path

import pytest

from .cfn_values import Stack
from .conftest import TOOL, copy_project, run
from .iam_policy import Request, is_allowed, trusts
from .test_matrix import MATRIX, answers_of, combination_id

ACCOUNT, REGION, ENV = "111111111111", "eu-west-1", "dev"
AUDIENCE = "ari:cloud:bitbucket::workspace/5e4c0a3b-9d7f-4b1a-8c2e-3f4a5b6c7d8e"
REPO = "{a1b2c3d4-1111-4222-8333-444455556666}"
TEST_ENV = "{b2c3d4e5-2222-4333-8444-555566667777}"  # Bitbucket's "Test" environment (dev)
PROD_ENV = "{c3d4e5f6-3333-4444-8555-666677778888}"
STEP = "{d4e5f6a7-4444-4555-8666-777788889999}"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"


class Bootstrap:
    """The baked bootstrap and ECS stacks of one combination, deployed (on paper) to dev."""

    def __init__(self, project: Path, answers: dict, prefix: str | None = None):
        self.prefix = prefix or project.name
        self.oidc = answers["deploy_identity"] == "oidc"
        parameters = {"Prefix": self.prefix, "EnvironmentName": ENV, "EnvironmentPrefix": answers["environment_name"]}
        if self.oidc:
            parameters |= {
                "BitbucketAudience": AUDIENCE,
                "BitbucketRepositoryUuid": REPO,
                "DeploymentEnvironmentUuid": TEST_ENV,
            }
        stack = Stack(project / "infra/bootstrap.yaml", parameters, f"{self.prefix}-bootstrap", ACCOUNT, REGION)
        self.stack, self.resources = stack, stack.resources
        role = self.resources["CloudFormationExecutionRole"]["Properties"]
        self.cfn_role_policies = role["Policies"]
        self.cfn_role = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
        self.deploy = self.resources["DeployPolicy"]["Properties"]["PolicyDocument"]["Statement"]
        self.boundary = self.resources["StackRoleBoundary"]["Properties"]["PolicyDocument"]["Statement"]
        self.boundary_arn = stack.resource_value("StackRoleBoundary", None)
        self.cfn_role_arn = stack.resource_value("CloudFormationExecutionRole", "Arn")
        ecs_parameters = {"Prefix": self.prefix, "EnvironmentName": ENV, "LogRetentionDays": "30"}
        ecs_parameters["RepositoryArns"] = [self.arn("ecr", f"repository/{self.prefix}-{ENV}/api")]
        ecs_parameters["TargetGroupArns"] = [
            self.arn("elasticloadbalancing", f"targetgroup/{self.prefix}-{n}/0123") for n in "ab"
        ]
        ecs_parameters["ListenerRuleArns"] = [
            self.arn("elasticloadbalancing", f"listener-rule/app/lb/1/2/{n}") for n in "ab"
        ]
        self.ecs = Stack(
            project / "infra/ecs.yaml", ecs_parameters, f"{self.prefix}-{ENV}-infra-EcsStack-X", ACCOUNT, REGION
        )

    def arn(self, service: str, resource: str) -> str:
        region = "" if service in ("iam", "s3") else REGION
        account = "" if service == "s3" else ACCOUNT
        return f"arn:aws:{service}:{region}:{account}:{resource}"

    def stack_arn(self, name: str) -> str:
        return self.arn("cloudformation", f"stack/{name}/0a1b2c3d-0000-4000-8000-000000000000")

    @property
    def own_identities(self) -> list[str]:
        """ARNs of the bootstrap's own roles, users, groups and policies."""
        deploy = (
            [f"role/{self.prefix}-deploy"]
            if self.oidc
            else [f"user/{self.prefix}-deploy", f"group/{self.prefix}-deploy"]
        )
        names = [
            f"role/{self.prefix}-cfn-exec",
            *deploy,
            f"policy/{self.prefix}-deploy",
            f"policy/{self.prefix}-boundary",
        ]
        return [self.arn("iam", name) for name in names]

    def cfn_may(self, action: str, resource: str, **context) -> bool:
        return is_allowed(Request(action, resource, context), self.cfn_role)

    def deploy_may(self, action: str, resource: str, **context) -> bool:
        return is_allowed(Request(action, resource, context), self.deploy)

    def stack_roles(self) -> dict[str, dict]:
        return {n: r for n, r in self.ecs.resources.items() if r["Type"] == "AWS::IAM::Role"}


@pytest.fixture(scope="module", params=MATRIX, ids=[combination_id(c) for c in MATRIX])
def baked(request, bake_once) -> tuple[Path, dict]:
    return bake_once(request.param), answers_of(request.param)


@pytest.fixture(scope="module")
def bootstrap(baked) -> Bootstrap:
    return Bootstrap(*baked)


# The validator's checks, in every combination, and what they catch.


def test_the_validator_checks_the_role_and_the_deploy_policy(baked):
    project, _ = baked
    result = run([*TOOL, "validate", "--strict", "cfn-role", "deploy-policy"], project)
    assert result.returncode == 0, result.stdout
    assert "2 passed, 0 failed" in result.stdout
    assert " handler permissions of " in result.stdout and " actions called by " in result.stdout


BREAKAGES = {
    "role-lacks-a-kms-permission": (
        "infra/bootstrap.yaml",
        "                  - kms:PutKeyPolicy\n",
        "",
        "cfn-role",
        "CloudFormationExecutionRole does not allow kms:PutKeyPolicy (needed by AWS::KMS::Key)",
    ),
    "role-lacks-nested-stacks": (
        "infra/bootstrap.yaml",
        "                Action: cloudformation:*\n",
        "                Action: cloudformation:DescribeStacks\n",
        "cfn-role",
        "does not allow cloudformation:CreateStack (needed by AWS::CloudFormation::Stack)",
    ),
    "a-new-resource-type": (
        "infra/environment/topics.yaml",
        "\nResources:\n",
        "\nResources:\n  Queue:\n    Type: AWS::SQS::Queue\n    Properties:\n      SqsManagedSseEnabled: true\n",
        "cfn-role",
        "does not allow sqs:CreateQueue (needed by AWS::SQS::Queue)",
    ),
    "a-role-without-the-boundary": (
        "infra/ecs.yaml",
        "      Description: Assumed by the running containers of the API tasks.\n      Path: !Sub /${Prefix}/\n"
        "      PermissionsBoundary: !Sub arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/${Prefix}-boundary\n",
        "      Description: Assumed by the running containers of the API tasks.\n",
        "cfn-role",
        "ecs.yaml: role TaskRole needs Path: !Sub /${Prefix}/ and PermissionsBoundary",
    ),
    "a-new-call-in-a-script": (
        "scripts/deploy-api.sh",
        'role="$(stack_output',
        'aws ecr list-images --repository-name x >/dev/null\nrole="$(stack_output',
        "deploy-policy",
        "DeployPolicy does not allow ecr:ListImages, called by deploy-api.sh: aws ecr list-images",
    ),
    "a-grant-no-script-uses": (
        "infra/bootstrap.yaml",
        "              - ecr:DescribeImages\n",
        "              - ecr:DescribeImages\n              - ecr:DescribeRepositories\n",
        "deploy-policy",
        "DeployPolicy grants ecr:DescribeRepositories, which no deploy script calls",
    ),
    "a-wildcard-grant": (
        "infra/bootstrap.yaml",
        "            Action: ecs:DescribeServices\n",
        "            Action: ecs:Describe*\n",
        "deploy-policy",
        "DeployPolicy grants ecs:Describe*: write the actions out, without wildcards",
    ),
    # a grant ahead of use that a script now calls: tools/tests/test_checks.py (the list is the tool's)
}


@pytest.mark.parametrize("breakage", list(BREAKAGES), ids=list(BREAKAGES))
def test_the_checks_catch(default_project, tmp_path, breakage):
    path, old, new, check, message = BREAKAGES[breakage]
    project = copy_project(default_project, tmp_path)
    file = project / path
    assert old in file.read_text()
    file.write_text(file.read_text().replace(old, new, 1))
    result = run([*TOOL, "validate", check], project)
    assert result.returncode == 1, result.stdout
    assert message in result.stdout


# No escalation: CloudFormation's role.


def test_cloudformation_creates_and_changes_the_stack_roles_only_with_the_boundary(bootstrap):
    roles = bootstrap.stack_roles()
    assert roles, "infra/ecs.yaml creates the task roles"
    for name, role in roles.items():
        arn = bootstrap.ecs.resource_value(name, "Arn")
        properties = role["Properties"]
        boundary = (
            {"iam:PermissionsBoundary": properties["PermissionsBoundary"]}
            if "PermissionsBoundary" in properties
            else {}
        )
        assert boundary, f"{name} has no PermissionsBoundary"
        for action in ("iam:CreateRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:DeleteRole", "iam:GetRole"):
            assert bootstrap.cfn_may(action, arn, **boundary), (name, action)
        assert bootstrap.cfn_may("iam:PassRole", arn, **{"iam:PassedToService": "ecs-tasks.amazonaws.com"})
        assert not bootstrap.cfn_may("iam:PassRole", arn, **{"iam:PassedToService": "ec2.amazonaws.com"})
        for action in ("iam:CreateRole", "iam:PutRolePolicy", "iam:AttachRolePolicy"):
            assert not bootstrap.cfn_may(action, arn), f"{action} without a boundary"
            assert not bootstrap.cfn_may(action, arn, **{"iam:PermissionsBoundary": ADMIN}), action
        assert not bootstrap.cfn_may("iam:DeleteRolePermissionsBoundary", arn, **boundary)
        assert not bootstrap.cfn_may("iam:PutRolePermissionsBoundary", arn, **{"iam:PermissionsBoundary": ADMIN})


def test_cloudformation_cannot_escalate_through_the_bootstrap_identities(bootstrap):
    bounded = {"iam:PermissionsBoundary": bootstrap.boundary_arn, "iam:PolicyARN": ADMIN}
    for arn in bootstrap.own_identities:
        for action in (
            "iam:AttachRolePolicy",
            "iam:PutRolePolicy",
            "iam:UpdateAssumeRolePolicy",
            "iam:DeleteRole",
            "iam:AttachUserPolicy",
            "iam:PutUserPolicy",
            "iam:CreateAccessKey",
            "iam:AddUserToGroup",
            "iam:AttachGroupPolicy",
            "iam:PutGroupPolicy",
            "iam:CreatePolicyVersion",
            "iam:SetDefaultPolicyVersion",
            "iam:DeletePolicy",
        ):
            assert not bootstrap.cfn_may(action, arn, **bounded), (action, arn)
    # The explicit Denies hold even if someone later widens the role to everything.
    widened = [*bootstrap.cfn_role, {"Effect": "Allow", "Action": "*", "Resource": "*"}]
    for arn in bootstrap.own_identities:
        assert not is_allowed(Request("iam:CreatePolicyVersion", arn), widened), arn
        assert not is_allowed(Request("iam:AttachRolePolicy", arn, {"iam:PolicyARN": ADMIN}), widened), arn
    assert not is_allowed(Request("iam:DeleteRolePermissionsBoundary", bootstrap.arn("iam", "role/x")), widened)
    bootstrap_stack = bootstrap.stack_arn(f"{bootstrap.prefix}-bootstrap")
    assert not is_allowed(Request("cloudformation:UpdateStack", bootstrap_stack), widened)
    # A role named like the bootstrap's but outside the stacks' path cannot be created either.
    impostor = bootstrap.arn("iam", f"role/{bootstrap.prefix}-admin")
    assert not bootstrap.cfn_may("iam:CreateRole", impostor, **bounded)
    assert not bootstrap.cfn_may(
        "iam:PassRole", bootstrap.cfn_role_arn, **{"iam:PassedToService": "ecs-tasks.amazonaws.com"}
    )
    assert bootstrap.cfn_may(
        "iam:PassRole", bootstrap.cfn_role_arn, **{"iam:PassedToService": "cloudformation.amazonaws.com"}
    )


def test_cloudformation_runs_the_nested_stacks_but_not_the_bootstrap_stack(bootstrap):
    nested = bootstrap.stack_arn(f"{bootstrap.prefix}-{ENV}-infra-EcsStack-1A2B3C")
    for action in ("cloudformation:CreateStack", "cloudformation:UpdateStack", "cloudformation:DeleteStack"):
        assert bootstrap.cfn_may(action, nested)
        assert not bootstrap.cfn_may(action, bootstrap.stack_arn(f"{bootstrap.prefix}-bootstrap"))
        assert not bootstrap.cfn_may(action, bootstrap.stack_arn(f"{bootstrap.prefix}-prod-infra"))  # another env


# No escalation: the deploy identity.


def test_the_deploy_identity_drives_only_this_environments_infra_and_api_stacks(bootstrap):
    change = ("cloudformation:CreateChangeSet", "cloudformation:ExecuteChangeSet", "cloudformation:DeleteStack")
    for name in (f"{bootstrap.prefix}-{ENV}-infra", f"{bootstrap.prefix}-{ENV}-api"):
        for action in (*change, "cloudformation:DescribeStacks"):
            assert bootstrap.deploy_may(action, bootstrap.stack_arn(name)), (action, name)
    forbidden = [
        f"{bootstrap.prefix}-bootstrap",
        f"{bootstrap.prefix}-prod-infra",
        f"{bootstrap.prefix}-{ENV}-infra-VpcStack-X",
    ]
    for name in forbidden:
        for action in (
            *change,
            "cloudformation:UpdateStack",
            "cloudformation:CreateStack",
            "cloudformation:SetStackPolicy",
        ):
            assert not bootstrap.deploy_may(action, bootstrap.stack_arn(name)), (action, name)
    assert bootstrap.deploy_may("cloudformation:DescribeStacks", bootstrap.stack_arn(f"{bootstrap.prefix}-bootstrap"))
    widened = [*bootstrap.deploy, {"Effect": "Allow", "Action": "cloudformation:*", "Resource": "*"}]
    for action in (*change, "cloudformation:UpdateStack"):  # the explicit Deny holds
        assert not is_allowed(Request(action, bootstrap.stack_arn(f"{bootstrap.prefix}-bootstrap")), widened)


def test_only_the_bake_that_owns_the_environment_may_change_it(bootstrap, baked):
    """A "shared" model's pipeline reads the environment (its listener's rules and exports) but can
    change only its own two stacks: not the environment's stack, not another model's stacks; and
    CloudFormation's role, acting for it, gets no action on a VPC, load balancer, listener or cluster."""
    _, answers = baked
    own = answers["infrastructure"] == "own"
    environment = f"{answers['environment_name']}-{ENV}"
    change = (
        "cloudformation:CreateChangeSet",
        "cloudformation:ExecuteChangeSet",
        "cloudformation:DeleteStack",
        "cloudformation:UpdateTerminationProtection",
    )
    for action in change:
        assert bootstrap.deploy_may(action, bootstrap.stack_arn(environment)) == own, action
        for other in ("other-model-dev-infra", "other-model-dev-api", f"{environment}-VpcStack-X"):
            assert not bootstrap.deploy_may(action, bootstrap.stack_arn(other)), (action, other)
    assert bootstrap.deploy_may("cloudformation:DescribeStacks", bootstrap.stack_arn(environment))
    assert bootstrap.deploy_may("elasticloadbalancing:DescribeRules", "*")  # ecs-model-tools listener-rule
    nested = bootstrap.stack_arn(f"{environment}-LoadBalancerStack-X")
    assert bootstrap.cfn_may("cloudformation:UpdateStack", nested) == own
    assert not bootstrap.cfn_may("cloudformation:UpdateStack", bootstrap.stack_arn("other-model-dev-infra-EcsStack-X"))
    environment_actions = [
        ("ec2:DeleteVpc", "vpc/vpc-0a1b2c3d"),
        ("ec2:DeleteSubnet", "subnet/subnet-0a1b2c3d"),
        ("ec2:DeleteVpcEndpoints", "vpc-endpoint/vpce-0a1b2c3d"),
        ("elasticloadbalancing:DeleteLoadBalancer", "loadbalancer/app/ml-models-dev/0a1b2c3d"),
        ("elasticloadbalancing:ModifyListener", "listener/app/ml-models-dev/0a1b2c3d/4e5f"),
        ("elasticloadbalancing:DeleteListener", "listener/app/ml-models-dev/0a1b2c3d/4e5f"),
        ("ecs:DeleteCluster", "cluster/ml-models-dev"),
        ("ecs:UpdateCluster", "cluster/ml-models-dev"),
        ("kms:ScheduleKeyDeletion", "key/0a1b2c3d-0000-4000-8000-000000000000"),
        ("sns:DeleteTopic", "ml-models-dev-alarms"),
    ]
    for action, resource in environment_actions:
        service = action.split(":")[0]
        assert bootstrap.cfn_may(action, bootstrap.arn(service, resource)) == own, action
    # What a model's stacks need, either way: its rule on the shared listener, its target group.
    rule = bootstrap.arn("elasticloadbalancing", "listener-rule/app/ml-models-dev/0a1b2c3d/4e5f/6a7b")
    assert bootstrap.cfn_may("elasticloadbalancing:CreateRule", rule)
    assert bootstrap.cfn_may("elasticloadbalancing:DeleteRule", rule)


def test_the_deploy_identity_cannot_import_resources_the_project_never_created(bootstrap):
    """An import change set would adopt, say, another team's instance and change it with CloudFormation's role."""
    api = bootstrap.stack_arn(f"{bootstrap.prefix}-{ENV}-api")
    assert bootstrap.deploy_may("cloudformation:CreateChangeSet", api)
    importing = {"cloudformation:ImportResourceTypes": "AWS::EC2::Instance"}
    assert not bootstrap.deploy_may("cloudformation:CreateChangeSet", api, **importing)


def test_the_deploy_identity_passes_only_the_execution_role_and_only_to_cloudformation(bootstrap):
    to_cfn = {"iam:PassedToService": "cloudformation.amazonaws.com"}
    assert bootstrap.deploy_may("iam:PassRole", bootstrap.cfn_role_arn, **to_cfn)
    assert not bootstrap.deploy_may(
        "iam:PassRole", bootstrap.cfn_role_arn, **{"iam:PassedToService": "ec2.amazonaws.com"}
    )
    stack_role = bootstrap.arn("iam", f"role/{bootstrap.prefix}/{bootstrap.prefix}-{ENV}-infra-TaskRole-X")
    for arn in [*bootstrap.own_identities[1:], stack_role, bootstrap.arn("iam", "role/Admin")]:
        assert not bootstrap.deploy_may("iam:PassRole", arn, **to_cfn), arn
    for action in ("iam:CreateRole", "iam:AttachRolePolicy", "iam:PutRolePolicy", "iam:CreateAccessKey"):
        for arn in bootstrap.own_identities:
            assert not bootstrap.deploy_may(action, arn, **{"iam:PolicyARN": ADMIN}), (action, arn)


def test_the_deploy_identity_pushes_only_to_this_environments_repositories(bootstrap):
    own = bootstrap.arn("ecr", f"repository/{bootstrap.prefix}-{ENV}/api")
    assert bootstrap.deploy_may("ecr:PutImage", own)
    assert bootstrap.deploy_may("ecr:BatchGetImage", own)
    assert not bootstrap.deploy_may("ecr:PutImage", bootstrap.arn("ecr", f"repository/{bootstrap.prefix}-prod/api"))
    assert not bootstrap.deploy_may("ecr:PutImage", bootstrap.arn("ecr", "repository/other-team/api"))
    assert not bootstrap.deploy_may("ecr:DeleteRepository", own)


# The boundary.


def test_the_boundary_allows_what_the_stack_roles_need_and_no_iam(bootstrap):
    checked = 0
    for name, role in bootstrap.stack_roles().items():
        for policy in role["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                resources = (
                    statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
                )
                for action in actions:
                    for resource in resources:
                        checked += 1
                        allowed = is_allowed(Request(action, resource), [statement], bootstrap.boundary)
                        assert allowed or statement.get("Condition"), (name, action, resource)
                        assert is_allowed(Request(action, resource), bootstrap.boundary), (name, action, resource)
    assert checked >= 6
    for action in ("iam:CreateRole", "iam:AttachRolePolicy", "iam:PassRole", "iam:CreateAccessKey", "sts:AssumeRole"):
        assert not is_allowed(Request(action, bootstrap.arn("iam", "role/anything")), bootstrap.boundary), action


def test_exec_permissions_are_in_the_boundary_only_with_ecs_exec(bootstrap, baked):
    _, answers = baked
    exec_allowed = is_allowed(Request("ssmmessages:OpenDataChannel", "*"), bootstrap.boundary)
    assert exec_allowed is answers["ecs_exec"]


# OIDC: the token's claims against the deploy role's trust policy.


def assume(bootstrap: Bootstrap, aud: str, sub: str, provider: str | None = None) -> bool:
    trust = bootstrap.resources["DeployRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    host = "api.bitbucket.org/2.0/workspaces/my-workspace/pipelines-config/identity/oidc"
    principal = {"Federated": provider or bootstrap.stack.resource_value("BitbucketOidcProvider", None)}
    claims = {f"{host}:aud": aud, f"{host}:sub": sub}
    return trusts(trust, Request("sts:AssumeRoleWithWebIdentity", context=claims, principal=principal))


def test_oidc_trusts_this_repositorys_steps_in_this_accounts_deployment_environment(bootstrap):
    if not bootstrap.oidc:
        assert "DeployRole" not in bootstrap.resources and "DeployUser" in bootstrap.resources
        return
    assert assume(bootstrap, AUDIENCE, f"{REPO}:{TEST_ENV}:{STEP}")
    other_workspace = "ari:cloud:bitbucket::workspace/0f0e0d0c-0b0a-4909-8807-060504030201"
    refused = {
        "another repository": (AUDIENCE, "{e5f6a7b8-5555-4666-8777-88889999aaaa}:" + f"{TEST_ENV}:{STEP}"),
        "another workspace": (other_workspace, f"{REPO}:{TEST_ENV}:{STEP}"),
        "another environment": (AUDIENCE, f"{REPO}:{PROD_ENV}:{STEP}"),
        "a step with no environment": (AUDIENCE, f"{REPO}:{STEP}"),
        "the audience with braces": (
            "ari:cloud:bitbucket::workspace/{5e4c0a3b-9d7f-4b1a-8c2e-3f4a5b6c7d8e}",
            f"{REPO}:{TEST_ENV}:{STEP}",
        ),
    }
    for why, (aud, sub) in refused.items():
        assert not assume(bootstrap, aud, sub), why
    assert not assume(
        bootstrap, AUDIENCE, f"{REPO}:{TEST_ENV}:{STEP}", provider=bootstrap.arn("iam", "oidc-provider/x")
    )


def test_oidc_audience_and_uuids_are_validated_as_bitbucket_shows_them(bootstrap):
    if not bootstrap.oidc:
        return
    import re

    parameters = bootstrap.stack.template["Parameters"]
    pattern = {
        name: re.compile(parameters[name]["AllowedPattern"])
        for name in ("BitbucketAudience", "BitbucketRepositoryUuid", "DeploymentEnvironmentUuid")
    }
    assert pattern["BitbucketAudience"].match(AUDIENCE)
    assert not pattern["BitbucketAudience"].match(AUDIENCE.replace("/", "/{") + "}")
    for name in ("BitbucketRepositoryUuid", "DeploymentEnvironmentUuid"):
        assert pattern[name].match(REPO) and not pattern[name].match(REPO.strip("{}")), name
    assert "Default" not in parameters["DeploymentEnvironmentUuid"]  # a deployment environment is required


# Size limits (IAM counts characters without white space), with the longest prefix allowed.


def test_the_policies_fit_iams_size_limits(baked):
    project, answers = baked
    longest = Bootstrap(project, answers, prefix="a" * 24)

    def size(document) -> int:
        return len(json.dumps(document, separators=(",", ":")))

    inline = sum(size(p["PolicyDocument"]) for p in longest.cfn_role_policies)
    assert inline <= 10_240, f"CloudFormation role inline policies: {inline} characters"
    for name in ("DeployPolicy", "StackRoleBoundary"):
        managed = size(longest.resources[name]["Properties"]["PolicyDocument"])
        assert managed <= 6_144, f"{name}: {managed} characters"
