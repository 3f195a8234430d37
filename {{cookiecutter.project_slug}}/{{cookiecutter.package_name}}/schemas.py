"""Response bodies and the batch request, built from the contract (contract.py). The single
request body is `contract.{{ cookiecutter.__item_class }}`.

A {{ cookiecutter.prediction_name }} answers `{{ cookiecutter.prediction_name }}` (regression: a number, with the contract's
UNIT fields; classification: the most probable class, with `probabilities` per class); a batch
answers the same fields as lists, one entry per {{ cookiecutter.item_name }} in request order.
"""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, create_model

from . import contract
from .contract import {{ cookiecutter.__item_class }}
from .model import Answer
from .settings import settings

VERSION = (str, Field(examples=["2026.01.31-120000"]))

if contract.TASK == "regression":
    ANSWER = (float, Field(description=f"The model's {contract.TARGET}, rounded to {contract.DECIMALS} decimals."))
    ROW_FIELDS: dict[str, Any] = {"{{ cookiecutter.prediction_name }}": ANSWER}
    CONSTANT_FIELDS: dict[str, Any] = {name: (str, Field(examples=[unit])) for name, unit in contract.UNIT.items()}
else:
    Label = Literal[tuple(contract.CLASSES)]
    EVEN = {label: round(1 / len(contract.CLASSES), contract.DECIMALS) for label in contract.CLASSES}
    ROW_FIELDS = {
        "{{ cookiecutter.prediction_name }}": (Label, Field(description="The most probable class.")),
        "probabilities": (
            dict[Label, float],
            Field(description=f"Each class's probability, rounded to {contract.DECIMALS} decimals.", examples=[EVEN]),
        ),
    }
    CONSTANT_FIELDS = {}

NAME = "{{ cookiecutter.prediction_name.title().replace('_', '') }}"  # of the response bodies in the OpenAPI schema
Single = create_model(NAME, **ROW_FIELDS, **CONSTANT_FIELDS, model_version=VERSION)
Batch = create_model(
    "Batch" + NAME,
    **{
        ("{{ cookiecutter.prediction_plural }}" if name == "{{ cookiecutter.prediction_name }}" else name): (
            list[kind],
            Field(description=f"One per {{ cookiecutter.item_name }}, in order. {info.description or ''}".strip()),
        )
        for name, (kind, info) in ROW_FIELDS.items()
    },
    **CONSTANT_FIELDS,
    model_version=VERSION,
)


def one(answer: Answer, version: str) -> BaseModel:
    """The response to one {{ cookiecutter.item_name }}."""
    if contract.TASK == "regression":
        return Single({{ cookiecutter.prediction_name }}=answer, **contract.UNIT, model_version=version)
    label, probabilities = answer
    return Single({{ cookiecutter.prediction_name }}=label, probabilities=probabilities, model_version=version)


def many(answers: list[Answer], version: str) -> BaseModel:
    """The response to a batch: the answers' fields as lists, in request order."""
    if contract.TASK == "regression":
        return Batch({{ cookiecutter.prediction_plural }}=answers, **contract.UNIT, model_version=version)
    return Batch(
        {{ cookiecutter.prediction_plural }}=[label for label, _ in answers],
        probabilities=[probabilities for _, probabilities in answers],
        model_version=version,
    )


# Each item is checked against {{ cookiecutter.__item_class }} by the route, a chunk at a time (api.py), not here all
# at once: a large batch must not hold the event loop for the whole of its validation. Only the
# list is checked here; the published schema still says a list of {{ cookiecutter.__item_class }}.
Rows = Annotated[
    list[Any],
    BeforeValidator(lambda rows: rows, json_schema_input_type=list[{{ cookiecutter.__item_class }}]),
]


class BatchRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"{{ cookiecutter.item_plural }}": contract.EXAMPLES}]})

    {{ cookiecutter.item_plural }}: Rows = Field(
        min_length=1,
        max_length=settings.batch_limit,
        json_schema_extra={"minItems": 1, "maxItems": settings.batch_limit},
    )


class ModelInfo(BaseModel):
    name: str
    version: str
    trained_at: str
    task: str
    estimator: str
    features: list[str]
    classes: list[str] = []
    metrics: dict[str, float]
    libraries: dict[str, str]


class Health(BaseModel):
    status: str = Field(examples=["healthy"])
    reason: str | None = None
