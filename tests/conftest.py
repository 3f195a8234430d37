"""Fixtures shared by the template's tests.

Bakes run with VALIDATE_STRICT=1, so the post-generation hook fails on a skipped check as
well as on a failed one: every bake in these tests is fully validated.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TEMPLATE = Path(__file__).resolve().parent.parent
OPTIONS = json.loads((TEMPLATE / "cookiecutter.json").read_text())
os.environ["VALIDATE_STRICT"] = "1"


def run(args: list[str], cwd: Path, **kwargs) -> subprocess.CompletedProcess:
    """Run a command in a baked project with this interpreter's tools first on PATH."""
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])}
    env.update(kwargs.pop("env", {}))
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, **kwargs)


# The generated suite minus its browser test, which tests/test_docs.py runs for the default
# and the classification bake (the docs pages change with the task, not the other options), and
# minus test_import.py (what exports, whatever the options), which tests/test_swap.py runs.
GENERATED_SUITE = [
    "-m",
    "pytest",
    "-q",
    "-p",
    "no:cacheprovider",
    "--ignore=tests/test_docs_browser.py",
    "--ignore=tests/test_import.py",
]
TOOL = [sys.executable, "-m", "ecs_model_tools"]  # the template's tool (tools/), as a bake's Makefile runs it
CACHES = {"__pycache__", ".pytest_cache", ".ruff_cache", ".venv", "build"}  # what running a bake leaves; not rendered


def bake(cookies, **answers):
    """Bake with these answers; refuse keys cookiecutter.json does not have (they would be ignored)."""
    unknown = set(answers) - set(OPTIONS)
    assert not unknown, f"not variables of cookiecutter.json: {sorted(unknown)}"
    return cookies.bake(extra_context=answers)


@pytest.fixture(scope="session")
def default_project(cookies_session) -> Path:
    """The project a user gets with every default, baked once per test session."""
    result = cookies_session.bake()
    assert result.exit_code == 0, result.exception
    return Path(result.project_path)


@pytest.fixture(scope="session")
def bake_once(request, cookies_session):
    """bake_once(answers) -> the project baked with these answers, baked once per session and
    shared by every test that asks for the same answers (bakes are what the suite spends its
    time on); no answers is the default project. Tests that change a project copy it first."""
    baked: dict[str, Path] = {}

    def get(answers: dict) -> Path:
        if not answers:
            return request.getfixturevalue("default_project")
        key = json.dumps(answers, sort_keys=True)
        if key not in baked:
            result = bake(cookies_session, **answers)
            assert result.exit_code == 0, result.exception
            baked[key] = Path(result.project_path)
        return baked[key]

    return get


@pytest.fixture(scope="session")
def access_keys_project(cookies_session) -> Path:
    """The other deploy identity, without the manual production gate, baked once per session."""
    result = bake(cookies_session, deploy_identity="access_keys", manual_production_gate=False)
    assert result.exit_code == 0, result.exception
    return Path(result.project_path)


def copy_project(project: Path, destination: Path) -> Path:
    """A throwaway copy of a baked project, for tests that change or write into it."""
    target = destination / project.name
    shutil.copytree(project, target, ignore=shutil.ignore_patterns(".venv", "build", "__pycache__"))
    return target
