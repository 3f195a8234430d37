"""A fresh clone of the default bake, as a new team member or the pipeline meets it: `make
install` builds .venv from uv.lock alone and installs the template's tool at the Makefile's
pin (from a tagged clone of the template here, by git+file: the same git+subdirectory
mechanism as the real tag), then `make validate`, `make test`, `make publish-model` (the committed
model checked by its checksum) and `make rehearse` pass; the rehearsal is the first of two models
in one environment (test_rehearsal.rehearse_two_models), each released to dev, then production."""

import shutil
import tomllib

from .conftest import TEMPLATE, copy_project, run
from .test_front_door import NOT_TEMPLATE
from .test_rehearsal import SHARED, rehearse_two_models
from .test_update import commit_all, git


def test_a_fresh_clone_installs_from_the_lock_validates_tests_and_rehearses_beside_another_model(
    default_project, bake_once, tmp_path
):
    version = tomllib.loads((TEMPLATE / "tools/pyproject.toml").read_text())["project"]["version"]
    template = tmp_path / "template"
    shutil.copytree(TEMPLATE, template, ignore=NOT_TEMPLATE)
    git(template, "init", "-q", "-b", "main")
    commit_all(template, "template")
    git(template, "tag", f"v{version}")

    origin = tmp_path / "origin"
    shutil.copytree(default_project, origin, ignore=shutil.ignore_patterns(".venv", "build", "__pycache__"))
    git(origin, "init", "-q", "-b", "main")
    commit_all(origin, "baked")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(origin), str(clone))

    make = ["make", "--no-print-directory", f"TOOLS_REPO=git+file://{template}"]
    for target in ("install", "validate", "test", "publish-model"):
        result = run([*make, target], clone, timeout=900, env={"VALIDATE_STRICT": "1", "REQUIRE_BROWSER": "1"})
        assert result.returncode == 0, f"make {target}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        if target == "install":
            tool = run([str(clone / ".venv/bin/ecs-model-tools"), "--version"], clone)
            assert tool.stdout.strip() == f"ecs-model-tools {version}"
            assert run([str(clone / ".venv/bin/uv"), "lock", "--check", "--offline"], clone).returncode == 0
        if target == "validate":
            assert "0 failed, 0 skipped" in result.stdout
        if target == "test":  # the whole suite, the browser test too (REQUIRE_BROWSER=1: it may not skip)
            assert "skipped" not in result.stdout and "docs-try-it-out.png" in result.stdout, result.stdout[-2000:]

    def rehearse(url: str):
        result = run([*make, "rehearse"], clone, timeout=900, env={"REHEARSE_EMULATOR_URL": url})
        result.output = result.stdout + result.stderr
        return result

    rehearse_two_models(clone, rehearse, copy_project(bake_once(SHARED), tmp_path / "shared"), tmp_path)
