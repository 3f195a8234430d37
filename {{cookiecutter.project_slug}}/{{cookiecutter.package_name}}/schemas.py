"""Response bodies and the batch request. The single request body is `model.Property`."""

from typing import Any

from pydantic import BaseModel, Field

from .model import Property
from .settings import settings


class Valuation(BaseModel):
    valuation: float = Field(description="Estimated market value in whole currency units.")
    currency: str = Field(examples=["EUR"])
    model_version: str


class BatchRequest(BaseModel):
    properties: list[Property] = Field(min_length=1, max_length=settings.batch_limit)


class BatchValuation(BaseModel):
    valuations: list[float] = Field(description="One value per property, in request order.")
    currency: str
    model_version: str


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

    def model_post_init(self, context: Any) -> None:
        # Keep the healthy body exactly {"status": "healthy"}.
        if self.reason is None:
            self.__pydantic_fields_set__.discard("reason")
