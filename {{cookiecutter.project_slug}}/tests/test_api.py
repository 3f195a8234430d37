import json

import pytest

from {{ cookiecutter.package_name }} import contract
from {{ cookiecutter.package_name }}.contract import {{ cookiecutter.__item_class }}
from {{ cookiecutter.package_name }}.settings import settings

from .conftest import BATCH_KEY, BATCH_ROUTE, EXAMPLE, ROUTE


def test_health_check_is_exactly_healthy(client):
    response = client.get("/health-check")
    assert response.status_code == 200
    assert response.json() == {"status": "healthy"}


def test_health_check_and_routes_answer_503_while_no_model_is_loaded(client):
    loaded = client.app.state.model
    client.app.state.model = None
    try:
        response = client.get("/health-check")
        answer = client.post(ROUTE, json=EXAMPLE)
        info = client.get("/model")
    finally:
        client.app.state.model = loaded
    assert response.status_code == 503
    assert response.json() == {"status": "unhealthy", "reason": "model not loaded"}
    assert answer.status_code == info.status_code == 503
    assert answer.json() == {"detail": "The model is not loaded."}


OPTIONAL = [name for name, field in {{ cookiecutter.__item_class }}.model_fields.items() if not field.is_required()]


@pytest.mark.parametrize("field", OPTIONAL)
def test_an_optional_field_may_be_left_out(client, field):
    assert client.post(ROUTE, json={k: v for k, v in EXAMPLE.items() if k != field}).status_code == 200


def test_batch_over_the_limit_is_refused_with_the_limit(client):
    response = client.post(BATCH_ROUTE, json={BATCH_KEY: [EXAMPLE] * (settings.batch_limit + 1)})
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", BATCH_KEY]
    assert str(settings.batch_limit) in error["msg"]


def test_a_bad_item_deep_in_a_batch_is_named_by_its_index(client):
    field = next(iter(EXAMPLE))  # a list is no scalar field's value
    items = [EXAMPLE] * 250
    items[1], items[237] = "not an object", {**EXAMPLE, field: []}  # in the first and a later chunk
    response = client.post(BATCH_ROUTE, json={BATCH_KEY: items})
    assert response.status_code == 422
    errors = response.json()["detail"]
    assert [e["loc"] for e in errors] == [["body", BATCH_KEY, 1], ["body", BATCH_KEY, 237, field]]
    assert errors[0]["type"] == "model_attributes_type"


def test_empty_batch_is_refused(client):
    response = client.post(BATCH_ROUTE, json={BATCH_KEY: []})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", BATCH_KEY]


@pytest.mark.parametrize(
    "content",
    [b"", b"not json", b"[]", b"{", b'{"x": NaN}', b"null", "\u00e9".encode("latin-1")],
)
def test_malformed_bodies_are_client_errors_not_500(client, content):
    response = client.post(ROUTE, content=content, headers={"content-type": "application/json"})
    assert response.status_code in (400, 422)  # 400 only for bytes that are not text


@pytest.mark.parametrize("field", [next(iter({{ cookiecutter.__item_class }}.model_fields)), "unknown_field"])
def test_a_lone_surrogate_is_a_422_naming_the_field(client, field):
    """JSON can escape a lone surrogate; UTF-8 cannot carry it: the 422 must not echo it as it is."""
    content = json.dumps({**EXAMPLE, field: "\udda2 x"}).encode()
    response = client.post(ROUTE, content=content, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", field]


FIELDS = {{ cookiecutter.__item_class }}.model_json_schema()["properties"]
NUMBERS = [name for name, schema in FIELDS.items() if schema.get("type") == "number"]


@pytest.mark.parametrize("field", NUMBERS)
def test_nan_is_refused(client, field):
    content = json.dumps({**EXAMPLE, field: float("nan")}).encode()  # NaN: valid for Python's json, not JSON
    response = client.post(ROUTE, content=content, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", field]


def test_model_endpoint_describes_the_loaded_model(client):
    body = client.get("/model").json()
    assert body["version"] == "test-1"
    assert body["features"] == contract.FEATURES and body["task"] == contract.TASK
    if contract.TASK == "regression":
        assert {"mae", "mape", "r2"} <= set(body["metrics"])
    else:
        assert body["classes"] == contract.CLASSES
        assert {"log_loss", "roc_auc", "accuracy"} <= set(body["metrics"])
    assert "onnxruntime" in body["libraries"]  # and what trained or converted it (an ONNX file: no scikit-learn)


def test_docs_and_schema_are_served(client):
    assert client.get("/docs").status_code == 200
    assert client.get("/redoc").status_code == 200
    schema = client.get("/openapi.json").json()
    assert {"/health-check", ROUTE, BATCH_ROUTE, "/model"} <= set(schema["paths"])


def test_the_documented_examples_work_as_they_stand(client):
    schema = client.get("/openapi.json").json()
    examples = schema["components"]["schemas"]["{{ cookiecutter.__item_class }}"]["examples"]
    assert examples == contract.EXAMPLES
    assert [client.post(ROUTE, json=example).status_code for example in examples] == [200] * len(examples)


def test_request_id_is_echoed_or_made(client):
    assert client.get("/health-check", headers={"x-request-id": "abc-123"}).headers["x-request-id"] == "abc-123"
    made = client.get("/health-check", headers={"x-request-id": "bad id with spaces"}).headers["x-request-id"]
    assert made != "bad id with spaces" and len(made) == 32


@pytest.mark.parametrize(
    ("access_log", "slow_request_ms", "path", "logged"),
    [
        ("slow-or-failed", 10_000, "/health-check", False),
        ("slow-or-failed", 10_000, "/nope", True),  # failed
        ("slow-or-failed", 1e-6, "/health-check", True),  # slow
        ("all", 10_000, "/health-check", True),
    ],
)
def test_access_log_has_the_requests_asked_for(client, caplog, monkeypatch, access_log, slow_request_ms, path, logged):
    monkeypatch.setattr(settings, "access_log", access_log)
    monkeypatch.setattr(settings, "slow_request_ms", slow_request_ms)
    with caplog.at_level("INFO", logger="access"):
        client.get(path, headers={"x-request-id": "logged-or-not"})
    lines = [r for r in caplog.records if r.name == "access" and r.request_id == "logged-or-not"]
    assert len(lines) == logged
    if logged:
        assert lines[0].path == path and lines[0].duration_ms > 0


def test_unknown_route_is_404(client):
    assert client.get("/nope").status_code == 404
