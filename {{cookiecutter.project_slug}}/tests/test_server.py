"""The Dockerfile's exact command line, run as a real uvicorn process (no Docker engine needed)."""

import json
import signal
from pathlib import Path

import httpx2 as httpx
import pytest

from .conftest import ANSWER, EXAMPLE, ROUTE, changed_copy, free_port, serving, start, task_workers


@pytest.fixture
def server(artifact):
    with serving(artifact) as running:
        yield running


def test_dockerfile_command_serves_and_stops_gracefully(server):
    proc, url = server
    assert httpx.get(f"{url}/health-check").json() == {"status": "healthy"}
    response = httpx.post(f"{url}{ROUTE}", json=EXAMPLE, headers={"x-request-id": "req-42"})
    assert response.status_code == 200 and response.json()[ANSWER] is not None
    bad = httpx.post(f"{url}{ROUTE}", json={**EXAMPLE, "unknown_field": 0}, headers={"x-request-id": "req-43"})
    assert bad.status_code == 422

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=25) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once drained
    records = [json.loads(line) for line in proc.stdout.read().splitlines() if line.startswith("{")]
    assert "Application shutdown complete." in [r["message"] for r in records]
    access = {r["request_id"]: r for r in records if r.get("logger") == "access"}
    assert "req-42" not in access  # fast and fine: in the metrics, not in the log (ACCESS_LOG)
    assert access["req-43"] | {"route": ANSWER, "status": 422, "model_version": "test-1"} == access["req-43"]
    assert access["req-43"]["duration_ms"] > 0


def refuses_to_start(model_path: Path, **settings: str) -> str:
    """Start the Dockerfile's command, expect it to end without serving, and return what it said."""
    proc = start(model_path, free_port(), **settings)
    output, _ = proc.communicate(timeout=30)  # the process ends: it does not serve without a good model
    if task_workers() == 1:
        assert proc.returncode != 0
    else:
        # uvicorn's multi-worker supervisor stops once a worker fails to start, but exits 0
        # (uvicorn 0.54): the container still ends, so ECS replaces the task.
        assert "failed to start, stopping the parent process" in output
    return output


def test_missing_model_stops_start_up_with_instructions(tmp_path):
    assert "make train" in refuses_to_start(tmp_path / "missing.onnx")


@pytest.mark.parametrize("change", ["weight", "truncated"])
def test_a_changed_model_file_stops_start_up_saying_which(artifact, tmp_path, change):
    output = refuses_to_start(changed_copy(artifact, tmp_path, change))
    assert f"{tmp_path / 'model.onnx'} is not the file training wrote" in output
    assert "make train" in output


def test_every_line_is_json_start_up_warnings_included(artifact):
    with serving(artifact, STATSD_HOST="statsd.invalid") as (proc, url):
        assert httpx.post(f"{url}{ROUTE}", json=EXAMPLE).status_code == 200
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=25)
    lines = proc.stdout.read().splitlines()  # stdout and stderr
    records = [json.loads(line) for line in lines]  # fails on any line that is not JSON
    warnings = [r["message"] for r in records if r["level"] == "WARNING"]
    assert "statsd host 'statsd.invalid' does not resolve; metrics go to 127.0.0.1" in warnings
    assert "Application shutdown complete." in [r["message"] for r in records]
