"""make import-model: docs/model.md's table of what exports holds for the pinned versions, a model
that cannot export stops with one paragraph, and bad input is refused by name with nothing written."""

import hashlib
import re
import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import skl2onnx
from lightgbm import LGBMClassifier, LGBMRegressor
from skl2onnx.common.data_types import FloatTensorType
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestRegressor,
)
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler
from xgboost import XGBClassifier, XGBRegressor

from model import import_model
from model.convert import ImportRefused
from model.import_model import checked

ROOT = Path(__file__).resolve().parent.parent
NUMBERS = ["area", "rooms", "age"]


def data(rows: int = 300, seed: int = 0) -> pd.DataFrame:
    """Homes: a text column, numbers, a price and a class."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "city": rng.choice(["north", "south", "east"], rows),
            "area": rng.uniform(20, 200, rows).round(1),
            "rooms": rng.integers(1, 8, rows),
            "age": rng.uniform(0, 100, rows).round(1),
        }
    )
    city = frame["city"].map({"north": 900, "south": 0, "east": 400})
    frame["price"] = frame["area"] * 30 + frame["rooms"] * 100 + city + rng.normal(0, 200, rows)
    frame["band"] = np.where(frame["price"] > frame["price"].median(), "high", "low")
    return frame


def fitted(name: str, frame: pd.DataFrame):
    """The table's estimator, fitted on `frame` (with the text column where it takes one)."""
    x, price, band = frame[["city", *NUMBERS]], frame["price"], frame["band"]
    numbers = frame[NUMBERS]
    if name.startswith("Pipeline(ColumnTransformer(OneHotEncoder"):
        columns = ColumnTransformer([("city", OneHotEncoder(), ["city"]), ("numbers", StandardScaler(), NUMBERS)])
        return Pipeline([("columns", columns), ("model", RandomForestRegressor(n_estimators=10, random_state=0))]).fit(
            x, price
        )
    if name.startswith("Pipeline(ColumnTransformer(OrdinalEncoder"):
        columns = ColumnTransformer([("city", OrdinalEncoder(), ["city"])], remainder="passthrough")
        model = GradientBoostingClassifier(n_estimators=10, random_state=0)
        return Pipeline([("columns", columns), ("model", model)]).fit(x, band)
    estimators = {
        "Pipeline(StandardScaler, LogisticRegression)": (make_pipeline(StandardScaler(), LogisticRegression()), band),
        "Ridge": (Ridge(), price),
        "XGBRegressor": (XGBRegressor(n_estimators=10), price),
        "XGBClassifier": (XGBClassifier(n_estimators=10), (band == "high").astype(int)),
        "LGBMRegressor": (LGBMRegressor(n_estimators=10, verbose=-1), price),
        "LGBMClassifier": (LGBMClassifier(n_estimators=10, verbose=-1), band),
        "HistGradientBoostingRegressor": (HistGradientBoostingRegressor(max_iter=10), price),
        "HistGradientBoostingClassifier": (HistGradientBoostingClassifier(max_iter=10), band),
    }
    estimator, target = estimators[name]
    return estimator.fit(numbers, target)


def onnx_file(name: str, frame: pd.DataFrame):
    """An ONNX model as a team might bring it: one float matrix, or one named input per column."""
    import onnx

    if "one float matrix" in name:
        model = Ridge().fit(frame[NUMBERS], frame["price"])
        return onnx.load_from_string(
            skl2onnx.to_onnx(model, initial_types=[("x", FloatTensorType([None, 3]))]).SerializeToString()
        )
    from model.convert import sklearn_to_onnx

    pipeline = fitted("Pipeline(ColumnTransformer(OrdinalEncoder, passthrough), GradientBoostingClassifier)", frame)
    return sklearn_to_onnx(pipeline, frame, ["city", *NUMBERS])


def table() -> list[tuple[str, str, bool]]:
    """docs/model.md's rows: estimator, task, whether it exports."""
    text = (ROOT / "docs" / "model.md").read_text().split("## What exports", 1)[1]
    rows = re.findall(r"^\| (`[^|]+`|ONNX file[^|]*) \| (regression|classification) \| (yes|no)\b", text, re.M)
    return [(name.strip("`"), task, exports == "yes") for name, task, exports in rows]


TABLE = table()


def target_of(task: str, name: str) -> str:
    return "price" if task == "regression" else "band"


@pytest.mark.parametrize(("name", "task", "exports"), TABLE, ids=[row[0] for row in TABLE])
def test_the_table_of_what_exports_holds(name, task, exports):
    frame = data()
    model = onnx_file(name, frame) if name.startswith("ONNX file") else fitted(name, frame)
    columns = ["city", *NUMBERS, target_of(task, name)]
    if name.startswith(("Ridge", "XGB", "LGBM", "HistGradient", "ONNX file, one float")):
        columns = [*NUMBERS, target_of(task, name)]  # fitted on the numbers alone
    frame = frame[columns]
    if name == "XGBClassifier":
        frame = frame.assign(band=(frame["band"] == "high").astype(int))
    if exports:
        result = checked(model, frame, target_of(task, name), None, "test")
        assert result["task"] == task
        assert result["difference"] <= result["tolerance"][0]
    else:
        with pytest.raises(ImportRefused) as refused:
            checked(model, frame, target_of(task, name), None, "test")
        message = str(refused.value)
        assert message.startswith(name) and "What works instead" in message
        assert "\n" not in message and len(message) < 600  # one paragraph, never a dump


def test_the_table_lists_every_kind_the_readme_promises():
    names = " ".join(name for name, _, _ in TABLE)
    for kind in ("OneHotEncoder", "OrdinalEncoder", "XGB", "LGBM", "one float matrix", "one input per column"):
        assert kind in names


# Bad input: a clear error naming what is wrong, and nothing written.


def import_arguments(tmp_path: Path, **arguments: str) -> list[str]:
    found = ["--output", str(tmp_path / "out" / "model.onnx")]
    for key, value in arguments.items():
        found += [f"--{key}", value]
    return found


def import_command(tmp_path: Path, **arguments: str) -> subprocess.CompletedProcess:
    """`make import-model`'s command, in its own process."""
    command = [sys.executable, "-m", "model.import_model", *import_arguments(tmp_path, **arguments)]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False, timeout=300)


def import_in_process(tmp_path: Path, monkeypatch, capsys, **arguments: str) -> subprocess.CompletedProcess:
    """The same command's main() in this process (its imports paid once, not per case), with the exit
    status and output Python would give it: a SystemExit message goes to stderr, with status 1."""
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(sys, "argv", ["model.import_model", *import_arguments(tmp_path, **arguments)])
    try:
        import_model.main()
        status, message = 0, ""
    except SystemExit as exit:
        status, message = (1, f"{exit.code}\n") if isinstance(exit.code, str) else (exit.code or 0, "")
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(sys.argv, status, out, err + message)


def contract_digest() -> str:
    return hashlib.sha256((ROOT / "{{ cookiecutter.package_name }}" / "contract.py").read_bytes()).hexdigest()


@pytest.fixture
def homes(tmp_path) -> Path:
    path = tmp_path / "homes.csv"
    data().to_csv(path, index=False)
    return path


@pytest.fixture
def pipeline(tmp_path) -> Path:
    path = tmp_path / "model.joblib"
    name = "Pipeline(ColumnTransformer(OneHotEncoder, StandardScaler), RandomForestRegressor)"
    joblib.dump(fitted(name, data()), path)
    return path


def bad_inputs(tmp_path: Path, homes: Path, pipeline: Path) -> dict:
    (tmp_path / "broken.joblib").write_bytes(b"not a pickle")
    joblib.dump({"weights": [1, 2]}, tmp_path / "dict.joblib")
    data().drop(columns="rooms").to_csv(tmp_path / "no-rooms.csv", index=False)
    data().rename(columns={"city": "town"}).to_csv(tmp_path / "no-city.csv", index=False)
    (tmp_path / "matrix.onnx").write_bytes(onnx_file("ONNX file, one float matrix in", data()).SerializeToString())
    per_column = onnx_file("ONNX file, one input per column", data())
    (tmp_path / "columns.onnx").write_bytes(per_column.SerializeToString())
    return {
        "missing model file": (dict(model=str(tmp_path / "absent.joblib"), data=str(homes), target="price"), "absent"),
        "unreadable pickle": (
            dict(model=str(tmp_path / "broken.joblib"), data=str(homes), target="price"),
            "could not",
        ),
        "pickle of another type": (dict(model=str(tmp_path / "dict.joblib"), data=str(homes), target="price"), "dict"),
        "missing data file": (dict(model=str(pipeline), data=str(tmp_path / "absent.csv"), target="price"), "absent"),
        "column missing from DATA": (
            dict(model=str(pipeline), data=str(tmp_path / "no-rooms.csv"), target="price"),
            "'rooms'",
        ),
        "TARGET missing": (dict(model=str(pipeline), data=str(homes), target="sale_price"), "sale_price"),
        "ONNX matrix DATA cannot fill": (
            dict(model=str(tmp_path / "matrix.onnx"), data=str(homes), target="price"),
            "3 columns",
        ),
        "ONNX inputs DATA cannot feed": (
            dict(model=str(tmp_path / "columns.onnx"), data=str(tmp_path / "no-city.csv"), target="band"),
            "city",
        ),
    }


CASES = [
    "missing model file",
    "unreadable pickle",
    "pickle of another type",
    "missing data file",
    "column missing from DATA",
    "TARGET missing",
    "ONNX matrix DATA cannot fill",
    "ONNX inputs DATA cannot feed",
]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_named_and_nothing_is_written(tmp_path, homes, pipeline, case, monkeypatch, capsys):
    """The first case runs the command as `make import-model` does; the rest call its main() here."""
    arguments, named = bad_inputs(tmp_path, homes, pipeline)[case]
    before = contract_digest()
    if case == CASES[0]:
        result = import_command(tmp_path, **arguments)
    else:
        result = import_in_process(tmp_path, monkeypatch, capsys, **arguments)
    assert result.returncode == 1, result.stdout + result.stderr
    [line] = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert named in line and line.endswith("Nothing was written.")
    assert "Traceback" not in result.stderr
    assert contract_digest() == before and not (tmp_path / "out").exists()


def test_loading_a_pickle_says_it_runs_code_and_prefers_skops(tmp_path, homes, pipeline, monkeypatch, capsys):
    arguments = dict(model=str(pipeline), data=str(homes), target="no_such_column")
    result = import_in_process(tmp_path, monkeypatch, capsys, **arguments)
    assert "runs any code the file holds" in result.stdout and ".skops" in result.stdout
