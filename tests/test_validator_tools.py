"""Where a validator is not installed, the bake says which checks it skipped and how to run
them; strict mode (our tests and CI) turns a skipped check into a failure."""

import subprocess
import sysconfig
import venv

import pytest

from .conftest import TEMPLATE, TOOL

TOOLS = ("ruff", "hadolint", "check-jsonschema", "cfn-lint", "checkov", "shellcheck")


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory):
    """A Python that imports our packages but has none of the tools' commands beside it."""
    env = tmp_path_factory.mktemp("bare")
    venv.create(env, with_pip=False)
    site = next((env / "lib").glob("python3*/site-packages"))
    # Our site-packages, and the tool's source (installed editable: its own .pth is not read from there).
    (site / "ours.pth").write_text(f"{sysconfig.get_paths()['purelib']}\n{TEMPLATE / 'tools' / 'src'}\n")
    return env / "bin" / "python"


def validate(python, project, *args):
    return subprocess.run(
        [str(python), "-m", "ecs_model_tools", "validate", *args],
        cwd=project,
        env={"PATH": "/usr/bin:/bin", "VALIDATE_STRICT": "0"},
        capture_output=True,
        text=True,
    )


def test_missing_tools_are_skipped_with_the_command_that_installs_them(bare_python, default_project):
    result = validate(bare_python, default_project)
    assert result.returncode == 0, result.stdout + result.stderr
    skipped = [line for line in result.stdout.splitlines() if line.strip().startswith("SKIP")]
    assert {name for name in TOOLS if any(f"{name} is not installed" in line for line in skipped)} == set(TOOLS)
    assert f"0 failed, {len(skipped)} skipped" in result.stdout
    assert "to run the skipped checks: make validate" in result.stdout


def test_strict_mode_fails_on_a_skipped_check(bare_python, default_project):
    result = validate(bare_python, default_project, "--strict")
    assert result.returncode == 1
    assert "FAIL  ruff        skipped in strict mode: ruff is not installed" in result.stdout


def test_the_same_checks_pass_where_the_tools_are_installed(default_project):
    result = subprocess.run(
        [*TOOL, "validate", "--strict"],
        cwd=default_project,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout
