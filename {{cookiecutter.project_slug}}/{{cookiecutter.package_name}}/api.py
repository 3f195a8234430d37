"""HTTP routes. Route names double as metric names (requests.<name>, see metrics.py)."""

import asyncio
import time

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, TypeAdapter, ValidationError

from . import metrics
from .contract import {{ cookiecutter.__item_class }}
from .deps import MaybeModel, Model, serving
from .model import Answer, LoadedModel
from .schemas import Batch, BatchRequest, Health, ModelInfo, Single, many, one

router = APIRouter()
CHUNK_ROWS = 250  # a batch is checked and valued this many rows at a time, other requests served in between
ITEMS = TypeAdapter(list[{{ cookiecutter.__item_class }}])
BATCH_KEY = "{{ cookiecutter.item_plural }}"


def as_json(body: BaseModel) -> Response:
    """The answer serialized once, by pydantic. Returned as a model, FastAPI would dump it, check
    it against `response_model` (which still documents it) and encode it again: a measurable
    share of a single request (the performance page)."""
    return Response(body.model_dump_json(), media_type="application/json")


def run_model(model: LoadedModel, items: list[{{ cookiecutter.__item_class }}]) -> list[Answer]:
    """Every model call goes through here, timed and counted once, whether it answers one request or many."""
    started = time.perf_counter()
    answers = model.predict(items)
    metrics.record_model_call(len(answers), (time.perf_counter() - started) * 1000)
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


@router.post(
    "/{{ cookiecutter.prediction_name }}",
    name="{{ cookiecutter.prediction_name }}",
    response_model=Single,
    tags=["{{ cookiecutter.prediction_name }}"],
)
async def predict_one(item: {{ cookiecutter.__item_class }}, request: Request) -> Response:
    """The {{ cookiecutter.prediction_name }} of one {{ cookiecutter.item_name }}."""
    model, batcher = serving(request)  # not injected: the hot route saves FastAPI's resolution steps (deps.py)
    answer = await batcher.submit(item)  # grouped with concurrent requests: batching.py
    return as_json(one(answer, model.version))


@router.post(
    "/{{ cookiecutter.prediction_name }}/batch",
    name="{{ cookiecutter.prediction_name }}_batch",
    response_model=Batch,
    tags=["{{ cookiecutter.prediction_name }}"],
)
async def predict_many(batch: BatchRequest, request: Request) -> Response:
    """Many {{ cookiecutter.item_plural }} in one call, for back-office jobs: at most BATCH_LIMIT,
    the `maxItems` of `{{ cookiecutter.item_plural }}`."""
    model, batcher = serving(request)
    # A chunk at a time, letting the event loop serve other requests in between (`sleep(0)`),
    # and one batch request at a time: single requests keep their latency while large
    # batches are checked and answered (batching.py).
    rows, items, errors = batch.{{ cookiecutter.item_plural }}, [], []
    async with batcher.batch_turn:
        for start in range(0, len(rows), CHUNK_ROWS):
            try:  # from_attributes as FastAPI validates bodies: the same errors as before chunking
                items += ITEMS.validate_python(rows[start : start + CHUNK_ROWS], from_attributes=True)
            except ValidationError as error:  # located in the request, as FastAPI would: body.<key>.<i>.<field>
                for e in error.errors():
                    errors.append({**e, "loc": ("body", BATCH_KEY, start + e["loc"][0], *e["loc"][1:])})
            await asyncio.sleep(0)
        if errors:
            raise RequestValidationError(errors)
        answers = []
        for start in range(0, len(items), CHUNK_ROWS):
            answers += await batcher.call(items[start : start + CHUNK_ROWS])
            await asyncio.sleep(0)
    return as_json(many(answers, model.version))


@router.get("/model", name="model_info", response_model=ModelInfo, tags=["operations"])
async def model_info(model: Model) -> ModelInfo:
    """What is being served: model name, version, features and holdout metrics."""
    return ModelInfo.model_validate(model.metadata)
