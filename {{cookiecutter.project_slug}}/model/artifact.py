"""What `make train` and `make import-model` both write: the ONNX model stamped with a version,
and model.json beside it with its checksum, holdout metrics, the contract's tolerance and the
documented examples' answers (which the deploy-time check sends again).

    python -m model.artifact --examples model/artifacts/model.onnx

loads the artifact as the service does and records the answers to contract.EXAMPLES in its
model.json (`make import-model` runs it once the new contract is in place).
"""

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime
from sklearn import metrics

from {{ cookiecutter.package_name }} import contract, model, schemas


def stamp(onnx_model: onnx.ModelProto, version: str) -> bytes:
    """The model's bytes, stamped with the version model.json records (load() compares the two)."""
    del onnx_model.metadata_props[:]
    onnx_model.metadata_props.add(key="version", value=version)
    return onnx_model.SerializeToString()


def served(session: onnxruntime.InferenceSession, model_path: Path) -> model.LoadedModel:
    """The model as the service runs it, on an open session (no metadata checks: it is being written)."""
    columns = model.input_columns(session, model_path)
    return model.LoadedModel(session, "" if columns else session.get_inputs()[0].name, {}, columns)


def documented_examples(loaded: model.LoadedModel) -> list[dict[str, Any]]:
    """Each of contract.EXAMPLES with the single route's answer to it (without model_version)."""
    items = [contract.{{ cookiecutter.__item_class }}(**example) for example in contract.EXAMPLES]
    answers = loaded.predict(items)
    return [
        {"request": example, "response": schemas.one(answer, "").model_dump(mode="json", exclude={"model_version"})}
        for example, answer in zip(contract.EXAMPLES, answers, strict=True)
    ]


def holdout_metrics(y: np.ndarray, values: np.ndarray, task: str, classes: list[str]) -> dict[str, float]:
    """The served model's metrics: MAE, MAPE and R2 (regression); log loss, ROC AUC and accuracy
    (classification; `y` holds class indices, `values` a probability column per class)."""
    if task == "regression":
        values = values.ravel()
        return {
            "mae": round(float(metrics.mean_absolute_error(y, values)), 4),
            "mape": round(float(metrics.mean_absolute_percentage_error(y, values)), 4),
            "r2": round(float(metrics.r2_score(y, values)), 4),
        }
    labels = range(len(classes))
    values = values / values.sum(axis=1, keepdims=True)  # float32 probabilities sum to 1 within about 1e-7
    every_class = len(np.unique(y)) == len(classes)  # ROC AUC needs every class present
    binary = len(classes) == 2
    auc = (
        metrics.roc_auc_score(y, values[:, 1] if binary else values, multi_class="ovr", labels=labels)
        if every_class
        else float("nan")
    )
    return {
        "log_loss": round(float(metrics.log_loss(y, values, labels=labels)), 4),
        "roc_auc": round(float(auc), 4),
        "accuracy": round(float(metrics.accuracy_score(y, values.argmax(axis=1))), 4),
    }


def record_examples(model_path: Path) -> list[dict[str, Any]]:
    """Load the artifact as the service does, answer contract.EXAMPLES, write them into model.json."""
    loaded = model.load(model_path)
    meta_path = model.metadata_path(model_path)
    metadata = json.loads(meta_path.read_text())
    metadata["tolerance"] = contract.TOLERANCE
    metadata["examples"] = documented_examples(loaded)
    meta_path.write_text(json.dumps(metadata, indent=2) + "\n")
    return metadata["examples"]


def restamp(source: Path, target: Path, version: str) -> Path:
    """A copy of the artifact under another version (its own checksum): the tests serve an imported
    model as version test-1."""
    target.write_bytes(stamp(onnx.load(source), version))
    metadata = json.loads(model.metadata_path(source).read_text())
    metadata["version"] = version
    metadata["files"] = {target.name: model.fingerprint(target)}
    model.metadata_path(target).write_text(json.dumps(metadata, indent=2) + "\n")
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=Path, required=True, metavar="MODEL_PATH", help="the .onnx file")
    path = parser.parse_args().examples
    try:
        examples = record_examples(path)
    except (model.ModelLoadError, ValueError) as error:
        raise SystemExit(f"error: {error}") from error
    print(f"Recorded the answers to {len(examples)} documented examples in {model.metadata_path(path)}")


if __name__ == "__main__":
    main()
