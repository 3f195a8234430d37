"""A template that renders something broken must fail the bake with the validator's message."""

import shutil

import pytest
from cookiecutter.exceptions import FailedHookException

from .conftest import TEMPLATE

PROJECT_DIR = "{{cookiecutter.project_slug}}"


@pytest.fixture
def template_copy(tmp_path):
    copy = tmp_path / "template"
    shutil.copytree(TEMPLATE, copy, ignore=shutil.ignore_patterns(".venv", ".git", "build", "__pycache__"))
    return copy


def break_file(template, relative, old, new):
    path = template / PROJECT_DIR / relative
    text = path.read_text()
    assert old in text, f"{relative} no longer contains {old!r}: update this test"
    path.write_text(text.replace(old, new, 1))


BREAKAGES = {
    "python-syntax": ("model/train.py", "def main() -> None:", "def main( -> None:", "model/train.py"),
    "ruff-unused-import": ("model/train.py", "import argparse\n", "import argparse\nimport os\n", "F401"),
    "compose-bad-key": ("docker-compose.yml", "    ports:", "    portz:", "check-jsonschema"),
    "dockerfile-root-user": ("Dockerfile", "USER 10001", "USER root", "DL3002"),
    "cloudformation-bad-property": ("infra/api.yaml", "StopTimeout: 30", "StopTimeOut: 30", "StopTimeOut"),
    "pipeline-bad-step-key": (
        "bitbucket-pipelines.yml",
        "deployment: test",
        "deploymnet: test",
        "unknown key 'deploymnet'",
    ),
}


@pytest.mark.parametrize("breakage", BREAKAGES.values(), ids=BREAKAGES.keys())
def test_broken_template_fails_the_bake_with_the_validators_message(cookies, capfd, template_copy, breakage):
    relative, old, new, message = breakage
    break_file(template_copy, relative, old, new)
    result = cookies.bake(template=str(template_copy))
    assert isinstance(result.exception, FailedHookException)
    output = capfd.readouterr()
    assert "FAIL" in output.out and message in output.out
    assert "failed validation" in output.err
    assert not result.project_path or not result.project_path.exists()
