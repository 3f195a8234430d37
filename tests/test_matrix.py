"""The supported option combinations: each bakes, validates strictly and has exactly the files it
should; CLASSIFICATION, which changes every answer the generated tests read, also passes them.

The list is written by hand: every choice and yes/no value appears at least once, and so
do the pairs that interact (no NAT x sidecar image source, deploy identity x production
gate, three zones x NAT per zone).
"""

import json
import re
import sys

import pytest

from .conftest import CACHES, GENERATED_SUITE, OPTIONS, TEMPLATE, run

# Production's certificate: in the default prod_account_id and aws_region (the hook checks both).
CERTIFICATE = "arn:aws:acm:eu-west-1:222222222222:certificate/0e2f6c1e-5b7a-4c2e-9d1f-2a3b4c5d6e7f"

# The generated README reads in one sitting; reference material goes to docs/.
README_MAX_LINES = 200

MATRIX = [
    {},
    {
        "az_count": "3",
        "nat_gateways": "per_az",
        "vpc_cidr": "192.168.10.0/24",
        "aws_region": "ap-southeast-4",  # opened after 2022: load balancer logs delivered by a service principal
        "alb_access_logs": True,
    },
    {  # every bake-time fact of project.json differs from the defaults (test_scripts_are_the_same_...)
        "nat_gateways": "single",
        "sidecar_image_source": "public_ecr",
        "task_cpu": "1024",
        "task_memory": "2048",
        "deploy_identity": "access_keys",
        "manual_production_gate": False,
        "aws_region": "us-east-2",
        "dev_account_id": "333333333333",
        "prod_account_id": "444444444444",
        "bitbucket_workspace": "acme",
    },
    {"deploy_identity": "oidc", "manual_production_gate": False, "production_rollout": "rolling"},
    {  # a second model for the environment of the defaults (ml-models): tests/test_rehearsal.py deploys both
        "project_name": "Rent Estimate",
        "infrastructure": "shared",
        "deploy_identity": "access_keys",
        "manual_production_gate": True,
    },
    {
        "certificate_arn": CERTIFICATE,
        "hosted_zone_name": "internal.example.com",
        "alb_access_logs": True,
        "ecs_exec": True,
        "alarm_email": "oncall@example.com",
    },
    {
        "project_name": "Appraisal",  # a package that sorts before model/: import order must still lint
        "python_version": "3.11",
        "task_cpu": "256",
        "task_memory": "512",
        "prod_min_tasks": "1",
        "prod_max_tasks": "1",
        "production_rollout": "linear",
    },
    {"python_version": "3.13", "task_cpu": "2048", "task_memory": "4096", "az_count": "3", "ecs_exec": True},
    {
        # Every answer the generated tests read, other than its default (READ_BY_THE_GENERATED_TESTS):
        # the one combination that runs the generated suite.
        "task_cpu": "4096",
        "task_memory": "8192",
        "latency_alarm_ms": "1000",
        "ecs_exec": True,
        "hosted_zone_name": "models.example.com",
        "environment_name": "ml-platform",
        "vpc_cidr": "172.20.0.0/20",
        # The other task, with names of its own (an underscore in the route and metric names).
        "project_name": "Churn Scorer",
        "model_task": "classification",
        "item_name": "subscriber",
        "prediction_name": "churn_risk",
    },
]
CLASSIFICATION = MATRIX[-1]


def combination_id(answers: dict) -> str:
    return "-".join(f"{key}:{value}" for key, value in answers.items() if key != "certificate_arn") or "defaults"


def answers_of(combination: dict) -> dict:
    defaults = {k: (v[0] if isinstance(v, list) else v) for k, v in OPTIONS.items() if not k.startswith("_")}
    return defaults | combination


BASE_FILES = {
    ".dockerignore",
    ".env.example",
    ".gitignore",
    "Dockerfile",
    "Makefile",
    "README.md",
    "bitbucket-pipelines.yml",
    "docker-compose.yml",
    "docs/api.md",
    "docs/architecture.md",
    "docs/configuration.md",
    "docs/costs.md",
    "docs/deploying.md",
    "docs/model.md",
    "docs/observability.md",
    "docs/operations.md",
    "docs/performance.md",
    "infra/api.yaml",
    "infra/bootstrap.yaml",
    "infra/dashboard.yaml",
    "infra/ecr.yaml",
    "infra/ecs.yaml",
    "infra/environment/endpoints.yaml",
    "infra/environment/environment.yaml",
    "infra/environment/load-balancer.yaml",
    "infra/environment/security-groups.yaml",
    "infra/environment/topics.yaml",
    "infra/environment/vpc.yaml",
    "infra/params/dev.json",
    "infra/params/prod.json",
    "infra/root.yaml",
    "infra/routing.yaml",
    "docs/openapi.json",
    "model/__init__.py",
    "model/artifact.py",
    "model/contract_writer.py",
    "model/convert.py",
    "model/import_model.py",
    "model/sample_data.py",
    "model/train.py",
    "project.json",
    "pyproject.toml",
    "scripts/bootstrap.sh",
    "scripts/build-push.sh",
    "scripts/deploy-api.sh",
    "scripts/deploy-infra.sh",
    "scripts/lib.sh",
    "scripts/promote.sh",
    "tests/__init__.py",
    "tests/conftest.py",
    "tests/test_api.py",
    "tests/test_batching.py",
    "tests/test_contract.py",
    "tests/test_docs.py",
    "tests/test_docs_browser.py",
    "tests/test_import.py",
    "tests/test_limits.py",
    "tests/test_metrics.py",
    "tests/test_model.py",
    "tests/test_observability.py",
    "tests/test_path_prefix.py",
    "tests/test_reference_cycles.py",
    "tests/test_release_check.py",
    "tests/test_server.py",
    "uv.lock",
}
PACKAGE_FILES = {
    "__init__.py",
    "api.py",
    "batching.py",
    "contract.py",
    "deps.py",
    "docs.py",
    "logging.json",
    "logs.py",
    "main.py",
    "metrics.py",
    "middleware.py",
    "model.py",
    "prefix.py",
    "schemas.py",
    "settings.py",
}


def expected_files(answers: dict) -> set[str]:
    """Exactly the files a bake with these answers should contain."""
    files = BASE_FILES | {f"{answers['package_name']}/{name}" for name in PACKAGE_FILES}
    if answers["hosted_zone_name"]:
        files.add("infra/environment/dns.yaml")
    return files


def test_every_option_value_is_in_the_matrix():
    """A choice or yes/no value that no combination uses is a configuration nobody tests."""
    seen = {}
    for combination in MATRIX:
        for key, value in answers_of(combination).items():
            seen.setdefault(key, set()).add(value)
    for key, default in OPTIONS.items():
        if key.startswith("_"):  # cookiecutter's own settings (_extensions) and private variables
            continue
        if isinstance(default, list):
            assert set(default) <= seen[key], f"{key}: {set(default) - seen[key]} never baked"
        elif isinstance(default, bool):
            assert {True, False} <= seen[key], f"{key}: only {seen[key]} baked"


def test_matrix_keys_are_variables_of_cookiecutter_json():
    for combination in MATRIX:
        assert set(combination) <= set(OPTIONS), set(combination) - set(OPTIONS)


# What tools and tests leave in a project (all in its .gitignore): not files of the bake.


# The answers, names aside (below), that change what the generated tests read: the service package,
# its tests, model/, the Dockerfile, infra/api.yaml (task size, exec, routing), infra/dashboard.yaml.
# CLASSIFICATION answers each of them other than its default, and is the one combination that runs the
# generated suite. The defaults' runs in test_fresh_clone.py. Between the two, the suite sees both
# cases of each answer that it can tell apart: a task with one uvicorn worker or several, exec on or
# off, routing by path or by host name, either task, the default latency and environment or others.
READ_BY_THE_GENERATED_TESTS = {
    *("model_task", "task_cpu", "task_memory", "latency_alarm_ms", "ecs_exec", "hosted_zone_name"),
    "environment_name",
}
# The names change routes, batch keys, answer fields, metric names and the package: CLASSIFICATION
# runs the whole suite with names of its own, and the drawn answer sets (test_drawn_answers.py) bake
# strictly and run tests/test_api.py on five more.
NAMES = {"project_name", "project_slug", "package_name", "description", "author_name", "author_email"}
NAMES |= {"item_name", "item_plural", "prediction_name", "prediction_plural"}
# Rendered into those files, but nothing the generated tests run changes with them.
RENDERED_NOT_EXERCISED = {
    "python_version": "the image's base (the Dockerfile's FROM); the suite runs on the interpreter at hand",
    "sidecar_image_source": "where the CloudWatch agent's image comes from (infra/api.yaml); no test pulls it",
}


# infra/api.yaml's uvicorn workers per task CPU: the one way the generated tests see the task size.
WORKERS = dict(
    re.findall(
        r'"(\d+)": \{Workers: "(\d+)"\}', (TEMPLATE / "{{cookiecutter.project_slug}}/infra/api.yaml").read_text()
    )
)


def test_the_answers_the_generated_tests_read_are_those_the_template_renders_there():
    """READ_BY_THE_GENERATED_TESTS, NAMES and RENDERED_NOT_EXERCISED hold every answer the files the
    generated tests read are rendered with (an answer left out of READ_BY_THE_GENERATED_TESTS would
    never reach the suite at a value other than its default). The README and docs/ are read too, but only for request
    bodies and the API table: the contract and the names."""
    project = TEMPLATE / "{{cookiecutter.project_slug}}"
    read = [project / "{{cookiecutter.package_name}}", project / "tests", project / "model"]
    read += [
        project / "Dockerfile",
        project / "pyproject.toml",
        project / "infra/api.yaml",
        project / "infra/dashboard.yaml",
    ]
    answers = set()
    for path in read:
        for file in [path] if path.is_file() else sorted(path.rglob("*.py")) + sorted(path.rglob("*.json")):
            answers |= set(re.findall(r"cookiecutter\.(\w+)", file.read_text()))
    # __item_class: derived from item_name
    assert answers - {"__item_class"} <= READ_BY_THE_GENERATED_TESTS | NAMES | set(RENDERED_NOT_EXERCISED)


def test_the_combination_that_runs_the_generated_suite_changes_every_answer_it_reads():
    """CLASSIFICATION's suite sees a value other than the default of each answer the generated tests
    read (for the task size, one with another number of uvicorn workers), and names of its own."""
    ours, defaults = answers_of(CLASSIFICATION), answers_of({})
    assert [a for a in sorted(READ_BY_THE_GENERATED_TESTS) if ours[a] == defaults[a]] == []
    assert WORKERS[ours["task_cpu"]] != WORKERS[defaults["task_cpu"]]
    assert {"project_name", "item_name", "prediction_name"} <= set(CLASSIFICATION)


@pytest.mark.parametrize("combination", MATRIX, ids=[combination_id(c) for c in MATRIX])
def test_combination_bakes_validates_and_has_exactly_its_files(bake_once, combination):
    project = bake_once(combination)
    answers = answers_of(combination) | {"package_name": project.name.replace("-", "_")}

    files = {
        str(path.relative_to(project))
        for path in project.rglob("*")
        if path.is_file() and not CACHES.intersection(path.relative_to(project).parts)
    }
    assert files == expected_files(answers)
    readme = (project / "README.md").read_text()
    assert readme.count("\n") <= README_MAX_LINES, "the README reads in one sitting; reference goes to docs/"

    # The defaults' whole suite runs in test_fresh_clone.py, by `make test` from a fresh clone, and
    # CLASSIFICATION's here: between them, every value the generated tests read (above).
    if combination is CLASSIFICATION:
        tests = run([sys.executable, *GENERATED_SUITE], project, timeout=300)
        assert tests.returncode == 0, tests.stdout[-3000:]
        assert re.search(r"\d+ passed", tests.stdout)


# The bake-time facts the scripts read from project.json instead of having them rendered in.
FACTS = ["aws_region", "dev_account_id", "prod_account_id", "deploy_identity", "bitbucket_workspace"]


def test_scripts_are_the_same_whatever_the_accounts_region_identity_and_workspace(bake_once):
    other = MATRIX[2]
    assert all(answers_of(other)[fact] != answers_of({})[fact] for fact in [*FACTS, "sidecar_image_source"])
    first, second = bake_once({}), bake_once(other)

    def scripts(project):
        return {p.name: p.read_bytes() for p in (project / "scripts").iterdir() if p.is_file()}

    assert scripts(first).keys() == scripts(second).keys()
    differ = sorted(name for name, text in scripts(first).items() if scripts(second)[name] != text)
    assert differ == [], f"scripts/ differs between the bakes in {differ}: a bake-time fact belongs in project.json"
    facts = json.loads((second / "project.json").read_text())
    assert (facts["region"], facts["accounts"], facts["deploy_identity"], facts["bitbucket_workspace"]) == (
        "us-east-2",
        {"dev": "333333333333", "prod": "444444444444"},
        "access_keys",
        "acme",
    )


# Words of the regression sample. CloudFormation's `Properties` key, Python's `@property` and the
# `properties` of JSON Schema and of dashboard widgets are the formats' own words, and scripts/
# (deploy tooling, copied without rendering) speaks of CloudFormation resource properties.
SAMPLE_WORDS = re.compile(r"(?<![a-z])(propert|valuation|currenc)", re.IGNORECASE)
FORMAT_WORDS = re.compile(r"Properties|@property|\[\"properties\"\]|\"properties\":|\"propertyNames\":")


def test_a_classification_bake_never_speaks_of_the_regression_sample(bake_once):
    project = bake_once(CLASSIFICATION)
    found = []
    for path in sorted(project.rglob("*")):
        relative = path.relative_to(project)
        # uv.lock names packages and their extras, not the sample
        if not path.is_file() or CACHES.intersection(relative.parts) or relative.parts[0] == "scripts":
            continue
        if relative.name == "uv.lock":
            continue
        for number, line in enumerate(path.read_text(errors="ignore").splitlines(), 1):
            if SAMPLE_WORDS.search(FORMAT_WORDS.sub("", line)):
                found.append(f"{relative}:{number}: {line.strip()}")
    assert found == []
    assert "POST /churn_risk/batch" in (project / "README.md").read_text()
