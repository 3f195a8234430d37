"""The release check (ECS's lifecycle hook; its code is the template tool's release_check.py)
against a real uvicorn process of this service: it passes a revision that answers the documented examples as model.json
recorded them, and fails one that answers one example differently, another model, an error and
a timeout. The expected answers are recorded here by asking the real service, as model.json
records them: {"request": example, "response": answer without model_version}."""

import json
import socket
import threading
import time

import httpx2 as httpx
import pytest
from ecs_model_tools import release_check

from {{ cookiecutter.package_name }} import contract
from {{ cookiecutter.package_name }}.contract import EXAMPLES

from .conftest import ROUTE, needs_training, serving

TOLERANCE = getattr(contract, "TOLERANCE", 1e-6)  # the contract's declared tolerance, where it has one


@pytest.fixture(scope="module")
def revision(artifact):
    """The Dockerfile's command serving the test model: (its prediction URL, its model.json)."""
    with serving(artifact) as (_, url):
        examples = []
        for example in EXAMPLES:
            answer = httpx.post(f"{url}{ROUTE}", json=example).raise_for_status().json()
            version = answer.pop("model_version")
            examples.append({"request": example, "response": answer})
        yield f"{url}{ROUTE}", {"version": version, "tolerance": TOLERANCE, "examples": examples}


def run_hook(tmp_path, monkeypatch, url: str, model: dict, timeout: float = 5) -> dict:
    """The Lambda handler as ECS calls it, with model.json beside it: its answer (its log goes to stdout)."""
    expected = tmp_path / "model.json"
    expected.write_text(json.dumps(model))
    monkeypatch.setattr(release_check, "EXPECTED", expected)
    monkeypatch.setenv("PREDICTION_URL", url)
    monkeypatch.setenv("RELEASE_CHECK_HEADER", "the-project")
    monkeypatch.setenv("REQUEST_TIMEOUT_SECONDS", str(timeout))
    event = {"serviceArn": "arn:aws:ecs:eu-west-1:111111111111:service/c/s", "targetServiceRevisionArn": "rev-2"}
    return release_check.handler(event, None)


def shifted(response, by: float):
    """The response with its first number moved by `by` (a regression value or a class probability)."""
    if isinstance(response, dict):
        for key, value in response.items():
            if (moved := shifted(value, by)) is not None:
                return {**response, key: moved}
    elif release_check.is_number(response):
        return response + by
    return None


def test_a_revision_that_answers_as_recorded_passes(revision, tmp_path, monkeypatch, capsys):
    url, model = revision
    answer = run_hook(tmp_path, monkeypatch, url, model)
    assert answer == {"hookStatus": "SUCCEEDED"}
    assert '"problems": 0' in capsys.readouterr().out


def test_one_example_answered_differently_fails_the_release(revision, tmp_path, monkeypatch, capsys):
    url, model = revision
    wrong = json.loads(json.dumps(model))
    last = len(wrong["examples"])
    wrong["examples"][-1]["response"] = shifted(wrong["examples"][-1]["response"], 10 * TOLERANCE + 0.01)
    answer = run_hook(tmp_path, monkeypatch, url, wrong)
    assert answer == {"hookStatus": "FAILED"}
    problems = [json.loads(line)["problem"] for line in capsys.readouterr().out.splitlines() if '"problem"' in line]
    assert len(problems) == 1 and problems[0].startswith(f"example {last}.")


def test_a_difference_within_the_tolerance_passes(revision, tmp_path, monkeypatch):
    url, model = revision
    close = json.loads(json.dumps(model))
    close["examples"][0]["response"] = shifted(close["examples"][0]["response"], TOLERANCE / 2)
    assert run_hook(tmp_path, monkeypatch, url, close) == {"hookStatus": "SUCCEEDED"}


@needs_training
def test_another_model_fails_the_release(revision, tmp_path, monkeypatch, capsys):
    """A real revision serving a model trained on other data: other answers, another version."""
    from model.train import train  # the sample's training: an imported model has none here

    _, model = revision
    other = tmp_path / "other" / "model.onnx"
    other.parent.mkdir()
    train(other, rows=1500, version="test-other")
    with serving(other) as (_, url):
        answer = run_hook(tmp_path, monkeypatch, f"{url}{ROUTE}", model)
    assert answer == {"hookStatus": "FAILED"}
    assert "another model answered" in capsys.readouterr().out


def test_an_error_status_fails_the_release(revision, tmp_path, monkeypatch, capsys):
    url, model = revision
    answer = run_hook(tmp_path, monkeypatch, url + "/no-such-route", model)
    assert answer == {"hookStatus": "FAILED"}
    assert "HTTP 404" in capsys.readouterr().out


def test_no_service_fails_the_release(revision, tmp_path, monkeypatch, capsys):
    _, model = revision
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    answer = run_hook(tmp_path, monkeypatch, f"http://127.0.0.1:{port}{ROUTE}", model)
    assert answer == {"hookStatus": "FAILED"}
    assert "no answer" in capsys.readouterr().out


def test_a_timeout_fails_the_release(revision, tmp_path, monkeypatch, capsys):
    """A revision that accepts the connection and never answers."""
    _, model = revision
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    accepted = []
    threading.Thread(target=lambda: accepted.append(server.accept()), daemon=True).start()
    started = time.monotonic()
    try:
        answer = run_hook(tmp_path, monkeypatch, f"http://127.0.0.1:{server.getsockname()[1]}{ROUTE}", model, 0.5)
    finally:
        server.close()
    assert answer == {"hookStatus": "FAILED"}
    assert "timed out" in capsys.readouterr().out
    assert time.monotonic() - started < 0.5 * len(model["examples"]) + 5


def test_a_model_json_without_the_answers_fails_the_release(revision, tmp_path, monkeypatch, capsys):
    url, model = revision
    answer = run_hook(tmp_path, monkeypatch, url, {"version": model["version"]})
    assert answer == {"hookStatus": "FAILED"}
    assert "records no tolerance, examples" in capsys.readouterr().out
    assert release_check.package([str(tmp_path / "code"), str(tmp_path / "model.json")]) == 1
    assert release_check.package([str(tmp_path / "code"), str(tmp_path / "missing.json")]) == 1
