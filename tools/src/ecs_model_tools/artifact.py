"""The model artifact the image is built from: committed in git, built once, checked by checksum.

    ecs-model-tools artifact [--publish] [MODEL_PATH]     (default model/artifacts/model.onnx)

`make train` or `make import-model` writes model.onnx and model.json; the pipeline never trains.
This checks that the artifact is the one model.json describes (its SHA-256 and size), that it is
the file itself and not a Git LFS pointer the checkout left unfetched, and that git can carry it:
at most MAX_MEGABYTES, or tracked by Git LFS. It prints "<model version> <sha256>" (the image's
labels, scripts/build-push.sh). --publish (`make publish-model`) also stages both files for commit.
Exit status 1, with the reason, when the artifact cannot be built from.
"""

import argparse
import hashlib
import json
import subprocess
import sys
from pathlib import Path

DEFAULT = Path("model/artifacts/model.onnx")
MAX_MEGABYTES = 50  # a tabular model's ONNX file is kilobytes to a few megabytes
LFS_POINTER = b"version https://git-lfs.github.com/spec/v1"


class ArtifactError(Exception):
    pass


def lfs_tracked(path: Path) -> bool:
    found = subprocess.run(["git", "check-attr", "filter", "--", str(path)], capture_output=True, text=True)
    return found.stdout.strip().endswith(": lfs")


def check(path: Path) -> tuple[str, str]:
    """The artifact's model version and SHA-256, or ArtifactError saying what to do."""
    meta = path.with_suffix(".json")
    if not path.is_file() or not meta.is_file():
        raise ArtifactError(
            f"{path} or {meta.name} is missing: the pipeline builds the image from the committed model and never "
            "trains. Run `make train` (or `make import-model`), then `make publish-model`, and commit"
        )
    with path.open("rb") as file:
        if file.read(len(LFS_POINTER)) == LFS_POINTER:
            raise ArtifactError(
                f"{path} is a Git LFS pointer, not the model: fetch it (git lfs pull; in Bitbucket Pipelines, "
                "`clone: lfs: true`)"
            )
        file.seek(0)
        sha256 = hashlib.file_digest(file, "sha256").hexdigest()
    try:
        described = json.loads(meta.read_text())
        recorded, version = described["files"][path.name]["sha256"], described["version"]
    except (ValueError, KeyError, TypeError) as error:
        raise ArtifactError(f"{meta} does not record {path.name}'s sha256 and the model version ({error!r})") from None
    if sha256 != recorded:
        raise ArtifactError(
            f"{path} has sha256 {sha256}, but {meta.name} records {recorded}: this is not the model that was "
            "trained or imported with it. Train or import again (both files together), and commit both"
        )
    megabytes = path.stat().st_size / 2**20
    if megabytes > MAX_MEGABYTES and not lfs_tracked(path):
        raise ArtifactError(
            f"{path} is {megabytes:.0f} MB, over the {MAX_MEGABYTES} MB this project keeps in git: track it with "
            f"Git LFS (git lfs track '{path}', docs/deploying.md, 'How the model travels')"
        )
    return version, sha256


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ecs-model-tools artifact", description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", type=Path, default=DEFAULT, metavar="MODEL_PATH")
    parser.add_argument("--publish", action="store_true", help="stage the model and model.json for commit")
    args = parser.parse_args(argv)
    try:
        version, sha256 = check(args.model)
    except ArtifactError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if args.publish:
        staged = subprocess.run(["git", "add", "--", str(args.model), str(args.model.with_suffix(".json"))])
        if staged.returncode != 0:
            print("error: git add failed (above): is this the repository's checkout?", file=sys.stderr)
            return 1
        print(f"{args.model}: model {version}, sha256 {sha256}, staged: commit it and push to dev", file=sys.stderr)
    print(version, sha256)
    return 0
