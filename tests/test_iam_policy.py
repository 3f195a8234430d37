"""The IAM evaluator the IAM tests rely on (tests/iam_policy.py), against AWS's documented rules."""

import pytest

from .iam_policy import Request, condition_holds, is_allowed, trusts, wildcard

ROLE = "arn:aws:iam::111111111111:role/app/task"
ALLOW_ROLES = {"Effect": "Allow", "Action": "iam:*Role*", "Resource": "arn:aws:iam::111111111111:role/app/*"}


def test_wildcards_in_actions_ignore_case_and_in_resources_do_not():
    assert wildcard("iam:*role?olicy", "IAM:PutRolePolicy", ignore_case=True)
    assert not wildcard("iam:*role?olicy", "iam:PutRolePolicies", ignore_case=True)
    assert wildcard("arn:aws:s3:::app-*/*", "arn:aws:s3:::app-logs/a/b")
    assert not wildcard("arn:aws:s3:::app-*/*", "arn:aws:s3:::App-logs/a")
    assert not wildcard("a.c", "abc")  # regex characters are literal


def test_allow_needs_a_matching_action_and_resource():
    assert is_allowed(Request("iam:PutRolePolicy", ROLE), [ALLOW_ROLES])
    assert not is_allowed(Request("iam:PutUserPolicy", ROLE), [ALLOW_ROLES])
    assert not is_allowed(Request("iam:PutRolePolicy", "arn:aws:iam::111111111111:role/admin"), [ALLOW_ROLES])
    assert not is_allowed(Request("iam:PutRolePolicy", ROLE), [])  # implicit deny


def test_an_explicit_deny_wins_over_any_allow():
    deny = {"Effect": "Deny", "NotAction": ["iam:Get*"], "Resource": ROLE}
    assert not is_allowed(Request("iam:PutRolePolicy", ROLE), [ALLOW_ROLES, deny])
    assert is_allowed(Request("iam:GetRole", ROLE), [ALLOW_ROLES, deny])  # NotAction spares it
    assert is_allowed(Request("iam:PutRolePolicy", "arn:aws:iam::111111111111:role/app/other"), [ALLOW_ROLES, deny])


def test_not_resource():
    statement = {"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::secret/*"}
    assert is_allowed(Request("s3:GetObject", "arn:aws:s3:::public/x"), [statement])
    assert not is_allowed(Request("s3:GetObject", "arn:aws:s3:::secret/x"), [statement])


def test_a_permissions_boundary_intersects():
    boundary = [{"Effect": "Allow", "Action": "iam:Get*", "Resource": "*"}]
    assert is_allowed(Request("iam:GetRole", ROLE), [ALLOW_ROLES], boundary)
    assert not is_allowed(Request("iam:PutRolePolicy", ROLE), [ALLOW_ROLES], boundary)  # identity yes, boundary no
    assert not is_allowed(Request("iam:GetUser", ROLE), [ALLOW_ROLES], boundary)  # boundary yes, identity no
    deny = [*boundary, {"Effect": "Deny", "Action": "iam:GetRole", "Resource": "*"}]
    assert not is_allowed(Request("iam:GetRole", ROLE), [ALLOW_ROLES], deny)


BOUNDED = {**ALLOW_ROLES, "Condition": {"StringEquals": {"iam:PermissionsBoundary": "arn:aws:iam::1:policy/b"}}}


@pytest.mark.parametrize(
    ("context", "allowed"),
    [
        ({"iam:PermissionsBoundary": "arn:aws:iam::1:policy/b"}, True),
        ({"IAM:permissionsboundary": "arn:aws:iam::1:policy/b"}, True),  # key names ignore case
        ({"iam:PermissionsBoundary": "arn:aws:iam::1:policy/B"}, False),  # values do not
        ({"iam:PermissionsBoundary": "arn:aws:iam::1:policy/other"}, False),
        ({}, False),  # a missing key fails the condition
    ],
)
def test_string_equals(context, allowed):
    assert is_allowed(Request("iam:CreateRole", ROLE, context), [BOUNDED]) is allowed


def test_conditions_and_across_keys_or_across_values():
    statement = {
        "Effect": "Allow",
        "Action": "iam:PassRole",
        "Resource": "*",
        "Condition": {
            "StringEquals": {"iam:PassedToService": ["ecs-tasks.amazonaws.com", "cloudformation.amazonaws.com"]},
            "StringLike": {"aws:PrincipalTag/team": "data-*"},
        },
    }
    both = {"iam:PassedToService": "cloudformation.amazonaws.com", "aws:PrincipalTag/team": "data-eng"}
    assert is_allowed(Request("iam:PassRole", ROLE, both), [statement])
    assert not is_allowed(Request("iam:PassRole", ROLE, {**both, "aws:PrincipalTag/team": "ops"}), [statement])
    assert not is_allowed(
        Request("iam:PassRole", ROLE, {**both, "iam:PassedToService": "ec2.amazonaws.com"}), [statement]
    )


def test_an_operator_it_does_not_implement_raises():
    statement = {**ALLOW_ROLES, "Condition": {"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}}
    with pytest.raises(NotImplementedError):
        is_allowed(Request("iam:GetRole", ROLE, {"aws:MultiFactorAuthAge": "10"}), [statement])
    single_on_many = {**ALLOW_ROLES, "Condition": {"StringEquals": {"aws:TagKeys": "Project"}}}
    with pytest.raises(NotImplementedError):  # a list needs ForAllValues: or ForAnyValue:
        is_allowed(Request("iam:TagRole", ROLE, {"aws:TagKeys": ["Project"]}), [single_on_many])


def holds(operator: str, expected, context: dict, key: str = "k:x") -> bool:
    return condition_holds({operator: {key: expected}}, context)


@pytest.mark.parametrize(
    ("operator", "expected", "context", "result"),
    [
        # Negated operators: true when the value matches none of the policy's values ...
        ("StringNotEquals", ["a", "b"], {"k:x": "c"}, True),
        ("StringNotEquals", ["a", "b"], {"k:x": "b"}, False),
        ("StringNotLike", "env-*", {"k:x": "env-dev"}, False),
        ("StringNotLike", "env-*", {"k:x": "team"}, True),
        # ... and when the key is absent (the opposite of the positive operators).
        ("StringNotEquals", "a", {}, True),
        ("ArnNotLike", "arn:aws:s3:::a*", {}, True),
        ("StringEquals", "a", {}, False),
        ("StringLike", "*", {}, False),
        ("ArnLike", "arn:*", {}, False),
        # IfExists: an absent key passes, a present one is tested.
        ("StringEqualsIfExists", "internal", {}, True),
        ("StringEqualsIfExists", "internal", {"k:x": "internet-facing"}, False),
        ("StringNotEqualsIfExists", "internal", {}, True),
        ("StringNotEqualsIfExists", "internal", {"k:x": "internal"}, False),
        ("StringNotEqualsIfExists", "internal", {"k:x": "internet-facing"}, True),
        ("ArnLikeIfExists", "arn:aws:sns:*:1:t", {}, True),
        # IgnoreCase, and StringLike's ? and *.
        ("StringEqualsIgnoreCase", "Internal", {"k:x": "INTERNAL"}, True),
        ("StringEquals", "Internal", {"k:x": "INTERNAL"}, False),
        ("StringNotEqualsIgnoreCase", "Internal", {"k:x": "INTERNAL"}, False),
        ("StringLike", "model-?", {"k:x": "model-a"}, True),
        ("StringLike", "model-?", {"k:x": "model-ab"}, False),
    ],
)
def test_string_and_arn_operators(operator, expected, context, result):
    assert holds(operator, expected, context) is result


def test_arn_operators_match_each_of_the_six_parts_on_its_own():
    rule = "arn:aws:elasticloadbalancing:eu-west-1:111111111111:listener-rule/app/lb/1/2/3"
    assert holds("ArnLike", "arn:aws:elasticloadbalancing:*:111111111111:listener-rule/app/*", {"k:x": rule})
    assert not holds("ArnLike", "arn:aws:elasticloadbalancing:*:222222222222:listener-rule/app/*", {"k:x": rule})
    # A * in one part never spans a colon into the next, unlike StringLike.
    assert not holds("ArnLike", "arn:aws:*:111111111111:listener-rule/app/*", {"k:x": rule})
    assert holds("StringLike", "arn:aws:*:111111111111:listener-rule/app/*", {"k:x": rule})
    assert not holds("ArnLike", "arn:aws:s3:::bucket", {"k:x": "not-an-arn"})
    assert holds("ArnEquals", "arn:aws:sns:eu-west-1:1:t", {"k:x": "arn:aws:sns:eu-west-1:1:t"})
    assert not holds("ArnNotEquals", "arn:aws:sns:eu-west-1:1:t", {"k:x": "arn:aws:sns:eu-west-1:1:t"})


@pytest.mark.parametrize(
    ("operator", "expected", "tag_keys", "result"),
    [
        # ForAllValues: every key in the request is allowed; vacuously true when none is given.
        ("ForAllValues:StringNotEquals", "Project", ["Name", "Owner"], True),
        ("ForAllValues:StringNotEquals", "Project", ["Name", "Project"], False),
        ("ForAllValues:StringEquals", ["Name", "Owner"], ["Name"], True),
        ("ForAllValues:StringEquals", ["Name", "Owner"], ["Name", "Project"], False),
        ("ForAllValues:StringEquals", ["Name"], [], True),
        ("ForAllValues:StringEquals", ["Name"], None, True),  # absent key
        # ForAnyValue: at least one key in the request matches; never when none is given.
        ("ForAnyValue:StringEquals", "Project", ["Name", "Project"], True),
        ("ForAnyValue:StringEquals", "Project", ["Name"], False),
        ("ForAnyValue:StringEquals", "Project", None, False),
        ("ForAnyValue:StringLike", "alias/aws/*", ["alias/team", "alias/aws/ecr"], True),
        ("ForAnyValue:StringNotEquals", "Project", ["Project"], False),
    ],
)
def test_set_operators_on_a_multivalued_key(operator, expected, tag_keys, result):
    context = {} if tag_keys is None else {"aws:TagKeys": tag_keys}
    assert holds(operator, expected, context, key="aws:TagKeys") is result


def test_a_trust_policy_names_its_principal():
    provider = "arn:aws:iam::1:oidc-provider/idp.example/oidc"
    trust = [
        {
            "Effect": "Allow",
            "Principal": {"Federated": provider},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringLike": {"idp.example/oidc:sub": "{repo}:*"}},
        }
    ]
    claims = {"idp.example/oidc:sub": "{repo}:{step}"}
    assert trusts(trust, Request("sts:AssumeRoleWithWebIdentity", context=claims, principal={"Federated": provider}))
    other = {"Federated": "arn:aws:iam::1:oidc-provider/other"}
    assert not trusts(trust, Request("sts:AssumeRoleWithWebIdentity", context=claims, principal=other))
    assert not trusts(trust, Request("sts:AssumeRole", context=claims, principal={"Federated": provider}))


def test_null_tests_whether_a_key_is_present():
    deny_when_present = {"Effect": "Deny", "Action": "s3:*", "Resource": "*", "Condition": {"Null": {"k:x": "false"}}}
    allow = {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}
    assert is_allowed(Request("s3:GetObject"), [allow, deny_when_present])
    assert not is_allowed(Request("s3:GetObject", context={"k:x": "v"}), [allow, deny_when_present])
    allow_when_absent = {**allow, "Condition": {"Null": {"k:x": "true"}}}
    assert is_allowed(Request("s3:GetObject"), [allow_when_absent])
    assert not is_allowed(Request("s3:GetObject", context={"k:x": "v"}), [allow_when_absent])
