import json

import pytest

from {{ cookiecutter.package_name }}.settings import settings

from .conftest import EXAMPLE


def test_health_check_is_exactly_healthy(client):
    response = client.get("/health-check")
    assert response.status_code == 200
    assert response.json() == {"status": "healthy"}


def test_health_check_and_routes_answer_503_while_no_model_is_loaded(client):
    loaded = client.app.state.model
    client.app.state.model = None
    try:
        response = client.get("/health-check")
        valuation = client.post("/valuation", json=EXAMPLE)
        info = client.get("/model")
    finally:
        client.app.state.model = loaded
    assert response.status_code == 503
    assert response.json() == {"status": "unhealthy", "reason": "model not loaded"}
    assert valuation.status_code == info.status_code == 503
    assert valuation.json() == {"detail": "The model is not loaded."}


def test_valuation_returns_a_plausible_price(client):
    response = client.post("/valuation", json=EXAMPLE)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"valuation", "currency", "model_version"}
    assert 150_000 < body["valuation"] < 800_000
    assert body["currency"] == settings.currency
    assert body["model_version"] == "test-1"


def test_optional_fields_have_defaults(client):
    minimal = {k: EXAMPLE[k] for k in ("district", "property_type", "living_area_m2", "rooms", "year_built")}
    assert client.post("/valuation", json=minimal).status_code == 200


def test_batch_matches_single_valuations_in_order(client):
    houses = [EXAMPLE, {**EXAMPLE, "living_area_m2": 150.0}, {**EXAMPLE, "district": "city-centre"}]
    batch = client.post("/valuation/batch", json={"properties": houses})
    assert batch.status_code == 200
    singles = [client.post("/valuation", json=house).json()["valuation"] for house in houses]
    assert batch.json()["valuations"] == singles
    assert batch.json()["model_version"] == "test-1"


def test_batch_over_the_limit_is_refused_with_the_limit(client):
    response = client.post("/valuation/batch", json={"properties": [EXAMPLE] * (settings.batch_limit + 1)})
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "properties"]
    assert str(settings.batch_limit) in error["msg"]


def test_a_bad_item_deep_in_a_batch_is_named_by_its_index(client):
    houses = [EXAMPLE] * 250
    houses[1], houses[237] = "not a property", {**EXAMPLE, "rooms": 0}  # in the first and a later chunk
    response = client.post("/valuation/batch", json={"properties": houses})
    assert response.status_code == 422
    errors = response.json()["detail"]
    assert [e["loc"] for e in errors] == [["body", "properties", 1], ["body", "properties", 237, "rooms"]]
    assert errors[1]["ctx"] == {"ge": 1} and errors[0]["type"] == "model_attributes_type"


def test_empty_batch_is_refused(client):
    response = client.post("/valuation/batch", json={"properties": []})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "properties"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"district": "atlantis"}, "district"),
        ({"property_type": "castle"}, "property_type"),
        ({"living_area_m2": -5}, "living_area_m2"),
        ({"living_area_m2": "large"}, "living_area_m2"),
        ({"rooms": 0}, "rooms"),
        ({"rooms": 2.5}, "rooms"),
        ({"year_built": 1066}, "year_built"),
        ({"energy_rating": "Z"}, "energy_rating"),
        ({"has_garage": "maybe"}, "has_garage"),
        ({"swimming_pool": True}, "swimming_pool"),
        ({"district": None}, "district"),
    ],
)
def test_bad_fields_get_422_naming_the_field(client, change, field):
    response = client.post("/valuation", json={**EXAMPLE, **change})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", field]


def test_missing_field_is_named(client):
    body = {k: v for k, v in EXAMPLE.items() if k != "living_area_m2"}
    response = client.post("/valuation", json=body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "living_area_m2"]


@pytest.mark.parametrize(
    "content",
    [b"", b"not json", b"[]", b"{", b'{"living_area_m2": NaN}', b"null", "\u00e9".encode("latin-1")],
)
def test_malformed_bodies_are_client_errors_not_500(client, content):
    response = client.post("/valuation", content=content, headers={"content-type": "application/json"})
    assert response.status_code in (400, 422)  # 400 only for bytes that are not text


@pytest.mark.parametrize("field", ["energy_rating", "swimming_pool"])
def test_a_lone_surrogate_is_a_422_naming_the_field(client, field):
    """JSON can escape a lone surrogate; UTF-8 cannot carry it: the 422 must not echo it as it is."""
    content = json.dumps({**EXAMPLE, field: "\udda2 x"}).encode()
    response = client.post("/valuation", content=content, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", field]


def test_nan_area_is_refused(client):
    response = client.post(
        "/valuation",
        content=b'{"district": "riverside", "property_type": "apartment", "living_area_m2": NaN, '
        b'"rooms": 3, "year_built": 1990}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "living_area_m2"]


def test_model_endpoint_describes_the_loaded_model(client):
    body = client.get("/model").json()
    assert body["version"] == "test-1"
    assert body["features"][0] == "district"
    assert {"mae", "mape", "r2"} <= set(body["metrics"])
    assert "scikit-learn" in body["libraries"]


def test_docs_and_schema_are_served(client):
    assert client.get("/docs").status_code == 200
    assert client.get("/redoc").status_code == 200
    schema = client.get("/openapi.json").json()
    assert {"/health-check", "/valuation", "/valuation/batch", "/model"} <= set(schema["paths"])


def test_the_documented_example_works_as_it_stands(client):
    schema = client.get("/openapi.json").json()
    [example] = schema["components"]["schemas"]["Property"]["examples"]
    response = client.post("/valuation", json=example)
    assert response.status_code == 200


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
