"""The model this service serves: its inputs, how it loads, how it predicts.

To serve another model, edit this module and `model/train.py`: change `Property`
(the request body), `FEATURES` and `to_matrix` (how a request becomes a model row).
Training imports the same three, so the service and the training script cannot drift.

The service runs the model with ONNX Runtime, not scikit-learn: `model/train.py` fits a
scikit-learn estimator and exports it to ONNX. A call then skips the input checks every
scikit-learn `predict` makes, and the service starts without importing scikit-learn and
SciPy (the performance page has the figures).
"""

import argparse
import datetime
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import onnxruntime
from pydantic import BaseModel, ConfigDict, Field

District = Literal[
    "city-centre",
    "old-town",
    "harbour",
    "riverside",
    "university",
    "suburbs-north",
    "suburbs-south",
    "industrial-east",
]
PropertyType = Literal["apartment", "terraced-house", "semi-detached", "detached-house"]
EnergyRating = Literal["A", "B", "C", "D", "E", "F", "G"]

DISTRICTS: tuple[str, ...] = District.__args__
PROPERTY_TYPES: tuple[str, ...] = PropertyType.__args__
ENERGY_RATINGS: tuple[str, ...] = EnergyRating.__args__


class Property(BaseModel):
    """The features of one property, as a client sends them."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "district": "riverside",
                    "property_type": "apartment",
                    "living_area_m2": 84.5,
                    "lot_area_m2": 0,
                    "rooms": 3,
                    "bathrooms": 1,
                    "year_built": 1998,
                    "energy_rating": "C",
                    "has_garage": False,
                }
            ]
        },
    )

    district: District
    property_type: PropertyType
    living_area_m2: float = Field(gt=10, le=2000, description="Heated living area in square metres.")
    lot_area_m2: float = Field(0, ge=0, le=100_000, description="Land area; 0 for apartments.")
    rooms: int = Field(ge=1, le=30, description="Rooms excluding kitchen and bathrooms.")
    bathrooms: int = Field(1, ge=0, le=10)
    year_built: int = Field(ge=1800, le=datetime.date.today().year + 2)
    energy_rating: EnergyRating = "D"
    has_garage: bool = False


# Column order of the model's input matrix; recorded in the artifact and checked at load.
FEATURES = [
    "district",
    "property_type",
    "living_area_m2",
    "lot_area_m2",
    "rooms",
    "bathrooms",
    "year_built",
    "energy_rating",
    "has_garage",
]


def to_matrix(properties: list[Property]) -> np.ndarray:
    """Encode properties as a float32 matrix (the ONNX model's input) with the columns of FEATURES."""
    return np.array(
        [
            (
                DISTRICTS.index(p.district),
                PROPERTY_TYPES.index(p.property_type),
                p.living_area_m2,
                p.lot_area_m2,
                p.rooms,
                p.bathrooms,
                p.year_built,
                ENERGY_RATINGS.index(p.energy_rating),
                p.has_garage,
            )
            for p in properties
        ],
        dtype=np.float32,
    )


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

    def predict(self, properties: list[Property]) -> list[float]:
        """Valuations in whole currency units, one per property.

        Pass many properties at once when you can: each call has a fixed cost on top of a
        small cost per row (the service groups concurrent requests for this; see batching.py).
        """
        [values] = self.session.run(None, {self.input_name: to_matrix(properties)})
        return np.round(values.ravel()).tolist()


def metadata_path(model_path: Path) -> Path:
    return model_path.with_suffix(".json")


def fingerprint(path: Path) -> dict[str, Any]:
    """What model.json records of each file the service loads, and load() checks."""
    with path.open("rb") as file:
        return {"bytes": path.stat().st_size, "sha256": hashlib.file_digest(file, "sha256").hexdigest()}


def open_session(model_path: Path, threads: int = 1) -> onnxruntime.InferenceSession:
    """An ONNX Runtime session on `threads` threads (never spinning idle ones), checked to take
    one float matrix of FEATURES columns and to give one value per row."""
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        session = onnxruntime.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
    except Exception as error:  # ONNX Runtime raises its own error types for damaged or foreign files
        raise ModelLoadError(f"The model at {model_path} could not be read as ONNX ({error}).") from error
    expected = f"this service sends one float matrix of {len(FEATURES)} columns (FEATURES), reads one value per row"
    inputs = [(i.name, i.type, i.shape) for i in session.get_inputs()]
    if len(inputs) != 1 or inputs[0][1] != "tensor(float)":
        raise ModelLoadError(f"The model at {model_path} takes {inputs}, but {expected}.")
    try:  # two rows in, two values out
        [values] = session.run(None, {inputs[0][0]: np.zeros((2, len(FEATURES)), np.float32)})
    except Exception as error:  # another width, a fixed batch size, several outputs
        raise ModelLoadError(f"The model at {model_path} cannot value two rows ({error}); {expected}.") from error
    if values.shape not in ((2,), (2, 1)):
        raise ModelLoadError(f"The model at {model_path} gives shape {values.shape} for two rows, but {expected}.")
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
