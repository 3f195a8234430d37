"""The ASGI application: `uvicorn {{ cookiecutter.package_name }}.main:app`."""
# ruff: noqa: E402 (logging is configured before the other modules are imported)

from .logs import configure_logging
from .settings import settings

# First, so that every line is JSON: metrics.py, for one, may warn as it is imported.
configure_logging(settings.log_level)

import asyncio
import gc
import logging
import reprlib
import traceback
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi_standalone_docs import StandaloneDocs

from . import metrics, model
from .api import router, run_model
from .batching import MicroBatcher
from .deps import served_model
from .docs import describe
from .middleware import BodyLimit, InFlightLimit, RequestContext
from .prefix import RestorePrefix, StripPrefix

log = logging.getLogger(__name__)
YOUNG_OBJECTS_PER_COLLECTION = 20_000  # new container objects between collections of the youngest generation


@asynccontextmanager
async def lifespan(app: FastAPI):
    """Builds what the routes need (deps.py reads it from app.state) and releases it at shutdown."""
    try:
        loaded = model.load(settings.model_path, settings.model_threads)
    except model.ModelLoadError as error:
        log.error("cannot start: %s", error)
        raise
    log.info("model loaded", extra={"model_version": loaded.version, "path": str(settings.model_path)})
    app.state.model = loaded
    # Every model call goes through one batcher: concurrent single requests share a call (batching.py).
    app.state.batcher = MicroBatcher(
        partial(run_model, loaded),
        settings.micro_batch_size,
        settings.micro_batch_wait_ms,
        settings.model_thread_after_ms,
    )
    app.description = describe(loaded)
    app.openapi_schema = None  # rebuilt with the loaded model's description on the next request
    # The libraries and the model live as long as the process: take them out of the garbage
    # collector's view, so collections walk only what requests create, not the libraries'
    # objects (full collections over those pause requests under load). No gc.collect()
    # first: it would lengthen every cold start.
    gc.freeze()
    # Requests leave no garbage that needs the collector (tests/test_reference_cycles.py), but at
    # Python's threshold of 700 new container objects, those of the requests in flight set off a
    # collection every few requests: about 5% of a worker's time at 16 connections (the
    # performance page). Cycles your code may add are still freed, only later.
    gc.set_threshold(YOUNG_OBJECTS_PER_COLLECTION)
    sender = asyncio.create_task(metrics.send_pending(), name="metrics")
    yield
    # uvicorn has drained the requests by now: stop the batcher, release the model, send the last metrics
    await app.state.batcher.close()
    app.state.batcher = app.state.model = None
    sender.cancel()
    await asyncio.gather(sender, return_exceptions=True)


docs = {} if settings.docs_enabled else {"docs_url": None, "redoc_url": None, "openapi_url": None}
app = FastAPI(
    title="{{ cookiecutter.project_name }}",
    description=describe(None),
    version="1.0.0",
    lifespan=lifespan,
    # api.py's routes on the app itself: with `app.include_router(router)`, FastAPI matches every
    # request through a nested router, a large share of a single request's cost (performance page).
    routes=router.routes,
    **docs,
)
# Swagger UI and ReDoc load their scripts from the pinned fastapi-standalone-docs package
# (under /docs/ and /redoc/) instead of a CDN, so the pages work without internet access.
StandaloneDocs(app)
if settings.path_prefix:  # behind a shared load balancer's path rule (prefix.py); no cost otherwise
    app.add_middleware(RestorePrefix)  # innermost: the routes see /<PATH_PREFIX>/...
app.add_middleware(
    BodyLimit,
    default=settings.max_body_bytes,
    limits={"/{{ cookiecutter.prediction_name }}/batch": settings.batch_body_bytes},
)
app.add_middleware(InFlightLimit)  # before BodyLimit: a refused request is not read at all
app.add_middleware(RequestContext)  # it counts and logs the 503s of InFlightLimit too
if settings.path_prefix:
    app.add_middleware(StripPrefix, prefix=settings.path_prefix)  # outermost: the others see the plain paths


MAX_ERRORS = 20  # a 422 lists at most this many errors, then counts the rest
MAX_INPUT_CHARS = 100  # and shows at most this much of each bad value
excerpt = reprlib.Repr()  # containers cut to a few items, long texts to MAX_INPUT_CHARS
excerpt.maxstring = excerpt.maxother = MAX_INPUT_CHARS


def short(value: Any) -> Any:
    """A bad value as a 422 shows it: strings and containers cut to an excerpt, non-finite numbers as text."""
    if isinstance(value, str):  # lone surrogates (valid JSON escapes, not UTF-8) become "?"
        cut = value if len(value) <= MAX_INPUT_CHARS else value[:MAX_INPUT_CHARS] + "..."
        return cut.encode("utf-8", "replace").decode()
    if isinstance(value, float) and value - value != 0:  # NaN and Infinity are not JSON
        return str(value)
    if not value or isinstance(value, bool | int | float):  # None, numbers, empty containers
        return value
    return short(excerpt.repr(value))


@app.exception_handler(RequestValidationError)
async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
    """422 naming each bad field and what it allows (`loc`, `msg`, `ctx`), as FastAPI does, but of
    bounded size whatever the body: at most MAX_ERRORS errors, an excerpt of each bad value, and
    no echo of the whole object for a missing field."""
    await served_model(request)  # the access line names the model version (the hot route injects no dependency)
    # FastAPI keeps a body that is not JSON on the error, in a frame that refers back to the error:
    # a reference cycle, which would wait for the collector (rare here: lifespan). Free it now.
    traceback.clear_frames(error.__traceback__)
    errors = error.errors()
    detail = []
    for e in errors[:MAX_ERRORS]:
        shown = {"type": e["type"], "loc": [short(part) for part in e["loc"]], "msg": e["msg"]}
        if e["type"] != "missing":  # its input is the whole object the field is missing from
            shown["input"] = short(e.get("input"))
        if "ctx" in e:  # what the field allows, from the model's schema
            shown["ctx"] = e["ctx"]
        detail.append(shown)
    body: dict[str, Any] = {"detail": jsonable_encoder(detail)}
    if len(errors) > MAX_ERRORS:
        body["more_errors"] = len(errors) - MAX_ERRORS
    try:
        return JSONResponse(body, status_code=422)
    except ValueError:  # a `ctx` JSON cannot carry: name the fields without it
        body["detail"] = [{k: v for k, v in e.items() if k != "ctx"} for e in body["detail"]]
        return JSONResponse(body, status_code=422)
