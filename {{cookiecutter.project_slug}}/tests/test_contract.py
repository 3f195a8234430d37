{%- import "imports.jinja" as imports -%}
"""Cases built from the contract (contract.py), so they follow the model when it is swapped: the
documented examples are answered (as model.json records them), every field refuses a bad value by
name and reaches the model, batches keep their order and agree with single requests, and the
exported model answers as the trained one does."""

import json
import math

import numpy as np
import pytest

from {{ cookiecutter.package_name }} import contract
{{ imports.line(cookiecutter.package_name ~ ".contract", ["EXAMPLES", cookiecutter.__item_class]) }}
{{ imports.line(cookiecutter.package_name ~ ".model", ["load", "metadata_path", "open_session"]) }}

from .conftest import (
    ANSWER,
    ANSWERS,
    BATCH_KEY,
    BATCH_ROUTE,
    FIELDS,
    ROUTE,
    complete,
    drawn_value,
    needs_training,
    value_schema,
)


def bad_values(schema: dict) -> list:
    """Values a field's JSON schema refuses: another type, just past each bound, outside its allowed set."""
    schema = value_schema(schema)
    kind = schema.get("type")
    values: list = [{"not": "a value"}]
    if kind in ("integer", "number"):
        values.append("many")
    if kind == "integer":
        values.append(2.5)
    if kind == "boolean":
        values.append("maybe")
    if "enum" in schema:
        values.append("not-one-of-" + "-".join(map(str, schema["enum"])))
    for bound, step in (("minimum", -1), ("maximum", 1)):
        if bound in schema:
            values.append(schema[bound] + step)
    for bound in ("exclusiveMinimum", "exclusiveMaximum"):
        if bound in schema:
            values.append(schema[bound])
    return values


BAD = [(field, value) for field, schema in FIELDS.items() for value in bad_values(schema)]


def check_answer(body: dict) -> None:
    """An answer has the contract's shape: a number and the units, or a class and its probabilities."""
    if contract.TASK == "regression":
        assert set(body) == {ANSWER, *contract.UNIT, "model_version"}
        assert math.isfinite(body[ANSWER])
        assert round(body[ANSWER], contract.DECIMALS) == body[ANSWER]
        assert {name: body[name] for name in contract.UNIT} == contract.UNIT
    else:
        assert set(body) == {ANSWER, "probabilities", "model_version"}
        assert list(body["probabilities"]) == contract.CLASSES
        assert abs(sum(body["probabilities"].values()) - 1) < 1e-3
        assert all(round(p, contract.DECIMALS) == p for p in body["probabilities"].values())
        assert body["probabilities"][body[ANSWER]] == max(body["probabilities"].values())


def test_there_are_several_examples_and_a_bad_value_for_every_field():
    assert len(EXAMPLES) >= 2
    assert {field for field, _ in BAD} == set({{ cookiecutter.__item_class }}.model_fields)


@pytest.mark.parametrize("example", EXAMPLES, ids=range(len(EXAMPLES)))
def test_each_documented_example_is_answered(client, example):
    response = client.post(ROUTE, json=example)
    assert response.status_code == 200, response.text
    check_answer(response.json())
    assert response.json()["model_version"] == "test-1"


@pytest.mark.parametrize(("field", "value"), BAD, ids=[f"{field}={value!r}" for field, value in BAD])
def test_a_bad_value_gets_422_naming_its_field(client, field, value):
    assert field in {{ cookiecutter.__item_class }}.model_fields  # the field exists: its 422 is about the value
    assert {{ cookiecutter.__item_class }}.model_validate(EXAMPLES[0])  # and the rest of the body is good
    response = client.post(ROUTE, json={**EXAMPLES[0], field: value})
    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["detail"]] == [["body", field]]


def test_an_unknown_field_and_a_missing_one_are_named(client):
    assert client.post(ROUTE, json={**EXAMPLES[0], "unknown_field": 1}).json()["detail"][0]["loc"] == [
        "body",
        "unknown_field",
    ]
    required = [name for name, field in {{ cookiecutter.__item_class }}.model_fields.items() if field.is_required()]
    for name in required:
        body = {k: v for k, v in EXAMPLES[0].items() if k != name}
        assert client.post(ROUTE, json=body).json()["detail"][0]["loc"] == ["body", name]


def singles(client, items: list[dict]) -> list[dict]:
    return [client.post(ROUTE, json=item).json() for item in items]


@pytest.mark.parametrize("order", ["as documented", "reversed"])
def test_a_batch_answers_in_order_as_single_requests_do(client, order):
    items = EXAMPLES if order == "as documented" else EXAMPLES[::-1]
    response = client.post(BATCH_ROUTE, json={BATCH_KEY: items})
    assert response.status_code == 200, response.text
    batch = response.json()
    one_by_one = singles(client, items)
    assert batch[ANSWERS] == [single[ANSWER] for single in one_by_one]
    if contract.TASK == "classification":
        assert batch["probabilities"] == [single["probabilities"] for single in one_by_one]
    constant = {name: value for name, value in one_by_one[0].items() if name not in (ANSWER, "probabilities")}
    assert {name: batch[name] for name in constant} == constant  # units and model version


@needs_training
def test_the_exported_model_answers_as_the_trained_one(tmp_path):
    from model import train as training
    from model.sample_data import generate

    records, target = generate(1500, seed=7)
    if contract.TASK == "classification":
        target = [contract.CLASSES.index(label) for label in target]
    rows = contract.to_matrix([{{ cookiecutter.__item_class }}(**record) for record in records])
    estimator = training.fit(training.build_estimator(), rows, np.asarray(target))
    training.export_onnx(estimator, tmp_path / "model.onnx", "check")
    session = open_session(tmp_path / "model.onnx")
    [served] = session.run(None, {session.get_inputs()[0].name: rows})
    trained = training.predictions(estimator, rows)
    assert training.export_difference(served, trained) <= contract.TOLERANCE
    if contract.TASK == "classification":  # and the same class wherever the two best are not tied
        second, best = np.sort(trained, axis=1)[:, -2:].T
        assert (served.argmax(axis=1) == trained.argmax(axis=1))[best - second > 1e-3].all()


def test_the_conversion_was_checked_within_the_declared_tolerance(artifact):
    """Training (or the import) compared ONNX Runtime's answers with the original model's."""
    meta = json.loads(metadata_path(artifact).read_text())
    assert meta["tolerance"] == contract.TOLERANCE
    assert 0 <= meta["onnx_check"]["max_difference"] <= contract.TOLERANCE


def same_within(served, recorded, tolerance: float) -> bool:
    """Every number within `tolerance` of the recorded one, everything else equal (shared-formats.md)."""
    if isinstance(recorded, dict):
        return (
            isinstance(served, dict)
            and served.keys() == recorded.keys()
            and all(same_within(served[key], recorded[key], tolerance) for key in recorded)
        )
    if isinstance(recorded, (int, float)) and not isinstance(recorded, bool):
        return isinstance(served, (int, float)) and abs(served - recorded) <= tolerance
    return served == recorded


def test_model_json_records_each_documented_example_and_its_answer(client, artifact):
    """What the deploy-time check sends and expects: contract.EXAMPLES, in order, with the answers."""
    meta = json.loads(metadata_path(artifact).read_text())
    assert isinstance(meta["tolerance"], float) and meta["tolerance"] == contract.TOLERANCE
    assert all(set(example) == {"request", "response"} for example in meta["examples"])
    assert [example["request"] for example in meta["examples"]] == EXAMPLES
    for example in meta["examples"]:
        assert "model_version" not in example["response"]
        answer = client.post(ROUTE, json=example["request"]).json()
        assert answer.pop("model_version") == "test-1"
        assert same_within(answer, example["response"], meta["tolerance"]), (answer, example["response"])


def test_a_stale_recorded_answer_is_caught():
    """The comparison the two tests above rely on can fail."""
    assert not same_within({ANSWER: 1.0}, {ANSWER: 1.0 + 2 * contract.TOLERANCE}, contract.TOLERANCE)
    assert not same_within({ANSWER: "a"}, {ANSWER: "b"}, contract.TOLERANCE)


def another_value(name: str, value):
    """A valid value of the field other than `value`."""
    schema = value_schema(FIELDS[name])
    if schema.get("type") == "boolean":
        return not value
    rng = np.random.default_rng(0)
    for _ in range(100):
        other = drawn_value(FIELDS[name], rng, value)
        if other != value:
            return other
    raise AssertionError(f"{name} allows no value but {value!r}: a constant is not a request field")


@pytest.mark.parametrize("field", list(FIELDS))
def test_every_field_reaches_the_model(artifact, field):
    """Changing one field changes what the model is given (to_matrix's row, or the field's input)."""
    served = load(artifact)
    base = complete(EXAMPLES[0])
    changed = {**base, field: another_value(field, base[field])}
    before, after = (served.model_input([{{ cookiecutter.__item_class }}(**body)]) for body in (base, changed))
    assert any(not np.array_equal(before[name], after[name]) for name in before), f"{field} never reaches the model"
