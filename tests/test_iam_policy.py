"""The IAM evaluator the IAM tests rely on (tests/iam_policy.py), against AWS's documented rules."""

import pytest

from .iam_policy import Request, is_allowed, trusts, wildcard

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
    statement = {**ALLOW_ROLES, "Condition": {"StringNotEquals": {"aws:RequestedRegion": "eu-west-1"}}}
    with pytest.raises(NotImplementedError):
        is_allowed(Request("iam:GetRole", ROLE, {"aws:RequestedRegion": "eu-west-1"}), [statement])


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
