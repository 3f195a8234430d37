"""The introduction at the top of /docs and /redoc: what the service does, the model, how to call it."""

import json

from . import contract, model
from .settings import settings


def describe(loaded: model.LoadedModel | None) -> str:
    """The docs page's introduction (Markdown): what the service does, the model it serves, how to call it."""
    about = """
{%- for line in (cookiecutter.description | trim | wordwrap(50)).splitlines() -%}
{{ line | trim }}{{ "\n    " if not loop.last }}
{%- endfor %}"""
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
    example = json.dumps(contract.EXAMPLES[0])
    batch = '{"{{ cookiecutter.item_plural }}": [...]}'
    return f"""{about}

{served}

**How to call it.** `POST /{{ cookiecutter.prediction_name }}` with one {{ cookiecutter.item_name }} as JSON
returns its {{ cookiecutter.prediction_name }}; `POST /{{ cookiecutter.prediction_name }}/batch` with `{batch}`
(at most {settings.batch_limit}) returns one {{ cookiecutter.prediction_name }} per {{ cookiecutter.item_name }},
in order. A bad field gets a `422` whose `detail[].loc` names it.
Open an operation below and press **Try it out** to send its example, or from a shell
(locally; in AWS use the load balancer's URL):

```
curl -s http://localhost:8000/{{ cookiecutter.prediction_name }} \\
  -H 'content-type: application/json' -d '{example}'
```
"""
