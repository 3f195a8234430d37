"""The Dockerfile's exact command line, run as a real uvicorn process (no Docker engine needed)."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2 as httpx
import pytest

from .conftest import EXAMPLE, changed_copy

ROOT = Path(__file__).resolve().parent.parent


def dockerfile_command() -> tuple[list[str], dict[str, str]]:
    """The final stage's CMD (exec form) and ENV, as the container would run them."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    final_stage = text.split("\nFROM ")[-1]
    command = json.loads(re.search(r"^CMD (\[.*\])$", final_stage, re.M).group(1))
    env = dict(re.findall(r"(\w+)=(\S+)", " ".join(re.findall(r"^ENV (.*)$", final_stage, re.M))))
    env.pop("PATH")
    return command, env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(model_path: Path, port: int, workers: int | None = None, **settings: str) -> subprocess.Popen:
    """The Dockerfile's command on 127.0.0.1:`port` (with another number of `workers` if given),
    with `settings` as extra environment variables."""
    command, env = dockerfile_command()
    command[command.index("--port") + 1] = str(port)
    if workers:
        command[command.index("--workers") + 1] = str(workers)
    command[command.index("--host") + 1] = "127.0.0.1"
    env |= {
        "MODEL_PATH": str(model_path),
        "STATSD_PORT": str(free_port()),  # nobody listens there
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),  # the image's venv first
        **settings,
    }
    return subprocess.Popen(
        command, cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


@contextmanager
def serving(model_path: Path, workers: int | None = None, **settings: str) -> Iterator[tuple[subprocess.Popen, str]]:
    """The Dockerfile's command, once it answers /health-check: the process and its URL."""
    port = free_port()
    proc = start(model_path, port, workers, **settings)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"{url}/health-check").status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.05)
    try:
        yield proc, url
    finally:
        if proc.poll() is None:
            proc.terminate()  # SIGTERM: with several workers, uvicorn stops them too (SIGKILL would orphan them)
            try:
                proc.wait(timeout=25)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def server(artifact):
    with serving(artifact) as running:
        yield running


def test_dockerfile_command_serves_and_stops_gracefully(server):
    proc, url = server
    assert httpx.get(f"{url}/health-check").json() == {"status": "healthy"}
    response = httpx.post(f"{url}/valuation", json=EXAMPLE, headers={"x-request-id": "req-42"})
    assert response.status_code == 200 and response.json()["valuation"] > 0
    bad = httpx.post(f"{url}/valuation", json={**EXAMPLE, "rooms": 0}, headers={"x-request-id": "req-43"})
    assert bad.status_code == 422

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=25) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once drained
    records = [json.loads(line) for line in proc.stdout.read().splitlines() if line.startswith("{")]
    assert "Application shutdown complete." in [r["message"] for r in records]
    access = {r["request_id"]: r for r in records if r.get("logger") == "access"}
    assert "req-42" not in access  # fast and fine: in the metrics, not in the log (ACCESS_LOG)
    assert access["req-43"] | {"route": "valuation", "status": 422, "model_version": "test-1"} == access["req-43"]
    assert access["req-43"]["duration_ms"] > 0


def refuses_to_start(model_path: Path, **settings: str) -> str:
    """Start the Dockerfile's command, expect it to end without serving, and return what it said."""
    proc = start(model_path, free_port(), **settings)
    output, _ = proc.communicate(timeout=30)  # the process ends: it does not serve without a good model
    command, _ = dockerfile_command()
    if command[command.index("--workers") + 1] == "1":
        assert proc.returncode != 0
    else:
        # uvicorn's multi-worker supervisor stops once a worker fails to start, but exits 0
        # (uvicorn 0.54): the container still ends, so ECS replaces the task.
        assert "failed to start, stopping the parent process" in output
    return output


def test_missing_model_stops_start_up_with_instructions(tmp_path):
    assert "make train" in refuses_to_start(tmp_path / "missing.onnx")


@pytest.mark.parametrize("change", ["tree value", "truncated"])
def test_a_changed_model_file_stops_start_up_saying_which(artifact, tmp_path, change):
    output = refuses_to_start(changed_copy(artifact, tmp_path, change))
    assert f"{tmp_path / 'model.onnx'} is not the file training wrote" in output
    assert "make train" in output


def test_every_line_is_json_start_up_warnings_included(artifact):
    with serving(artifact, STATSD_HOST="statsd.invalid") as (proc, url):
        assert httpx.post(f"{url}/valuation", json=EXAMPLE).status_code == 200
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=25)
    lines = proc.stdout.read().splitlines()  # stdout and stderr
    records = [json.loads(line) for line in lines]  # fails on any line that is not JSON
    warnings = [r["message"] for r in records if r["level"] == "WARNING"]
    assert "statsd host 'statsd.invalid' does not resolve; metrics go to 127.0.0.1" in warnings
    assert "Application shutdown complete." in [r["message"] for r in records]
