{%- import "imports.jinja" as imports -%}
"""Train the model and export it for the service.

    python -m model.train [--output model/artifacts/model.onnx] [--rows 20000]

Fits a scikit-learn estimator, exports it to ONNX (skl2onnx) and checks that ONNX Runtime,
which the service uses, gives the same answers on the holdout set within contract.TOLERANCE;
the holdout metrics are the served model's (by contract.TASK: MAE, MAPE and R2 for a
regression; log loss, ROC AUC and accuracy for a classification). Writes the .onnx file and,
beside it, a JSON file with the version, features, holdout metrics, the tolerance, the
documented examples' answers, library versions and the .onnx file's size and SHA-256. The
service refuses an artifact whose features do not match its own, whose two files come from
different runs, or whose .onnx file is not byte for byte the one training wrote.

A model imported with `make import-model` is never replaced: training refuses.
"""

import argparse
import datetime
import json
import platform
import time
from pathlib import Path

import numpy as np
import onnxruntime
import skl2onnx
import sklearn
from skl2onnx.common.data_types import FloatTensorType
from skl2onnx.helpers.onnx_helper import select_model_inputs_outputs
from sklearn.base import BaseEstimator
from sklearn.ensemble import {{ "GradientBoostingRegressor" if cookiecutter.model_task == "regression" else "GradientBoostingClassifier" }}
from sklearn.model_selection import train_test_split

{{ imports.line(cookiecutter.package_name ~ ".contract", ["CLASSES", "FEATURES", "TARGET", "TASK", "TOLERANCE", cookiecutter.__item_class, "to_matrix"]) }}
from {{ cookiecutter.package_name }}.model import ModelLoadError, fingerprint, metadata_path, open_session

from model import artifact
from model.sample_data import generate

MODEL_NAME = "{{ cookiecutter.project_slug }}"


class ExportMismatch(RuntimeError):
    """The ONNX export does not give the trained model's answers."""


class ImportedModel(RuntimeError):
    """The artifact in place was imported (make import-model): training would replace it."""


{% if cookiecutter.model_task == "regression" -%}
def build_estimator() -> GradientBoostingRegressor:
    """Gradient-boosted trees. District and type go in as category indices (to_matrix); the
    trees split on them as they need. Any estimator skl2onnx converts can replace this one
    (most of scikit-learn's do)."""
    return GradientBoostingRegressor(n_estimators=150, max_depth=6, learning_rate=0.1, random_state=0)


# The sample's prices only, not a default for your data: set it to False when you bring yours.
# Plain squared error chases the expensive houses; 1/price² (relative error) valued everything a
# little low; 1/price gave the same MAPE with no median bias.
WEIGHT_BY_INVERSE_PRICE = True


def fit(estimator: BaseEstimator, x: np.ndarray, y: np.ndarray) -> BaseEstimator:
    weights = y.mean() / y if WEIGHT_BY_INVERSE_PRICE else None
    return estimator.fit(x, y, sample_weight=weights)
{%- else -%}
def build_estimator() -> GradientBoostingClassifier:
    """Gradient-boosted trees. Plan and billing go in as category indices (to_matrix); the
    trees split on them as they need. Any classifier skl2onnx converts can replace this one
    (most of scikit-learn's do) if it has predict_proba."""
    return GradientBoostingClassifier(n_estimators=150, max_depth=3, learning_rate=0.1, random_state=0)


def fit(estimator: BaseEstimator, x: np.ndarray, y: np.ndarray) -> BaseEstimator:
    return estimator.fit(x, y)
{%- endif %}


def export_onnx(estimator: BaseEstimator, output: Path, version: str) -> None:
    """Write the fitted estimator as ONNX (one float matrix of FEATURES columns in; out, one value per
    row for a regression, or the class probabilities for a classification, as the only output),
    stamped with the version that model.json records, so the two cannot be mixed up."""
    inputs = [("features", FloatTensorType([None, len(FEATURES)]))]
    if TASK == "regression":
        onnx = skl2onnx.convert_sklearn(estimator, initial_types=inputs)
    else:  # a plain matrix, not a list of dicts (zipmap), and no label output: the service reads probabilities
        onnx = skl2onnx.convert_sklearn(estimator, initial_types=inputs, options={"zipmap": False})
        onnx = select_model_inputs_outputs(onnx, outputs=["probabilities"])
    output.write_bytes(artifact.stamp(onnx, version))


def predictions(estimator: BaseEstimator, x: np.ndarray) -> np.ndarray:
    """What the exported model should give: values, or probabilities (one column per class)."""
    return estimator.predict(x) if TASK == "regression" else estimator.predict_proba(x)


def export_difference(served: np.ndarray, trained: np.ndarray) -> float:
    """The largest absolute difference between the ONNX model's answers and the trained model's
    (a value, or a class probability). ONNX Runtime sums the trees in float32; contract.TOLERANCE
    says how much is expected. A larger one (or NaN) means the conversion changed the model."""
    return float(np.max(np.abs(served.reshape(trained.shape) - trained)))


def refuse_to_replace_an_import(output: Path) -> None:
    meta_path = metadata_path(output)
    if meta_path.is_file() and json.loads(meta_path.read_text()).get("origin") == "imported":
        raise ImportedModel(
            f"{output} is a model imported with `make import-model`; training the sample here would replace it. "
            "Import it again after a change, or delete model/artifacts/ to train here instead."
        )


def train(output: Path, rows: int = 20_000, version: str | None = None) -> dict:
    refuse_to_replace_an_import(output)
    started = time.perf_counter()
    version = version or datetime.datetime.now(datetime.UTC).strftime("%Y.%m.%d-%H%M%S")
    records, target = generate(rows)
    features = to_matrix([{{ cookiecutter.__item_class }}(**record) for record in records])
    if TASK == "classification":  # class indices: the probability columns follow contract.CLASSES
        unknown = set(target) - set(CLASSES)
        if unknown:
            raise ValueError(f"The data has classes {sorted(unknown)} that contract.CLASSES {CLASSES} does not list.")
        target = np.array([CLASSES.index(label) for label in target])
    x_train, x_test, y_train, y_test = train_test_split(features, target, test_size=0.2, random_state=0)
    estimator = fit(build_estimator(), x_train, y_train)

    # Write beside the served files, check, then replace them: a failed run changes nothing.
    output.parent.mkdir(parents=True, exist_ok=True)
    new_model, new_metadata = output.with_suffix(".onnx.new"), output.with_suffix(".json.new")
    export_onnx(estimator, new_model, version)
    try:
        session = open_session(new_model)  # the service's own checks of inputs and outputs
        [served] = session.run(None, {session.get_inputs()[0].name: x_test})
        drift = export_difference(served, predictions(estimator, x_test))
        if not drift <= TOLERANCE:
            raise ExportMismatch(
                f"The ONNX export differs from the trained model by up to {drift:.2g}, more than contract.TOLERANCE "
                f"({TOLERANCE})."
            )
        examples = artifact.documented_examples(artifact.served(session, new_model))
    except Exception:
        new_model.unlink()
        raise

    metadata = {
        "name": MODEL_NAME,
        "version": version,
        "trained_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "task": TASK,
        "estimator": f"{type(estimator).__name__}, exported to ONNX",
        "features": FEATURES,
        "classes": CLASSES,
        "target": TARGET,
        "training_rows": len(y_train),
        "holdout_rows": len(y_test),
        "metrics": artifact.holdout_metrics(y_test, served, TASK, CLASSES),
        "onnx_check": {"holdout_rows": len(y_test), "max_difference": float(f"{drift:.2g}")},
        "tolerance": TOLERANCE,  # contract.TOLERANCE, for the deploy-time check of the examples
        "examples": examples,  # contract.EXAMPLES and the single route's answers to them
        "origin": "trained",
        "files": {output.name: fingerprint(new_model)},  # checked at every start
        "libraries": {
            "python": platform.python_version(),
            "scikit-learn": sklearn.__version__,
            "skl2onnx": skl2onnx.__version__,
            "onnxruntime": onnxruntime.__version__,
            "numpy": np.__version__,
        },
    }
    new_metadata.write_text(json.dumps(metadata, indent=2) + "\n")
    new_model.replace(output)
    new_metadata.replace(metadata_path(output))
    metadata["seconds"] = round(time.perf_counter() - started, 1)
    return metadata


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=Path("model/artifacts/model.onnx"))
    parser.add_argument("--rows", type=int, default=20_000, help="sample rows to generate")
    parser.add_argument("--version", help="model version to record (default: a UTC timestamp)")
    args = parser.parse_args()
    try:
        metadata = train(args.output, args.rows, args.version)
    except (ExportMismatch, ImportedModel, ModelLoadError) as error:
        raise SystemExit(f"error: {error} Nothing was written.") from error
    scores = ", ".join(f"{name} {value:,}" for name, value in metadata["metrics"].items())
    print(
        f"Trained {metadata['name']} {metadata['version']} on {metadata['training_rows']} rows "
        f"in {metadata['seconds']} s. Holdout ({metadata['holdout_rows']} rows): {scores}."
    )
    print(f"Wrote {args.output} and {metadata_path(args.output)}")


if __name__ == "__main__":
    main()
