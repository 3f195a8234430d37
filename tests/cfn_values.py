"""A baked CloudFormation template's resources with their intrinsics resolved, as
CloudFormation would resolve them for given parameters, so tests can evaluate the real
policy documents (tests/iam_policy.py).

Covers what infra/bootstrap.yaml and infra/ecs.yaml use: Ref, Fn::Sub, Fn::GetAtt, Fn::If,
Fn::Equals, Fn::Join, pseudo parameters, and the Ref/Arn values of the resource types they
declare (RESOURCE_VALUES). Anything else raises, so a new intrinsic cannot pass unread.
"""

import re
from pathlib import Path

from ecs_model_tools import cross_stack


def load_template(path: Path) -> dict:
    """The template tool's CloudFormation reader (the validator's), so both read tags alike."""
    return cross_stack.load(path)


class Stack:
    """One template deployed (on paper) as `name` in an account and region."""

    def __init__(self, path: Path, parameters: dict, name: str, account: str, region: str):
        self.template = load_template(path)
        defaults = {k: v.get("Default") for k, v in self.template.get("Parameters", {}).items()}
        self.parameters = {**defaults, **parameters}
        missing = [k for k, v in self.parameters.items() if v is None]
        assert not missing, f"{path.name}: no value for parameters {missing}"
        self.name, self.account, self.region, self.partition = name, account, region, "aws"

    def pseudo(self, name: str) -> str:
        return {
            "AWS::AccountId": self.account,
            "AWS::Region": self.region,
            "AWS::Partition": self.partition,
            "AWS::StackName": self.name,
            "AWS::NoValue": None,  # the property is left out
        }[name]

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.template["Conditions"][name]))

    @property
    def resources(self) -> dict[str, dict]:
        """Resources whose Condition holds, with every intrinsic resolved."""
        return {
            name: self.resolve(resource)
            for name, resource in self.template["Resources"].items()
            if "Condition" not in resource or self.condition(resource["Condition"])
        }

    def resource_value(self, logical: str, attribute: str | None) -> str:
        resource = self.template["Resources"][logical]
        properties = self.resolve(resource.get("Properties", {}))
        return RESOURCE_VALUES[(resource["Type"], attribute)](self, logical, properties)

    def resolve(self, node):
        if isinstance(node, list):
            return [self.resolve(item) for item in node]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, value),) = node.items()
            if key == "Ref":
                if value.startswith("AWS::"):
                    return self.pseudo(value)
                if value in self.parameters:
                    return self.parameters[value]
                return self.resource_value(value, None)
            if key == "Fn::GetAtt":
                return self.resource_value(value[0], value[1])
            if key == "Fn::Sub":
                return self.substitute(value)
            if key == "Fn::If":
                name, then, otherwise = value
                return self.resolve(then if self.condition(name) else otherwise)
            if key == "Fn::Equals":
                left, right = self.resolve(value)
                return left == right
            if key == "Fn::Join":
                separator, items = value
                return separator.join(self.resolve(items))
            if key.startswith("Fn::") or key == "Condition":
                raise NotImplementedError(f"intrinsic {key} is not resolved by tests/cfn_values.py")
        return {key: self.resolve(value) for key, value in node.items()}

    def substitute(self, value) -> str:
        text, variables = (value, {}) if isinstance(value, str) else value
        variables = self.resolve(variables)

        def one(match: re.Match) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(variables[name])
            if "." in name:
                return self.resource_value(*name.split(".", 1))
            return str(self.resolve({"Ref": name}))

        return re.sub(r"\$\{([^}]+)\}", one, text)


def _iam_arn(stack: Stack, kind: str, path: str | None, name: str) -> str:
    return f"arn:{stack.partition}:iam::{stack.account}:{kind}{path or '/'}{name}"


def _generated_name(stack: Stack, logical: str) -> str:
    return f"{stack.name}-{logical}-GENERATED"  # CloudFormation adds a random suffix


RESOURCE_VALUES = {
    ("AWS::IAM::Role", None): lambda s, n, p: p.get("RoleName", _generated_name(s, n)),
    ("AWS::IAM::Role", "Arn"): lambda s, n, p: _iam_arn(
        s, "role", p.get("Path"), p.get("RoleName", _generated_name(s, n))
    ),
    ("AWS::IAM::ManagedPolicy", None): lambda s, n, p: _iam_arn(s, "policy", p.get("Path"), p["ManagedPolicyName"]),
    ("AWS::IAM::User", None): lambda s, n, p: p["UserName"],
    ("AWS::IAM::Group", None): lambda s, n, p: p["GroupName"],
    ("AWS::IAM::OIDCProvider", None): lambda s, n, p: _iam_arn(
        s, "oidc-provider", "/", p["Url"].removeprefix("https://")
    ),
    ("AWS::S3::Bucket", None): lambda s, n, p: p["BucketName"],
    ("AWS::S3::Bucket", "Arn"): lambda s, n, p: f"arn:{s.partition}:s3:::{p['BucketName']}",
    ("AWS::Logs::LogGroup", None): lambda s, n, p: p["LogGroupName"],
    ("AWS::Logs::LogGroup", "Arn"): lambda s, n, p: (
        f"arn:{s.partition}:logs:{s.region}:{s.account}:log-group:{p['LogGroupName']}:*"
    ),
}
