"""HTTP routes. Route names double as metric names (requests.<name>, see metrics.py)."""

import asyncio
import time

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import TypeAdapter, ValidationError

from . import metrics
from .deps import MaybeModel, Model, serving
from .model import LoadedModel, Property
from .schemas import BatchRequest, BatchValuation, Health, ModelInfo, Valuation
from .settings import settings

router = APIRouter()
CHUNK_ROWS = 100  # a batch is checked and valued this many rows at a time, other requests served in between
PROPERTIES = TypeAdapter(list[Property])


def run_model(model: LoadedModel, properties: list[Property]) -> list[float]:
    """Every model call goes through here, timed and counted once, whether it answers one request or many."""
    started = time.perf_counter()
    values = model.predict(properties)
    metrics.record_model_call(len(values), (time.perf_counter() - started) * 1000)
    return values


@router.get(
    "/health-check",
    name="health_check",
    response_model=Health,
    response_model_exclude_unset=True,
    responses={503: {"model": Health, "description": "The model is not loaded."}},
    tags=["operations"],
)
async def health_check(model: MaybeModel):
    """Liveness for the load balancer: healthy once the model is loaded."""
    if model is None:
        return JSONResponse({"status": "unhealthy", "reason": "model not loaded"}, status_code=503)
    return {"status": "healthy"}


@router.post("/valuation", name="valuation", response_model=Valuation, tags=["valuation"])
async def value_property(prop: Property, request: Request) -> Valuation:
    """Estimate the market value of one property."""
    model, batcher = serving(request)  # not injected: the hot route saves FastAPI's resolution steps (deps.py)
    value = await batcher.submit(prop)  # grouped with concurrent requests: batching.py
    return Valuation(valuation=value, currency=settings.currency, model_version=model.version)


@router.post("/valuation/batch", name="valuation_batch", response_model=BatchValuation, tags=["valuation"])
async def value_properties(batch: BatchRequest, model: Model) -> BatchValuation:
    """Estimate many properties in one call (at most `maxItems` of `properties`, BATCH_LIMIT), for back-office jobs."""
    # A chunk at a time, letting the event loop serve other requests in between (`sleep(0)`):
    # single valuations keep their latency while a large batch is checked and valued.
    rows, properties, errors = batch.properties, [], []
    for start in range(0, len(rows), CHUNK_ROWS):
        try:  # from_attributes as FastAPI validates bodies: the same errors as before chunking
            properties += PROPERTIES.validate_python(rows[start : start + CHUNK_ROWS], from_attributes=True)
        except ValidationError as error:  # located in the request, as FastAPI would: body.properties.<i>.<field>
            errors += [{**e, "loc": ("body", "properties", start + e["loc"][0], *e["loc"][1:])} for e in error.errors()]
        await asyncio.sleep(0)
    if errors:
        raise RequestValidationError(errors)
    values = []
    for start in range(0, len(properties), CHUNK_ROWS):
        values += run_model(model, properties[start : start + CHUNK_ROWS])
        await asyncio.sleep(0)
    return BatchValuation(valuations=values, currency=settings.currency, model_version=model.version)


@router.get("/model", name="model_info", response_model=ModelInfo, tags=["operations"])
async def model_info(model: Model) -> ModelInfo:
    """What is being served: model name, version, features and holdout metrics."""
    return ModelInfo.model_validate(model.metadata)
