"""Serving your own model as the generated README says, on data nobody tuned the template for:
edit only the files its training recipe names, or import a model trained elsewhere with
`make import-model`, and the project's own `make validate test` passes; served answers equal
the original model's within the contract's tolerance; an import changes the contract and the
artifacts alone."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from lightgbm import LGBMRegressor
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.ensemble import GradientBoostingClassifier, RandomForestRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from .conftest import NOT_OURS, copy_project, run

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
TOLERANCE = 1e-4

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
    """A classifier instead of the regressor: the estimator and its import; the sample's price
    weights switched off, as the README says."""
    text = text.replace("GradientBoostingRegressor", "GradientBoostingClassifier")
    text = text.replace("n_estimators=150, max_depth=6", "n_estimators=40, max_depth=3")
    assert "WEIGHT_BY_INVERSE_PRICE = True" in text
    return text.replace("WEIGHT_BY_INVERSE_PRICE = True", "WEIGHT_BY_INVERSE_PRICE = False")


def committed(project: Path) -> None:
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "baked"]):
        assert run([*git, *command], project).returncode == 0


# What `make train` or `make import-model` writes, committed with the change (make publish-model).
ARTIFACTS = ["model/artifacts/model.json", "model/artifacts/model.onnx"]


def changed_files(project: Path) -> list[str]:
    lines = run(["git", "status", "--porcelain", "--untracked-files=all"], project).stdout.split("\n")
    return sorted(line[3:] for line in lines if line)


# The bake's tests/test_import.py checks what exports with the pinned versions, and reads the
# contract only as bytes (to see that a refused import writes nothing): it would pass or fail alike
# after every swap here, so it runs once, in the fresh clone's `make test` (test_fresh_clone.py).
ONCE = f"--ignore=tests/test_import.py {NOT_OURS}"
# The browser test (the docs pages in Chromium) runs for the default bake in the fresh clone, for the
# classification bake in test_docs.py, and here for the model of another shape (three classes, a
# text choice, a yes/no and an optional field); the other swaps leave it out.
NO_BROWSER = f"{ONCE} --ignore=tests/test_docs_browser.py"


def make(project: Path, tmp_path: Path, *targets: str, pytest_addopts: str = NO_BROWSER, **variables: str) -> str:
    """The bake's own make targets, on this interpreter's environment (no install)."""
    stamp = tmp_path / "installed"
    stamp.touch()
    venv = [f"VENV={sys.prefix}", f"STAMP={stamp}", f"TRAINING={stamp}"]
    result = subprocess.run(
        ["make", "--no-print-directory", *targets, *venv, *(f"{k}={v}" for k, v in variables.items())],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "PYTEST_ADDOPTS": pytest_addopts, "REQUIRE_BROWSER": "1"},
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    return output


def test_a_model_of_another_shape_needs_only_the_files_the_readme_names(default_project, tmp_path):
    project = copy_project(default_project, tmp_path)
    package = project.name.replace("-", "_")
    committed(project)

    files = readme_recipe_files(project)
    assert files == [f"{package}/contract.py", "model/sample_data.py", "model/train.py"]
    (project / files[0]).write_text(CONTRACT)
    (project / files[1]).write_text(SAMPLE_DATA.format(package=package))
    (project / files[2]).write_text(edit_train((project / files[2]).read_text()))
    assert changed_files(project) == sorted(files)

    output = make(project, tmp_path, "train", "test", "validate", "lint", pytest_addopts=ONCE)
    assert "log_loss" in output and re.search(r"\d+ passed", output)
    assert "validate: " in output and " 0 failed" in output
    assert "docs-try-it-out.png" in output  # the browser test ran (REQUIRE_BROWSER=1: it may not skip)
    # Training writes the model, to commit; testing leaves only ignored files: the rest is the recipe's.
    assert changed_files(project) == sorted([*files, *ARTIFACTS])


# scikit-learn's breast-cancer data: 30 numeric fields (names with spaces), 569 rows, two classes.
CANCER_SAMPLE_DATA = '''"""scikit-learn's breast-cancer data (569 tumours, 30 measurements each)."""

import numpy as np
from sklearn.datasets import load_breast_cancer

from {package}.contract import CLASSES, FEATURES


def generate(rows: int = 20_000, seed: int = 42) -> tuple[list[dict], np.ndarray]:
    """Every row of the data set, whatever `rows` asks (there are 569)."""
    data = load_breast_cancer()
    records = [dict(zip(FEATURES, map(float, row), strict=True)) for row in data.data]
    return records, np.array([CLASSES[int(label)] for label in data.target])
'''


def field(name: str) -> str:
    return name.replace(" ", "_")


def cancer_contract() -> str:
    """The contract for the breast-cancer data, written as a team would: 30 bounded float fields."""
    data = load_breast_cancer()
    low, high = data.data.min(axis=0), data.data.max(axis=0)
    fields = "\n".join(
        f"    {field(name)}: float = Field(ge=0, le={float(top) * 2:.6g})"
        for name, top in zip(data.feature_names, high, strict=True)
    )
    examples = [dict(zip(map(field, data.feature_names), map(float, row), strict=True)) for row in data.data[:3]]
    assert (low >= 0).all()
    return f'''"""Breast-cancer screening: malignant or benign, from 30 measurements of a tumour."""

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

TASK: Literal["regression", "classification"] = "classification"
CLASSES = ["malignant", "benign"]
UNIT: dict[str, str] = {{}}
DECIMALS = 4
TARGET = "diagnosis"
TOLERANCE = 1e-4

EXAMPLES = {json.dumps(examples)}


class Property(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={{"examples": EXAMPLES}})

{fields}


FEATURES = {json.dumps([field(name) for name in data.feature_names])}


def to_matrix(items: list[Property]) -> np.ndarray:
    return np.array([[getattr(item, name) for name in FEATURES] for item in items], dtype=np.float32)
'''


def test_scikit_learns_breast_cancer_data_by_the_readme_recipe(default_project, tmp_path):
    """No text field, 30 fields (past a 422's 20 listed errors), 569 rows: the generated tests hold."""
    project = copy_project(default_project, tmp_path)
    package = project.name.replace("-", "_")
    committed(project)
    files = readme_recipe_files(project)
    (project / files[0]).write_text(cancer_contract())
    (project / files[1]).write_text(CANCER_SAMPLE_DATA.format(package=package))
    (project / files[2]).write_text(edit_train((project / files[2]).read_text()))
    run([sys.executable, "-m", "ruff", "format", files[0]], project)  # as `make format` would

    output = make(project, tmp_path, "train", "test", "validate", "lint")
    assert "log_loss" in output and re.search(r"\d+ passed", output)
    assert "validate: " in output and " 0 failed" in output
    assert changed_files(project) == sorted([*files, *ARTIFACTS])


# Models trained elsewhere, imported with `make import-model`.


def homes(rows: int, seed: int) -> pd.DataFrame:
    """Flats: a text column, numbers with spaces in their names, a rent."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "city": rng.choice(["Lyon", "Paris", "Nantes"], rows),
            "surface m2": rng.uniform(10, 120, rows).round(1),
            "rooms": rng.integers(1, 6, rows),
            "garden": rng.random(rows) < 0.3,
        }
    )
    city = frame["city"].map({"Lyon": 0, "Paris": 400, "Nantes": 100})
    frame["rent"] = (frame["surface m2"] * 15 + frame["rooms"] * 40 + city + 50 * frame["garden"]).round(2)
    frame["rent"] += rng.normal(0, 20, rows).round(2)
    return frame


def pipeline_with_a_text_column(folder: Path) -> tuple[Path, Path, str, object]:
    train, holdout = homes(400, 0), homes(120, 1)
    columns = ColumnTransformer(
        [
            ("city", OneHotEncoder(handle_unknown="ignore"), ["city"]),
            ("numbers", StandardScaler(), ["surface m2", "rooms", "garden"]),
        ]
    )
    model = Pipeline([("columns", columns), ("model", RandomForestRegressor(n_estimators=30, random_state=0))])
    model.fit(train.drop(columns="rent"), train["rent"])
    joblib.dump(model, folder / "rent.joblib")
    holdout.to_csv(folder / "holdout.csv", index=False)
    return folder / "rent.joblib", folder / "holdout.csv", "rent", model


def lightgbm_model(folder: Path) -> tuple[Path, Path, str, object]:
    """scikit-learn's diabetes data: 10 numeric fields, 442 rows; LightGBM's float32 thresholds."""
    data = load_diabetes(as_frame=True).frame
    model = LGBMRegressor(n_estimators=80, verbose=-1).fit(data.drop(columns="target")[:320], data["target"][:320])
    joblib.dump(model, folder / "diabetes.joblib")
    data[320:].to_parquet(folder / "diabetes.parquet")
    return folder / "diabetes.joblib", folder / "diabetes.parquet", "target", model


def onnx_with_column_inputs(folder: Path) -> tuple[Path, Path, str, object]:
    """An ONNX file as another team exports it: a string, an integer and a float input per column."""
    import onnxruntime
    import skl2onnx
    from skl2onnx.common.data_types import FloatTensorType, Int64TensorType, StringTensorType

    train, holdout = homes(400, 2), homes(120, 3)
    for frame in (train, holdout):
        frame["band"] = np.where(frame["rent"] > 1000, "high", "low")
    inputs = ["city", "rooms", "surface m2"]
    columns = ColumnTransformer([("city", OrdinalEncoder(), ["city"])], remainder="passthrough")
    model = Pipeline([("columns", columns), ("model", GradientBoostingClassifier(n_estimators=20, random_state=0))])
    model.fit(train[inputs], train["band"])
    types = [
        ("city", StringTensorType([None, 1])),
        ("rooms", Int64TensorType([None, 1])),
        ("surface m2", FloatTensorType([None, 1])),
    ]
    onnx = skl2onnx.to_onnx(model, initial_types=types)  # a label and a ZipMap of probabilities, as exported by default
    (folder / "band.onnx").write_bytes(onnx.SerializeToString())
    holdout[[*inputs, "band"]].to_csv(folder / "band.csv", index=False)
    session = onnxruntime.InferenceSession(str(folder / "band.onnx"))
    return folder / "band.onnx", folder / "band.csv", "band", session


IMPORTS = {
    "joblib Pipeline with a text column": pipeline_with_a_text_column,
    "LightGBM on the diabetes data": lightgbm_model,
    "ONNX file with an input per column": onnx_with_column_inputs,
}

SERVE_AND_COMPARE = """
import json, sys
from fastapi.testclient import TestClient
from {package}.main import app
from {package} import contract
rows = json.loads(sys.stdin.read())
with TestClient(app) as client:
    single = [client.post("/{route}", json=row).json() for row in rows]
    batch = client.post("/{route}/batch", json={{"{batch_key}": rows}}).json()
print(json.dumps({{"single": single, "batch": batch, "tolerance": contract.TOLERANCE, "task": contract.TASK}}))
"""


def original_answers(model, data: pd.DataFrame, target: str) -> np.ndarray:
    """The original model's predictions on DATA's rows: values, or the probability of each class."""
    if hasattr(model, "get_inputs"):  # an ONNX Runtime session: its ZipMap's dictionaries
        feed = {}
        for value in model.get_inputs():
            kind = {"tensor(string)": object, "tensor(int64)": np.int64}.get(value.type, np.float32)
            column = data[[value.name.replace("_", " ") if value.name not in data else value.name]]
            feed[value.name] = column.astype(str).to_numpy(object) if kind is object else column.to_numpy(kind)
        _, probabilities = model.run(None, feed)
        return np.array([[row[label] for label in sorted(row)] for row in probabilities])
    x = data.drop(columns=target)
    return model.predict_proba(x) if hasattr(model, "predict_proba") else model.predict(x)


@pytest.mark.parametrize("kind", list(IMPORTS))
def test_an_imported_model_is_served_as_it_answers(default_project, tmp_path, kind):
    project = copy_project(default_project, tmp_path)
    package = project.name.replace("-", "_")
    committed(project)
    model_file, data_file, target, original = IMPORTS[kind](tmp_path)

    output = make(project, tmp_path, "import-model", MODEL=str(model_file), DATA=str(data_file), TARGET=target)
    assert "Imported" in output and "Nothing was written" not in output
    # The contract and the artifacts, nothing else.
    assert changed_files(project) == sorted([f"{package}/contract.py", *ARTIFACTS])
    assert sorted(p.name for p in (project / "model" / "artifacts").iterdir()) == ["model.json", "model.onnx"]

    output = make(project, tmp_path, "validate", "test")
    assert re.search(r"\d+ passed", output) and " 0 failed" in output
    assert "WARN  openapi" in output  # another request body than the sample's: named as breaking, not failed

    # Served answers, single and batch, equal the original model's within the declared tolerance.
    data = pd.read_parquet(data_file) if data_file.suffix == ".parquet" else pd.read_csv(data_file)
    # DATA's rows as requests: its columns (but TARGET) under their field names.
    records = data.drop(columns=target).to_dict("records")
    rows = [
        {re.sub(r"\W+", "_", k).strip("_"): getattr(v, "item", lambda v=v: v)() for k, v in r.items()} for r in records
    ]
    script = SERVE_AND_COMPARE.format(package=package, route="valuation", batch_key="properties")
    served = run([sys.executable, "-c", script], project, input=json.dumps(rows))
    assert served.returncode == 0, served.stderr[-3000:]
    answers = json.loads(served.stdout.splitlines()[-1])
    expected = original_answers(original, data, target)
    tolerance = answers["tolerance"]
    if answers["task"] == "regression":
        got = np.array([answer["valuation"] for answer in answers["single"]])
        assert np.abs(got - expected).max() <= tolerance
        assert answers["batch"]["valuations"] == got.tolist()
    else:
        classes = sorted(answers["single"][0]["probabilities"])
        got = np.array([[answer["probabilities"][label] for label in classes] for answer in answers["single"]])
        assert np.abs(got - expected).max() <= tolerance
        assert answers["batch"]["probabilities"] == [answer["probabilities"] for answer in answers["single"]]
    # The recorded examples (model.json) are what the service answers (the deploy-time check's data).
    meta = json.loads((project / "model" / "artifacts" / "model.json").read_text())
    assert meta["origin"] == "imported" and meta["tolerance"] == tolerance
    assert meta["onnx_check"]["max_difference"] <= tolerance
