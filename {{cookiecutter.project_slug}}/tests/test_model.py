import json
import subprocess
import sys

import numpy as np
import pytest
import skl2onnx
from fastapi.testclient import TestClient
from skl2onnx.common.data_types import FloatTensorType
from sklearn.linear_model import LinearRegression

from {{ cookiecutter.package_name }} import model
from {{ cookiecutter.package_name }}.main import app
from {{ cookiecutter.package_name }}.settings import settings

from .conftest import EXAMPLE
from model import train as training
from model.train import export_onnx, train


def test_training_writes_a_loadable_artifact_with_metadata(artifact):
    loaded = model.load(artifact)
    meta = json.loads(model.metadata_path(artifact).read_text())
    assert meta["features"] == model.FEATURES
    assert meta["version"] == "test-1"
    assert meta["metrics"]["mape"] < 0.15, meta["metrics"]
    assert meta["metrics"]["r2"] > 0.8, meta["metrics"]
    assert loaded.version == "test-1"


def test_predictions_follow_the_market(artifact):
    loaded = model.load(artifact)
    base = model.Property(**EXAMPLE)
    bigger = base.model_copy(update={"living_area_m2": 140})
    central = base.model_copy(update={"district": "city-centre"})
    cheap = base.model_copy(update={"district": "industrial-east"})
    small, large, centre, edge = loaded.predict([base, bigger, central, cheap])
    assert large > small
    assert centre > small > edge


@pytest.fixture
def copy_of(artifact, tmp_path):
    def copy(model_bytes=None, meta=None):
        target = tmp_path / "model.onnx"
        target.write_bytes(model_bytes if model_bytes is not None else artifact.read_bytes())
        metadata = json.loads(model.metadata_path(artifact).read_text())
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


def test_unreadable_metadata_says_what_to_run(copy_of):
    path, _ = copy_of(meta="{ not json")
    with pytest.raises(model.ModelLoadError, match=r"unreadable.*make train"):
        model.load(path)


def test_feature_mismatch_is_refused(copy_of):
    path, meta = copy_of()
    meta["features"] = ["living_area_m2", "rooms"]
    model.metadata_path(path).write_text(json.dumps(meta))
    with pytest.raises(model.ModelLoadError, match="trained on features"):
        model.load(path)


def test_a_model_with_other_inputs_is_refused(copy_of, tmp_path):
    three_columns = LinearRegression().fit(np.eye(3, dtype=np.float32), [1.0, 2.0, 3.0])
    onnx = skl2onnx.convert_sklearn(three_columns, initial_types=[("features", FloatTensorType([None, 3]))])
    path, _ = copy_of(model_bytes=onnx.SerializeToString())
    with pytest.raises(model.ModelLoadError, match=r"takes \[\('features', 'tensor\(float\)', \[None, 3\]\)\]"):
        model.load(path)


def test_training_refuses_an_export_that_changes_the_predictions(artifact, tmp_path, monkeypatch):
    served = tmp_path / "model.onnx"
    served.write_bytes(artifact.read_bytes())

    def export_another_model(estimator, output):
        export_onnx(LinearRegression().fit(np.eye(9, dtype=np.float32), np.arange(9.0)), output)

    monkeypatch.setattr(training, "export_onnx", export_another_model)
    with pytest.raises(SystemExit, match="ONNX export differs"):
        train(served, rows=1500)
    assert [p.name for p in tmp_path.iterdir()] == ["model.onnx"]  # nothing half-made beside it
    assert served.read_bytes() == artifact.read_bytes()  # the model being served is untouched


def test_the_service_does_not_import_the_training_libraries():
    """The image installs requirements.txt only: serving must not need scikit-learn."""
    code = (
        "import sys, {{ cookiecutter.package_name }}.main; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'sklearn', 'scipy', 'skl2onnx', 'onnx', 'joblib'}))"
    )
    imported = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert imported.strip() == "[]"


def test_the_app_refuses_to_start_without_a_model(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "model_path", tmp_path / "absent.onnx")
    with pytest.raises(model.ModelLoadError, match="make train"), TestClient(app):
        pass


def test_small_training_run_from_scratch(tmp_path):
    meta = train(tmp_path / "m.onnx", rows=1500, version="tiny")
    assert model.load(tmp_path / "m.onnx").version == "tiny"
    assert meta["training_rows"] == 1200
