"""The peers bench/run.py measures the service against: how each is installed, started and called.

Each peer serves the bake's ONNX model through the bake's own model module (bake_model.py),
configured as its documentation recommends for a CPU model, with its request batching on where
it has one. Each lives in its own virtualenv, built from `requirements-<name>.txt` (pinned) the
first time and again whenever that file changes, in a cache outside the repository
(`$BENCH_PEER_CACHE`, else `~/.cache/ecs-model-starter/bench-peers/<name>`): Ray and MLflow
are hundreds of megabytes and conflict with the template's tools and with each other.
"""

import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
CACHE = Path(
    os.environ.get("BENCH_PEER_CACHE")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ecs-model-starter" / "bench-peers"
)
PORT = "{port}"  # replaced by the free port the bench picks


@dataclass(frozen=True)
class Peer:
    name: str  # its column in the report, and requirements-<name>.txt
    title: str
    config: str  # for the report: how it is set up, in a line
    command: Callable[[Path, Path], list[str]]  # (virtualenv bin, work dir) -> argv, with PORT
    health: str  # answers 200 once the model is loaded
    route: Callable[[str], str] = lambda single: single  # from the service's single route
    body: Callable[[dict], object] = lambda example: example  # from the documented example
    env: Callable[[Path], dict[str, str]] = lambda workdir: {}
    prepare: Callable[[Path, Path], list[str]] | None = None  # run once before the first start
    batching: bool = True  # whether it groups concurrent requests (MLflow's server cannot)

    @property
    def requirements(self) -> Path:
        return HERE / f"requirements-{self.name}.txt"

    @property
    def version(self) -> str:
        """The peer's own pin, the first line of its requirements that pins anything."""
        return re.search(r"^(\S+==\S+)", self.requirements.read_text(), re.MULTILINE).group(1)


PEERS: dict[str, Peer] = {
    peer.name: peer
    for peer in (
        Peer(
            "bentoml",
            "BentoML",
            "`bentoml serve`, 1 worker; adaptive batching (`batchable=True`, max_batch_size 64, max_latency_ms "
            "1000); access log off; a request is a one-item list (a batchable API takes lists)",
            lambda bin_, work: [
                str(bin_ / "bentoml"),
                "serve",
                "bentoml_service:Peer",
                "--host",
                "127.0.0.1",
                "--port",
                PORT,
            ],
            "/readyz",
            body=lambda example: {"items": [example]},
            env=lambda work: {"BENTOML_HOME": str(work / "bentoml"), "BENTOML_DO_NOT_TRACK": "true"},
        ),
        Peer(
            "litserve",
            "LitServe",
            '`LitServer(accelerator="cpu", workers_per_device=1, fast_queue=True)`, one API server; batching '
            "(max_batch_size 64, batch_timeout 1 ms); pydantic request class; access log off",
            lambda bin_, work: [str(bin_ / "python"), "litserve_server.py", PORT],
            "/health",
        ),
        Peer(
            "rayserve",
            "Ray Serve",
            "local Ray, no dashboard; 1 replica, `num_cpus=1`, max_ongoing_requests 64; `@serve.batch` "
            "(max_batch_size 64, batch_wait_timeout_s 0.001); FastAPI ingress with the pydantic request class",
            lambda bin_, work: [str(bin_ / "python"), "rayserve_app.py", PORT],
            "/health-check",
            env=lambda work: {"RAY_USAGE_STATS_ENABLED": "0"},
        ),
        Peer(
            "mlflow",
            "MLflow",
            "`mlflow models serve --env-manager local -w 1` on a pyfunc `PythonModel`; no request batching "
            'offered; a request is `{"dataframe_records": [one row]}`',
            lambda bin_, work: [
                str(bin_ / "mlflow"),
                "models",
                "serve",
                "-m",
                str(work / "mlflow-model"),
                "--env-manager",
                "local",
                "-w",
                "1",
                "-h",
                "127.0.0.1",
                "-p",
                PORT,
            ],
            "/ping",
            route=lambda single: "/invocations",
            body=lambda example: {"dataframe_records": [example]},
            env=lambda work: {"MLFLOW_TRACKING_URI": str(work / "mlruns")},
            prepare=lambda bin_, work: [str(bin_ / "python"), "mlflow_model.py", str(work / "mlflow-model")],
            batching=False,
        ),
    )
}


def ensure_venv(peer: Peer) -> Path:
    """The peer's virtualenv (its requirements file, pinned), built once and again when the file changes."""
    venv, wanted = CACHE / peer.name, peer.requirements.read_text()
    stamp = venv / ".installed"
    if not stamp.is_file() or stamp.read_text() != wanted:
        print(f"installing {peer.title} into {venv} (once; cached) ...", flush=True)
        venv.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, "--requirement", str(peer.requirements)], check=True)
        stamp.write_text(wanted)
    return venv / "bin"
