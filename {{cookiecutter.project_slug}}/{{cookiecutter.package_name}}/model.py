"""The model this service serves: its inputs, how it loads, how it predicts.

To serve another model, edit this module and `model/train.py`: change `Property`
(the request body), `FEATURES` and `to_matrix` (how a request becomes a model row).
Training imports the same three, so the service and the training script cannot drift.
"""

import datetime
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import joblib
import numpy as np
import sklearn
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
    """Encode properties as a float matrix with the columns of FEATURES."""
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
        dtype=np.float64,
    )


class ModelLoadError(RuntimeError):
    """The artifact is missing, unreadable or does not match this code."""


@dataclass(frozen=True)
class LoadedModel:
    estimator: Any
    metadata: dict[str, Any]

    @property
    def version(self) -> str:
        return self.metadata["version"]

    def predict(self, properties: list[Property]) -> list[float]:
        """Valuations in whole currency units, one per property.

        Pass many properties at once when you can: a call costs ~0.3 ms however few rows
        it holds (the service groups concurrent requests for this; see batching.py).
        """
        # `Property` has already refused NaN and infinities (its float fields are bounded), and
        # the parameters were checked at fit: skip both checks on every call (~10% of a call).
        with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
            return np.round(self.estimator.predict(to_matrix(properties))).tolist()


def metadata_path(model_path: Path) -> Path:
    return model_path.with_suffix(".json")


def load(model_path: Path) -> LoadedModel:
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
    trained_with = metadata.get("libraries", {}).get("scikit-learn")
    if trained_with != sklearn.__version__:
        raise ModelLoadError(
            f"The model at {model_path} was trained with scikit-learn {trained_with}, but the "
            f"service runs {sklearn.__version__}; pickles do not carry across versions. {retrain}"
        )
    try:
        estimator = joblib.load(model_path)
    except Exception as error:  # unpickling a damaged file can raise almost anything
        raise ModelLoadError(f"The model at {model_path} could not be read ({error!r}). {retrain}") from error
    if not hasattr(estimator, "predict"):
        raise ModelLoadError(f"{model_path} holds a {type(estimator).__name__}, not a model. {retrain}")
    return LoadedModel(estimator, metadata)
