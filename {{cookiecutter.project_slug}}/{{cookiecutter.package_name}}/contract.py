"""The model's contract: what one request describes, how it becomes a model row, what the model answers.

To serve another model, edit this module and `model/` (train.py, sample_data.py): the
request body `{{ cookiecutter.__item_class }}` with its EXAMPLES, FEATURES and `to_matrix`, and the output:
TASK, then {% if cookiecutter.model_task == "regression" %}UNIT and DECIMALS (a regression){% else %}CLASSES (a classification){% endif %}. Everything else reads them:
the routes, the batch request, the docs' examples, model loading and its checks, training,
and the tests' cases (tests/test_contract.py). `to_matrix` is optional: without it the model
takes one input per field, named as the field (what `make import-model` writes).
"""
{%- if cookiecutter.model_task == "regression" %}

import datetime
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

# What the model answers. "regression": one number per {{ cookiecutter.item_name }}, rounded to DECIMALS,
# with the UNIT fields beside it in every answer. "classification": the most probable of
# CLASSES (the ONNX model's probability columns, in order) and every class's probability.
TASK: Literal["regression", "classification"] = "regression"
UNIT = {"currency": "EUR"}  # constant fields of every answer ({} for none)
DECIMALS = 0  # the answer in whole currency units
CLASSES: list[str] = []  # classification only
TARGET = "sale price"  # what the model predicts, for the model's metadata
# How far a served answer may be from the trained model's (absolute: here in EUR), declared once:
# training's export check, the tests and the deploy-time check of EXAMPLES (model.json) use it.
# ONNX Runtime sums the trees in float32 (about 1e-6 of a price); tree ensembles whose float32
# thresholds move a split (LightGBM) need about 1e-2 of the target's mean (docs/model.md).
TOLERANCE = 10.0

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

# Requests the docs show and the tests send; each must answer 200.
EXAMPLES = [
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
    },
    {
        "district": "suburbs-north",
        "property_type": "detached-house",
        "living_area_m2": 165,
        "lot_area_m2": 620,
        "rooms": 6,
        "bathrooms": 2,
        "year_built": 1974,
        "energy_rating": "E",
        "has_garage": True,
    },
    {"district": "old-town", "property_type": "terraced-house", "living_area_m2": 110, "rooms": 4, "year_built": 1890},
]


class {{ cookiecutter.__item_class }}(BaseModel):
    """The features of one property, as a client sends them."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": EXAMPLES})

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


def to_matrix(items: list[{{ cookiecutter.__item_class }}]) -> np.ndarray:
    """Encode requests as a float32 matrix (the ONNX model's input) with the columns of FEATURES."""
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
            for p in items
        ],
        dtype=np.float32,
    )
{%- else %}

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

# What the model answers. "classification": the most probable of CLASSES (the ONNX model's
# probability columns, in order) and every class's probability. "regression": one number per
# {{ cookiecutter.item_name }}, rounded to DECIMALS, with the UNIT fields beside it in every answer.
TASK: Literal["regression", "classification"] = "classification"
CLASSES = ["stays", "churns"]  # two for a binary model, more for a multi-class one
UNIT: dict[str, str] = {}  # regression only
DECIMALS = 4  # probabilities are rounded to this many decimals
TARGET = "churn within 90 days"  # what the model predicts, for the model's metadata
# How far a served probability may be from the trained model's (absolute), declared once:
# training's export check, the tests and the deploy-time check of EXAMPLES (model.json) use it.
# ONNX Runtime sums the trees in float32 (about 1e-7); tree ensembles whose float32 thresholds
# move a split (LightGBM) need about 1e-2 (docs/model.md).
TOLERANCE = 1e-4

Plan = Literal["basic", "standard", "premium"]
Billing = Literal["monthly", "yearly"]

PLANS: tuple[str, ...] = Plan.__args__
BILLINGS: tuple[str, ...] = Billing.__args__

# Requests the docs show and the tests send; each must answer 200.
EXAMPLES = [
    {
        "plan": "standard",
        "billing": "monthly",
        "tenure_months": 7,
        "monthly_spend": 42.5,
        "support_tickets_90d": 3,
        "autopay": False,
    },
    {
        "plan": "premium",
        "billing": "yearly",
        "tenure_months": 48,
        "monthly_spend": 89.0,
        "support_tickets_90d": 0,
        "autopay": True,
    },
    {"plan": "basic", "billing": "monthly", "tenure_months": 1, "monthly_spend": 9.99},
]


class {{ cookiecutter.__item_class }}(BaseModel):
    """What the model knows of one customer, as a client sends it."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": EXAMPLES})

    plan: Plan
    billing: Billing
    tenure_months: int = Field(ge=0, le=600, description="Whole months since the customer signed up.")
    monthly_spend: float = Field(ge=0, le=10_000, description="Average monthly bill over the last three months.")
    support_tickets_90d: int = Field(0, ge=0, le=500, description="Support tickets opened in the last 90 days.")
    autopay: bool = False


# Column order of the model's input matrix; recorded in the artifact and checked at load.
FEATURES = ["plan", "billing", "tenure_months", "monthly_spend", "support_tickets_90d", "autopay"]


def to_matrix(items: list[{{ cookiecutter.__item_class }}]) -> np.ndarray:
    """Encode requests as a float32 matrix (the ONNX model's input) with the columns of FEATURES."""
    return np.array(
        [
            (
                PLANS.index(c.plan),
                BILLINGS.index(c.billing),
                c.tenure_months,
                c.monthly_spend,
                c.support_tickets_90d,
                c.autopay,
            )
            for c in items
        ],
        dtype=np.float32,
    )
{%- endif %}
