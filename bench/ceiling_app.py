"""The framework's ceiling: FastAPI validating the bake's own request body, answering a constant.

No model, no metrics, no middleware: what FastAPI and uvicorn alone cost for the single route,
with the very input class the service validates. bench/run.py starts it from the bake's folder
with the service's uvicorn flags and these environment variables: BENCH_APP (the service's
app, `package.main:app`), BENCH_PATH (its single route) and BENCH_ANSWER (the JSON the service
answered for the documented example).

`python ceiling_app.py package.main:app /path` prints the input class as `module:qualname`
(bench/run.py hands it to the peer, which cannot import the service's app).
"""

import importlib
import json
import os
import sys
from collections.abc import Iterator

from fastapi import FastAPI
from fastapi.routing import APIRoute


def api_routes(routes: list) -> Iterator[APIRoute]:
    """Every APIRoute, including those of included routers (FastAPI nests them)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        else:
            yield from api_routes(getattr(getattr(route, "original_router", route), "routes", []))


def body_model(app_path: str, path: str) -> type:
    """The request body class of `POST path` in the app at `module:attribute`."""
    module, _, attribute = app_path.partition(":")
    served = getattr(importlib.import_module(module), attribute)
    [route] = [r for r in api_routes(served.routes) if r.path == path and "POST" in r.methods]
    return route.body_field.field_info.annotation


if __name__ == "__main__":
    found = body_model(sys.argv[1], sys.argv[2])
    print(f"{found.__module__}:{found.__qualname__}", file=sys.stderr)  # the service's logging owns stdout
    sys.exit(0)

Input = body_model(os.environ["BENCH_APP"], os.environ["BENCH_PATH"])
ANSWER = json.loads(os.environ["BENCH_ANSWER"])
app = FastAPI(title="ceiling")


@app.get("/health-check")
async def health_check():
    return {"status": "healthy"}


@app.post(os.environ["BENCH_PATH"])
async def constant(item: Input):  # validated, then ignored
    return ANSWER
