"""What the serving image adds on Fargate: its installed size, measured without Docker.

    python bench/image_size.py [--extra-context key=value ...] [--output bench/results/image-size.md]

Bakes the project (as bench/run.py does), installs its serving set into a fresh virtualenv the
way the Dockerfile's first stage does (`uv sync --locked --no-default-groups --no-install-project`
from pyproject.toml and uv.lock alone, byte code compiled), and measures what the final stage
copies: the virtualenv, the package and the model artifacts. Each distribution's share comes
from its installed files (dist-info RECORD) and their compiled byte code. The gzip size is what
a registry stores and Fargate downloads for that layer (`docker push` compresses layers with
gzip); decompressing it here on one core times the other half of a pull. The base image
(python:<version>-slim-bookworm) is not measured: no Docker engine here.
"""

import argparse
import csv
import datetime
import gzip
import io
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
TEMPLATE = BENCH.parent
UV = shutil.which("uv", path=str(Path(sys.executable).parent)) or "uv"  # the template's .venv has it


def serving_requirements(project: Path) -> list[str]:
    """The pinned serving set of a bake: from its uv lock once the project has one (without the
    development groups), else from requirements.txt. The one place that knows where it lives."""
    if (project / "uv.lock").is_file():
        export = [UV, "export", "--frozen", "--no-dev", "--no-hashes", "--no-emit-project", "--no-header"]
        text = subprocess.run(export, cwd=project, capture_output=True, text=True, check=True).stdout
    else:
        text = (project / "requirements.txt").read_text()
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("-")]


def dockerfile_trim(project: Path) -> str:
    """The shell commands the Dockerfile's `RUN uv sync ...` runs after the install (what it deletes
    from /opt/venv), or "" if none."""
    text = (project / "Dockerfile").read_text().replace("\\\n", " ")
    run = next((line for line in text.splitlines() if line.startswith("RUN uv sync")), "")
    return " && ".join(" ".join(part.split()) for part in run.removeprefix("RUN ").split("&&")[1:])


def bake(workdir: Path, extra_context: list[str]) -> Path:
    cookiecutter = shutil.which("cookiecutter", path=str(Path(sys.executable).parent)) or "cookiecutter"
    command = [cookiecutter, "--no-input", "--accept-hooks", "no", "--output-dir", str(workdir), str(TEMPLATE)]
    subprocess.run([*command, *extra_context], check=True, capture_output=True)
    [project] = [p for p in workdir.iterdir() if p.is_dir()]
    return project


def tree_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def by_distribution(venv: Path) -> dict[str, int]:
    """Installed bytes of each distribution: the files its RECORD lists and their compiled byte code."""
    [site] = list(venv.glob("lib/python*/site-packages"))
    sizes = {}
    for record in site.glob("*.dist-info/RECORD"):
        name = record.parent.name.removesuffix(".dist-info").replace("-", " ")  # "name version"
        total = 0
        for row in csv.reader(record.read_text().splitlines()):
            file = (site / row[0]).resolve()
            if file.is_file():
                total += file.stat().st_size
            if file.suffix == ".py":  # compiled after the install (UV_COMPILE_BYTECODE=1), so not in RECORD
                total += sum(c.stat().st_size for c in file.parent.glob(f"__pycache__/{file.stem}.*.pyc"))
        sizes[name] = total
    return dict(sorted(sizes.items(), key=lambda item: -item[1]))


def gzip_layer(path: Path) -> tuple[int, float]:
    """The directory as a gzip-compressed tar (a layer as pushed), its size, and seconds to decompress it here."""
    buffer = io.BytesIO()
    with (
        gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=6) as zipped,
        tarfile.open(fileobj=zipped, mode="w") as tar,
    ):
        tar.add(path, arcname=path.name)
    data = buffer.getvalue()
    started = time.perf_counter()
    with gzip.GzipFile(fileobj=io.BytesIO(data)) as unzipped:
        while unzipped.read(1 << 20):
            pass
    return len(data), time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extra-context", nargs="+", default=[], metavar="KEY=VALUE", help="cookiecutter answers")
    parser.add_argument("--output", type=Path, default=BENCH / "results" / "image-size.md")
    args = parser.parse_args()
    mib = lambda n: n / 2**20  # noqa: E731
    with tempfile.TemporaryDirectory(prefix="image-size-") as tmp:
        workdir = Path(tmp)
        project = bake(workdir, args.extra_context)
        subprocess.run([sys.executable, "-m", "model.train"], cwd=project, check=True, capture_output=True)
        [package] = [p.parent for p in project.glob("*/main.py")]  # the service's package
        artifacts = project / "model" / "artifacts"
        requirements = serving_requirements(project)
        source, venv = workdir / "src", workdir / "venv"  # the Dockerfile's /src and /opt/venv
        source.mkdir()
        for name in ("pyproject.toml", "uv.lock"):
            shutil.copy(project / name, source / name)
        env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv), "UV_COMPILE_BYTECODE": "1"}
        sync = [UV, "sync", "--quiet", "--locked", "--no-default-groups", "--no-install-project"]
        subprocess.run([*sync, "--python", sys.executable], cwd=source, env=env, check=True)
        installed = tree_bytes(venv)
        trim = dockerfile_trim(project)
        if trim:  # as the Dockerfile's RUN goes on, on this virtualenv instead of /opt/venv
            subprocess.run(["sh", "-c", trim.replace("/opt/venv", str(venv))], check=True)
        parts = {
            "virtualenv": tree_bytes(venv),
            "package": tree_bytes(package),
            "model artifacts": sum((artifacts / f).stat().st_size for f in ("model.onnx", "model.json")),
        }
        distributions = by_distribution(venv)
        python_code = sum(f.stat().st_size for f in venv.rglob("*.pyc"))
        # The virtualenv serves: the Dockerfile's build-time model check, and the app's import.
        served_by = str(venv / "bin" / "python")
        subprocess.run(
            [served_by, "-m", f"{package.name}.model", "--verify", str(artifacts / "model.onnx")],
            cwd=project,
            check=True,
        )
        subprocess.run([served_by, "-c", f"import {package.name}.main"], cwd=project, check=True)
        layer_bytes, gunzip_s = gzip_layer(venv)
    python = ".".join(map(str, sys.version_info[:3]))
    total = sum(parts.values())
    lines = [
        "# The serving image's own layers, measured without Docker",
        "",
        f"- Date: {datetime.datetime.now(datetime.UTC).isoformat(timespec='seconds')}; "
        f"Python {python} on {platform.system()} {platform.machine()}; "
        f"bake answers: {' '.join(args.extra_context) or 'the defaults'}",
        f"- The serving set ({len(requirements)} pins): " + ", ".join(f"`{r}`" for r in requirements),
        "",
        "| part | installed MiB |",
        "|---|---:|",
        *[f"| {name} | {mib(size):.2f} |" for name, size in parts.items()],
        f"| **total on top of the base image** | **{mib(total):.1f}** |",
        "",
        f"Installed as the Dockerfile does (uv, from the lock; no pip or setuptools in it), byte code compiled "
        f"at build time ({mib(python_code):.1f} MiB of it) so that no worker compiles at start: "
        f"{mib(installed):.1f} MiB, then {mib(parts['virtualenv']):.1f} MiB once the Dockerfile's RUN has deleted "
        f"what the service never loads (`{trim or 'nothing'}`). As a gzip layer the "
        f"virtualenv is {mib(layer_bytes):.1f} MiB to download; decompressing that took {gunzip_s:.2f} s on one "
        "core here.",
        "",
        "| distribution (installed files, byte code included) | MiB |",
        "|---|---:|",
        *[f"| {name} | {mib(size):.1f} |" for name, size in distributions.items() if size >= 2**17],
        f"| {sum(1 for s in distributions.values() if s < 2**17)} smaller ones | "
        f"{mib(sum(s for s in distributions.values() if s < 2**17)):.1f} |",
        "",
    ]
    markdown = "\n".join(lines)
    print(markdown)
    args.output.write_text(markdown)
    args.output.with_suffix(".json").write_text(
        json.dumps(
            {
                "parts": parts,
                "distributions": distributions,
                "layer_gzip_bytes": layer_bytes,
                "gunzip_s": gunzip_s,
                "requirements": requirements,
                "byte_code_bytes": python_code,
                "installed_bytes": installed,
                "trim": trim,
                "python": python,
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
