"""Train the valuation model and export it for the service.

    python -m model.train [--output model/artifacts/model.onnx] [--rows 20000]

Fits a scikit-learn estimator, exports it to ONNX (skl2onnx) and checks that ONNX Runtime,
which the service uses, gives the same valuations on the holdout set; the holdout metrics
are the served model's. Writes the .onnx file and, beside it, a JSON file with the version,
features, holdout metrics, library versions and the .onnx file's size and SHA-256. The service
refuses an artifact whose features do not match its own, whose two files come from different
runs, or whose .onnx file is not byte for byte the one training wrote.
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
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.metrics import mean_absolute_error, mean_absolute_percentage_error, r2_score
from sklearn.model_selection import train_test_split

from {{ cookiecutter.package_name }}.model import (
    FEATURES,
    ModelLoadError,
    Property,
    fingerprint,
    metadata_path,
    open_session,
    to_matrix,
)

from model.sample_data import generate

MODEL_NAME = "{{ cookiecutter.project_slug }}"


class ExportMismatch(RuntimeError):
    """The ONNX export does not give the trained model's valuations."""


def build_estimator() -> GradientBoostingRegressor:
    """Gradient-boosted trees. District and type go in as category indices (to_matrix); the
    trees split on them as they need. Any estimator skl2onnx converts can replace this one
    (most of scikit-learn's do)."""
    return GradientBoostingRegressor(n_estimators=150, max_depth=6, learning_rate=0.1, random_state=0)


def export_onnx(estimator: GradientBoostingRegressor, output: Path, version: str) -> None:
    """Write the fitted estimator as ONNX (one float matrix of FEATURES columns in, one value per
    row out), stamped with the version that model.json records, so the two cannot be mixed up."""
    onnx = skl2onnx.convert_sklearn(estimator, initial_types=[("features", FloatTensorType([None, len(FEATURES)]))])
    onnx.metadata_props.add(key="version", value=version)
    output.write_bytes(onnx.SerializeToString())


def train(output: Path, rows: int = 20_000, version: str | None = None) -> dict:
    started = time.perf_counter()
    version = version or datetime.datetime.now(datetime.UTC).strftime("%Y.%m.%d-%H%M%S")
    records, prices = generate(rows)
    features = to_matrix([Property(**record) for record in records])
    x_train, x_test, y_train, y_test = train_test_split(features, prices, test_size=0.2, random_state=0)
    # Weights 1/price: plain squared error chases the expensive houses, 1/price² (relative
    # error) valued everything a little low; 1/price gave the same MAPE with no median bias.
    estimator = build_estimator().fit(x_train, y_train, sample_weight=y_train.mean() / y_train)

    # Write beside the served files, check, then replace them: a failed run changes nothing.
    output.parent.mkdir(parents=True, exist_ok=True)
    new_model, new_metadata = output.with_suffix(".onnx.new"), output.with_suffix(".json.new")
    export_onnx(estimator, new_model, version)
    try:
        session = open_session(new_model)  # the service's own checks of inputs and outputs
        [served] = session.run(None, {session.get_inputs()[0].name: x_test})
        served = served.ravel()
        # ONNX Runtime sums the trees in float32: expect relative differences around 1e-6. A
        # larger one (or NaN) means the conversion changed the model; refuse to ship it.
        drift = float(np.max(np.abs(served - estimator.predict(x_test)) / y_test))
        if not drift <= 1e-4:
            raise ExportMismatch(f"The ONNX export differs from the trained model by up to {drift:.3%} of a price.")
    except Exception:
        new_model.unlink()
        raise

    metadata = {
        "name": MODEL_NAME,
        "version": version,
        "trained_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "estimator": "GradientBoostingRegressor (weights 1/price), exported to ONNX",
        "features": FEATURES,
        "target": "sale price",
        "training_rows": len(y_train),
        "holdout_rows": len(y_test),
        "metrics": {  # of the exported model, as the service runs it
            "mae": round(float(mean_absolute_error(y_test, served)), 2),
            "mape": round(float(mean_absolute_percentage_error(y_test, served)), 4),
            "r2": round(float(r2_score(y_test, served)), 4),
        },
        "onnx_check": {"holdout_rows": len(y_test), "max_relative_difference": float(f"{drift:.2g}")},
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
    except (ExportMismatch, ModelLoadError) as error:
        raise SystemExit(f"error: {error} Nothing was written.") from error
    metrics = metadata["metrics"]
    print(
        f"Trained {metadata['name']} {metadata['version']} on {metadata['training_rows']} rows "
        f"in {metadata['seconds']} s. Holdout ({metadata['holdout_rows']} rows): "
        f"MAE {metrics['mae']:,.0f}, MAPE {metrics['mape']:.1%}, R2 {metrics['r2']:.3f}."
    )
    print(f"Wrote {args.output} and {metadata_path(args.output)}")


if __name__ == "__main__":
    main()
