"""No answer leaves a reference cycle behind. main.py collects the youngest generation only every
YOUNG_OBJECTS_PER_COLLECTION new objects, so garbage in cycles (and the request bodies it may
hold) would wait that long. Each kind of answer is served here as raw ASGI calls on the app's own
event loop (the test client makes cycles of its own), and the collector must find nothing."""

import contextlib
import gc
import json

import pytest

from {{ cookiecutter.package_name }}.main import app
from {{ cookiecutter.package_name }}.model import LoadedModel
from {{ cookiecutter.package_name }}.settings import settings

from .conftest import BATCH_KEY, BATCH_ROUTE, EXAMPLE, ROUTE

UNKNOWN = {"notes": "no such field"}  # the contract forbids unknown fields: a 422
REQUESTS = {
    "answered": ("POST", ROUTE, json.dumps(EXAMPLE), 200),
    "a bad field": ("POST", ROUTE, json.dumps(UNKNOWN), 422),
    "not JSON": ("POST", ROUTE, '{"unfinished', 422),
    "a batch answered": ("POST", BATCH_ROUTE, json.dumps({BATCH_KEY: [EXAMPLE] * 3}), 200),
    "a batch with bad rows": ("POST", BATCH_ROUTE, json.dumps({BATCH_KEY: [UNKNOWN] * 3}), 422),
    "a body over the limit": ("POST", ROUTE, "x" * (settings.max_body_bytes + 1), 413),
    "no such route": ("GET", "/no-such-route", "", 404),
    "the wrong method": ("GET", ROUTE, "", 405),
    "the model's details": ("GET", "/model", "", 200),
    "a health check": ("GET", "/health-check", "", 200),
}


async def status_of(method: str, path: str, body: str) -> int:
    """One request through the whole app, as uvicorn hands it over; the status it answered."""
    data = body.encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    messages = iter([{"type": "http.request", "body": data, "more_body": False}])
    statuses = []

    async def receive() -> dict:
        return next(messages, {"type": "http.disconnect"})

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    with contextlib.suppress(Exception):  # a 500: the app answered, then raised for the server to log
        await app(scope, receive, send)
    return statuses[0]


def cycles_after(client, method: str, path: str, body: str, status: int) -> int:
    """Objects the collector finds unreachable after 20 such requests (after a first one, which
    may fill caches)."""
    assert client.portal.call(status_of, method, path, body) == status
    gc.collect()
    gc.disable()
    try:
        assert {client.portal.call(status_of, method, path, body) for _ in range(20)} == {status}
        return gc.collect()
    finally:
        gc.enable()


@pytest.mark.parametrize("kind", REQUESTS)
def test_no_answer_leaves_a_reference_cycle(client, kind):
    found = cycles_after(client, *REQUESTS[kind])
    assert found == 0, f"{found} objects in reference cycles after 20 requests ({kind}): break the cycle"


@pytest.mark.parametrize("route", [ROUTE, BATCH_ROUTE])
def test_a_failing_model_leaves_no_reference_cycle(client, monkeypatch, route):
    def fail(self, items):
        raise ValueError("the model failed")

    monkeypatch.setattr(LoadedModel, "predict", fail)
    body = json.dumps(EXAMPLE if route == ROUTE else {BATCH_KEY: [EXAMPLE] * 3})
    found = cycles_after(client, "POST", route, body, 500)
    assert found == 0, f"{found} objects in reference cycles after 20 failed model calls on {route}"
