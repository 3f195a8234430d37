"""HTTP routes. Route names double as metric names (requests.<name>.2xx)."""

from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from .batching import MicroBatcher
from .metrics import BATCH_TIMER, VALUATION_TIMER, statsd
from .model import LoadedModel, Property
from .schemas import BatchRequest, BatchValuation, Health, ModelInfo, Valuation
from .settings import settings


@asynccontextmanager
async def model_runner(app: FastAPI):
    """Runs after main.lifespan has loaded the model: every prediction goes through one batcher."""
    app.state.batcher = MicroBatcher(app.state.model.predict, settings.micro_batch_size, settings.micro_batch_wait_ms)
    yield
    await app.state.batcher.close()


router = APIRouter(lifespan=model_runner)


def loaded_model(request: Request) -> LoadedModel:
    return request.app.state.model


def batcher(request: Request) -> MicroBatcher[Property, float]:
    return request.app.state.batcher


@router.get(
    "/health-check",
    name="health_check",
    response_model=Health,
    response_model_exclude_unset=True,
    responses={503: {"model": Health, "description": "The model is not loaded."}},
    tags=["operations"],
)
async def health_check(request: Request):
    """Liveness for the load balancer: healthy once the model is loaded."""
    if getattr(request.app.state, "model", None) is None:
        return JSONResponse({"status": "unhealthy", "reason": "model not loaded"}, status_code=503)
    return {"status": "healthy"}


@router.post("/valuation", name="valuation", response_model=Valuation, tags=["valuation"])
async def value_property(request: Request, prop: Property) -> Valuation:
    """Estimate the market value of one property."""
    model = loaded_model(request)
    with statsd.timer(VALUATION_TIMER):
        value = await batcher(request).predict(prop)  # grouped with concurrent requests: batching.py
    return Valuation(valuation=value, currency=settings.currency, model_version=model.version)


@router.post(
    "/valuation/batch",
    name="valuation_batch",
    response_model=BatchValuation,
    tags=["valuation"],
    description=f"Estimate many properties in one call (at most {settings.batch_limit}), for back-office jobs.",
)
async def value_properties(request: Request, batch: BatchRequest) -> BatchValuation:
    model = loaded_model(request)
    with statsd.timer(BATCH_TIMER):
        values = model.predict(batch.properties)  # already one call for many rows
    return BatchValuation(valuations=values, currency=settings.currency, model_version=model.version)


@router.get("/model", name="model_info", response_model=ModelInfo, tags=["operations"])
async def model_info(request: Request) -> ModelInfo:
    """What is being served: model name, version, features and holdout metrics."""
    return ModelInfo.model_validate(loaded_model(request).metadata)
