"""Template updates with cruft: a project baked at one template commit takes a later template
change with `make update`, and keeps its team's edits and the files it owns."""

import json
import shutil
import sys
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


def test_make_update_brings_a_template_change_and_keeps_the_teams_edits(tmp_path):
    template = tmp_path / "template"
    shutil.copytree(TEMPLATE, template, ignore=NOT_TEMPLATE)
    git(template, "init", "-q", "-b", "main")
    first = commit_all(template, "template at the bake")

    cruft = str(Path(sys.executable).parent / "cruft")
    created = run([cruft, "create", "--no-input", "--output-dir", str(tmp_path / "out"), str(template)], tmp_path)
    assert created.returncode == 0, created.stdout[-2000:] + created.stderr[-2000:]
    project = tmp_path / "out" / "property-valuation-api"
    assert json.loads((project / ".cruft.json").read_text())["commit"] == first
    git(project, "init", "-q", "-b", "main")
    commit_all(project, "baked")

    # The team serves its own model and adds to a file the template also ships.
    append(project / "model/train.py", "# the team's training")
    append(project / "docker-compose.yml", "# the team's note")
    commit_all(project, "our model")

    # Later, the template fixes a file the team did not own, and changes the sample training.
    slug_dir = template / "{{cookiecutter.project_slug}}"
    append(slug_dir / ".env.example", "# a later template fix")
    append(slug_dir / "model/train.py", "# a later sample-model change")
    second = commit_all(template, "template fix")

    stamp = tmp_path / "stamp"
    stamp.touch()
    updated = run(["make", "--no-print-directory", "update", f"VENV={sys.prefix}", f"STAMP={stamp}"], project)
    assert updated.returncode == 0, updated.stdout[-2000:] + updated.stderr[-2000:]

    assert "# a later template fix" in (project / ".env.example").read_text()
    train = (project / "model/train.py").read_text()
    assert "# the team's training" in train
    assert "# a later sample-model change" not in train  # skipped: the team owns it
    assert "# the team's note" in (project / "docker-compose.yml").read_text()
    assert json.loads((project / ".cruft.json").read_text())["commit"] == second
    assert not list(project.rglob("*.rej"))
    assert run([cruft, "check"], project).returncode == 0
