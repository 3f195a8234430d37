{%- import "imports.jinja" as imports -%}
"""Loading the model this service serves, checking it against the contract, and predicting.

What the model takes and answers is declared in contract.py; this module works for any
model that fits it (regression or classification). Training imports the same contract, so
the service and the training script cannot drift.

The service runs the model with ONNX Runtime, not scikit-learn: `model/train.py` fits a
scikit-learn estimator and exports it to ONNX, `model/import_model.py` converts one trained
elsewhere. The model takes either one float matrix that `contract.to_matrix` builds, or one
named input per request field (an imported Pipeline: its preprocessing is in the graph). A
call then skips the input checks every scikit-learn `predict` makes, and the service starts
without importing scikit-learn and SciPy (the performance page has the figures).
"""

import argparse
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime

from . import contract
{{ imports.line(".contract", ["CLASSES", "DECIMALS", "FEATURES", "TASK", cookiecutter.__item_class]) }}

# One answer per request row: a number (regression), or the most probable class and every
# class's probability (classification).
Answer = float | tuple[str, dict[str, float]]


# What builds the model's input: contract.to_matrix (one float matrix), or else one input per
# request field, named as the field, in the type the ONNX model declares for it.
to_matrix = getattr(contract, "to_matrix", None)
COLUMN_TYPES = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(bool)": np.bool_,
    "tensor(string)": np.object_,
}
REBUILD = "Run `make train` to build a new one (or `make import-model` again for an imported model)."


class ModelLoadError(RuntimeError):
    """The artifact is missing, unreadable or does not match this code."""


@dataclass(frozen=True)
class LoadedModel:
    session: onnxruntime.InferenceSession
    input_name: str  # the matrix's input, or "" when the model takes one input per field
    metadata: dict[str, Any]
    columns: tuple[tuple[str, type], ...] = ()  # (field, numpy type) per input, if not a matrix

    @property
    def version(self) -> str:
        return self.metadata["version"]

    def predict(self, items: list[{{ cookiecutter.__item_class }}]) -> list[Answer]:
        """One answer per request row, in order (contract.TASK says which kind).

        Pass many rows at once when you can: each call has a fixed cost on top of a small
        cost per row (the service groups concurrent requests for this; see batching.py).
        """
        [values] = self.session.run(None, self.model_input(items))
        values = values.astype(np.float64)  # rounded in float32, 0.279 would answer 0.27900001406669617
        if not np.isfinite(values).all():  # JSON has no NaN or infinity: a 500, not a silent null
            raise ValueError("the model returned a value that is not a finite number")
        if TASK == "regression":
            return np.round(values.ravel(), DECIMALS).tolist()
        labels = values.argmax(axis=1).tolist()  # before rounding, which can make two classes tie
        rounded = np.round(values, DECIMALS).tolist()
        return [(CLASSES[i], dict(zip(CLASSES, row, strict=True))) for i, row in zip(labels, rounded, strict=True)]

    def model_input(self, items: list[{{ cookiecutter.__item_class }}]) -> dict[str, np.ndarray]:
        """What the ONNX model is given for these rows: to_matrix's matrix, or a column per field."""
        if not self.columns:
            return {self.input_name: to_matrix(items)}
        return {
            name: np.array([getattr(item, name) for item in items], kind).reshape(-1, 1) for name, kind in self.columns
        }


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
    what the service sends (input_columns) and to give what contract.TASK reads."""
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        session = onnxruntime.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
    except Exception as error:  # ONNX Runtime raises its own error types for damaged or foreign files
        raise ModelLoadError(f"The model at {model_path} could not be read as ONNX ({error}).") from error
    columns = input_columns(session, model_path)
    expected = f"{sends(columns)}, reads {expected_output()}"
    outputs = [o.name for o in session.get_outputs()]
    if len(outputs) != 1:  # skl2onnx gives a classifier a label output too: model/train.py drops it
        raise ModelLoadError(f"The model at {model_path} has outputs {outputs}, but {expected}.")
    if columns:
        two_rows = {name: np.zeros((2, 1), kind) for name, kind in columns}
        for name, kind in columns:
            if kind is np.object_:
                two_rows[name][:] = ""
    else:
        two_rows = {session.get_inputs()[0].name: np.zeros((2, len(FEATURES)), np.float32)}
    try:  # two rows in, two answers out
        [values] = session.run(None, two_rows)
    except Exception as error:  # another width, a fixed batch size
        raise ModelLoadError(f"The model at {model_path} cannot answer two rows ({error}); {expected}.") from error
    shapes = ((2,), (2, 1)) if TASK == "regression" else ((2, len(CLASSES)),)
    if getattr(values, "shape", None) not in shapes:
        raise ModelLoadError(
            f"The model at {model_path} gives shape {getattr(values, 'shape', type(values).__name__)} "
            f"for two rows, but {expected}."
        )
    return session


def sends(columns: tuple[tuple[str, type], ...]) -> str:
    if columns:
        return f"this service sends one input per field of FEATURES ({', '.join(FEATURES)})"
    return f"this service sends one float matrix of {len(FEATURES)} columns (FEATURES, contract.to_matrix)"


def input_columns(session: onnxruntime.InferenceSession, model_path: Path) -> tuple[tuple[str, type], ...]:
    """() for a model that takes to_matrix's one float matrix; else (field, numpy type) for each
    of its inputs, which must be named as FEATURES are, one column each."""
    inputs = [(i.name, i.type, i.shape) for i in session.get_inputs()]
    if to_matrix is not None and len(inputs) == 1 and inputs[0][1] == "tensor(float)":
        return ()
    names = [name for name, _, _ in inputs]
    wrong = [(name, kind, shape) for name, kind, shape in inputs if kind not in COLUMN_TYPES or len(shape) != 2]
    if sorted(names) != sorted(FEATURES) or wrong:
        matrix = "one float matrix (contract.to_matrix) or " if to_matrix is not None else ""
        raise ModelLoadError(
            f"The model at {model_path} takes {inputs}, but this service sends {matrix}one input per field "
            f"of FEATURES ({', '.join(FEATURES)}), each a column of floats, integers or strings."
        )
    return tuple((name, COLUMN_TYPES[kind]) for name, kind, _ in inputs)


def load(model_path: Path, threads: int = 1) -> LoadedModel:
    """Load the artifact written by `model/train.py`, or say exactly what to run."""
    retrain = REBUILD
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
    columns = input_columns(session, model_path)
    return LoadedModel(session, "" if columns else session.get_inputs()[0].name, metadata, columns)


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
