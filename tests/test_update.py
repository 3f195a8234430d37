"""Template updates with cruft: a project baked at one template commit takes a later template
change with `make update`, and keeps its team's edits and the files it owns. A fix to the
template's tool arrives the same way: the later template moves the tool's one pin (the
Makefile's TOOLS_VERSION), and `make update` installs the tool at it from the template's tag."""

import json
import shutil
import sys
import sysconfig
import tomllib
import venv
from pathlib import Path

from .conftest import TEMPLATE, run

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
}
NOT_TEMPLATE = shutil.ignore_patterns(".git", ".venv", "build", "__pycache__", ".pytest_cache", "results")


def git(repo: Path, *args: str) -> str:
    result = run(["git", *args], repo, env=GIT_IDENTITY)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def commit_all(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def append(path: Path, line: str) -> None:
    path.write_text(path.read_text() + line + "\n")


def tools_venv(path: Path) -> Path:
    """A virtualenv of its own for the tool, seeing the template's environment for everything else
    (the checkers): the tool installed here is the one the project's Makefile pins. The template's
    own editable tool is not seen (its .pth is not read from a path added this way)."""
    venv.create(path, with_pip=False)
    site = next((path / "lib").glob("python3*/site-packages"))
    (site / "template.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    (path / "bin" / "cruft").symlink_to(Path(sys.executable).parent / "cruft")
    return path


def release(template: Path, version: str, message: str) -> str:
    """Commit the template at this tool version, tagged v<version> as a release is."""
    pyproject = template / "tools" / "pyproject.toml"
    current = tomllib.loads(pyproject.read_text())["project"]["version"]
    pyproject.write_text(pyproject.read_text().replace(f'version = "{current}"', f'version = "{version}"', 1))
    makefile = template / "{{cookiecutter.project_slug}}" / "Makefile"
    makefile.write_text(makefile.read_text().replace(f"TOOLS_VERSION := {current}", f"TOOLS_VERSION := {version}"))
    commit = commit_all(template, message)
    git(template, "tag", f"v{version}")
    return commit


def test_make_update_brings_a_template_change_and_keeps_the_teams_edits(tmp_path):
    template = tmp_path / "template"
    shutil.copytree(TEMPLATE, template, ignore=NOT_TEMPLATE)
    git(template, "init", "-q", "-b", "main")
    first = release(template, "1.0.0", "template at the bake")

    cruft = str(Path(sys.executable).parent / "cruft")
    created = run([cruft, "create", "--no-input", "--output-dir", str(tmp_path / "out"), str(template)], tmp_path)
    assert created.returncode == 0, created.stdout[-2000:] + created.stderr[-2000:]
    project = tmp_path / "out" / "property-valuation-api"
    assert json.loads((project / ".cruft.json").read_text())["commit"] == first
    git(project, "init", "-q", "-b", "main")
    commit_all(project, "baked")
    # The project installs its pinned tool from the template's tag (a clone here, by git+file).
    env = tools_venv(tmp_path / "venv")
    make = ["make", "--no-print-directory", f"VENV={env}", f"TOOLS_REPO=git+file://{template}"]
    installed = run([*make, f"{env}/.tools"], project)
    assert installed.returncode == 0, installed.stdout[-2000:] + installed.stderr[-2000:]
    assert run([f"{env}/bin/ecs-model-tools", "--version"], project).stdout.strip() == "ecs-model-tools 1.0.0"
    assert "unknown check later-fix" in run([f"{env}/bin/ecs-model-tools", "validate", "later-fix"], project).stderr

    # The team serves its own model and adds to a file the template also ships.
    append(project / "model/train.py", "# the team's training")
    append(project / "docker-compose.yml", "# the team's note")
    commit_all(project, "our model")

    # Later, the template fixes a file the team did not own, and changes the sample training.
    slug_dir = template / "{{cookiecutter.project_slug}}"
    append(slug_dir / ".env.example", "# a later template fix")
    append(slug_dir / "model/train.py", "# a later sample-model change")
    # ...and its tool gains a check, released as 1.0.1.
    validate = template / "tools/src/ecs_model_tools/validate.py"
    fix = '    "later-fix": lambda: Result("pass", "a check the tool gained in 1.0.1"),\n'
    validate.write_text(validate.read_text().replace("CHECKS = {\n", "CHECKS = {\n" + fix, 1))
    second = release(template, "1.0.1", "template fix, tool 1.0.1")

    installed, done = tmp_path / "installed", tmp_path / "done"  # `make install` has run, long ago
    installed.touch()
    done.touch()
    updated = run([*make, "update", f"TRAINING={installed}", f"STAMP={done}"], project)
    assert updated.returncode == 0, updated.stdout[-2000:] + updated.stderr[-2000:]
    assert "TOOLS_VERSION := 1.0.1\n" in (project / "Makefile").read_text()
    assert run([f"{env}/bin/ecs-model-tools", "--version"], project).stdout.strip() == "ecs-model-tools 1.0.1"
    fixed = run([f"{env}/bin/ecs-model-tools", "validate", "later-fix"], project)
    assert "PASS  later-fix   a check the tool gained in 1.0.1" in fixed.stdout, fixed.stdout + fixed.stderr

    assert "# a later template fix" in (project / ".env.example").read_text()
    train = (project / "model/train.py").read_text()
    assert "# the team's training" in train
    assert "# a later sample-model change" not in train  # skipped: the team owns it
    assert "# the team's note" in (project / "docker-compose.yml").read_text()
    assert json.loads((project / ".cruft.json").read_text())["commit"] == second
    assert not list(project.rglob("*.rej"))
    assert run([cruft, "check"], project).returncode == 0
