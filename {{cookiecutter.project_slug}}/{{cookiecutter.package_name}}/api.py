"""HTTP routes. Route names double as metric names (requests.<name>, see metrics.py)."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from .deps import Batcher, MaybeModel, Model
from .metrics import MODEL_TIMER, ROWS, statsd
from .model import LoadedModel, Property
from .schemas import BatchRequest, BatchValuation, Health, ModelInfo, Valuation
from .settings import settings

router = APIRouter()


def run_model(model: LoadedModel, properties: list[Property]) -> list[float]:
    """Every model call goes through here, timed and counted once, whether it answers one request or many."""
    with statsd.timer(MODEL_TIMER):
        values = model.predict(properties)
    statsd.incr(ROWS, len(values))
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
async def value_property(prop: Property, model: Model, batcher: Batcher) -> Valuation:
    """Estimate the market value of one property."""
    value = await batcher.submit(prop)  # grouped with concurrent requests: batching.py
    return Valuation(valuation=value, currency=settings.currency, model_version=model.version)


@router.post("/valuation/batch", name="valuation_batch", response_model=BatchValuation, tags=["valuation"])
async def value_properties(batch: BatchRequest, model: Model) -> BatchValuation:
    """Estimate many properties in one call (at most `maxItems` of `properties`, BATCH_LIMIT), for back-office jobs."""
    values = run_model(model, batch.properties)  # already one call for many rows
    return BatchValuation(valuations=values, currency=settings.currency, model_version=model.version)


@router.get("/model", name="model_info", response_model=ModelInfo, tags=["operations"])
async def model_info(model: Model) -> ModelInfo:
    """What is being served: model name, version, features and holdout metrics."""
    return ModelInfo.model_validate(model.metadata)
