"""What a route needs, as dependencies it declares in its signature: `model: Model`.

main.lifespan builds these once per worker and keeps them in `app.state`; nothing else
reads `app.state`. A route that gets the model also records its version for the access
log line (logs.model_version), so the middleware never looks the model up itself.
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
    loaded = await served_model(request)
    if loaded is None:
        raise HTTPException(503, "The model is not loaded.")
    return loaded


async def batcher(request: Request) -> MicroBatcher[{{ cookiecutter.__item_class }}, Answer]:
    """The batcher that groups concurrent single requests into shared model calls (batching.py)."""
    return request.app.state.batcher


# `async def` above, not `def`: FastAPI would run a plain function in a thread for every request.
MaybeModel = Annotated[LoadedModel | None, Depends(served_model)]
Model = Annotated[LoadedModel, Depends(loaded_model)]
Batcher = Annotated[MicroBatcher[{{ cookiecutter.__item_class }}, Answer], Depends(batcher)]
