"""The CloudFormation execution role allows what the registry says the stacks' resources need.

    ecs-model-tools validate cfn-role

For every resource type in infra/*.yaml (bootstrap.yaml excepted: an admin deploys it with
their own permissions) and, with infrastructure "own", in infra/environment/*.yaml (a "shared"
bake's role never deploys the environment, so it is not granted what the environment needs),
the CloudFormation registry's resource schema lists the permissions its handlers call
(handlers.create|read|update|delete.permissions). cfn-lint ships these
schemas (cfnlint/data/schemas/providers/<region>.json names each type's file in
resources/). The role CloudFormationExecutionRole in infra/bootstrap.yaml must grant every
one of them (policy_grants.py), except those in EXCEPTIONS. Adding a resource type
to a stack shows here, at `make validate`, whatever the role still lacks. Every IAM role in
the stacks must also carry the project's path and permissions boundary (the only roles the
execution role may create).
"""

import importlib.util
import json
from pathlib import Path

from . import cross_stack  # CloudFormation-aware YAML
from .policy_grants import action_matches, granted, inline_statements

ROOT = cross_stack.ROOT
ROLE = "CloudFormationExecutionRole"
HANDLERS = ("create", "read", "update", "delete")

# Handler permissions the role leaves out on purpose: features no resource here uses.
EXCEPTIONS = {
    "cognito-idp:*": "Listener: Cognito user-pool authentication; no listener here authenticates users",
    "firehose:*": "LogGroup: log delivery to Firehose; the log groups here deliver nowhere",
    "lambda:*ProvisionedConcurrencyConfig": "ScalableTarget: Lambda provisioned concurrency; the only one is ECS's",
    "lambda:AssociateRuntimeAlias": "Lambda Function: not an action of Lambda's IAM reference (cfn-lint W3037)",
    "lambda:GetLayerVersion": "Lambda Function: layers; the release check has none",
    "lambda:GetCodeSigningConfig": "Lambda Function: code signing configurations; the release check has none",
    "lambda:PassCapacityProvider": "Lambda Function: capacity providers (Lambda on EC2); the release check has none",
    "elasticfilesystem:*": "Lambda Function: EFS file systems; the release check mounts none",
    "s3files:*": "Lambda Function: S3 file system mounts; the release check mounts none",
    "kms:Encrypt": "Lambda Function: a customer-managed key for its environment; the release check has none",
    "kms:Decrypt": "Lambda Function: a customer-managed key for its environment; the release check has none",
    "kms:GenerateDataKey": "Lambda Function: a customer-managed key for its environment; the release check has none",
    "s3tables:*": "S3 Bucket: S3 Tables metadata tables; the access-log bucket has none",
    "vpc-lattice:*": "VPCEndpoint: VPC Lattice service networks; the endpoints here are AWS services",
    "vpce:AllowMultiRegion": "VPCEndpoint: endpoints to other regions; the endpoints here serve this region",
    "s3:REST.PUT.OBJECT": "LogGroup: not an IAM action (an S3 access-log operation name); nothing to grant",
    "iam:DeleteRolePermissionsBoundary": "IAM Role: removing a role's boundary, which the role denies (no escalation)",
    # Scoped by tags and names since issue 24: features no resource here uses, left out.
    "ec2:CreateVpcEncryptionControl": "VPC: VPC encryption controls, which no VPC here configures",
    "ecs:PutAccountSetting*": "Cluster: account-wide ECS settings (every cluster's); this cluster sets only its own",
    "elasticloadbalancing:ModifyIpPools": "LoadBalancer: IPAM pools for its addresses; none here uses one",
    "logs:CreateLogDelivery": "LogGroup: vended log delivery; the log groups here deliver nowhere",
    "logs:*IndexPolicy": "LogGroup: field index policies; no log group here has one",
    "logs:*ResourcePolicy": "LogGroup: a resource policy (account-wide in the API); no log group here has one",
    "logs:PutBearerTokenAuthentication": "LogGroup: bearer-token ingestion; no log group here takes it",
    "logs:PutLogGroupDeletionProtection": "LogGroup: deletion protection, which no log group here sets",
}


def schemas_dir() -> Path | None:
    spec = importlib.util.find_spec("cfnlint")
    return Path(spec.origin).parent / "data" / "schemas" if spec and spec.origin else None


def deployed_templates() -> list[Path]:
    """The templates CloudFormation deploys with the execution role."""
    paths = [path for path in sorted((ROOT / "infra").glob("*.yaml")) if path.name != "bootstrap.yaml"]
    if cross_stack.OWN_ENVIRONMENT:
        paths += sorted((ROOT / "infra" / "environment").glob("*.yaml"))
    return paths


def stack_resource_types() -> dict[str, set[str]]:
    """Resource type -> the templates that use it."""
    types: dict[str, set[str]] = {}
    for path in deployed_templates():
        for resource in (cross_stack.load(path).get("Resources") or {}).values():
            types.setdefault(resource["Type"], set()).add(path.name)
    return types


def required_permissions(schemas: Path, region: str, types: set[str]) -> tuple[dict[str, set[str]], list[str]]:
    """Permission -> the types whose handlers need it; and the types the registry does not know."""
    provider = json.loads((schemas / "providers" / f"{region}.json").read_text())
    needed: dict[str, set[str]] = {}
    unknown = []
    for kind in sorted(types):
        if kind not in provider:
            unknown.append(kind)
            continue
        schema = json.loads((schemas / "resources" / f"{provider[kind]}.json").read_text())
        for handler in HANDLERS:
            for permission in schema.get("handlers", {}).get(handler, {}).get("permissions", []):
                needed.setdefault(permission, set()).add(kind)
    return needed, unknown


# What every role in the stacks must say: the execution role creates and changes roles only
# under this path and only with this permissions boundary (infra/bootstrap.yaml).
ROLE_PATH = {"Fn::Sub": "/${Prefix}/"}
ROLE_BOUNDARY = {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/${Prefix}-boundary"}
UNBOUNDED = (
    "needs Path: !Sub /${Prefix}/ and PermissionsBoundary: !Sub "
    "arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/${Prefix}-boundary (the only roles CloudFormation may create)"
)


def unbounded_roles() -> list[str]:
    found = []
    for path in deployed_templates():
        for name, resource in (cross_stack.load(path).get("Resources") or {}).items():
            properties = resource.get("Properties", {})
            if resource["Type"] == "AWS::IAM::Role" and (
                properties.get("Path") != ROLE_PATH or properties.get("PermissionsBoundary") != ROLE_BOUNDARY
            ):
                found.append(f"{path.name}: role {name} {UNBOUNDED}")
    return found


def role_statements(resources: dict) -> list[dict]:
    """The role's inline statements and those of the template's managed policies attached to it."""
    role = resources[ROLE]
    attached = [ref["Ref"] for ref in role.get("Properties", {}).get("ManagedPolicyArns", []) if "Ref" in ref]
    return inline_statements(role) + [s for name in attached for s in inline_statements(resources[name])]


def exception_for(permission: str) -> str | None:
    return next((pattern for pattern in EXCEPTIONS if action_matches(pattern, permission)), None)


def problems() -> tuple[list[str], str]:
    schemas = schemas_dir()
    if schemas is None:
        return [], "skip"
    region = json.loads((ROOT / "project.json").read_text())["region"]
    if not (schemas / "providers" / f"{region}.json").is_file():  # a region cfn-lint has no schemas of (me-south-1)
        region = "us-east-1"  # the region whose registry gets every resource type first; the summary names it
    types = stack_resource_types()
    needed, unknown = required_permissions(schemas, region, set(types))
    resources = cross_stack.load(ROOT / "infra" / "bootstrap.yaml")["Resources"]
    statements = role_statements(resources)
    found = [f"{kind} (in {', '.join(sorted(types[kind]))}): no registry schema in {region}" for kind in unknown]
    found += unbounded_roles()
    excepted = 0
    for permission, kinds in sorted(needed.items()):
        if granted(statements, permission):
            continue
        if exception_for(permission):
            excepted += 1
            continue
        found.append(f"{ROLE} does not allow {permission} (needed by {', '.join(sorted(kinds))})")
    summary = f"{len(needed)} handler permissions of {len(types)} resource types; {excepted} excepted ({region})"
    return found, summary
