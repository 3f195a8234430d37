"""The one command line: its commands, its version, and where it refuses to run."""

import subprocess
import sys
import tomllib
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parents[2]


def tool(*args: str) -> list[str]:
    return [sys.executable, "-m", "ecs_model_tools", *args]


VERSION = tomllib.loads((TEMPLATE / "tools" / "pyproject.toml").read_text())["project"]["version"]


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(tool(*args), cwd=cwd, capture_output=True, text=True)


def test_help_lists_every_command(tmp_path):
    result = run("--help", cwd=tmp_path)
    assert result.returncode == 0
    for command in (
        "validate",
        "rehearse",
        "cross-stack",
        "stack-params",
        "listener-rule",
        "emulator",
        "statsd-console",
    ):
        assert f"  {command} " in result.stdout


def test_version_is_the_one_in_pyproject(tmp_path):
    assert run("--version", cwd=tmp_path).stdout.strip() == f"ecs-model-tools {VERSION}"


def test_outside_a_project_it_says_where_to_run_it(tmp_path):
    result = run("validate", cwd=tmp_path)
    assert result.returncode == 2
    assert "run it from a baked project's root (no project.json here)" in result.stderr


def test_an_unknown_command_is_named(tmp_path):
    result = run("deploy", cwd=tmp_path)
    assert result.returncode == 2
    assert "unknown command 'deploy'" in result.stderr


def test_the_template_pins_the_tool_at_this_version():
    """A baked project installs the tool at the template's version: one pin, in its Makefile."""
    makefile = (TEMPLATE / "{{cookiecutter.project_slug}}" / "Makefile").read_text()
    assert f"TOOLS_VERSION := {VERSION}\n" in makefile
