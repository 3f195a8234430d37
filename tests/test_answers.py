"""Bad answers: the pre-generation hook refuses them, names the field, and leaves nothing behind."""

import pytest
from cookiecutter.exceptions import FailedHookException

from .conftest import bake

BAD_ANSWERS = [
    ({"project_name": 'Say "hi"'}, "project_name"),
    ({"description": "Costs $5"}, "description: 'Costs $5' must be 1 to 300 printable characters"),
    ({"author_name": "back\\slash"}, "author_name"),
    ({"project_slug": "Property Valuation"}, "project_slug: 'Property Valuation' is not allowed"),
    ({"project_slug": "a-slug-that-is-far-too-long-for-aws"}, "project_slug"),
    ({"project_slug": "ends-with-"}, "project_slug"),
    ({"project_slug": "internal-tools"}, "project_slug: 'internal-tools' must not start with 'internal-'"),
    ({"package_name": "class"}, "package_name: 'class' is not a usable Python package name"),
    ({"package_name": "json"}, "package_name: 'json'"),
    ({"package_name": "has-dash"}, "package_name"),
    ({"author_email": "nobody"}, "author_email: 'nobody' is not an email address"),
    ({"alarm_email": "oncall@"}, "alarm_email: 'oncall@'"),
    ({"aws_region": "Ireland"}, "aws_region: 'Ireland' is not an AWS region code"),
    ({"dev_account_id": "12345"}, "dev_account_id: '12345' must be a 12-digit AWS account id"),
    ({"prod_account_id": "abcdefghijkl"}, "prod_account_id"),
    ({"vpc_cidr": "10.0.0.0/33"}, "vpc_cidr: '10.0.0.0/33' is not a CIDR block"),
    ({"vpc_cidr": "10.0.0.1/16"}, "vpc_cidr: '10.0.0.1/16' is not a CIDR block"),
    ({"vpc_cidr": "8.8.0.0/16"}, "vpc_cidr: '8.8.0.0/16' is not in a private range"),
    ({"vpc_cidr": "10.0.0.0/26"}, "vpc_cidr: '10.0.0.0/26' has prefix /26"),
    ({"task_cpu": "512", "task_memory": "512"}, "task_memory: 512 MiB does not fit task_cpu 512"),
    ({"task_memory": "lots"}, "task_memory: 'lots' must be a whole number"),
    ({"task_memory": " 2048"}, "task_memory: ' 2048' must be a whole number"),
    ({"prod_min_tasks": "5", "prod_max_tasks": "2"}, "prod_max_tasks: 2 is below prod_min_tasks 5"),
    ({"prod_min_tasks": "0"}, "prod_min_tasks: 0 must be from 1 to 100"),
    ({"latency_alarm_ms": "-5"}, "latency_alarm_ms: -5 must be from 1 to 60000"),
    ({"latency_alarm_ms": "0250"}, "latency_alarm_ms: '0250' must be a whole number from 1 to 60000, without leading"),
    ({"certificate_arn": "not-an-arn"}, "certificate_arn: 'not-an-arn' is not an ACM certificate ARN"),
    (
        {"certificate_arn": "arn:aws:acm:us-east-1:222222222222:certificate/0e2f6c1e-5b7a-4c2e-9d1f-2a3b4c5d6e7f"},
        "certificate_arn: the certificate is in us-east-1, but the load balancer is in aws_region eu-west-1",
    ),
    (  # dev's account (the default dev_account_id): ACM certificates cannot be used from another account
        {"certificate_arn": "arn:aws:acm:eu-west-1:111111111111:certificate/0e2f6c1e-5b7a-4c2e-9d1f-2a3b4c5d6e7f"},
        "certificate_arn: the certificate belongs to account 111111111111, but prod_account_id is 222222222222",
    ),
    ({"hosted_zone_name": "not a domain"}, "hosted_zone_name: 'not a domain' is not a domain name"),
    ({"bitbucket_workspace": "My Workspace"}, "bitbucket_workspace: 'My Workspace' is not a workspace id"),
    (
        {"nat_gateways": "none", "sidecar_image_source": "public_ecr"},
        "sidecar_image_source: 'public_ecr' needs outbound internet, but nat_gateways is 'none'",
    ),
]


@pytest.mark.parametrize(
    ("answers", "message"), BAD_ANSWERS, ids=[next(iter(a)) + f"-{i}" for i, (a, _) in enumerate(BAD_ANSWERS)]
)
def test_bad_answer_is_refused_with_a_message_naming_the_field(cookies, capfd, tmp_path, answers, message):
    result = bake(cookies, **answers)
    assert isinstance(result.exception, FailedHookException)
    assert result.exit_code != 0
    stderr = capfd.readouterr().err
    assert "The template was not generated; fix these answers:" in stderr
    assert message in stderr
    assert list((tmp_path / "cookies").rglob("*")) == [tmp_path / "cookies" / "bake00"]  # the empty output dir


@pytest.mark.parametrize(
    ("field", "value"), [("az_count", "4"), ("nat_gateways", "lots"), ("task_cpu", "300"), ("deploy_identity", "root")]
)
def test_a_value_outside_a_choice_is_refused_by_cookiecutter(cookies, tmp_path, field, value):
    result = bake(cookies, **{field: value})
    assert isinstance(result.exception, ValueError)
    assert f"{value} provided for choice variable {field}, but the choices are" in str(result.exception)
    assert not any((tmp_path / "cookies").rglob("*.py"))


def test_a_non_boolean_for_a_yes_no_question_is_refused_by_cookiecutter(cookies, tmp_path):
    result = bake(cookies, alb_access_logs="maybe")
    assert "maybe provided for variable alb_access_logs could not be converted to a boolean" in str(result.exception)
    assert not any((tmp_path / "cookies").rglob("*.py"))


def test_every_bad_field_is_reported_at_once(cookies, capfd):
    result = bake(cookies, project_slug="X", author_email="nobody", vpc_cidr="8.8.8.8/8", task_memory="3")
    assert result.exit_code != 0
    stderr = capfd.readouterr().err
    for field in ("project_slug:", "author_email:", "vpc_cidr:", "task_memory:"):
        assert field in stderr


def test_good_unusual_answers_are_accepted(cookies):
    result = bake(
        cookies,
        project_name="Rent Index",
        description="Rent index for the city's flats (in EUR, 2026 prices)",
        author_name="O'Brien & Co",
        aws_region="us-gov-west-1",
        vpc_cidr="192.168.0.0/24",
        task_cpu="256",
        task_memory="512",
        prod_min_tasks="1",
        prod_max_tasks="1",
        prod_account_id="123456789012",
        certificate_arn="arn:aws-us-gov:acm:us-gov-west-1:123456789012:certificate/0e2f6c1e-5b7a-4c2e-9d1f-2a3b4c5d6e7f",
        hosted_zone_name="internal.example.com",
    )
    assert result.exit_code == 0, result.exception
    assert result.project_path.name == "rent-index"
    assert (result.project_path / "rent_index" / "main.py").is_file()
