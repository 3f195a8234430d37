"""The introduction at the top of /docs and /redoc: what the service does, the model, how to call it."""

import json

from . import model
from .settings import settings


def describe(loaded: model.LoadedModel | None) -> str:
    """The docs page's introduction (Markdown): what the service does, the model it serves, how to call it."""
    about = "{{ cookiecutter.description }}"
    if loaded is None:
        served = "The model is not loaded yet."
    else:  # .get: a metadata file without a field must not stop the service over its docs
        meta = loaded.metadata
        scores = ", ".join(f"{name} {value}" for name, value in meta.get("metrics", {}).items())
        served = (
            f"Serving model `{meta.get('name')}` version `{loaded.version}`, trained {meta.get('trained_at')} "
            f"({meta.get('estimator')}). Holdout metrics: {scores or 'none recorded'}. "
            "`GET /model` returns all of this as JSON."
        )
    example = json.dumps((model.Property.model_json_schema().get("examples") or [{}])[0])
    batch = '{"properties": [...]}'
    return f"""{about}

{served}

**How to call it.** `POST /valuation` with one property as JSON returns its valuation;
`POST /valuation/batch` with `{batch}` (at most {settings.batch_limit}) returns one
valuation per property, in order. A bad field gets a `422` whose `detail[].loc` names it.
Open an operation below and press **Try it out** to send its example, or from a shell
(locally; in AWS use the load balancer's URL):

```
curl -s http://localhost:8000/valuation -H 'content-type: application/json' -d '{example}'
```
"""
