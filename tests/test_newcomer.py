"""A newcomer's first steps: the next steps printed name the real path, and the description
follows the project's name unless one is given."""

import shutil
import sys
from pathlib import Path

from .conftest import TEMPLATE, bake, run


def test_next_steps_name_the_path_from_where_cookiecutter_ran(tmp_path):
    cookiecutter = shutil.which("cookiecutter", path=str(Path(sys.executable).parent))
    args = [cookiecutter, "--no-input", "--output-dir", "out/nested", str(TEMPLATE)]
    result = run(args, tmp_path, env={"PWD": str(tmp_path)}, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "  cd out/nested/property-valuation-api\n" in result.stdout
    assert (tmp_path / "out/nested/property-valuation-api/README.md").is_file()


def test_the_description_follows_a_new_project_name(cookies):
    result = bake(cookies, project_name="Churn Scorer")
    assert result.exit_code == 0, result.exception
    readme = (result.project_path / "README.md").read_text()
    assert "Churn Scorer: predictions of a machine-learning model" in readme
    assert "property" not in (result.project_path / "pyproject.toml").read_text().lower()


def test_a_given_description_is_kept(cookies):
    result = bake(cookies, project_name="Churn Scorer", description="Scores the churn risk of a customer.")
    assert result.exit_code == 0, result.exception
    pyproject = (result.project_path / "pyproject.toml").read_text()
    assert 'description = "Scores the churn risk of a customer."' in pyproject


def test_make_bake_as_the_readme_gives_it(tmp_path):
    """The README's first command: the template given as '.', run from the template's folder."""
    result = run(["make", "--no-print-directory", "bake", f"OUT={tmp_path}"], TEMPLATE, env={"PWD": str(TEMPLATE)})
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "validate: " in result.stdout and " 0 failed, 0 skipped" in result.stdout
    assert (tmp_path / "property-valuation-api/README.md").is_file()
