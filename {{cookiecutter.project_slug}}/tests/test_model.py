import json

import joblib
import pytest
from fastapi.testclient import TestClient

from {{ cookiecutter.package_name }} import model
from {{ cookiecutter.package_name }}.main import app
from {{ cookiecutter.package_name }}.settings import settings

from .conftest import EXAMPLE
from model.train import train


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
        target = tmp_path / "model.joblib"
        target.write_bytes(model_bytes if model_bytes is not None else artifact.read_bytes())
        metadata = json.loads(model.metadata_path(artifact).read_text())
        model.metadata_path(target).write_text(meta if meta is not None else json.dumps(metadata))
        return target, metadata

    return copy


def test_missing_artifact_says_what_to_run(tmp_path):
    with pytest.raises(model.ModelLoadError, match=r"No model artifact.*make train"):
        model.load(tmp_path / "model.joblib")


def test_corrupt_artifact_says_what_to_run(copy_of):
    path, _ = copy_of(model_bytes=b"definitely not a pickle")
    with pytest.raises(model.ModelLoadError, match=r"could not be read.*make train"):
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


def test_library_version_mismatch_is_refused(copy_of):
    path, meta = copy_of()
    meta["libraries"]["scikit-learn"] = "0.24.2"
    model.metadata_path(path).write_text(json.dumps(meta))
    with pytest.raises(model.ModelLoadError, match=r"scikit-learn 0\.24\.2"):
        model.load(path)


def test_an_object_that_is_not_a_model_is_refused(copy_of, tmp_path):
    joblib.dump({"weights": [1, 2]}, tmp_path / "other.joblib")
    path, _ = copy_of(model_bytes=(tmp_path / "other.joblib").read_bytes())
    with pytest.raises(model.ModelLoadError, match="not a model"):
        model.load(path)


def test_the_app_refuses_to_start_without_a_model(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "model_path", tmp_path / "absent.joblib")
    with pytest.raises(model.ModelLoadError, match="make train"), TestClient(app):
        pass


def test_small_training_run_from_scratch(tmp_path):
    meta = train(tmp_path / "m.joblib", rows=1500, version="tiny")
    assert model.load(tmp_path / "m.joblib").version == "tiny"
    assert meta["training_rows"] == 1200
