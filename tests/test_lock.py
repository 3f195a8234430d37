"""Locked dependencies: the generated project's uv.lock (rendered by the template, its one
answer-dependent line the project's name) and the template's own agree with their
pyproject.toml, a drifted lock fails, and the image installs the serving set from the lock."""

import json
import re
import shutil
import sys
import tomllib
from pathlib import Path

import pytest

from .conftest import TEMPLATE, run

UV = shutil.which("uv", path=str(Path(sys.executable).parent)) or "uv"


def generated_pins(project: Path) -> list[str]:
    config = tomllib.loads((project / "pyproject.toml").read_text())
    return config["project"]["dependencies"] + [pin for group in config["dependency-groups"].values() for pin in group]


@pytest.mark.parametrize("answers", [{}, {"project_slug": "fraud-risk-2", "infrastructure": "shared"}], ids=str)
def test_the_generated_lock_agrees_with_pyproject_whatever_the_name(bake_once, answers):
    project = bake_once(answers)
    result = run([UV, "lock", "--check", "--offline"], project)
    assert result.returncode == 0, result.stderr[-2000:]


def test_a_drifted_lock_fails(default_project, tmp_path):
    project = tmp_path / "drifted"
    shutil.copytree(default_project, project, ignore=shutil.ignore_patterns(".venv"))
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"statsd==4.0.1"', '"statsd==4.0.0"'))
    result = run([UV, "lock", "--check"], project)
    assert result.returncode != 0
    assert "needs to be updated" in result.stderr


def test_the_templates_own_lock_agrees_with_its_pyproject():
    result = run([UV, "lock", "--check", "--offline"], TEMPLATE)
    assert result.returncode == 0, result.stderr[-2000:]


def test_the_template_tests_with_the_generated_projects_pins(default_project):
    ours = tomllib.loads((TEMPLATE / "pyproject.toml").read_text())["dependency-groups"]["generated"]
    assert ours == generated_pins(default_project)


def test_the_image_installs_the_serving_set_from_the_lock(default_project, tmp_path):
    """The Dockerfile's install step, its whole RUN as written (no Docker engine here: /opt/venv is
    a temporary folder) in a copy of its build context: the locked serving packages and nothing of
    training or development; then the trim, after which NumPy and ONNX Runtime still load."""
    dockerfile = (default_project / "Dockerfile").read_text().replace("\\\n", " ")
    command = next(line.removeprefix("RUN ") for line in dockerfile.splitlines() if line.startswith("RUN uv sync"))
    assert "--locked" in command
    context = tmp_path / "src"
    context.mkdir()
    for name in ("pyproject.toml", "uv.lock"):
        shutil.copy(default_project / name, context)
    venv = tmp_path / "venv"
    env = {"UV_PROJECT_ENVIRONMENT": str(venv), "UV_PYTHON_DOWNLOADS": "never"}
    env["PATH"] = f"{Path(UV).parent}:/usr/bin:/bin"  # the pinned uv
    result = run(["sh", "-c", command.replace("/opt/venv", str(venv))], context, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    installed = run([UV, "pip", "list", "--python", str(venv / "bin" / "python"), "--format", "json"], context)
    names = {p["name"] for p in json.loads(installed.stdout)}
    assert {"fastapi", "onnxruntime", "uvicorn", "numpy"} <= names
    assert not names & {"scikit-learn", "skl2onnx", "pytest", "checkov", "moto", "uv"}
    [site] = venv.glob("lib/python*/site-packages")
    assert not list(site.glob("numpy/**/tests")) and not (site / "onnxruntime" / "tools").exists()
    loads = run([str(venv / "bin" / "python"), "-c", "import numpy, onnxruntime"], context)
    assert loads.returncode == 0, loads.stderr[-2000:]


def test_one_uv_version_everywhere(default_project):
    """uv's pin in the dev group is the uv the Makefiles bootstrap and the image installs with."""
    pinned = next(pin for pin in generated_pins(default_project) if pin.startswith("uv=="))
    for path in (default_project / "Makefile", default_project / "Dockerfile", TEMPLATE / "Makefile"):
        assert re.findall(r"\buv==[\d.]+", path.read_text()) != []
        assert set(re.findall(r"\buv==[\d.]+", path.read_text())) == {pinned}, path
