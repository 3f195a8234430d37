"""What a route needs from the running app: the model and the batcher that main.lifespan builds
once per worker and keeps in `app.state`; nothing else reads `app.state`. Getting the model
also records its version for the access log line (logs.model_version), so the middleware never
looks the model up itself.

Most routes declare it in their signature (`model: Model`). The hot route, single
`/{{ cookiecutter.prediction_name }}`, calls `serving(request)` instead: each injected dependency costs FastAPI a
resolution step on every request, measurable at thousands of requests per second (the
performance page has the figures).
"""

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from .batching import MicroBatcher
from .contract import {{ cookiecutter.__item_class }}
from .logs import model_version
from .model import Answer, LoadedModel


async def served_model(request: Request) -> LoadedModel | None:
    """The model being served, or None before the lifespan has loaded it (or after it released it)."""
    loaded = getattr(request.app.state, "model", None)
    if loaded is not None:
        model_version.set(loaded.version)
    return loaded


async def loaded_model(request: Request) -> LoadedModel:
    """The model being served; 503 while there is none."""
    return serving(request)[0]


def serving(request: Request) -> tuple[LoadedModel, MicroBatcher[{{ cookiecutter.__item_class }}, Answer]]:
    """The model and the batcher that groups concurrent single requests (batching.py); 503 while
    there is no model."""
    state = request.app.state
    loaded = getattr(state, "model", None)
    if loaded is None:
        raise HTTPException(503, "The model is not loaded.")
    model_version.set(loaded.version)
    return loaded, state.batcher


# `async def` above, not `def`: FastAPI would run a plain function in a thread for every request.
MaybeModel = Annotated[LoadedModel | None, Depends(served_model)]
Model = Annotated[LoadedModel, Depends(loaded_model)]
