"""Train the valuation model and export it for the service.

    python -m model.train [--output model/artifacts/model.onnx] [--rows 20000]

Fits a scikit-learn estimator, exports it to ONNX (skl2onnx) and checks that ONNX Runtime,
which the service uses, gives the same valuations on the holdout set; the holdout metrics
are the served model's. Writes the .onnx file and, beside it, a JSON file with the version,
features, holdout metrics and library versions. The service refuses an artifact whose
features do not match its own.
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

from {{ cookiecutter.package_name }}.model import FEATURES, Property, metadata_path, open_session, to_matrix

from model.sample_data import generate

MODEL_NAME = "{{ cookiecutter.project_slug }}"


def build_estimator() -> GradientBoostingRegressor:
    """Gradient-boosted trees; `train` weighs each sale by 1/price², so the loss is the squared
    *relative* error: a valuation should be a few percent off, whatever the price.

    District and type go in as category indices (to_matrix); the trees split on them as they
    need. Any estimator skl2onnx converts can replace this one (most of scikit-learn's do).
    """
    return GradientBoostingRegressor(n_estimators=150, max_depth=6, learning_rate=0.1, random_state=0)


def export_onnx(estimator: GradientBoostingRegressor, output: Path) -> None:
    """Write the fitted estimator as ONNX: one float matrix in (FEATURES columns), one value per row out."""
    features = [("features", FloatTensorType([None, len(FEATURES)]))]
    output.write_bytes(skl2onnx.convert_sklearn(estimator, initial_types=features).SerializeToString())


def train(output: Path, rows: int = 20_000, version: str | None = None) -> dict:
    started = time.perf_counter()
    records, prices = generate(rows)
    features = to_matrix([Property(**record) for record in records])
    x_train, x_test, y_train, y_test = train_test_split(features, prices, test_size=0.2, random_state=0)
    estimator = build_estimator().fit(x_train, y_train, sample_weight=1 / y_train**2)

    output.parent.mkdir(parents=True, exist_ok=True)
    exported = output.with_suffix(".onnx.new")  # replaces the served file only once checked
    export_onnx(estimator, exported)
    [served] = open_session(exported).run(None, {"features": x_test})
    served = served.ravel()
    # ONNX Runtime sums the trees in float32: expect relative differences around 1e-6. A
    # larger one means the conversion changed the model; refuse to ship it.
    drift = float(np.max(np.abs(served - estimator.predict(x_test)) / y_test))
    if drift > 1e-4:
        exported.unlink()
        raise SystemExit(f"The ONNX export differs from the scikit-learn model by up to {drift:.3%} of a price.")
    exported.replace(output)

    metadata = {
        "name": MODEL_NAME,
        "version": version or datetime.datetime.now(datetime.UTC).strftime("%Y.%m.%d-%H%M%S"),
        "trained_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "estimator": "GradientBoostingRegressor, squared relative error (weights 1/price²), exported to ONNX",
        "features": FEATURES,
        "target": "sale price",
        "training_rows": len(y_train),
        "holdout_rows": len(y_test),
        "metrics": {
            "mae": round(float(mean_absolute_error(y_test, served)), 2),
            "mape": round(float(mean_absolute_percentage_error(y_test, served)), 4),
            "r2": round(float(r2_score(y_test, served)), 4),
            "max_onnx_difference": float(f"{drift:.2g}"),
        },
        "libraries": {
            "python": platform.python_version(),
            "scikit-learn": sklearn.__version__,
            "skl2onnx": skl2onnx.__version__,
            "onnxruntime": onnxruntime.__version__,
            "numpy": np.__version__,
        },
    }
    metadata_path(output).write_text(json.dumps(metadata, indent=2) + "\n")
    metadata["seconds"] = round(time.perf_counter() - started, 1)
    return metadata


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=Path("model/artifacts/model.onnx"))
    parser.add_argument("--rows", type=int, default=20_000, help="sample rows to generate")
    parser.add_argument("--version", help="model version to record (default: a UTC timestamp)")
    args = parser.parse_args()
    metadata = train(args.output, args.rows, args.version)
    metrics = metadata["metrics"]
    print(
        f"Trained {metadata['name']} {metadata['version']} on {metadata['training_rows']} rows "
        f"in {metadata['seconds']} s. Holdout ({metadata['holdout_rows']} rows): "
        f"MAE {metrics['mae']:,.0f}, MAPE {metrics['mape']:.1%}, R2 {metrics['r2']:.3f}."
    )
    print(f"Wrote {args.output} and {metadata_path(args.output)}")


if __name__ == "__main__":
    main()
