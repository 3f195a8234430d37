{%- import "imports.jinja" as imports -%}
"""Loading the model this service serves, checking it against the contract, and predicting.

What the model takes and answers is declared in contract.py; this module works for any
model that fits it (regression or classification). Training imports the same contract, so
the service and the training script cannot drift.

The service runs the model with ONNX Runtime, not scikit-learn: `model/train.py` fits a
scikit-learn estimator and exports it to ONNX. A call then skips the input checks every
scikit-learn `predict` makes, and the service starts without importing scikit-learn and
SciPy (the performance page has the figures).
"""

import argparse
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime

{{ imports.line(".contract", ["CLASSES", "DECIMALS", "FEATURES", "TASK", cookiecutter.__item_class, "to_matrix"]) }}

# One answer per request row: a number (regression), or the most probable class and every
# class's probability (classification).
Answer = float | tuple[str, dict[str, float]]


class ModelLoadError(RuntimeError):
    """The artifact is missing, unreadable or does not match this code."""


@dataclass(frozen=True)
class LoadedModel:
    session: onnxruntime.InferenceSession
    input_name: str
    metadata: dict[str, Any]

    @property
    def version(self) -> str:
        return self.metadata["version"]

    def predict(self, items: list[{{ cookiecutter.__item_class }}]) -> list[Answer]:
        """One answer per request row, in order (contract.TASK says which kind).

        Pass many rows at once when you can: each call has a fixed cost on top of a small
        cost per row (the service groups concurrent requests for this; see batching.py).
        """
        [values] = self.session.run(None, {self.input_name: to_matrix(items)})
        values = values.astype(np.float64)  # rounded in float32, 0.279 would answer 0.27900001406669617
        if not np.isfinite(values).all():  # JSON has no NaN or infinity: a 500, not a silent null
            raise ValueError("the model returned a value that is not a finite number")
        if TASK == "regression":
            return np.round(values.ravel(), DECIMALS).tolist()
        labels = values.argmax(axis=1).tolist()  # before rounding, which can make two classes tie
        rounded = np.round(values, DECIMALS).tolist()
        return [(CLASSES[i], dict(zip(CLASSES, row, strict=True))) for i, row in zip(labels, rounded, strict=True)]


def metadata_path(model_path: Path) -> Path:
    return model_path.with_suffix(".json")


def fingerprint(path: Path) -> dict[str, Any]:
    """What model.json records of each file the service loads, and load() checks."""
    with path.open("rb") as file:
        return {"bytes": path.stat().st_size, "sha256": hashlib.file_digest(file, "sha256").hexdigest()}


def expected_output() -> str:
    """What the service reads from the model, as the load errors say it."""
    if TASK == "regression":
        return "one value per row"
    return f"one output only, a probability per class: {len(CLASSES)} columns (contract.CLASSES) per row"


def open_session(model_path: Path, threads: int = 1) -> onnxruntime.InferenceSession:
    """An ONNX Runtime session on `threads` threads (never spinning idle ones), checked to take
    one float matrix of FEATURES columns and to give what contract.TASK reads."""
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        session = onnxruntime.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
    except Exception as error:  # ONNX Runtime raises its own error types for damaged or foreign files
        raise ModelLoadError(f"The model at {model_path} could not be read as ONNX ({error}).") from error
    expected = f"this service sends one float matrix of {len(FEATURES)} columns (FEATURES), reads {expected_output()}"
    inputs = [(i.name, i.type, i.shape) for i in session.get_inputs()]
    if len(inputs) != 1 or inputs[0][1] != "tensor(float)":
        raise ModelLoadError(f"The model at {model_path} takes {inputs}, but {expected}.")
    outputs = [o.name for o in session.get_outputs()]
    if len(outputs) != 1:  # skl2onnx gives a classifier a label output too: model/train.py drops it
        raise ModelLoadError(f"The model at {model_path} has outputs {outputs}, but {expected}.")
    try:  # two rows in, two answers out
        [values] = session.run(None, {inputs[0][0]: np.zeros((2, len(FEATURES)), np.float32)})
    except Exception as error:  # another width, a fixed batch size
        raise ModelLoadError(f"The model at {model_path} cannot answer two rows ({error}); {expected}.") from error
    shapes = ((2,), (2, 1)) if TASK == "regression" else ((2, len(CLASSES)),)
    if getattr(values, "shape", None) not in shapes:
        raise ModelLoadError(
            f"The model at {model_path} gives shape {getattr(values, 'shape', type(values).__name__)} "
            f"for two rows, but {expected}."
        )
    return session


def load(model_path: Path, threads: int = 1) -> LoadedModel:
    """Load the artifact written by `model/train.py`, or say exactly what to run."""
    retrain = "Run `make train` to build a new one."
    meta_path = metadata_path(model_path)
    if not model_path.is_file() or not meta_path.is_file():
        raise ModelLoadError(f"No model artifact at {model_path} (with {meta_path.name} beside it). {retrain}")
    try:
        metadata = json.loads(meta_path.read_text())
    except (OSError, ValueError) as error:
        raise ModelLoadError(f"Model metadata {meta_path} is unreadable ({error}). {retrain}") from error
    trained_for = {"task": metadata.get("task"), "classes": metadata.get("classes", [])}
    if trained_for != {"task": TASK, "classes": CLASSES}:
        raise ModelLoadError(
            f"The model at {model_path} was trained for {trained_for}, but contract.py declares "
            f"task {TASK!r} with classes {CLASSES}. {retrain}"
        )
    if metadata.get("features") != FEATURES:
        raise ModelLoadError(
            f"The model at {model_path} was trained on features {metadata.get('features')}, "
            f"but this service sends {FEATURES}. {retrain}"
        )
    # Serve the bytes training wrote and checked: a damaged or edited file may still load.
    recorded = metadata.get("files", {}).get(model_path.name)
    if recorded is None:
        raise ModelLoadError(f"{meta_path.name} records no SHA-256 for {model_path.name}. {retrain}")
    found = fingerprint(model_path)
    if found != recorded:
        raise ModelLoadError(
            f"{model_path} is not the file training wrote: it has {found['bytes']} bytes and SHA-256 "
            f"{found['sha256']}, {meta_path.name} records {recorded.get('bytes')} bytes and SHA-256 "
            f"{recorded.get('sha256')}. {retrain}"
        )
    try:
        session = open_session(model_path, threads)
    except ModelLoadError as error:
        raise ModelLoadError(f"{error} {retrain}") from error
    exported_as = session.get_modelmeta().custom_metadata_map.get("version")
    if exported_as != metadata.get("version"):
        raise ModelLoadError(
            f"{model_path} is version {exported_as} but {meta_path.name} describes {metadata.get('version')}: "
            f"they come from different training runs. {retrain}"
        )
    return LoadedModel(session, session.get_inputs()[0].name, metadata)


def main() -> None:
    """`python -m {{ cookiecutter.package_name }}.model --verify PATH`: exit 0 if the service would
    load this artifact, else say why and exit 1 (the Dockerfile runs it at build time)."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--verify", type=Path, required=True, metavar="MODEL_PATH", help="the .onnx file")
    path = parser.parse_args().verify
    try:
        loaded = load(path)
    except ModelLoadError as error:
        raise SystemExit(f"error: {error}") from error
    print(f"{path}: version {loaded.version}, sha256 {loaded.metadata['files'][path.name]['sha256']}: verified")


if __name__ == "__main__":
    main()
