"""contract.py written from a model and its data: each field's type, its range or allowed values
as DATA holds them, and examples taken from DATA's rows."""

import datetime
import json
import math
import textwrap

import pandas as pd

from model.convert import field_name

MOST_ALLOWED_VALUES = 50  # a text column with more distinct values is free text (str)


def field_line(name: str, column: pd.Series) -> str:
    """One field of the request class, from what the column holds."""
    present = column.dropna()
    optional = len(present) < len(column)
    if pd.api.types.is_bool_dtype(column):
        kind, bounds = "bool", ""
    elif pd.api.types.is_integer_dtype(present) or (
        pd.api.types.is_float_dtype(present) and optional and (present % 1 == 0).all()
    ):
        kind, bounds = "int", f"ge={int(present.min())}, le={int(present.max())}"
    elif pd.api.types.is_numeric_dtype(column):
        kind, bounds = "float", f"ge={float(present.min())!r}, le={float(present.max())!r}"
    else:
        values = sorted(str(value) for value in present.unique())
        if len(values) <= MOST_ALLOWED_VALUES:
            kind, bounds = f"Literal[{', '.join(json.dumps(value) for value in values)}]", ""
        else:
            kind, bounds = "str", f"max_length={max(len(value) for value in values) * 2}"
    if optional:  # a missing value is sent as null, or left out; the model gets NaN
        missing = f"Missing in {len(column) - len(present):,} of DATA's {len(column):,} rows."
        return f"    {name}: {kind} | None = Field(None, {bounds + ', ' if bounds else ''}description={missing!r})"
    return f"    {name}: {kind} = Field({bounds})" if bounds else f"    {name}: {kind}"


def example(row: pd.Series, columns: list[str]) -> dict:
    values = {}
    for column in columns:
        value = row[column]
        if isinstance(value, float) and math.isnan(value):
            continue  # a missing value: the field is optional
        values[field_name(column)] = value.item() if hasattr(value, "item") else value
    return values


def literal(value: object, indent: str) -> str:
    """A Python literal within 120 characters: on one line if it fits, else one item a line."""
    text = repr(value)
    if len(indent) + len(text) < 100 or not isinstance(value, (dict, list)):
        return text
    inner = indent + "    "
    if isinstance(value, dict):
        items = [f"{inner}{key!r}: {literal(item, inner)}," for key, item in value.items()]
        return "{\n" + "\n".join(items) + f"\n{indent}}}"
    return "[\n" + "\n".join(f"{inner}{literal(item, inner)}," for item in value) + f"\n{indent}]"


def write(
    *,
    item_class: str,
    data: pd.DataFrame,
    columns: list[str],
    task: str,
    classes: list[str],
    target: str,
    tolerance: float,
    tolerance_reason: str,
    decimals: int,
    source: str,
) -> str:
    """The text of contract.py."""
    complete = data.dropna(subset=columns)
    rows = (complete if len(complete) >= 3 else data).head(3)
    examples = [example(row, columns) for _, row in rows.iterrows()]
    fields = "\n".join(field_line(field_name(column), data[column]) for column in columns)
    features = [field_name(column) for column in columns]
    today = datetime.date.today().isoformat()
    no_units, schema_examples = "{}", '{"examples": EXAMPLES}'  # (no doubled braces: this file is a template too)
    written = textwrap.fill(f"Written by `make import-model` on {today} from {source}.", 96, break_on_hyphens=False)
    reason = textwrap.indent(textwrap.fill(tolerance_reason, 94, break_on_hyphens=False), "# ")
    return f'''"""The model's contract: what one request describes and what the model answers.

{written}
Each field's type, range or allowed values are what DATA holds; EXAMPLES are its first rows.
It is yours to edit like any other file (widen a range, describe a field, rename a class);
`make import-model` again rewrites it.
The model takes one input per field, named as the field (FEATURES): its preprocessing is in
the ONNX graph, so there is no to_matrix.
"""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# What the model answers. "regression": one number per request, rounded to DECIMALS, with the UNIT
# fields beside it in every answer. "classification": the most probable of CLASSES (the ONNX
# model's probability columns, in order) and every class's probability.
TASK: Literal["regression", "classification"] = {task!r}
UNIT: dict[str, str] = {no_units}  # constant fields of every answer, for example a unit of measure
DECIMALS = {decimals}
CLASSES: list[str] = {literal(classes, "")}
TARGET = {target!r}  # what the model predicts, for the model's metadata
# How far a served answer may be from the original model's (absolute, on the value or on each
# class probability), declared once: the import's check, the tests and the deploy-time check of
# EXAMPLES (model.json) use it.
{reason}
TOLERANCE = {tolerance!r}

# Requests the docs show and the tests send; each must answer 200.
EXAMPLES = {literal(examples, "")}


class {item_class}(BaseModel):
    """One request: the columns of the data the model was imported with."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={schema_examples})

{fields}


# The model's inputs, one per field; recorded in the artifact and checked at load.
FEATURES = {literal(features, "")}
'''
