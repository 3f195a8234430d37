"""Serving your own model as the generated README says: edit only the files its recipe names
and the project's own checks pass. One bake, one run: the default (regression) project gets a
model of another shape, another feature set and the other task (three classes)."""

import re
import subprocess
import sys
from pathlib import Path

from .conftest import copy_project, run

# The new contract: another request body (same class name), four features, three classes.
CONTRACT = '''"""A three-class model of a property's condition, from four facts about it."""

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

TASK: Literal["regression", "classification"] = "classification"
CLASSES = ["needs-work", "fair", "good"]
UNIT: dict[str, str] = {}
DECIMALS = 4
TARGET = "condition at inspection"

Heating = Literal["gas", "heat-pump", "oil"]
HEATINGS: tuple[str, ...] = Heating.__args__

EXAMPLES = [
    {"year_built": 1962, "living_area_m2": 96.0, "renovated": False, "heating": "oil"},
    {"year_built": 2015, "living_area_m2": 140.0, "renovated": True, "heating": "heat-pump"},
    {"year_built": 1990, "living_area_m2": 70.0, "heating": "gas"},
]


class Property(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": EXAMPLES})

    year_built: int = Field(ge=1800, le=2030)
    living_area_m2: float = Field(gt=10, le=2000)
    renovated: bool = False
    heating: Heating


FEATURES = ["year_built", "living_area_m2", "renovated", "heating"]


def to_matrix(items: list[Property]) -> np.ndarray:
    return np.array(
        [(p.year_built, p.living_area_m2, p.renovated, HEATINGS.index(p.heating)) for p in items], dtype=np.float32
    )
'''

SAMPLE_DATA = '''"""Synthetic inspections: newer, renovated, heat-pump homes are in better condition."""

import numpy as np

from {package}.contract import CLASSES, HEATINGS


def generate(rows: int = 20_000, seed: int = 42) -> tuple[list[dict], np.ndarray]:
    rng = np.random.default_rng(seed)
    records, labels = [], []
    for _ in range(rows):
        year = int(rng.integers(1900, 2025))
        renovated = bool(rng.random() < 0.3)
        heating = str(rng.choice(HEATINGS))
        score = (year - 1960) / 25 + 1.5 * renovated + (0.8 if heating == "heat-pump" else 0) + rng.normal(0, 0.8)
        labels.append(CLASSES[0 if score < 0.5 else 1 if score < 2 else 2])
        area = round(float(rng.uniform(30, 250)), 1)
        records.append({{"year_built": year, "living_area_m2": area, "renovated": renovated, "heating": heating}})
    return records, np.array(labels)
'''


def readme_recipe_files(project: Path) -> list[str]:
    """The files the README's "Serve your own model" recipe says to edit, in its order."""
    readme = (project / "README.md").read_text()
    recipe = readme.split("## Serve your own model", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\d+\. `([^`]+)`", recipe, re.M)


def edit_train(text: str) -> str:
    """A classifier instead of the regressor: the estimator, its import and `fit` (no price weights)."""
    text = text.replace("GradientBoostingRegressor", "GradientBoostingClassifier")
    text = text.replace("n_estimators=150, max_depth=6", "n_estimators=40, max_depth=3")
    start, end = text.index("def fit("), text.index("def export_onnx(")
    fit = "def fit(estimator: BaseEstimator, x: np.ndarray, y: np.ndarray) -> BaseEstimator:\n"
    return text[:start] + fit + "    return estimator.fit(x, y)\n\n\n" + text[end:]


def test_a_model_of_another_shape_needs_only_the_files_the_readme_names(default_project, tmp_path):
    project = copy_project(default_project, tmp_path)
    package = project.name.replace("-", "_")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "baked"]):
        assert run([*git, *command], project).returncode == 0

    files = readme_recipe_files(project)
    assert files == [f"{package}/contract.py", "model/sample_data.py", "model/train.py"]
    (project / files[0]).write_text(CONTRACT)
    (project / files[1]).write_text(SAMPLE_DATA.format(package=package))
    (project / files[2]).write_text(edit_train((project / files[2]).read_text()))

    changed = run(["git", "status", "--porcelain"], project).stdout.split("\n")
    assert sorted(line[3:] for line in changed if line) == sorted(files) and len(files) == 3

    # The bake's own make targets, on this interpreter's environment (no install).
    stamp = tmp_path / "installed"
    stamp.touch()
    venv = [f"VENV={sys.prefix}", f"STAMP={stamp}", f"TRAINING={stamp}"]
    result = subprocess.run(
        ["make", "--no-print-directory", "train", "test", "validate", "lint", *venv],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "log_loss" in output and re.search(r"\d+ passed", output)
    assert "validate: " in output and " 0 failed" in output
    # Training and testing leave only ignored files: the change is still the recipe's files.
    changed = run(["git", "status", "--porcelain"], project).stdout.split("\n")
    assert sorted(line[3:] for line in changed if line) == sorted(files)
