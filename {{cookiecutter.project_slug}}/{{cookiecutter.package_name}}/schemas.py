"""Response bodies and the batch request. The single request body is `model.Property`."""

from pydantic import BaseModel, ConfigDict, Field

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

    properties: list[Property] = Field(min_length=1, max_length=settings.batch_limit)


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
