import hashlib
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnxruntime
import pytest
import skl2onnx
from fastapi.testclient import TestClient
from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType
from sklearn.base import clone
from sklearn.linear_model import LinearRegression, LogisticRegression

from {{ cookiecutter.package_name }} import contract, model
from {{ cookiecutter.package_name }}.main import app
from {{ cookiecutter.package_name }}.settings import settings

from .conftest import EXAMPLE, ROUTE, changed_copy, drawn_requests, needs_training
from model.convert import matrix_from_columns

ROOT = Path(__file__).resolve().parent.parent
WIDTH = len(contract.FEATURES)  # the model's input columns


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_training_writes_a_loadable_artifact_with_metadata(artifact):
    loaded = model.load(artifact)
    meta = json.loads(model.metadata_path(artifact).read_text())
    assert meta["features"] == contract.FEATURES
    assert (meta["task"], meta["classes"]) == (contract.TASK, contract.CLASSES)
    assert meta["version"] == "test-1"
    assert meta["files"] == {"model.onnx": {"bytes": artifact.stat().st_size, "sha256": sha256_of(artifact)}}
    assert meta["onnx_check"]["max_difference"] <= contract.TOLERANCE
    assert loaded.version == "test-1"


@pytest.fixture
def copy_of(artifact, tmp_path):
    """A copy of the artifact, or other model bytes with metadata that records their SHA-256 (so
    that the checks after the hash see them), or the artifact with other metadata."""

    def copy(model_bytes=None, meta=None):
        target = tmp_path / "model.onnx"
        target.write_bytes(model_bytes if model_bytes is not None else artifact.read_bytes())
        metadata = json.loads(model.metadata_path(artifact).read_text())
        metadata["files"] = {target.name: model.fingerprint(target)}
        model.metadata_path(target).write_text(meta if meta is not None else json.dumps(metadata))
        return target, metadata

    return copy


def test_missing_artifact_says_what_to_run(tmp_path):
    with pytest.raises(model.ModelLoadError, match=r"No model artifact.*make train"):
        model.load(tmp_path / "model.onnx")


def test_corrupt_artifact_says_what_to_run(copy_of):
    path, _ = copy_of(model_bytes=b"definitely not a model")
    with pytest.raises(model.ModelLoadError, match=r"could not be read as ONNX.*make train"):
        model.load(path)


@pytest.mark.parametrize("change", ["weight", "truncated"])
def test_a_changed_model_file_is_refused(artifact, tmp_path, change):
    changed = changed_copy(artifact, tmp_path, change)
    with pytest.raises(model.ModelLoadError, match=r"model\.onnx is not the file training wrote.*make train"):
        model.load(changed)


def test_an_edited_tree_would_load_and_serve_other_values_without_the_hash(artifact, tmp_path):
    """Why the SHA-256: ONNX Runtime loads the edited model, and it answers differently."""
    items = [contract.{{ cookiecutter.__item_class }}(**row) for row in drawn_requests(500)]
    rows = model.load(artifact).model_input(items)
    original, edited = (
        onnxruntime.InferenceSession(path).run(None, rows)[0]
        for path in (str(artifact), str(changed_copy(artifact, tmp_path, "weight")))
    )
    assert (original != edited).any()


def test_metadata_without_the_hash_is_refused(copy_of):
    path, meta = copy_of()
    del meta["files"]
    model.metadata_path(path).write_text(json.dumps(meta))
    with pytest.raises(model.ModelLoadError, match=r"model\.json records no SHA-256 for model\.onnx.*make train"):
        model.load(path)


def dockerfile_verify_command() -> list[str]:
    """The Dockerfile's RUN line that checks the artifact, as a command (the image's MODEL_PATH as an argument)."""
    [line] = [line for line in (ROOT / "Dockerfile").read_text().splitlines() if "--verify" in line]
    assert line.startswith("RUN ")
    return shlex.split(line.removeprefix("RUN "))


@pytest.mark.parametrize("change", [None, "weight", "truncated"])
def test_the_image_build_verifies_the_artifact(artifact, tmp_path, change):
    path = changed_copy(artifact, tmp_path, change) if change else artifact
    replace = {"python": sys.executable, "$MODEL_PATH": str(path)}  # the image's python and ENV
    command = [replace.get(part, part) for part in dockerfile_verify_command()]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if change:
        assert result.returncode == 1
        assert "is not the file training wrote" in result.stderr and "make train" in result.stderr
    else:
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip().endswith("verified")


def test_unreadable_metadata_says_what_to_run(copy_of):
    path, _ = copy_of(meta="{ not json")
    with pytest.raises(model.ModelLoadError, match=r"unreadable.*make train"):
        model.load(path)


def test_feature_mismatch_is_refused(copy_of):
    path, meta = copy_of()
    meta["features"] = contract.FEATURES[::-1]
    model.metadata_path(path).write_text(json.dumps(meta))
    with pytest.raises(model.ModelLoadError, match="trained on features"):
        model.load(path)


def onnx_of(estimator, columns: int) -> bytes:
    """The estimator as ONNX: one float matrix, or (a contract without to_matrix) a column per
    input named as FEATURES then "extra", and so on, concatenated in the graph."""
    inputs = [("x", FloatTensorType([None, columns]))]
    converted = skl2onnx.convert_sklearn(estimator, initial_types=inputs)
    if model.to_matrix is None:
        names = [*contract.FEATURES, *(f"extra{i}" for i in range(columns - WIDTH))][:columns]
        converted = matrix_from_columns(converted, names)
    return converted.SerializeToString()


def test_a_model_with_other_inputs_is_refused(copy_of):
    other_width = LinearRegression().fit(np.eye(WIDTH + 1, dtype=np.float32), np.arange(WIDTH + 1.0))
    path, _ = copy_of(model_bytes=onnx_of(other_width, WIDTH + 1))
    if model.to_matrix is None:
        expected = r"(?s)takes \[.*'extra0'.*\], but this service sends one input per field.*make train"
    else:
        expected = rf"(?s)cannot answer two rows.*Expected: {WIDTH + 1}.*make train"
    with pytest.raises(model.ModelLoadError, match=expected):
        model.load(path)


def test_a_model_taking_doubles_is_refused(copy_of):
    doubles = LinearRegression().fit(np.eye(WIDTH), np.arange(WIDTH * 1.0))
    onnx = skl2onnx.convert_sklearn(doubles, initial_types=[("x", DoubleTensorType([None, WIDTH]))])
    path, _ = copy_of(model_bytes=onnx.SerializeToString())
    with pytest.raises(model.ModelLoadError, match=rf"takes \[\('x', 'tensor\(double\)', \[None, {WIDTH}\]\)\], but"):
        model.load(path)


def test_a_model_with_another_output_shape_is_refused(copy_of):
    """Neither one value per row (regression) nor a column per class of the contract (classification)."""
    columns = len(contract.CLASSES) + 1 if contract.TASK == "classification" else 2
    several_targets = LinearRegression().fit(np.eye(WIDTH, dtype=np.float32), np.eye(WIDTH)[:, :columns])
    path, _ = copy_of(model_bytes=onnx_of(several_targets, WIDTH))
    expected = re.escape(f"shape (2, {columns}) for two rows, but") + ".*" + re.escape(model.expected_output())
    with pytest.raises(model.ModelLoadError, match=expected):
        model.load(path)


def test_a_classifier_with_its_label_output_too_is_refused(copy_of):
    """skl2onnx's default export of a classifier: a label and the probabilities, two outputs."""
    classifier = LogisticRegression().fit(np.eye(WIDTH, dtype=np.float32), np.arange(WIDTH) % 2)
    path, _ = copy_of(model_bytes=onnx_of(classifier, WIDTH))
    with pytest.raises(model.ModelLoadError, match=r"has outputs \['output_label', 'output_probability'\], but"):
        model.load(path)


def test_a_model_trained_for_another_task_is_refused(copy_of):
    path, meta = copy_of()
    meta["task"] = "classification" if contract.TASK == "regression" else "regression"
    model.metadata_path(path).write_text(json.dumps(meta))
    with pytest.raises(model.ModelLoadError, match=rf"trained for .* but contract.py declares task '{contract.TASK}'"):
        model.load(path)


def test_metadata_from_another_training_run_is_refused(copy_of):
    path, meta = copy_of()
    meta["version"] = "another-run"
    model.metadata_path(path).write_text(json.dumps(meta))
    with pytest.raises(model.ModelLoadError, match=r"is version test-1 but model\.json describes another-run"):
        model.load(path)


def test_the_model_computes_on_the_threads_it_is_given(artifact):
    assert model.load(artifact, threads=3).session.get_session_options().intra_op_num_threads == 3


@needs_training
def test_training_refuses_an_export_that_changes_the_predictions(artifact, tmp_path, monkeypatch, capsys):
    served = tmp_path / "model.onnx"
    served.write_bytes(artifact.read_bytes())
    model.metadata_path(served).write_text(model.metadata_path(artifact).read_text())

    from model import train as training

    export_onnx = training.export_onnx

    def export_another_model(estimator, output, version):
        other = clone(estimator).fit(np.eye(WIDTH, dtype=np.float32), np.arange(WIDTH) % max(len(contract.CLASSES), 2))
        export_onnx(other, output, version)

    monkeypatch.setattr(training, "export_onnx", export_another_model)
    monkeypatch.setattr(sys, "argv", ["train", "--output", str(served), "--rows", "1500"])
    with pytest.raises(SystemExit, match=r"error: The ONNX export differs .* Nothing was written"):
        training.main()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.json", "model.onnx"]  # nothing half-made
    assert served.read_bytes() == artifact.read_bytes()  # the model being served is untouched
    assert model.load(served).version == "test-1"


def test_the_service_does_not_import_the_training_libraries(artifact):
    """The image installs the serving dependencies only (no uv group): start-up to answer must not need scikit-learn."""
    code = (
        "import sys\n"
        "from fastapi.testclient import TestClient\n"
        "from {{ cookiecutter.package_name }}.main import app\n"
        "with TestClient(app) as client:\n"
        f"    assert client.post({ROUTE!r}, json={EXAMPLE!r}).status_code == 200\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'sklearn', 'scipy', 'skl2onnx', 'onnx', 'joblib'}))"
    )
    env = {**os.environ, "MODEL_PATH": str(artifact)}
    imported = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert imported.stdout.splitlines()[-1] == "[]"  # after the log lines


def test_the_app_refuses_to_start_without_a_model(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "model_path", tmp_path / "absent.onnx")
    with pytest.raises(model.ModelLoadError, match="make train"), TestClient(app):
        pass


@needs_training
def test_small_training_run_from_scratch(tmp_path):
    from model.sample_data import generate
    from model.train import train

    meta = train(tmp_path / "m.onnx", rows=1500, version="tiny")
    assert model.load(tmp_path / "m.onnx").version == "tiny"
    assert meta["training_rows"] + meta["holdout_rows"] == len(generate(1500)[0])  # however many the data has
