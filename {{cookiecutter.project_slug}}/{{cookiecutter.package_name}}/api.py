"""HTTP routes. Route names double as metric names (requests.<name>, see metrics.py)."""

from contextlib import asynccontextmanager
from functools import partial

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from .batching import MicroBatcher
from .metrics import MODEL_TIMER, ROWS, statsd
from .model import LoadedModel, Property
from .schemas import BatchRequest, BatchValuation, Health, ModelInfo, Valuation
from .settings import settings


def predict(model: LoadedModel, properties: list[Property]) -> list[float]:
    """Every model call goes through here, timed and counted once, whether it answers one request or many."""
    with statsd.timer(MODEL_TIMER):
        values = model.predict(properties)
    statsd.incr(ROWS, len(values))
    return values


@asynccontextmanager
async def model_runner(app: FastAPI):
    """Runs after main.lifespan has loaded the model: single valuations share one batcher."""
    app.state.batcher = MicroBatcher(
        partial(predict, app.state.model), settings.micro_batch_size, settings.micro_batch_wait_ms
    )
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
    values = predict(model, batch.properties)  # already one call for many rows
    return BatchValuation(valuations=values, currency=settings.currency, model_version=model.version)


@router.get("/model", name="model_info", response_model=ModelInfo, tags=["operations"])
async def model_info(request: Request) -> ModelInfo:
    """What is being served: model name, version, features and holdout metrics."""
    return ModelInfo.model_validate(loaded_model(request).metadata)
