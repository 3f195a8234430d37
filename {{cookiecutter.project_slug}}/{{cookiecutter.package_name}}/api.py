"""HTTP routes. Route names double as metric names (requests.<name>, see metrics.py)."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from .contract import {{ cookiecutter.__item_class }}
from .deps import Batcher, MaybeModel, Model
from .metrics import MODEL_TIMER, ROWS, statsd
from .model import Answer, LoadedModel
from .schemas import Batch, BatchRequest, Health, ModelInfo, Single, many, one

router = APIRouter()


def run_model(model: LoadedModel, items: list[{{ cookiecutter.__item_class }}]) -> list[Answer]:
    """Every model call goes through here, timed and counted once, whether it answers one request or many."""
    with statsd.timer(MODEL_TIMER):
        answers = model.predict(items)
    statsd.incr(ROWS, len(answers))
    return answers


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


@router.post("/{{ cookiecutter.prediction_name }}", name="{{ cookiecutter.prediction_name }}", response_model=Single, tags=["{{ cookiecutter.prediction_name }}"])
async def predict_one(item: {{ cookiecutter.__item_class }}, model: Model, batcher: Batcher) -> Single:
    """The {{ cookiecutter.prediction_name }} of one {{ cookiecutter.item_name }}."""
    answer = await batcher.submit(item)  # grouped with concurrent requests: batching.py
    return one(answer, model.version)


@router.post("/{{ cookiecutter.prediction_name }}/batch", name="{{ cookiecutter.prediction_name }}_batch", response_model=Batch, tags=["{{ cookiecutter.prediction_name }}"])
async def predict_many(batch: BatchRequest, model: Model) -> Batch:
    """Many {{ cookiecutter.item_plural }} in one call (at most `maxItems` of `{{ cookiecutter.item_plural }}`, BATCH_LIMIT), for back-office jobs."""
    answers = run_model(model, batch.{{ cookiecutter.item_plural }})  # already one call for many rows
    return many(answers, model.version)


@router.get("/model", name="model_info", response_model=ModelInfo, tags=["operations"])
async def model_info(model: Model) -> ModelInfo:
    """What is being served: model name, version, features and holdout metrics."""
    return ModelInfo.model_validate(model.metadata)
