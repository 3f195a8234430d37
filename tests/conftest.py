"""Fixtures shared by the template's tests.

Bakes run with VALIDATE_STRICT=1, so the post-generation hook fails on a skipped check as
well as on a failed one: every bake in these tests is fully validated.
"""

import fcntl
import hashlib
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


# The template's own pytest plugins, which load (about a second) in every pytest a test starts in a
# bake on this interpreter, and which a bake's tests never use.
NOT_OURS = "-p no:hypothesispytest -p no:cookies -p no:xdist"
# pytest in a bake, on this interpreter: [sys.executable, *BAKE_PYTEST, <tests>].
BAKE_PYTEST = ["-m", "pytest", "-q", "-p", "no:cacheprovider", *NOT_OURS.split()]
# The generated suite minus its browser test, which runs for the default bake in the fresh clone's
# `make test` and for the classification bake in tests/test_docs.py (the docs pages change with the
# task, not the other options), and minus test_import.py (what exports, whatever the options),
# which tests/test_swap.py runs.
GENERATED_SUITE = [*BAKE_PYTEST, "--ignore=tests/test_docs_browser.py", "--ignore=tests/test_import.py"]
TOOL = [sys.executable, "-m", "ecs_model_tools"]  # the template's tool (tools/), as a bake's Makefile runs it
CACHES = {"__pycache__", ".pytest_cache", ".ruff_cache", ".venv", "build"}  # what running a bake leaves; not rendered


def bake(cookies, **answers):
    """Bake with these answers; refuse keys cookiecutter.json does not have (they would be ignored)."""
    unknown = set(answers) - set(OPTIONS)
    assert not unknown, f"not variables of cookiecutter.json: {sorted(unknown)}"
    return cookies.bake(extra_context=answers)


@pytest.fixture(scope="session")
def bake_once(cookies_session, tmp_path_factory):
    """bake_once(answers) -> the project baked with these answers, baked once per test run and
    shared by every test that asks for the same answers, on every pytest-xdist worker (bakes are
    what the suite spends its time on; a lock file makes the other workers wait for the first).
    Tests that change a project copy it first (copy_project)."""
    # This run's own directory: under pytest-xdist each worker's base is a child of the run's.
    run_dir = tmp_path_factory.getbasetemp()
    shared = (run_dir.parent if os.environ.get("PYTEST_XDIST_WORKER") else run_dir) / "bakes"
    shared.mkdir(exist_ok=True)

    def get(answers: dict) -> Path:
        key = hashlib.sha256(json.dumps(answers, sort_keys=True).encode()).hexdigest()[:16]
        with open(shared / f"{key}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not (shared / key).is_dir():
                result = bake(cookies_session, **answers)
                assert result.exit_code == 0, result.exception
                staging = shared / f"{key}.tmp"
                shutil.rmtree(staging, ignore_errors=True)
                staging.mkdir()
                Path(result.project_path).rename(staging / Path(result.project_path).name)
                staging.rename(shared / key)  # complete, or not there at all
        (project,) = (shared / key).iterdir()
        return project

    return get


@pytest.fixture(scope="session")
def default_project(bake_once) -> Path:
    """The project a user gets with every default."""
    return bake_once({})


@pytest.fixture(scope="session")
def access_keys_project(bake_once) -> Path:
    """The other deploy identity, without the manual production gate."""
    return bake_once({"deploy_identity": "access_keys", "manual_production_gate": False})


def copy_project(project: Path, destination: Path) -> Path:
    """A throwaway copy of a baked project, for tests that change or write into it."""
    target = destination / project.name
    shutil.copytree(project, target, ignore=shutil.ignore_patterns(".venv", "build", "__pycache__"))
    return target


# The tests that bake and run whole projects, started first so that the fast ones fill the gaps at
# the end (`make test` hands pytest-xdist's workers one test at a time: --maxschedchunk 1).
SLOW_FIRST = ["test_fresh_clone", "test_rehearsal", "test_swap", "test_drawn_answers", "test_matrix", "test_docs"]


def pytest_collection_modifyitems(items):
    def rank(item) -> int:
        module = item.module.__name__.rsplit(".", 1)[-1]
        return SLOW_FIRST.index(module) if module in SLOW_FIRST else len(SLOW_FIRST)

    items.sort(key=rank)
