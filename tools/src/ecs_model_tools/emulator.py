"""moto server for the deploy rehearsal, with the fixes its deploys need (moto 5.2.5).

    ecs-model-tools emulator PORT RUNNING_TASKS

This is the one place where the rehearsal works around the emulator. Each patch below
makes moto do what CloudFormation does, for the calls our deploy scripts make; nothing
else changes. What moto cannot show at all (Fargate settings, alarms, scaling) is
checked statically by rehearse.py instead.

1. Nested stacks: `!GetAtt Child.Outputs.Name` (how infra/root.yaml wires its nested
   stacks) is not implemented; the root stack fails with HTTP 500.
2. Change sets (`aws cloudformation deploy`): a stack created through one keeps no
   outputs, publishes no exports, cannot import other stacks' exports, and does not record
   its new parameters.
3. An unchanged change set is refused with "No updates are to be performed" where
   CloudFormation creates an empty change set (which `deploy` treats as success).
4. Intrinsics: `Fn::Cidr` is not implemented (infra/vpc.yaml computes its subnets with
   it), `Fn::GetAZs ""` lists the zones of us-east-1 instead of the stack's region, and
   the load balancer's and target group's *FullName attributes (metric dimensions) are
   missing; `Fn::FindInMap` looks a Number parameter up as a number, where CloudFormation
   uses its text (infra/api.yaml finds the worker count by TaskCpu).
5. Updates: a changed parameter only updates resources that `Ref` it directly, so a new
   ImageTag (used in a `Fn::Sub`) changes nothing, and resources that depend on a changed
   resource (the service on its task definition) are not updated.
6. An updated task definition keeps its container definitions in CloudFormation's
   spelling (Image, not image), so the new revision shows no image.
7. Tasks cannot run here: each service reports RUNNING_TASKS running tasks (the
   api DesiredCount in infra/params/dev.json, else 1), so the rollout completes and `aws ecs wait
   services-stable` returns. A service created without DesiredCount starts 1 task, as
   in ECS (moto starts none). A new task definition gives the service a new deployment, which
   completes at once and replaces the old one (moto kept its first deployment for ever).
8. Failed creates: moto raises from ExecuteChangeSet and leaves the stack half made. As
   CloudFormation does, the call succeeds, each resource that fails (a nested stack too)
   gets a CREATE_FAILED event with its reason, what was made is deleted, and the stack
   ends in ROLLBACK_COMPLETE, its nested stacks deleted but their events kept.
9. Faults, for the rehearsal of failures: EMULATOR_FAULTS is a comma-separated list of
   resource types (the first create of each fails as AWS fails it on a new account) and
   API actions (the first call of each is refused, as without permission).
10. Deleting a stack leaves its listener rules on the listener (and so their target
   groups, which a rule still uses); CloudFormation deletes them, and another model's
   rules on the same listener stay.
11. Conditions on update: a resource whose Condition is false in the new template is
   "updated" (moto fails with an AttributeError when it was never created), never deleted;
   CloudFormation deletes it, keeping it when its DeletionPolicy is Retain (as it does when
   the stack is deleted), and creates it once its condition turns true again.
12. A nested stack whose parameters change is deleted and created anew, every resource
   in it replaced; CloudFormation updates it in place (a listener keeps its ARN).
13. A security group whose rules change is replaced (a new id); CloudFormation changes
   its rules in place (only GroupName, GroupDescription or VpcId replace a group).
14. AWS::IAM::OIDCProvider is not a CloudFormation type here (skipped silently): created
   and deleted through the IAM emulator, so the bootstrap's provider exists.
15. Accounts: MOTO_ACCOUNT_ID puts every call into one account, and ECR ignores
   `registryId`. Here MOTO_ACCOUNT_ID is only the default: a call is in the account of its
   credentials (an IAM user's keys, an assumed role's), the key id ADMIN<account>KEY is that
   account's admin, and ECR calls with a registryId reach that account's registry (how
   production's identity reads dev's images). Policies are not evaluated here: dev's
   repository policy and the deploy policy are checked by the template's tests.
16. UpdateTerminationProtection (production's stacks, scripts/lib.sh) is not implemented:
   it sets the flag describe-stacks reports. Deleting a protected stack is not refused here.
17. ListServiceDeployments is not implemented (make status asks it for the rollout in
   progress): no rollout is ever in progress here (7), so it answers none.
"""

import contextlib
import ipaddress
import os
import random
import re

from moto.cloudformation import parsing
from moto.cloudformation.models import CloudFormationBackend, Event, Stack, cloudformation_backends
from moto.cloudformation.responses import CloudFormationResponse
from moto.cloudformation.utils import get_stack_from_s3_url
from moto.core.common_models import CloudFormationModel
from moto.core.exceptions import JsonRESTError
from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.ec2.models import ec2_backends
from moto.ec2.models.security_groups import SecurityGroup
from moto.ecr.models import ecr_backends
from moto.ecr.responses import ECRResponse
from moto.ecs import models as ecs
from moto.ecs.responses import EC2ContainerServiceResponse
from moto.elbv2 import models as elbv2
from moto.iam import models as iam
from moto.iam.models import iam_backends
from moto.server import main
from moto.utilities.utils import get_partition


def nested_stack_output(self, attribute_name):  # 1
    if attribute_name.startswith("Outputs."):
        key = attribute_name.split(".", 1)[1]
        for output in self.outputs or []:
            if output["OutputKey"] == key:
                return output["OutputValue"]
    raise NotImplementedError(attribute_name)  # how moto says "no such attribute"


_execute_change_set = CloudFormationBackend.execute_change_set


def execute_change_set(self, change_set_name, stack_name=None):  # 2
    change_set = self.describe_change_set(change_set_name)
    stack = self.stacks[change_set.stack_id]
    stack.cross_stack_resources = stack.resource_map.cross_stack_resources = self.exports
    try:
        _execute_change_set(self, change_set_name, stack_name)
    except Exception as error:
        if change_set.change_set_type != "CREATE" or not hasattr(error, "failed_resources"):
            raise
        roll_back_create(self, stack, error.failed_resources)  # 8
        return
    stack._parse_template()
    stack.parameters = change_set.parameters
    stack.output_map = stack._create_output_map()
    for export in stack.exports:
        self.exports[export.name] = export


_validate_different_update = CloudFormationResponse._validate_different_update


def validate_different_update(self, *args):  # 3
    if self._get_param("ChangeSetName"):
        return None  # the backend marks an unchanged change set FAILED, as CloudFormation does
    return _validate_different_update(self, *args)


_clean_json = parsing.clean_json

# Attributes moto does not implement, computed from the ARN as AWS defines them.
FULL_NAMES = {
    "LoadBalancerFullName": lambda arn: arn.split(":loadbalancer/", 1)[1],
    "TargetGroupFullName": lambda arn: arn.rsplit(":", 1)[1],
}


def clean_json(resource_json, resources_map):  # 4
    if isinstance(resource_json, dict) and "Fn::Cidr" in resource_json:
        block, count, host_bits = (clean_json(part, resources_map) for part in resource_json["Fn::Cidr"])
        network = ipaddress.ip_network(block)
        subnets = network.subnets(new_prefix=network.max_prefixlen - int(host_bits))
        return [str(subnet) for subnet, _ in zip(subnets, range(int(count)), strict=False)]
    if isinstance(resource_json, dict) and resource_json.get("Fn::GetAtt", [None, None])[1] in FULL_NAMES:
        name, attribute = resource_json["Fn::GetAtt"]
        return FULL_NAMES[attribute](resources_map[name].arn)
    if isinstance(resource_json, dict) and resource_json.get("Fn::GetAZs", None) == "":
        return [f"{resources_map._region_name}{zone}" for zone in "abc"]
    if isinstance(resource_json, dict) and "Fn::FindInMap" in resource_json:
        name, *keys = resource_json["Fn::FindInMap"]
        found = resources_map[name]
        for key in keys:
            found = found[str(clean_json(key, resources_map))]
        return found
    return _clean_json(resource_json, resources_map)


def references(node) -> set[str]:
    """Names a template fragment refers to: Ref, Fn::GetAtt and ${...} in Fn::Sub."""
    if isinstance(node, list):
        return set().union(*map(references, node)) if node else set()
    if not isinstance(node, dict):
        return set()
    found = set()
    for key, value in node.items():
        if key == "Ref":
            found.add(value)
        elif key == "Fn::GetAtt":
            found.add(value[0] if isinstance(value, list) else value.split(".")[0])
        elif key == "Fn::Sub":
            text = value[0] if isinstance(value, list) else value
            found |= {name.split(".")[0] for name in re.findall(r"\$\{([^!}][^}]*)\}", text)}
        found |= references(value)
    return found


_build_resource_diff = parsing.ResourceMap.build_resource_diff


def build_resource_diff(self, other_template, parameters=None):  # 5
    actions = _build_resource_diff(self, other_template, parameters)
    changed = {p for p in parameters or {} if self.input_parameters.get(p) != parameters[p]}
    changed |= set(actions["Modify"]) | set(actions["Add"])
    resources = other_template["Resources"]
    while True:
        more = [
            name
            for name in resources
            if name not in changed and name in self._resource_json_map and references(resources[name]) & changed
        ]
        if not more:
            return actions
        actions["Modify"] += more
        changed |= set(more)


_update_task_definition = ecs.TaskDefinition.update_from_cloudformation_json.__func__


def update_task_definition(
    cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
):  # 6
    properties = dict(cloudformation_json["Properties"])
    properties["ContainerDefinitions"] = ecs.remap_nested_keys(
        properties.get("ContainerDefinitions", []), ecs.pascal_to_camelcase
    )
    return _update_task_definition(
        cls,
        original_resource,
        new_resource_name,
        {**cloudformation_json, "Properties": properties},
        account_id,
        region_name,
    )


_create_service = ecs.Service.create_from_cloudformation_json.__func__


def create_service(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):  # 7
    properties = {"DesiredCount": 1, **cloudformation_json["Properties"]}
    return _create_service(
        cls, resource_name, {**cloudformation_json, "Properties": properties}, account_id, region_name, **kwargs
    )


_update_service = ecs.EC2ContainerServiceBackend.update_service


def update_service(self, service_properties):  # 7
    service = _update_service(self, service_properties)
    arn = self.describe_task_definition(service.task_definition).arn
    if service.deployments and service.deployments[0]["taskDefinition"] != arn:
        now = utcnow()
        deployment_id = f"ecs-svc/{random.randint(0, 32**12)}"  # noqa: S311 (an id, as moto makes them)
        service.task_definition = arn
        service.deployments = [
            {
                **service.deployments[0],
                "id": deployment_id,
                "taskDefinition": arn,
                "rolloutStateReason": f"ECS deployment {deployment_id} completed.",
                "createdAt": now,
                "updatedAt": now,
            }
        ]
    return service


# Resource types whose first create fails, and API actions whose first call is refused.
FAULTS = {fault.strip() for fault in os.environ.get("EMULATOR_FAULTS", "").split(",") if fault.strip()}
FAULT_MESSAGES = {  # what AWS says; other resource types get a generic message
    "AWS::ECS::Cluster": 'Resource handler returned message: "Unable to assume the service linked role. '
    'Please verify that the ECS service linked role exists." (HandlerErrorCode: InvalidRequest)',
}


def take_fault(name: str) -> bool:
    """True once for each fault named in EMULATOR_FAULTS."""
    if name in FAULTS:
        FAULTS.discard(name)
        return True
    return False


_resource_map_getitem = parsing.ResourceMap.__getitem__


def create_resource(self, key):  # 8, 9
    """Creates a template resource as moto does; records a failure as CloudFormation does."""
    if key in self._parsed_resources or key not in getattr(self, "_resource_json_map", {}):
        return _resource_map_getitem(self, key)
    kind = self._resource_json_map[key].get("Type", "")
    try:
        if take_fault(kind):
            message = FAULT_MESSAGES.get(kind, f"Resource handler returned message: injected failure of {kind}")
            raise RuntimeError(message)
        return _resource_map_getitem(self, key)
    except Exception as error:
        child = getattr(error, "failed_resources", None)
        if child and child[0] == self.stack_id:  # a resource this one refers to failed: recorded already
            raise
        if kind == "AWS::CloudFormation::Stack" and child:
            physical = child[0]
            reason = (
                f"Embedded stack {physical} was not successfully created: "
                f"The following resource(s) failed to create: [{', '.join(child[1])}]. "
            )
        else:
            physical, reason = "", getattr(error, "message", None) or str(error)
        stack = cloudformation_backends[self._account_id][self._region_name].stacks.get(self.stack_id)
        if stack is not None:
            stack.events.append(Event(stack.stack_id, stack.name, key, physical, kind, "CREATE_FAILED", reason, None))
        error.failed_resources = (self.stack_id, [key])
        raise


def roll_back_create(backend, stack, failed):  # 8
    """A failed first create: delete what was made, nested stacks included; ROLLBACK_COMPLETE."""
    stack._add_stack_event(
        "ROLLBACK_IN_PROGRESS",
        resource_status_reason=f"The following resource(s) failed to create: [{', '.join(failed[1])}]. "
        "Rollback requested by user.",
    )
    nested = [s for s in list(backend.stacks.values()) if s.name.startswith(stack.name + "-")]
    for child in sorted(nested, key=lambda s: len(s.name), reverse=True):  # innermost first
        if child.status == "CREATE_IN_PROGRESS":
            child._add_stack_event("ROLLBACK_IN_PROGRESS", resource_status_reason="Rollback requested by user.")
        with contextlib.suppress(Exception):  # what moto cannot delete stays; the rollback goes on, as in AWS
            backend.delete_stack(child.stack_id)
    with contextlib.suppress(Exception):
        stack.resource_map.delete()
    stack.status = "ROLLBACK_COMPLETE"
    stack._add_stack_event("ROLLBACK_COMPLETE")


_ecr_describe_images = ECRResponse.describe_images


def describe_images(self):  # 9
    if take_fault("ecr:DescribeImages"):
        raise JsonRESTError(
            "AccessDeniedException",
            f"User: arn:aws:sts::{self.current_account}:assumed-role/deploy/rehearsal is not authorized to "
            "perform: ecr:DescribeImages (EMULATOR_FAULTS)",
        )
    return _ecr_describe_images(self)


def delete_rule(self, account_id, region_name):  # 10
    elbv2.elbv2_backends[account_id][region_name].delete_rule(self.arn)


_update = parsing.ResourceMap.update
_delete_resource = parsing.ResourceMap._delete_resource


def conditions_of(self, template, parameters) -> dict[str, bool]:
    """The new template's conditions under the new parameters (moto evaluates only the old ones)."""
    saved = self._template, self.input_parameters, self.resolved_parameters, self.lazy_condition_map
    parsed = dict(self._parsed_resources)  # the conditions' partials hold this very dict
    self._template, self.input_parameters, self.resolved_parameters = template, parameters or self.input_parameters, {}
    try:
        self.load_parameters()
        self.load_conditions()
        return {name: bool(self.lazy_condition_map[name]) for name in template.get("Conditions", {})}
    finally:
        self._template, self.input_parameters, self.resolved_parameters, self.lazy_condition_map = saved
        self._parsed_resources.clear()
        self._parsed_resources.update(parsed)


def update(self, template, parameters=None):  # 11
    conditions = conditions_of(self, template, parameters)
    resources = template["Resources"]
    dropped = {name for name, r in resources.items() if "Condition" in r and not conditions[r["Condition"]]}
    _update(self, {**template, "Resources": {n: r for n, r in resources.items() if n not in dropped}}, parameters)
    for name in dropped:
        self._parsed_resources.pop(name, None)


def delete_resource(self, parsed_resource, resource_json):  # 11
    if parsed_resource is not None and resource_json.get("DeletionPolicy") != "Retain":
        _delete_resource(self, parsed_resource, resource_json)


def update_nested_stack(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):  # 12
    properties = cloudformation_json["Properties"]
    partition = get_partition(region_name)
    template = get_stack_from_s3_url(properties["TemplateURL"], account_id=account_id, partition=partition)
    original_resource.update(template, parameters=properties.get("Parameters", {}))
    return original_resource


def update_group(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):  # 13
    properties = cloudformation_json["Properties"]
    backend = ec2_backends[account_id][region_name]
    original_resource.ingress_rules = []
    for rule in properties.get("SecurityGroupIngress", []):
        names = (("SourceSecurityGroupId", "GroupId"), ("SourceSecurityGroupName", "GroupName"))
        source = {key: rule[name] for name, key in names if rule.get(name)}
        backend.authorize_security_group_ingress(
            group_name_or_id=original_resource.id,
            ip_protocol=rule["IpProtocol"],
            from_port=rule["FromPort"],
            to_port=rule["ToPort"],
            ip_ranges=rule.get("CidrIp", []),
            source_groups=[source] if source else [],
            vpc_id=properties.get("VpcId"),
        )
    return original_resource


class OidcProvider(CloudFormationModel):  # 14
    __module__ = "moto.iam.models"  # moto's model registry reads the service from the module's name

    def __init__(self, arn: str):
        self.arn = arn

    @property
    def physical_resource_id(self) -> str:
        return self.arn

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::IAM::OIDCProvider"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = cloudformation_json["Properties"]
        iam = iam_backends[account_id][get_partition(region_name)]
        url, clients = properties["Url"], properties.get("ClientIdList", [])
        return cls(iam.create_open_id_connect_provider(url, properties.get("ThumbprintList", []), clients, []).arn)

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
        iam_backends[account_id][get_partition(region_name)].delete_open_id_connect_provider(resource_name)

    def delete(self, account_id, region_name):
        iam_backends[account_id][get_partition(region_name)].delete_open_id_connect_provider(self.arn)


Stack.update_from_cloudformation_json = classmethod(update_nested_stack)
SecurityGroup.update_from_cloudformation_json = classmethod(update_group)
parsing.ResourceMap.update = update
parsing.ResourceMap._delete_resource = delete_resource
ECRResponse.describe_images = describe_images
elbv2.FakeListenerRule.delete = delete_rule
parsing.ResourceMap.__getitem__ = create_resource
Stack.get_cfn_attribute = nested_stack_output
ecs.Service.create_from_cloudformation_json = classmethod(create_service)
ecs.EC2ContainerServiceBackend.update_service = update_service
ecs.TaskDefinition.update_from_cloudformation_json = classmethod(update_task_definition)
parsing.ResourceMap.build_resource_diff = build_resource_diff
parsing.clean_json = clean_json
CloudFormationBackend.execute_change_set = execute_change_set
CloudFormationResponse._validate_different_update = validate_different_update


_account_of_key = iam.get_account_id_from


def account_of_key(access_key: str) -> str:  # 15
    admin = re.fullmatch(r"ADMIN(\d{12})KEY", access_key or "")  # 20 characters, as moto reads key ids
    return admin.group(1) if admin else _account_of_key(access_key)


def ecr_backend(self):  # 15
    registry = self._get_param("registryId")
    return ecr_backends[registry or self.current_account][self.region]


def update_termination_protection(self):  # 16
    stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
    stack.enable_termination_protection = self._get_param("EnableTerminationProtection") in (True, "true")
    return ActionResult({"StackId": stack.stack_id})


def list_service_deployments(self):  # 17
    return ActionResult({"serviceDeployments": []})


iam.get_account_id_from = account_of_key
EC2ContainerServiceResponse.list_service_deployments = list_service_deployments
CloudFormationResponse.update_termination_protection = update_termination_protection
ECRResponse.ecr_backend = property(ecr_backend)


def serve(argv: list[str]) -> int:
    """ecs-model-tools emulator PORT RUNNING_TASKS: moto server with the patches above, on 127.0.0.1."""
    port, running = argv[:2]
    iam.DEFAULT_ACCOUNT_ID = os.environ.pop("MOTO_ACCOUNT_ID", iam.DEFAULT_ACCOUNT_ID)  # 15: the default only
    os.environ["MOTO_ECS_SERVICE_RUNNING"] = running  # 7 (read by moto when a service is created)
    main(["--host", "127.0.0.1", "--port", port])
    return 0
