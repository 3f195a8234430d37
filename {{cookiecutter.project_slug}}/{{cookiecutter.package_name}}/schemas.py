"""Response bodies and the batch request. The single request body is `model.Property`."""

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from .model import Property
from .settings import settings


class Valuation(BaseModel):
    valuation: float = Field(description="Estimated market value in whole currency units.", examples=[352_000])
    currency: str = Field(examples=["EUR"])
    model_version: str = Field(examples=["2026.01.31-120000"])


class BatchRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "properties": [
                        *Property.model_json_schema().get("examples", []),
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
                    ]
                }
            ]
        }
    )

    # Each item is checked against Property by the route, a chunk at a time (api.py), not here
    # all at once: a large batch must not hold the event loop for the whole of its validation.
    # Only the list is checked here; the published schema still says a list of Property.
    properties: Annotated[list[Any], BeforeValidator(lambda rows: rows, json_schema_input_type=list[Property])] = Field(
        min_length=1,
        max_length=settings.batch_limit,
        json_schema_extra={"minItems": 1, "maxItems": settings.batch_limit},
    )


class BatchValuation(BaseModel):
    valuations: list[float] = Field(
        description="One value per property, in request order.", examples=[[352_000, 618_000]]
    )
    currency: str = Field(examples=["EUR"])
    model_version: str = Field(examples=["2026.01.31-120000"])


class ModelInfo(BaseModel):
    name: str
    version: str
    trained_at: str
    estimator: str
    features: list[str]
    metrics: dict[str, float]
    libraries: dict[str, str]


class Health(BaseModel):
    status: str = Field(examples=["healthy"])
    reason: str | None = None
