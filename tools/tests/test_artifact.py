"""ecs-model-tools artifact: the committed model is the one model.json describes, or the build stops."""

import hashlib
import json
import subprocess

import pytest

from ecs_model_tools import artifact


@pytest.fixture
def repository(tmp_path, monkeypatch):
    """A git checkout holding a model and the model.json that describes it."""
    monkeypatch.chdir(tmp_path)
    subprocess.run(["git", "init", "-q"], check=True)
    folder = tmp_path / "model/artifacts"
    folder.mkdir(parents=True)
    model = b"\x08\x07onnx bytes" * 100
    (folder / "model.onnx").write_bytes(model)
    files = {"model.onnx": {"bytes": len(model), "sha256": hashlib.sha256(model).hexdigest()}}
    (folder / "model.json").write_text(json.dumps({"version": "2026.12.05-1", "files": files}))
    return tmp_path


def test_the_artifact_model_json_describes_gives_its_version_and_checksum(repository, capsys):
    assert artifact.main([]) == 0
    version, sha256 = capsys.readouterr().out.split()
    assert version == "2026.12.05-1"
    assert sha256 == hashlib.sha256((repository / "model/artifacts/model.onnx").read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m.write_bytes(m.read_bytes() + b"\0"), "this is not the model that was trained or imported with it"),
        (lambda m: m.unlink(), "the pipeline builds the image from the committed model and never trains"),
        (lambda m: m.write_text(f"{artifact.LFS_POINTER.decode()}\noid sha256:00\nsize 1\n"), "Git LFS pointer"),
        (lambda m: m.with_suffix(".json").write_text("{}"), "does not record model.onnx's sha256"),
    ],
    ids=["changed", "missing", "lfs-pointer", "no-checksum"],
)
def test_anything_else_stops_the_build_saying_what_to_do(repository, capsys, change, message):
    change(repository / "model/artifacts/model.onnx")
    assert artifact.main([]) == 1
    assert message in capsys.readouterr().err


def test_a_model_over_the_size_git_carries_needs_git_lfs(repository, capsys, monkeypatch):
    monkeypatch.setattr(artifact, "MAX_MEGABYTES", 0.0001)
    assert artifact.main([]) == 1
    assert "track it with Git LFS" in capsys.readouterr().err
    (repository / ".gitattributes").write_text("model/artifacts/model.onnx filter=lfs diff=lfs merge=lfs -text\n")
    assert artifact.main([]) == 0


def test_publish_stages_the_model_and_model_json(repository):
    assert artifact.main(["--publish"]) == 0
    staged = subprocess.run(["git", "diff", "--cached", "--name-only"], capture_output=True, text=True, check=True)
    assert staged.stdout.split() == ["model/artifacts/model.json", "model/artifacts/model.onnx"]
