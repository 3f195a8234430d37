"""Bad answers: refused once the last question is answered, each field named, nothing written,
and one command to ask again with the other answers kept; the pre-generation hook runs the
same checks for runs that skip the questions."""

import json
import re
import shutil
import sys
from pathlib import Path

import click
import pytest
import yaml

from .conftest import TEMPLATE, bake, run

BAD_ANSWERS = [
    ({"project_name": 'Say "hi"'}, "project_name"),
    ({"description": "Costs $5"}, "description: 'Costs $5' must be 1 to 300 printable characters"),
    ({"author_name": "back\\slash"}, "author_name"),
    ({"project_slug": "Property Valuation"}, "project_slug: 'Property Valuation' is not allowed"),
    ({"project_slug": "a-slug-that-is-far-too-long-for-aws"}, "project_slug"),
    ({"project_slug": "ends-with-"}, "project_slug"),
    ({"project_name": "NULL"}, "project_slug: 'null' is read by YAML as null, not a name"),
    ({"environment_name": "false"}, "environment_name: 'false' is read by YAML as a boolean"),
    ({"project_slug": "internal-tools"}, "project_slug: 'internal-tools' must not start with 'internal-'"),
    ({"package_name": "class"}, "package_name: 'class' is not a usable Python package name"),
    ({"package_name": "json"}, "package_name: 'json'"),
    ({"package_name": "has-dash"}, "package_name"),
    ({"package_name": "p" * 31}, "package_name: '" + "p" * 31 + "' is not a usable Python package name; use 1 to 30"),
    ({"package_name": "numpy"}, "package_name: 'numpy' is a folder of the project or a library its code imports"),
    ({"package_name": "tests"}, "package_name: 'tests' is a folder of the project"),
    (
        {"project_name": "\u8a55" * 41},
        "project_name: '" + "\u8a55" * 41 + "' must be 1 to 80 printable characters (a wide",
    ),
    ({"item_name": "Customer"}, "item_name: 'Customer' is not allowed"),
    ({"item_name": "bank account"}, "item_name: 'bank account' is not allowed"),
    ({"item_name": "class"}, "item_name: 'class' is not allowed"),
    ({"item_plural": "model_rows"}, "item_plural: 'model_rows' is taken by the service"),
    ({"item_name": "order", "item_plural": "order"}, "item_plural: 'order' is also item_name"),
    ({"prediction_name": "health_check"}, "prediction_name: 'health_check' is taken by the service"),
    ({"prediction_name": "churn-risk"}, "prediction_name: 'churn-risk' is not allowed"),
    ({"prediction_name": "fraud_risk", "prediction_plural": "fraud_risk"}, "prediction_plural: 'fraud_risk' is also"),
    ({"prediction_plural": "probabilities"}, "prediction_plural: 'probabilities' is taken by the service"),
    ({"prediction_name": "currency"}, "prediction_name: 'currency' is taken by the service"),
    ({"item_plural": "json"}, "item_plural: 'json' names a field of a request or response body, and pydantic's"),
    ({"item_plural": "a" * 33}, "item_plural: '" + "a" * 33 + "' is not allowed; use 2 to 32"),
    ({"item_name": "request"}, "item_name: 'request' would name the request body Request, a name the service"),
    ({"item_name": "loaded_model"}, "item_name: 'loaded_model' would name the request body LoadedModel"),
    ({"item_name": "valuation"}, "item_name: 'valuation' would name the request body Valuation, the name of a"),
    ({"item_name": "plan"}, "item_name: 'plan' would name the request body Plan"),
    ({"item_name": "batch_request"}, "item_name: 'batch_request' would name the request body BatchRequest"),
    ({"author_email": "nobody"}, "author_email: 'nobody' is not an email address"),
    ({"author_email": 'say"hi"@example.com'}, "author_email: 'say\"hi\"@example.com' is not an email address"),
    ({"alarm_email": "oncall@"}, "alarm_email: 'oncall@'"),
    ({"aws_region": "Ireland"}, "aws_region: 'Ireland' is not an AWS region code"),
    ({"aws_region": "eu-westish-1"}, "aws_region: 'eu-westish-1' is not an AWS region code"),
    ({"dev_account_id": "12345"}, "dev_account_id: '12345' must be a 12-digit AWS account id"),
    ({"dev_account_id": "\u0661" * 12}, "dev_account_id: '" + "\u0661" * 12 + "' must be a 12-digit"),  # Arabic digits
    ({"prod_account_id": "abcdefghijkl"}, "prod_account_id"),
    ({"prod_account_id": "111111111111"}, "prod_account_id: '111111111111' is also dev_account_id"),
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
    (
        {"hosted_zone_name": "a" * 60 + "." + "b" * 60 + ".example.com"},
        "hosted_zone_name: '" + "a" * 60 + "." + "b" * 60 + ".example.com' is too long: the load balancer routes",
    ),
    (  # path routing gives https://internal-....elb.amazonaws.com/<slug>: no certificate can name it
        {"certificate_arn": "arn:aws:acm:eu-west-1:222222222222:certificate/0e2f6c1e-5b7a-4c2e-9d1f-2a3b4c5d6e7f"},
        "certificate_arn: a certificate needs hosted_zone_name too: without it each model is reached at "
        "https://<the load balancer's AWS name>/<slug>, a name no certificate can hold",
    ),
    (
        {"project_name": "sthree-models"},
        "project_slug: 'sthree-models' must not start with 'sthree-', which S3 reserves",
    ),
    ({"project_name": "amzn-s3-demo-rent"}, "project_slug: 'amzn-s3-demo-rent' must not start with 'amzn-s3-demo-'"),
    ({"environment_name": "sthree-shared"}, "environment_name: 'sthree-shared' must not start with 'sthree-'"),
    ({"bitbucket_workspace": "My Workspace"}, "bitbucket_workspace: 'My Workspace' is not a workspace id"),
    (
        {"nat_gateways": "none", "sidecar_image_source": "public_ecr"},
        "sidecar_image_source: 'public_ecr' needs outbound internet, but nat_gateways is 'none'",
    ),
    ({"environment_name": "ML Models"}, "environment_name: 'ML Models' is not allowed"),
    ({"environment_name": "ab"}, "environment_name: 'ab' is not allowed"),
    (
        {"environment_name": "property-valuation-api"},
        "environment_name: 'property-valuation-api' collides with project_slug 'property-valuation-api'",
    ),
    ({"project_slug": "pricing", "environment_name": "pricing-dev-x"}, "environment_name: 'pricing-dev-x' collides"),
    ({"project_slug": "ml-models-prod"}, "environment_name: 'ml-models' collides with project_slug 'ml-models-prod'"),
]


@pytest.mark.parametrize(
    ("answers", "message"), BAD_ANSWERS, ids=[next(iter(a)) + f"-{i}" for i, (a, _) in enumerate(BAD_ANSWERS)]
)
def test_bad_answer_is_refused_with_a_message_naming_the_field(cookies, tmp_path, answers, message):
    result = bake(cookies, **answers)
    assert isinstance(result.exception, click.ClickException)
    assert result.exit_code != 0
    assert "The template was not generated; fix these answers:" in str(result.exception)
    assert message in str(result.exception)
    assert not [path for path in tmp_path.rglob("*") if path.is_file()]  # nothing written


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("az_count", "4"),
        ("model_task", "clustering"),
        ("nat_gateways", "lots"),
        ("task_cpu", "300"),
        ("deploy_identity", "root"),
    ],
)
def test_a_value_outside_a_choice_is_refused_by_cookiecutter(cookies, tmp_path, field, value):
    result = bake(cookies, **{field: value})
    assert isinstance(result.exception, ValueError)
    assert f"{value} provided for choice variable {field}, but the choices are" in str(result.exception)
    assert not any((tmp_path / "cookies").rglob("*.py"))


@pytest.mark.parametrize(
    ("field", "value"),
    [("project_name", "My {{ model"), ("description", "Scores {% things"), ("item_name", "{% if")],
)
def test_an_answer_that_opens_jinja_is_refused_by_name_not_by_a_traceback(cookies, tmp_path, field, value):
    """cookiecutter renders every answer as a template: one that opens Jinja fails before the answer
    checks, so the extension that holds them names the answer (and nothing is written)."""
    result = bake(cookies, **{field: value})
    assert isinstance(result.exception, click.ClickException)
    message = result.exception.message
    assert message.startswith("The template was not generated; fix these answers:\n")
    assert f"  - {field}: {value!r} opens a Jinja template" in message
    assert not any((tmp_path / "cookies").rglob("*"))


def test_a_non_boolean_for_a_yes_no_question_is_refused_by_cookiecutter(cookies, tmp_path):
    result = bake(cookies, alb_access_logs="maybe")
    assert "maybe provided for variable alb_access_logs could not be converted to a boolean" in str(result.exception)
    assert not any((tmp_path / "cookies").rglob("*.py"))


def test_every_bad_field_is_reported_at_once(cookies):
    result = bake(cookies, project_slug="X", author_email="nobody", vpc_cidr="8.8.8.8/8", task_memory="3")
    assert result.exit_code != 0
    for field in ("project_slug:", "author_email:", "vpc_cidr:", "task_memory:"):
        assert field in str(result.exception)


def cookiecutter(*args: str, cwd: Path):
    command = shutil.which("cookiecutter", path=str(Path(sys.executable).parent))
    return run([command, *args], cwd, timeout=300)


def test_a_bad_answer_at_the_last_question_gives_one_retry_command_that_keeps_the_others(tmp_path):
    given = ["project_name=Churn Scorer", "author_name=Risk Team", "bitbucket_workspace=Acme Corp"]
    failed = cookiecutter("--no-input", str(TEMPLATE), *given, cwd=tmp_path)
    assert failed.returncode == 1
    assert "Traceback" not in failed.stderr + failed.stdout
    assert "bitbucket_workspace: 'Acme Corp' is not a workspace id" in failed.stderr
    retry = re.search(r"Ask again, with your other answers kept: (cookiecutter .*)", failed.stderr).group(1).split()
    assert list(tmp_path.iterdir()) == []  # nothing half-made
    kept = yaml.safe_load(Path(retry[retry.index("--config-file") + 1]).read_text())["default_context"]
    assert kept["author_name"] == "Risk Team" and "bitbucket_workspace" not in kept

    # The command as printed asks the questions again; with --no-input it takes the kept answers.
    again = cookiecutter("--no-input", *retry[1:], "bitbucket_workspace=acme", cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-2000:]
    assert 'authors = [{ name = "Risk Team"' in (tmp_path / "churn-scorer/pyproject.toml").read_text()


def test_the_pre_generation_hook_checks_a_replayed_bad_answer(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"replay_dir": str(tmp_path / "replay")}))
    made = cookiecutter("--no-input", "--config-file", str(config), "-o", "first", str(TEMPLATE), cwd=tmp_path)
    assert made.returncode == 0, made.stderr[-2000:]
    replay = next((tmp_path / "replay").glob("*.json"))
    context = json.loads(replay.read_text())
    context["cookiecutter"]["aws_region"] = "Ireland"  # edited by hand: the questions are skipped
    replay.write_text(json.dumps(context))
    failed = cookiecutter("--replay-file", str(replay), "-o", "second", str(TEMPLATE), cwd=tmp_path)
    assert failed.returncode != 0
    assert "aws_region: 'Ireland' is not an AWS region code" in failed.stderr
    assert not (tmp_path / "second" / "property-valuation-api").exists()


def test_the_stacks_check_the_project_name_by_the_hooks_rule(default_project):
    """The slug rule is written in the hook and, once, in each stack a script deploys (Prefix's
    AllowedPattern, kept equal by the project's cross-stack check): both accept the same names,
    but for the hook's two extra refusals ('--' and a leading 'internal-')."""
    sys.path.insert(0, str(TEMPLATE / "hooks"))
    from answers import check_names

    pattern = yaml.load((default_project / "infra/root.yaml").read_text(), Loader=yaml.BaseLoader)["Parameters"]
    pattern = pattern["Prefix"]["AllowedPattern"]
    others = {"package_name": "pkg", "author_email": "a@b.co", "alarm_email": "", "bitbucket_workspace": "ws"}
    for slug in ["abc", "a" * 24, "a" * 25, "ab", "a-b", "a1-9", "1ab", "-ab", "ab-", "Abc", "a_b", "a.b", "abc\n"]:
        hook = not any(e.startswith("project_slug") for e in check_names({"project_slug": slug, **others}))
        assert hook == bool(re.fullmatch(pattern, slug)), slug


def test_names_that_would_shadow_a_method_of_pydantics_base_model_are_the_pinned_ones():
    import pydantic

    sys.path.insert(0, str(TEMPLATE / "hooks"))
    from answers import BASE_MODEL

    public = {name for name in dir(pydantic.BaseModel) if not name.startswith(("_", "model_"))}
    assert public == BASE_MODEL


def test_the_known_regions_are_those_of_the_pinned_botocore_and_cfn_lint():
    """The region check's list comes from the authoritative sources the project pins: botocore's
    partitions and cfn-lint's registry schemas (each region it has schemas for)."""
    import botocore.session
    import cfnlint

    sys.path.insert(0, str(TEMPLATE / "hooks"))
    from answers import AWS_REGIONS

    session = botocore.session.get_session()
    known = {r for p in session.get_available_partitions() for r in session.get_available_regions("ecs", p)}
    providers = Path(cfnlint.__file__).parent / "data/schemas/providers"
    known |= {path.stem for path in providers.glob("*.json")} - {"sam"}
    assert known == AWS_REGIONS


@pytest.mark.parametrize(
    ("answers", "plurals"),
    [
        ({"item_name": "diagnosis", "prediction_name": "risk"}, ("diagnosises", "risks")),  # the rule, wrong here
        (
            {"item_name": "diagnosis", "item_plural": "diagnoses", "prediction_name": "analysis"},
            ("diagnoses", "analysises"),
        ),
        (
            {"item_name": "person", "item_plural": "people", "prediction_plural": "valuations_made"},
            ("people", "valuations_made"),
        ),
        ({"item_name": "category", "prediction_name": "box"}, ("categories", "boxes")),
    ],
)
def test_both_plurals_are_questions_whose_defaults_follow_the_english_rule(tmp_path, answers, plurals):
    """The batch request's key is item_plural and the batch answer's list prediction_plural, each
    answered or derived; rendered without the hooks (the drawn bakes validate such answers)."""
    from cookiecutter.main import cookiecutter

    project = Path(
        cookiecutter(str(TEMPLATE), no_input=True, extra_context=answers, output_dir=str(tmp_path), accept_hooks=False)
    )
    conftest = (project / "tests/conftest.py").read_text()
    assert f'BATCH_KEY = "{plurals[0]}"' in conftest
    assert f'ANSWERS = "{plurals[1]}"' in conftest
    schemas = (project / "property_valuation_api/schemas.py").read_text()
    assert f"{plurals[0]}: Rows = Field(" in schemas
    assert f"Batch({plurals[1]}=" in schemas or f"{plurals[1]}=[label" in schemas


def test_the_longest_slug_in_the_longest_region_names_a_bucket_s3_accepts():
    """S3 bucket names are at most 63 characters; the bootstrap's bucket name holds the slug,
    the account id and the region, so SLUG_MAX and the known regions must fit it."""
    sys.path.insert(0, str(TEMPLATE / "hooks"))
    from answers import AWS_REGIONS, SLUG_MAX

    bootstrap = (TEMPLATE / "{{cookiecutter.project_slug}}/infra/bootstrap.yaml").read_text()
    pattern = re.search(r'BucketName: !Sub "(.*)"', bootstrap).group(1)
    longest = {"${Prefix}": "a" * SLUG_MAX, "${AWS::AccountId}": "1" * 12, "${AWS::Region}": max(AWS_REGIONS, key=len)}
    for placeholder, value in longest.items():
        pattern = pattern.replace(placeholder, value)
    assert "$" not in pattern and len(pattern) <= 63, pattern
