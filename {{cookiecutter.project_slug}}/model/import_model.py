"""Serve a model trained elsewhere.

    make import-model MODEL=<file> DATA=<csv or parquet> TARGET=<column> [TOLERANCE=<number>]

MODEL is a scikit-learn estimator or Pipeline saved with skops (.skops, preferred: loading it
runs no code) or joblib (.joblib, .pkl: loading it runs the code it holds), XGBoost and LightGBM
through their scikit-learn classes included, or an ONNX file. DATA holds rows the model was not
trained on, with the model's columns and TARGET. The command converts the model to ONNX with one
input per column (the Pipeline's preprocessing inside the graph), checks that ONNX Runtime gives
the original model's answers on every row of DATA within the tolerance, measures the holdout
metrics on DATA, and only then writes contract.py (the request body learnt from DATA), and
model/artifacts/model.onnx and model.json. Bad input changes nothing.
"""

import argparse
import datetime
import hashlib
import json
import math
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pandas as pd
import skl2onnx
import sklearn
from sklearn.base import is_classifier

from {{ cookiecutter.package_name }}.model import COLUMN_TYPES, fingerprint, metadata_path

from model import artifact, contract_writer
from model.convert import ImportRefused, field_name

CONTRACT = Path("{{ cookiecutter.package_name }}/contract.py")
MODEL_NAME = "{{ cookiecutter.project_slug }}"
# The default tolerance (contract.TOLERANCE), relative to the target's mean size (a regression) or
# on a probability: float32 arithmetic gives about 1e-6; LightGBM's split thresholds are doubles
# that ONNX stores as float32, so a value near a threshold may take the other branch.
DEFAULT_TOLERANCE = 1e-4
FLOAT32_THRESHOLDS = 1e-2
FLOAT32_THRESHOLD_MODELS = ("LGBMRegressor", "LGBMClassifier")


def read_data(path: Path, target: str) -> pd.DataFrame:
    if not path.is_file():
        raise ImportRefused(f"DATA {path} does not exist or is not a file.")
    try:
        data = pd.read_parquet(path) if path.suffix.lower() == ".parquet" else pd.read_csv(path)
    except Exception as error:  # pandas raises many kinds for a file it cannot parse
        raise ImportRefused(f"DATA {path} could not be read as CSV or Parquet ({str(error)[:200]}).") from error
    if target not in data.columns:
        raise ImportRefused(f"TARGET {target!r} is not a column of DATA {path}; its columns are {list(data.columns)}.")
    if data[target].isna().any():
        raise ImportRefused(f"TARGET {target!r} has missing values in DATA: give every row its answer.")
    if len(data) < 10:
        raise ImportRefused(f"DATA {path} has {len(data)} rows: at least 10 are needed to check the model.")
    return data


def column_feed(session: onnxruntime.InferenceSession, data: pd.DataFrame, columns: list[str]) -> dict:
    """DATA's columns as the service sends them: one per input, in the input's type."""
    feed = {}
    for value, column in zip(session.get_inputs(), columns, strict=True):
        kind = COLUMN_TYPES[value.type]
        values = data[[column]]
        feed[value.name] = values.astype(str).to_numpy(object) if kind is np.object_ else values.to_numpy(kind)
    return feed


def tolerance_for(estimator_name: str, task: str, y: pd.Series, given: float | None) -> tuple[float, str]:
    if given is not None:
        return given, "Set by TOLERANCE= at import."
    factor = FLOAT32_THRESHOLDS if estimator_name.split()[0] in FLOAT32_THRESHOLD_MODELS else DEFAULT_TOLERANCE
    why = (
        f"{estimator_name.split()[0]}'s split thresholds are doubles, stored as float32 in ONNX (docs/model.md)"
        if factor == FLOAT32_THRESHOLDS
        else "ONNX Runtime computes in float32 (docs/model.md)"
    )
    if task == "classification":
        return factor, f"{factor:g} on a probability: {why}."
    scale = max(float(np.mean(np.abs(y))), 1e-9)
    tolerance = float(f"{factor * scale:.2g}")
    return tolerance, f"{factor:g} of the target's mean size in DATA ({scale:.4g}): {why}."


def decimals_for(tolerance: float) -> int:
    """Answers rounded finely enough that rounding stays within a tenth of the tolerance."""
    return min(max(math.ceil(-math.log10(tolerance / 10)), 0), 8)


def convert(model, data: pd.DataFrame, target: str) -> dict:
    """The ONNX model with one input per column, what it was converted from, and the original's answers."""
    from model import convert as conversion

    if isinstance(model, onnx.ModelProto):
        task = conversion.onnx_task(model)
        if not pd.api.types.is_numeric_dtype(data[target]):  # text answers: classes, whatever the shapes say
            task = "classification"
        original = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        onnx_model, labels = conversion.onnx_probabilities(model) if task == "classification" else (model, None)
        onnx_model, columns = conversion.onnx_columns(onnx_model, data, target)
        answers = original.run(None, matrix_or_columns(original, data, columns))
        expected = original_probabilities(answers) if task == "classification" else answers[0]
        classes = labels or sorted(str(value) for value in data[target].unique())
        name = f"ONNX model ({model.producer_name or 'unknown producer'})"
        versions = {"onnx": onnx.__version__}
    else:
        columns = conversion.columns_of(model, data, target)
        task = "classification" if is_classifier(model) else "regression"
        frame = data[columns] if hasattr(model, "feature_names_in_") else data[columns].to_numpy()
        expected = model.predict_proba(frame) if task == "classification" else model.predict(frame)
        classes = [str(label) for label in getattr(model, "classes_", [])]
        onnx_model = conversion.sklearn_to_onnx(model, data, columns)
        final = conversion.final_step(model)
        name = type(final).__name__ + (" in a Pipeline" if final is not model else "")
        versions = {"scikit-learn": sklearn.__version__, "skl2onnx": skl2onnx.__version__}
        for library in ("xgboost", "lightgbm", "onnxmltools"):
            if library in sys.modules:
                versions[library] = sys.modules[library].__version__
    if task == "classification" and expected.shape[1] != len(classes):
        raise ImportRefused(f"The model gives {expected.shape[1]} probabilities per row but names classes {classes}.")
    return {
        "onnx": onnx_model,
        "columns": columns,
        "task": task,
        "classes": classes if task == "classification" else [],
        "expected": np.asarray(expected, np.float64),
        "estimator": name,
        "libraries": versions,
    }


def original_probabilities(answers: list) -> np.ndarray:
    """An ONNX classifier's probabilities: a float matrix, or ZipMap's dictionaries in its class order."""
    for answer in reversed(answers):
        if getattr(answer, "ndim", 0) == 2 and answer.dtype.kind == "f":
            return answer
        if isinstance(answer, list) and answer and isinstance(answer[0], dict):
            return np.array([list(row.values()) for row in answer])
    raise ImportRefused("The ONNX classifier answers no class probabilities (a float matrix or a ZipMap).")


def matrix_or_columns(session: onnxruntime.InferenceSession, data: pd.DataFrame, columns: list[str]) -> dict:
    inputs = session.get_inputs()
    if len(inputs) == 1 and len(columns) > 1:
        kind = COLUMN_TYPES[inputs[0].type]
        return {inputs[0].name: data[columns].to_numpy(kind)}
    return column_feed(session, data, columns)


def class_indices(target: pd.Series, classes: list[str]) -> np.ndarray:
    labels = target.astype(str)
    unknown = sorted(set(labels) - set(classes))
    if unknown:
        raise ImportRefused(f"TARGET holds classes {unknown} the model does not answer (it knows {classes}).")
    return labels.map({label: i for i, label in enumerate(classes)}).to_numpy()


def checked(model, data: pd.DataFrame, target: str, tolerance: float | None, version: str) -> dict:
    """The model converted and stamped, with ONNX Runtime's answers on DATA, checked against the
    original model's within the tolerance (the given one, or the model type's default)."""
    converted = convert(model, data, target)
    if target in converted["columns"]:
        raise ImportRefused(f"TARGET {target!r} is one of the model's inputs: name the column it predicts.")
    onnx_bytes = artifact.stamp(converted["onnx"], version)
    session = onnxruntime.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    [served] = session.run(None, column_feed(session, data, converted["columns"]))
    served = np.asarray(served, np.float64).reshape(converted["expected"].shape)
    difference = float(np.max(np.abs(served - converted["expected"])))
    tolerance, why = tolerance_for(converted["estimator"], converted["task"], data[target], tolerance)
    if not difference <= tolerance:
        raise ImportRefused(
            f"The ONNX conversion of {converted['estimator']} differs from the original model by up to "
            f"{difference:.3g} on DATA's rows, more than the tolerance {tolerance:g} ({why}) If that much is "
            "expected (float32 arithmetic), import again with TOLERANCE=<a larger number>."
        )
    return {**converted, "bytes": onnx_bytes, "served": served, "difference": difference, "tolerance": (tolerance, why)}


def import_model(model_path: Path, data_path: Path, target: str, output: Path, tolerance: float | None) -> dict:
    from model import convert as conversion

    model = conversion.load(model_path)
    data = read_data(data_path, target)
    version = datetime.datetime.now(datetime.UTC).strftime("%Y.%m.%d-%H%M%S")
    converted = checked(model, data, target, tolerance, version)
    task, classes, columns = converted["task"], converted["classes"], converted["columns"]
    served, difference, (tolerance, why) = converted["served"], converted["difference"], converted["tolerance"]
    onnx_bytes = converted["bytes"]
    y = data[target].to_numpy(np.float64) if task == "regression" else class_indices(data[target], classes)
    contract_text = contract_writer.write(
        item_class="{{ cookiecutter.__item_class }}",
        data=data,
        columns=columns,
        task=task,
        classes=classes,
        target=target,
        tolerance=tolerance,
        tolerance_reason=why,
        decimals=decimals_for(tolerance) if task == "regression" else max(decimals_for(tolerance), 4),
        source=f"{model_path.name} and {len(data):,} rows of {data_path.name}",
    )
    metadata = {
        "name": MODEL_NAME,
        "version": version,
        "trained_at": datetime.datetime.fromtimestamp(model_path.stat().st_mtime, datetime.UTC).isoformat(
            timespec="seconds"
        ),  # the model file's time: it was trained elsewhere
        "task": task,
        "estimator": f"{converted['estimator']}, imported, converted to ONNX",
        "features": [field_name(column) for column in columns],
        "classes": classes,
        "target": target,
        "training_rows": 0,
        "holdout_rows": len(data),
        "metrics": artifact.holdout_metrics(y, served, task, classes),
        "onnx_check": {"holdout_rows": len(data), "max_difference": float(f"{difference:.2g}")},
        "tolerance": tolerance,
        "examples": [],  # recorded once contract.py is in place (model.artifact --examples)
        "origin": "imported",
        "imported_from": {
            "model": model_path.name,
            "model_sha256": hashlib.sha256(model_path.read_bytes()).hexdigest(),
            "data": data_path.name,
            "data_rows": len(data),
        },
        "files": {},
        "libraries": {
            "python": platform.python_version(),
            **converted["libraries"],
            "onnxruntime": onnxruntime.__version__,
            "numpy": np.__version__,
        },
    }
    write_all(output, onnx_bytes, metadata, contract_text)
    return metadata


def write_all(output: Path, onnx_bytes: bytes, metadata: dict, contract_text: str) -> None:
    """Replace contract.py and the artifact together, then record the examples' answers by loading
    it as the service does; if that fails, put the previous files back."""
    output.parent.mkdir(parents=True, exist_ok=True)
    targets = [CONTRACT, output, metadata_path(output)]
    backups = {path: path.read_bytes() for path in targets if path.exists()}
    try:
        output.write_bytes(onnx_bytes)
        metadata["files"] = {output.name: fingerprint(output)}
        metadata_path(output).write_text(json.dumps(metadata, indent=2) + "\n")
        CONTRACT.write_text(contract_text)
        ruff = shutil.which("ruff", path=str(Path(sys.executable).parent))
        if ruff:  # the long lines a Literal of many values makes, wrapped as `make format` would
            subprocess.run([ruff, "format", "--quiet", str(CONTRACT)], check=True)  # noqa: S603 (our own paths)
        subprocess.run([sys.executable, "-m", "model.artifact", "--examples", str(output)], check=True)  # noqa: S603
    except BaseException:
        for path in targets:
            if path in backups:
                path.write_bytes(backups[path])
            else:
                path.unlink(missing_ok=True)
        raise


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True, help=".skops, .joblib/.pkl or .onnx file")
    parser.add_argument("--data", type=Path, required=True, help="CSV or Parquet rows with the model's columns")
    parser.add_argument("--target", required=True, help="DATA's column the model predicts")
    parser.add_argument("--tolerance", type=float, help="contract.TOLERANCE instead of the model type's default")
    parser.add_argument("--output", type=Path, default=Path("model/artifacts/model.onnx"))
    args = parser.parse_args()
    try:
        metadata = import_model(args.model, args.data, args.target, args.output, args.tolerance)
    except ImportRefused as error:
        raise SystemExit(f"error: {error} Nothing was written.") from error
    except subprocess.CalledProcessError as error:
        raise SystemExit("error: the imported model could not be served (above). Nothing was changed.") from error
    scores = ", ".join(f"{name} {value:,}" for name, value in metadata["metrics"].items())
    check = metadata["onnx_check"]
    print(
        f"Imported {metadata['estimator'].split(',')[0]} as {metadata['name']} {metadata['version']}: "
        f"{len(metadata['features'])} fields, {metadata['task']}. On DATA ({metadata['holdout_rows']:,} rows): "
        f"{scores}; ONNX differs from the original by at most {check['max_difference']:g} "
        f"(tolerance {metadata['tolerance']:g})."
    )
    print(f"Wrote {CONTRACT}, {args.output} and {metadata_path(args.output)}: review contract.py, then")
    print(f"commit them (`git add -f {args.output.parent}`: it is ignored otherwise); `make validate test`.")


if __name__ == "__main__":
    main()
