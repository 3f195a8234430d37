"""Shared fixtures and helpers: a small trained model (or the imported one), a statsd listener,
a client whose lifespan runs, requests drawn from the contract, and the container's command run
as a real uvicorn process."""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2 as httpx
import numpy as np
import onnx
import pytest
from onnx import numpy_helper

# The settings are read once, at import; point statsd at a listener this session owns.
statsd_listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
statsd_listener.bind(("127.0.0.1", 0))
statsd_listener.settimeout(2)
os.environ["STATSD_HOST"] = "127.0.0.1"
os.environ["STATSD_PORT"] = str(statsd_listener.getsockname()[1])

from fastapi.testclient import TestClient  # noqa: E402

from {{ cookiecutter.package_name }} import metrics  # noqa: E402
from {{ cookiecutter.package_name }}.contract import EXAMPLES, {{ cookiecutter.__item_class }}  # noqa: E402
from {{ cookiecutter.package_name }}.main import app  # noqa: E402
from {{ cookiecutter.package_name }}.model import metadata_path  # noqa: E402
from {{ cookiecutter.package_name }}.settings import settings  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
from ecs_model_tools import cross_stack  # noqa: E402  (the template's tool: CloudFormation-aware YAML)

EXAMPLE = EXAMPLES[0]  # the example the docs show first
# The routes and names this bake's answers gave the API.
ROUTE = "/{{ cookiecutter.prediction_name }}"  # one {{ cookiecutter.item_name }}
BATCH_ROUTE = "/{{ cookiecutter.prediction_name }}/batch"
BATCH_KEY = "{{ cookiecutter.item_plural }}"  # the batch request's list
ANSWER = "{{ cookiecutter.prediction_name }}"  # the response field
ANSWERS = "{{ cookiecutter.prediction_plural }}"  # the batch response's list


SERVED = ROOT / "model" / "artifacts" / "model.onnx"


def imported() -> bool:
    """Whether the model served here was imported (make import-model), not trained by model/train.py."""
    meta = metadata_path(SERVED)
    return meta.is_file() and json.loads(meta.read_text()).get("origin") == "imported"


IMPORTED = imported()
needs_training = pytest.mark.skipif(IMPORTED, reason="the model was imported: model/train.py is not its training")


@pytest.fixture(scope="session")
def artifact(tmp_path_factory):
    """The model under test as version test-1: a copy of the imported one, or a small training run."""
    path = tmp_path_factory.mktemp("model") / "model.onnx"
    if IMPORTED:
        from model.artifact import restamp

        return restamp(SERVED, path, "test-1")
    from model.train import train

    train(path, rows=4000, version="test-1")
    return path


FIELDS = {{ cookiecutter.__item_class }}.model_json_schema()["properties"]


def value_schema(schema: dict) -> dict:
    """The schema of a field's value (an optional field's non-null alternative)."""
    options = [option for option in schema.get("anyOf", [schema]) if option.get("type") != "null"]
    return {**options[0], **{key: value for key, value in schema.items() if key != "anyOf"}}


def drawn_value(schema: dict, rng: np.random.Generator, example):
    """A valid value of the field, drawn within its allowed values or range."""
    schema = value_schema(schema)
    kind = schema.get("type")
    if "enum" in schema:
        return schema["enum"][rng.integers(len(schema["enum"]))]
    if kind == "boolean":
        return bool(rng.integers(2))
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0))
        high = schema.get("maximum", schema.get("exclusiveMaximum", low + 100))
        if kind == "integer":
            return int(rng.integers(int(np.ceil(low)), int(np.floor(high)) + 1))
        return float(np.clip(round(float(rng.uniform(low, high)), 3), low, high))
    return example


def drawn_requests(count: int, seed: int = 0) -> list[dict]:
    """`count` valid requests, all different, each field drawn from what the contract allows."""
    rng = np.random.default_rng(seed)
    base = complete(EXAMPLES[0])
    return [{name: drawn_value(FIELDS[name], rng, base.get(name)) for name in FIELDS} for _ in range(count)]


def complete(example: dict) -> dict:
    """The example with every field, a left-out one at its default."""
    return {{ cookiecutter.__item_class }}(**example).model_dump(mode="json")


def changed_copy(artifact: Path, folder: Path, change: str) -> Path:
    """A copy of the artifact whose model.json is as training wrote it but whose model.onnx is not:
    "weight" edits one weight with the onnx library (still a valid model that loads), "truncated"
    keeps the first half of the file."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / artifact.name
    shutil.copy(metadata_path(artifact), metadata_path(target))
    if change == "truncated":
        content = artifact.read_bytes()
        target.write_bytes(content[: len(content) // 2])
    else:
        edited = onnx.load(artifact)
        edit_a_weight(edited)
        onnx.save(edited, target)
    return target


WEIGHTS = ("target_weights", "class_weights", "leaf_weights", "coefficients")  # of trees and linear models


def edit_a_weight(model: onnx.ModelProto) -> None:
    """Add 100,000 to one weight: a leaf of a tree, a coefficient, or else the first float initializer."""
    for node in model.graph.node:
        for attribute in node.attribute:
            if attribute.name in WEIGHTS and attribute.floats:
                attribute.floats[0] += 100_000
                return
    for tensor in model.graph.initializer:
        values = numpy_helper.to_array(tensor).copy()
        if values.dtype.kind == "f" and values.size:
            values.flat[0] += 100_000
            tensor.CopyFrom(numpy_helper.from_array(values, tensor.name))
            return
    raise ValueError("the model has no weight this test knows how to edit")


@pytest.fixture(scope="session")
def client(artifact):
    settings.model_path = artifact
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def statsd_packets():
    """Drain what the service sent so far; call the returned function to read new lines."""
    metrics.flush()  # what earlier tests recorded and the service has not sent yet (it sends every 0.1 s)
    statsd_listener.setblocking(False)
    try:
        while True:
            statsd_listener.recv(65535)
    except BlockingIOError:
        pass

    def read(expected: int = 1, wait: float = 2) -> list[str]:
        """Lines until `expected` have come, or none for `wait` seconds."""
        statsd_listener.settimeout(wait)
        lines: list[str] = []
        while len(lines) < expected:
            try:
                lines += statsd_listener.recv(65535).decode().splitlines()
            except TimeoutError:
                break
        return lines

    return read


def dockerfile_command() -> tuple[list[str], dict[str, str]]:
    """The final stage's CMD (exec form) and ENV, as the container would run them."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    final_stage = text.split("\nFROM ")[-1]
    command = json.loads(re.search(r"^CMD (\[.*\])$", final_stage, re.M).group(1))
    env = dict(re.findall(r"(\w+)=(\S+)", " ".join(re.findall(r"^ENV (.*)$", final_stage, re.M))))
    env.pop("PATH")
    return command, env


def task_workers() -> int:
    """WEB_CONCURRENCY as the task definition (infra/api.yaml) sets it for the stack's default
    TaskCpu: the number of workers uvicorn runs in ECS."""
    api = cross_stack.load(ROOT / "infra" / "api.yaml")
    cpu = str(api["Parameters"]["TaskCpu"]["Default"])
    [container] = [
        c for c in api["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"] if c["Name"] == "api"
    ]
    value = {item["Name"]: item["Value"] for item in container["Environment"]}["WEB_CONCURRENCY"]
    mapping, parameter, key = value["Fn::FindInMap"]
    assert parameter == {"Ref": "TaskCpu"}, "the worker count must follow the task's CPU"
    return int(api["Mappings"][mapping][cpu][key])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(model_path: Path, port: int, workers: int | None = None, **settings: str) -> subprocess.Popen:
    """The Dockerfile's command on 127.0.0.1:`port`, with the environment of the image and of the
    task definition (`workers` instead of its WEB_CONCURRENCY if given) and `settings` on top."""
    command, env = dockerfile_command()
    command[command.index("--port") + 1] = str(port)
    command[command.index("--host") + 1] = "127.0.0.1"
    env |= {
        "WEB_CONCURRENCY": str(workers or task_workers()),
        "MODEL_PATH": str(model_path),
        "STATSD_PORT": str(free_port()),  # nobody listens there
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),  # the image's venv first
        **settings,
    }
    return subprocess.Popen(
        command, cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM, as ECS sends it: with several workers, uvicorn stops them too (SIGKILL would orphan them)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=25)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def serving(model_path: Path, workers: int | None = None, **settings: str) -> Iterator[tuple[subprocess.Popen, str]]:
    """The Dockerfile's command, once it answers /health-check: the process and its URL."""
    port = free_port()
    proc = start(model_path, port, workers, **settings)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            if httpx.get(f"{url}/health-check").status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.05)
        if proc.poll() is not None or time.monotonic() > deadline:
            stop(proc)
            pytest.fail(f"the server did not become healthy: {proc.stdout.read()[-2000:]}")
    try:
        yield proc, url
    finally:
        stop(proc)
