"""The front door: a new user with nothing but cookiecutter (or cruft) installed bakes the
template. The post-generation hook runs the template's tool from the template itself; each
check whose checker is missing is skipped with the command that installs it, and
VALIDATE_STRICT=1 turns a skipped check into a refused bake."""

import os
import shutil
import subprocess
import venv
from pathlib import Path

import pytest

from .conftest import TEMPLATE
from .test_update import commit_all, git

NOT_TEMPLATE = shutil.ignore_patterns(".git", ".venv", "build", "__pycache__", ".pytest_cache", ".ruff_cache")


def bare_venv(path: Path, requirement: str) -> Path:
    """A new virtualenv with pip and this one requirement (pip's cache makes it quick)."""
    venv.create(path, with_pip=True)
    pip = [str(path / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, requirement], check=True, capture_output=True)
    return path / "bin"


def in_bare(bin_dir: Path, args: list[str], cwd: Path, strict: bool) -> subprocess.CompletedProcess:
    env = {"PATH": f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin", "HOME": str(cwd), "PWD": str(cwd)}
    env["VALIDATE_STRICT"] = "1" if strict else "0"
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def bare(tmp_path_factory) -> Path:
    return bare_venv(tmp_path_factory.mktemp("bare-cookiecutter"), "cookiecutter>=2.7")


def test_only_cookiecutter_bakes_and_names_what_it_skipped(bare, tmp_path):
    result = in_bare(bare, ["cookiecutter", "--no-input", str(TEMPLATE), "-o", "out"], tmp_path, strict=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (tmp_path / "out/property-valuation-api/project.json").is_file()
    skipped = [line for line in result.stdout.splitlines() if line.strip().startswith("SKIP")]
    for check in ("ruff", "cfn-lint", "checkov", "cfn-role", "deploy-policy"):
        assert any(f"  {check} " in line for line in skipped), (check, result.stdout)
    assert " 0 failed, " in result.stdout
    assert "to run the skipped checks: make validate" in result.stdout
    for check in ("yaml", "jinja", "cross-stack", "pipeline-steps"):  # what needs no checker still runs
        assert f"PASS  {check} " in result.stdout


def test_strict_mode_refuses_the_bake_when_a_checker_is_missing(bare, tmp_path):
    result = in_bare(bare, ["cookiecutter", "--no-input", str(TEMPLATE), "-o", "out"], tmp_path, strict=True)
    assert result.returncode != 0
    assert "FAIL  ruff        skipped in strict mode: ruff is not installed" in result.stdout
    assert not (tmp_path / "out/property-valuation-api").exists()


def test_only_cruft_creates_the_project_too(tmp_path):
    template = tmp_path / "template"
    shutil.copytree(TEMPLATE, template, ignore=NOT_TEMPLATE)
    git(template, "init", "-q", "-b", "main")
    commit_all(template, "template")
    bin_dir = bare_venv(tmp_path / "bare-cruft", "cruft==2.16.0")
    args = ["cruft", "create", "--no-input", "--output-dir", "out", str(template)]
    result = in_bare(bin_dir, args, tmp_path, strict=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (tmp_path / "out/property-valuation-api/.cruft.json").is_file()
    assert "make validate" in result.stdout + result.stderr  # what was skipped, and how to run it
    strict = in_bare(bin_dir, [*args[:-2], "strict", str(template)], tmp_path, strict=True)
    assert strict.returncode != 0
    assert not (tmp_path / "strict/property-valuation-api").exists()
