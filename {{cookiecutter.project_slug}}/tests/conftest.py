"""Shared fixtures: a small trained model, a statsd listener, and a client whose lifespan runs."""

import os
import shutil
import socket
from pathlib import Path

import onnx
import pytest

# The settings are read once, at import; point statsd at a listener this session owns.
statsd_listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
statsd_listener.bind(("127.0.0.1", 0))
statsd_listener.settimeout(2)
os.environ["STATSD_HOST"] = "127.0.0.1"
os.environ["STATSD_PORT"] = str(statsd_listener.getsockname()[1])

from fastapi.testclient import TestClient  # noqa: E402

from {{ cookiecutter.package_name }}.main import app  # noqa: E402
from {{ cookiecutter.package_name }}.model import Property, metadata_path  # noqa: E402
from {{ cookiecutter.package_name }}.settings import settings  # noqa: E402

from model.train import train  # noqa: E402

EXAMPLE = Property.model_config["json_schema_extra"]["examples"][0]  # the example the docs show


@pytest.fixture(scope="session")
def artifact(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "model.onnx"
    train(path, rows=4000, version="test-1")
    return path


def changed_copy(artifact: Path, folder: Path, change: str) -> Path:
    """A copy of the artifact whose model.json is as training wrote it but whose model.onnx is not:
    "tree value" edits one leaf of the first tree with the onnx library (still a valid model that
    loads), "truncated" keeps the first half of the file."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / artifact.name
    shutil.copy(metadata_path(artifact), metadata_path(target))
    if change == "truncated":
        content = artifact.read_bytes()
        target.write_bytes(content[: len(content) // 2])
    else:
        edited = onnx.load(artifact)
        [trees] = [node for node in edited.graph.node if node.op_type.startswith("TreeEnsemble")]
        leaf_values = next(a for a in trees.attribute if a.name == "target_weights")
        leaf_values.floats[0] += 100_000
        onnx.save(edited, target)
    return target


@pytest.fixture(scope="session")
def client(artifact):
    settings.model_path = artifact
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def statsd_packets():
    """Drain what the service sent so far; call the returned function to read new lines."""
    statsd_listener.setblocking(False)
    try:
        while True:
            statsd_listener.recv(65535)
    except BlockingIOError:
        pass
    statsd_listener.settimeout(2)

    def read(expected: int = 1) -> list[str]:
        lines: list[str] = []
        while len(lines) < expected:
            try:
                lines += statsd_listener.recv(65535).decode().splitlines()
            except TimeoutError:
                break
        return lines

    return read
