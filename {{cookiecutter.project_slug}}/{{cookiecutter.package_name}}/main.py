"""The ASGI application: `uvicorn {{ cookiecutter.package_name }}.main:app`."""
# ruff: noqa: E402 (logging is configured before the other modules are imported)

from .logs import configure_logging
from .settings import settings

# First, so that every line is JSON: metrics.py, for one, may warn as it is imported.
configure_logging(settings.log_level)

import gc
import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi_standalone_docs import StandaloneDocs

from . import model
from .api import router
from .docs import describe
from .middleware import RequestContext

log = logging.getLogger(__name__)


@asynccontextmanager
async def lifespan(app: FastAPI):
    try:
        app.state.model = model.load(settings.model_path, settings.model_threads)
    except model.ModelLoadError as error:
        log.error("cannot start: %s", error)
        raise
    log.info("model loaded", extra={"model_version": app.state.model.version, "path": str(settings.model_path)})
    app.description = describe(app.state.model)
    app.openapi_schema = None  # rebuilt with the loaded model's description on the next request
    # The libraries and the model live as long as the process: take them out of the garbage
    # collector's view, so collections walk only what requests create. Without this, full
    # collections over the libraries' objects add pauses of tens of ms under load.
    # (No gc.collect() first: it would add ~0.2 s to every cold start.)
    gc.freeze()
    yield
    app.state.model = None  # uvicorn has drained the requests by now: release the model


docs = {} if settings.docs_enabled else {"docs_url": None, "redoc_url": None, "openapi_url": None}
app = FastAPI(
    title="{{ cookiecutter.project_name }}",
    description=describe(None),
    version="1.0.0",
    lifespan=lifespan,
    **docs,
)
# Swagger UI and ReDoc load their scripts from the pinned fastapi-standalone-docs package
# (under /docs/ and /redoc/) instead of a CDN, so the pages work without internet access.
StandaloneDocs(app)
app.include_router(router)
app.add_middleware(RequestContext)


@app.exception_handler(RequestValidationError)
async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
    """422 naming each bad field, as FastAPI does, but never a 500 for a body JSON cannot echo."""
    detail = jsonable_encoder(error.errors())
    try:
        return JSONResponse({"detail": detail}, status_code=422)
    except ValueError:  # NaN or Infinity in the echoed input
        return JSONResponse({"detail": [{k: v for k, v in e.items() if k != "input"} for e in detail]}, 422)
