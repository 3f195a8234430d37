"""Benchmark the generated service against the framework's ceiling and its peers, in one run.

    python bench/run.py [--duration 3] [--rounds 5] [--runs 1] [--extra-context key=value ...]

Bakes the project (the defaults, or with `--extra-context` answers) into a temporary
directory, trains its model and starts, each the way the Dockerfile starts the service
(one uvicorn worker, on 127.0.0.1):
- the service itself;
- the ceiling (bench/ceiling_app.py): FastAPI validating the service's own input class and
  answering a constant: no model, no metrics, no middleware;
- the peers (bench/peers/): BentoML, LitServe, Ray Serve and MLflow's model server, each
  from its own cached virtualenv, on the same ONNX model and input class, batching on where
  they offer it;
- the seed's baseline (bench/baseline_app.py): a hard-coded answer, an extra column.
Then the same on a heavy model (bench/heavy_model.py: a neural network, over 1 ms a row),
with the service's micro-batching on and off. The routes, the batch key and the request
example come from the bake's /openapi.json. wrk drives them from a second process; the
servers alternate round after round, so a noisy machine moves them all, and each figure is a
median over rounds with its spread. The mixed load runs single requests and back-to-back
batch clients at once.
Writes a Markdown report (and the raw figures as JSON beside it). See bench/README.md.
"""

import argparse
import ast
import contextlib
import datetime
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import peers

BENCH = Path(__file__).resolve().parent
TEMPLATE = BENCH.parent
LUA = BENCH / "load.lua"
VENV_BIN = str(Path(sys.executable).parent)
OWN = ("service", "ceiling", "baseline")  # then the peers, in peers.PEERS order
LEAD_IN_S = 1  # seconds of load before each measured window of single requests, not counted
MIXED_SINGLE_THREADS = 2  # wrk's default; the batch clients get a thread each
# The heavy model's hidden layers, read as text at start (importing heavy_model.py imports a bake's training)
HEAVY_LAYERS = list(ast.literal_eval(re.search(r"^HIDDEN = (.+)$", (BENCH / "heavy_model.py").read_text(), re.M)[1]))


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        sys.exit("wrk is not installed: run `sudo apt-get install -y wrk` (Debian/Ubuntu) and try again.")
    print("installing wrk with apt-get ...", flush=True)
    install = ["apt-get", "install", "-y", "--no-install-recommends", "wrk"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run(install, env=env, capture_output=True, check=False).returncode != 0:
        subprocess.run(["apt-get", "update"], env=env, capture_output=True, check=True)
        subprocess.run(install, env=env, capture_output=True, check=True)
    return shutil.which("wrk") or sys.exit("apt-get installed wrk but it is not on PATH")


def run(args: list[str], cwd: Path, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": os.pathsep.join([VENV_BIN, os.environ["PATH"]])}
    return subprocess.run(args, cwd=cwd, env=env, check=True, capture_output=True, text=True, **kwargs)


def bake_and_train(workdir: Path, template: Path, extra_context: list[str], imported: list[str] | None) -> Path:
    """The bake with its sample trained, or with `imported` (MODEL DATA TARGET) served as make import-model does."""
    cookiecutter = shutil.which("cookiecutter", path=VENV_BIN) or shutil.which("cookiecutter")
    bake = [cookiecutter, "--no-input", "--accept-hooks", "no", "--output-dir", str(workdir), str(template)]
    run([*bake, *extra_context], workdir)
    [project] = [p for p in workdir.iterdir() if p.is_dir()]
    if imported:
        model, data, target = (str(Path(imported[0]).resolve()), str(Path(imported[1]).resolve()), imported[2])
        run([sys.executable, "-m", "model.import_model", "--model", model, "--data", data, "--target", target], project)
    else:
        run([sys.executable, "-m", "model.train"], project)
    return project


def dockerfile_command(project: Path) -> tuple[list[str], dict[str, str]]:
    """The final stage's CMD (exec form) and ENV, parsed as the generated tests/conftest.py does."""
    text = (project / "Dockerfile").read_text().replace("\\\n", " ")
    final_stage = text.split("\nFROM ")[-1]
    command = json.loads(re.search(r"^CMD (\[.*\])$", final_stage, re.MULTILINE).group(1))
    env = dict(re.findall(r"(\w+)=(\S+)", " ".join(re.findall(r"^ENV (.*)$", final_stage, re.MULTILINE))))
    env.pop("PATH")
    return command, env


def discover(port: int) -> dict:
    """From the service's /openapi.json: the single and batch routes, the batch's list key and the
    documented example. The batch route's body has an array of the single route's body class."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/openapi.json", timeout=5) as response:
        spec = json.load(response)
    schemas = spec["components"]["schemas"]

    def body(operation: dict) -> str:
        schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
        return schema.get("$ref", "").rsplit("/", 1)[-1]

    posts = {path: body(item["post"]) for path, item in spec["paths"].items() if "post" in item}
    for batch_path, batch_body in posts.items():
        for key, field in schemas.get(batch_body, {}).get("properties", {}).items():
            item = field.get("items", {}).get("$ref", "").rsplit("/", 1)[-1] if field.get("type") == "array" else ""
            singles = [path for path, name in posts.items() if item and name == item and path != batch_path]
            if singles:
                return {
                    "single": singles[0],
                    "batch": batch_path,
                    "batch_key": key,
                    "batch_limit": field.get("maxItems"),
                    "example": schemas[item]["examples"][0],
                }
    sys.exit("the service's /openapi.json has no single route whose body class a batch route takes a list of")


def post(port: int, path: str, body: dict) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """A server process started the way the container starts the service; records its cold start."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], cwd: Path, log: Path, health: str) -> None:
        self.name, self.env, self.cwd, self.log, self.health = name, env, cwd, log, health
        self.port = free_port()
        self.template = command  # with peers.PORT where the port goes
        self.command = [str(self.port) if arg == peers.PORT else arg for arg in command]
        self.proc: subprocess.Popen | None = None

    def healthy(self) -> bool:
        """One raw GET of the health route (no client library start-up cost in the cold-start figure)."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(f"GET {self.health} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n".encode())
                return sock.recv(64).startswith(b"HTTP/1.1 200")
        except OSError:
            return False

    def start(self) -> float:
        """Start and wait until the health route answers 200; return seconds from spawn."""
        env = {**os.environ, "PATH": os.pathsep.join([VENV_BIN, os.environ["PATH"]]), **self.env}
        with self.log.open("ab") as out:
            started = time.perf_counter()
            self.proc = subprocess.Popen(
                self.command,
                cwd=self.cwd,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own session: stop() ends it and every process it started
                preexec_fn=(lambda: os.sched_setaffinity(0, CPUS)) if CPUS else None,  # inherited by its children
            )
        RUNNING.add(self)
        deadline = started + 120
        while time.perf_counter() < deadline:
            if self.healthy():
                return time.perf_counter() - started
            if self.proc.poll() is not None:
                sys.exit(f"{self.name} exited with {self.proc.returncode}; see {self.log}")
            time.sleep(0.005)
        self.stop()
        sys.exit(f"{self.name} was not healthy within 120 s; see {self.log}")

    def rss_mib(self, field: str = "VmRSS") -> float:
        """Resident memory now (VmRSS) or at its peak so far (VmHWM), of the process and its children
        (peers serve from child processes; Ray from a tree of them)."""
        pids, total = [self.proc.pid], 0
        while pids:
            pid = pids.pop()
            try:
                status = Path(f"/proc/{pid}/status").read_text()
                tasks = list(Path(f"/proc/{pid}/task").iterdir())
            except OSError:  # gone meanwhile
                continue
            if found := re.search(rf"^{field}:\s+(\d+) kB", status, re.MULTILINE):  # none for a zombie
                total += int(found.group(1))
            for task in tasks:  # children of every thread, not only the main one
                with contextlib.suppress(OSError):
                    pids += [int(c) for c in (task / "children").read_text().split()]
        return total / 1024

    def freeze(self, frozen: bool) -> None:
        """Stop (SIGSTOP) or continue (SIGCONT) every process of the server's session: a frozen
        server takes no CPU from the one being measured (Ray's idle processes otherwise do)."""
        for pid in self.session() if self.proc is not None else []:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP if frozen else signal.SIGCONT)

    def stop(self) -> None:
        """SIGTERM to every process of the server's session (it and all it started: Ray gives its
        actors process groups of their own, but not sessions), SIGKILL to what is left after 25 s."""
        if self.proc is None:
            return
        self.freeze(False)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in self.session():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=25)
            deadline = time.perf_counter() + 25
            while self.session() and time.perf_counter() < deadline:
                time.sleep(0.1)
        self.proc.wait()
        RUNNING.discard(self)

    def session(self) -> list[int]:
        """The processes of the session this server was started in (its id is the pid we started)."""
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = stat.read_text().rsplit(")", 1)[1].split()  # after "pid (command)"
                if int(fields[3]) == self.proc.pid and fields[0] != "Z":  # session id; zombies are gone
                    found.append(int(stat.parent.name))
        return found


RUNNING: set[Server] = set()  # stopped when the run ends, however it ends
CPUS: set[int] = set()  # the CPUs every server (and all its processes) may run on; empty: any (--cpus)


def wrk(
    binary: str, port: int, path: str, body: Path, connections: int, seconds: int, threads: int = 1
) -> subprocess.Popen:
    """wrk, started; `measured` reads its figures."""
    args = [binary, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", str(LUA)]
    args += [f"http://127.0.0.1:{port}{path}", "--", str(body)]
    # Off the servers' CPUs when there are others (--cpus): clients are other machines in production,
    # and wrk's threads on the server's one CPU would add their own time to every latency measured.
    free = set(os.sched_getaffinity(0)) - CPUS if CPUS else set()
    pin = (lambda: os.sched_setaffinity(0, free)) if free else None
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=pin)


def measured(load: subprocess.Popen, label: str) -> dict:
    output, errors = load.communicate(timeout=120)
    found = re.search(r"^RESULT (.*)$", output, re.MULTILINE)
    if not found:
        sys.exit(f"wrk gave no result for {label}: {output[-500:]} {errors[-500:]}")
    result = json.loads(found.group(1))
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    if result["non_2xx"] or result["socket_errors"]:
        print(f"  warning: {label}: {result['non_2xx']} non-2xx, {result['socket_errors']} socket errors")
    return result


def summary(rounds: list[dict]) -> dict:
    """Median and spread (min, max) over rounds of each figure, and the errors of all rounds."""
    figures = {key: [r[key] for r in rounds] for key in ("rps", "p50_us", "p99_us")}
    return {key: statistics.median(values) for key, values in figures.items()} | {
        "spread": {key: [min(values), max(values)] for key, values in figures.items()},
        "errors": sum(r["non_2xx"] + r["socket_errors"] for r in rounds),
        "rounds": len(rounds),
    }


def ratio(cell: dict, a: str, b: str) -> dict:
    """a's req/s over b's, round by round (the two ran next to each other): median and spread."""
    ratios = [x["rps"] / y["rps"] for x, y in zip(cell[a], cell[b], strict=True)]
    return {"median": statistics.median(ratios), "spread": [min(ratios), max(ratios)]}


def machine() -> dict:
    cpu = re.search(r"^model name\s*:\s*(.*)$", Path("/proc/cpuinfo").read_text(), re.MULTILINE)
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu.group(1) if cpu else platform.processor(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
    }


def template_commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=TEMPLATE, capture_output=True, text=True, check=False).stdout.strip()

    return (git("rev-parse", "--short", "HEAD") or "unknown") + ("+changes" if git("status", "--porcelain") else "")


def servers_for(
    project: Path, workdir: Path, peer_bins: dict[str, Path], statsd_port: int, model_path: Path
) -> dict[str, Server]:
    """The service, the ceiling, the baseline and the peers, with the service's uvicorn flags (one
    worker, 127.0.0.1), all serving `model_path`."""
    command, env = dockerfile_command(project)
    if "--workers" in command:  # one worker is what is measured (a bake from before WEB_CONCURRENCY)
        command[command.index("--workers") + 1] = "1"
    command[command.index("--host") + 1] = "127.0.0.1"
    command[command.index("--port") + 1] = peers.PORT
    env |= {"WEB_CONCURRENCY": "1", "MODEL_PATH": str(model_path), "STATSD_PORT": str(statsd_port)}
    app_path = command[1]  # `package.main:app`
    shutil.copy(BENCH / "ceiling_app.py", project / "bench_ceiling_app.py")
    shutil.copy(BENCH / "baseline_app.py", workdir / "baseline_app.py")
    baseline = [command[0], "baseline_app:app", *command[2:]]
    if "--log-config" in baseline:  # the service's JSON logging imports its package; the baseline has none
        del baseline[baseline.index("--log-config") : baseline.index("--log-config") + 2]
    found = {
        "service": Server("service", [*command], env, project, workdir / "service.log", "/health-check"),
        "ceiling": Server(
            "ceiling",
            [command[0], "bench_ceiling_app:app", *command[2:]],
            env | {"BENCH_APP": app_path},
            project,
            workdir / "ceiling.log",
            "/health-check",
        ),
        "baseline": Server("baseline", baseline, env, workdir, workdir / "baseline.log", "/health-check"),
    }
    for name, bin_ in peer_bins.items():
        peer = peers.PEERS[name]
        peer_env = {
            "PATH": os.pathsep.join([str(bin_), os.environ["PATH"]]),
            "PYTHONPATH": os.pathsep.join([str(project), str(peers.HERE)]),
            "MODEL_PATH": str(model_path),
            **{k: v for k, v in env.items() if k.endswith("_THREADS")},  # one compute thread, as the service
            **peer.env(workdir),
        }
        found[name] = Server(
            name, peer.command(bin_, workdir), peer_env, peers.HERE, workdir / f"{name}.log", peer.health
        )
    return found


def model_cost(project: Path, model_path: Path, rows: tuple[int, ...] = (1, 64)) -> dict[str, float]:
    """Milliseconds per call of the bake's `predict` on the model, in this process's interpreter
    (median of repeated calls on the documented example), for each number of rows."""
    script = f"""
import json, statistics, time
from pathlib import Path
from {project_package(project)} import contract, model
loaded = model.load(Path({str(model_path)!r}), 1)
item = contract.{item_class(project)}(**contract.EXAMPLES[0])
out = {{}}
for n in {list(rows)!r}:
    items, times = [item] * n, []
    for _ in range(max(5, 200 // n)):
        started = time.perf_counter(); loaded.predict(items); times.append(time.perf_counter() - started)
    out[n] = statistics.median(times) * 1000
print(json.dumps(out))
"""
    return json.loads(run([sys.executable, "-c", script], project).stdout.strip().splitlines()[-1])


def project_package(project: Path) -> str:
    return dockerfile_command(project)[0][1].partition(".main:")[0]


def item_class(project: Path) -> str:
    """The contract's request class: the pydantic model whose examples are contract.EXAMPLES."""
    text = (project / project_package(project) / "contract.py").read_text()
    return re.search(r"^class (\w+)\(BaseModel\):", text, re.MULTILINE).group(1)


def start_all(servers: dict[str, Server], cold_starts: int) -> tuple[dict[str, float], dict[str, float]]:
    """Cold start (median of `cold_starts` spawns to the first healthy answer) and idle memory of each,
    leaving every server running."""
    cold, idle = {}, {}
    for name, server in servers.items():
        times = []
        for _ in range(cold_starts):
            times.append(server.start())
            server.stop()
        started = server.start()
        cold[name] = statistics.median(times) if times else started
        idle[name] = server.rss_mib()
        print(f"  {name}: cold start {cold[name]:.2f} s, {idle[name]:.0f} MiB", flush=True)
    return cold, idle


def rounds_of_singles(
    single, servers: dict, concurrency: int, rounds: int, duration: int, cell: dict, loads: list
) -> None:
    """`rounds` rounds, each measuring every server in turn at `concurrency` connections. Each measured
    window follows LEAD_IN_S of the same load, not counted: a server that has just sat idle while the
    others were measured answers its first fraction of a second slower (up to 100-300 ms at 64
    connections here, the light model too), which would otherwise be most of a 3 s window's p99."""
    for _ in range(rounds):
        loads.append(os.getloadavg()[0])
        for name, server in servers.items():
            for other in servers.values():  # the others frozen (SIGSTOP): alone on its CPU, as in a task
                other.freeze(other is not server)
            lead = measured(single(name, concurrency, LEAD_IN_S), f"lead-in {name} c={concurrency}")
            time.sleep(lead["max_us"] / 1e6)  # the requests wrk left in flight are answered, not refused
            cell.setdefault(name, []).append(measured(single(name, concurrency, duration), f"{name} c={concurrency}"))
    for server in servers.values():
        server.freeze(False)
    print(f"  c={concurrency:<3} " + ", ".join(f"{n} {cell[n][-1]['rps']:,.0f}" for n in servers), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=3, help="seconds per measured run (default 3)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds per scenario in each pass")
    parser.add_argument("--runs", type=int, default=1, help="passes over all scenarios; spreads are over all rounds")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64], help="for single requests")
    parser.add_argument("--batch-rows", type=int, default=1000, help="items per batch request")
    parser.add_argument("--batch-clients", type=int, default=4, help="concurrent batch clients, alone and mixed")
    parser.add_argument("--cold-starts", type=int, default=3, help="starts to time; the median is reported")
    parser.add_argument(
        "--peers", nargs="*", default=list(peers.PEERS), choices=list(peers.PEERS), help="peers to run (none: --peers)"
    )
    parser.add_argument("--no-heavy", action="store_true", help="skip the heavy model (about 2 minutes of training)")
    parser.add_argument("--heavy-concurrency", type=int, default=64, help="connections on the heavy model")
    parser.add_argument("--no-mixed", action="store_true", help="skip the mixed load")
    parser.add_argument(
        "--cpus",
        default="1",
        help="CPUs each server may use, all its processes together, like a Fargate task's vCPUs "
        "(default 1: the machine's last CPU; 'all': no limit)",
    )
    parser.add_argument("--extra-context", nargs="+", default=[], metavar="KEY=VALUE", help="cookiecutter answers")
    parser.add_argument(
        "--import-model",
        nargs=3,
        metavar=("MODEL", "DATA", "TARGET"),
        help="serve this model as `make import-model` does instead of the trained sample (bench/text_pipeline.py "
        "writes one); the peers serve the sample's float matrix only, so run it with --peers and no peer",
    )
    parser.add_argument("--note", default="", help="a line for the report, e.g. what else ran on the machine")
    parser.add_argument("--output", type=Path, default=BENCH / "results" / "latest.md")
    parser.add_argument("--template", type=Path, default=TEMPLATE, help="template to bake (default: this one)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary bake and server logs")
    args = parser.parse_args()
    if not (
        1 <= args.rounds <= 10
        and 1 <= args.runs <= 5
        and 1 <= args.duration <= 60
        and 1 <= min(args.concurrency) <= max(args.concurrency) <= 512
        and 1 <= args.heavy_concurrency <= 512
        and 1 <= args.batch_clients <= 64
    ):
        parser.error("keep runs bounded: --rounds 1..10, --runs 1..5, --duration 1..60 s, --concurrency 1..512")
    if bad := [item for item in args.extra_context if "=" not in item]:
        parser.error(f"--extra-context takes key=value, not {bad}")
    if args.import_model and args.peers:
        parser.error("--import-model: the peers serve the sample's float matrix; add --peers with no name")

    if args.cpus != "all":
        available = sorted(os.sched_getaffinity(0))
        if not args.cpus.isdigit() or not 1 <= int(args.cpus) <= len(available):
            parser.error(f"--cpus takes 1 to {len(available)} or 'all'")
        CPUS.update(available[-int(args.cpus) :])
    wrk_binary = ensure_wrk()
    peer_bins = {name: peers.ensure_venv(peers.PEERS[name]) for name in args.peers}
    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    statsd_sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # like the agent's port; never read
    statsd_sink.bind(("127.0.0.1", 0))
    statsd_port = statsd_sink.getsockname()[1]
    servers: dict[str, Server] = {}
    loads = [os.getloadavg()[0]]
    cells: dict[str, dict[str, list[dict]]] = {}
    heavy: dict = {}
    try:
        print(f"baking and training in {workdir} ...", flush=True)
        project = bake_and_train(workdir, args.template, args.extra_context, args.import_model)
        light_model = project / "model/artifacts/model.onnx"
        servers = servers_for(project, workdir, peer_bins, statsd_port, light_model)
        service = servers["service"]
        service.start()
        api = discover(service.port)
        if api["batch_limit"] and args.batch_rows > api["batch_limit"]:
            parser.error(f"--batch-rows {args.batch_rows} is over the bake's batch limit of {api['batch_limit']}")
        answer = post(service.port, api["single"], api["example"])
        service.stop()
        input_class = (
            run(
                [sys.executable, "bench_ceiling_app.py", f"{project_package(project)}.main:app", api["single"]], project
            )
            .stderr.strip()
            .splitlines()[-1]
        )
        for name in peer_bins:
            if prepare := peers.PEERS[name].prepare:
                env = {**os.environ, **servers[name].env, "BENCH_INPUT": input_class, "BENCH_PATH": api["single"]}
                subprocess.run(
                    prepare(peer_bins[name], workdir), cwd=peers.HERE, env=env, check=True, capture_output=True
                )

        def configure(found: dict[str, Server]) -> dict[str, Server]:
            found["ceiling"].env |= {"BENCH_PATH": api["single"], "BENCH_ANSWER": json.dumps(answer)}
            found["baseline"].env |= {"BENCH_PATH": api["single"]}
            for name in peer_bins:
                found[name].env |= {"BENCH_INPUT": input_class, "BENCH_PATH": api["single"]}
            return found

        configure(servers)
        bodies = {"one": workdir / "one.json", "batch": workdir / "batch.json"}
        bodies["one"].write_text(json.dumps(api["example"]))
        bodies["batch"].write_text(json.dumps({api["batch_key"]: batch_rows(api["example"], args.batch_rows)}))
        for name in peer_bins:
            bodies[name] = workdir / f"{name}-one.json"
            bodies[name].write_text(json.dumps(peers.PEERS[name].body(api["example"])))

        def single(found: dict[str, Server]):
            def start(name: str, connections: int, seconds: int, threads: int = 1) -> subprocess.Popen:
                kind = found[name].name  # "service unbatched" is the service
                route = peers.PEERS[kind].route(api["single"]) if kind in peers.PEERS else api["single"]
                body = bodies.get(kind, bodies["one"])
                return wrk(wrk_binary, found[name].port, route, body, connections, seconds, threads)

            return start

        print("cold starts and memory ...", flush=True)
        cold, idle = start_all(servers, args.cold_starts)
        names = list(servers)
        shoot = single(servers)
        for name in names:  # warm up: first requests, code paths, allocator
            measured(shoot(name, 16, 1), f"warm-up {name}")
        batches = lambda seconds: wrk(  # noqa: E731  (each batch client on its own wrk thread)
            wrk_binary, service.port, api["batch"], bodies["batch"], args.batch_clients, seconds, args.batch_clients
        )
        measured(batches(1), "warm-up batch")

        for _ in range(args.runs):
            print("single requests ...", flush=True)
            for c in args.concurrency:
                rounds_of_singles(
                    shoot, servers, c, args.rounds, args.duration, cells.setdefault(f"single/{c}", {}), loads
                )
        memory = {name: {"idle": idle[name], "peak": s.rss_mib("VmHWM")} for name, s in servers.items()}
        for server in servers.values():  # the mixed load is the service's alone: others' idle processes
            if server is not service:  # (Ray's above all) would share its CPU
                server.stop()
        for _ in range(0 if args.no_mixed else args.runs):
            mixed_rounds(shoot, batches, args, cells.setdefault("mixed", {}), loads)
        memory["service"]["peak"] = service.rss_mib("VmHWM")  # the batches' too
        service.stop()

        if not args.no_heavy:
            heavy = heavy_case(args, project, workdir, peer_bins, statsd_port, configure, single, cells, loads)
    finally:
        for server in list(RUNNING):
            server.stop()
        statsd_sink.close()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    loads.append(os.getloadavg()[0])

    report = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "template_commit": template_commit(),
        "machine": machine(),
        "load_average_before_after": [round(loads[0], 2), round(loads[-1], 2)],
        "load_average_over_rounds": [round(min(loads), 2), round(statistics.median(loads), 2), round(max(loads), 2)],
        "note": args.note,
        "settings": {
            "server_cpus": sorted(CPUS) or "all",
            "duration_s": args.duration,
            "rounds": args.rounds,
            "runs": args.runs,
            "batch_rows": args.batch_rows,
            "batch_clients": args.batch_clients,
            "extra_context": args.extra_context,
            "imported_model": [Path(args.import_model[0]).name, Path(args.import_model[1]).name, args.import_model[2]]
            if args.import_model
            else None,
            "routes": {k: api[k] for k in ("single", "batch", "batch_key")},
            "command": " ".join(servers["service"].command),
            "peers": {
                name: {
                    "title": peers.PEERS[name].title,
                    "version": peers.PEERS[name].version,
                    "config": peers.PEERS[name].config,
                }
                for name in peer_bins
            },
        },
        "cold_start_s": cold,
        "rss_mib": memory,
        "heavy": {k: v for k, v in heavy.items() if k != "servers"},
        "results": {
            cell: {name: summary(rounds) for name, rounds in by_name.items()} for cell, by_name in cells.items()
        },
        "ratios": ratios_of(cells, list(peer_bins)),
    }
    markdown = render(report)
    print("\n" + markdown)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(markdown)
    args.output.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.output} and {args.output.with_suffix('.json')}")


def batch_rows(example: dict, rows: int) -> list[dict]:
    """`rows` copies of the documented example (the same body every request)."""
    return [example] * rows


def mixed_rounds(shoot, batches, args, mixed: dict, loads: list) -> None:
    """Batch clients alone, then the same batch clients with single requests at 16 connections.

    Driven the harder way (template issue #27): each batch client is its own wrk thread sending
    its next batch as soon as the last is answered (back to back, never paced), and the single
    requests come from wrk's default of two threads, so the clients take as much of the
    machine's CPU as an independent load generator would. The target is on every round's p99."""
    for _ in range(args.rounds):
        loads.append(os.getloadavg()[0])
        mixed.setdefault("batch alone", []).append(measured(batches(args.duration), "batch alone"))
        running = batches(args.duration)
        singles = shoot("service", 16, args.duration, threads=MIXED_SINGLE_THREADS)
        mixed.setdefault("single mixed", []).append(measured(singles, "single mixed"))
        mixed.setdefault("batch mixed", []).append(measured(running, "batch mixed"))
    print(
        "  mixed: "
        + ", ".join(f"{k} {v[-1]['rps']:,.0f} req/s p99 {v[-1]['p99_us'] / 1000:.1f} ms" for k, v in mixed.items()),
        flush=True,
    )


def heavy_case(args, project, workdir, peer_bins, statsd_port, configure, single, cells, loads) -> dict:
    """The heavy model (bench/heavy_model.py): the service with micro-batching on (its defaults) and off
    (MICRO_BATCH_SIZE=1), and each peer, at `--heavy-concurrency` connections."""
    print("training the heavy model (bench/heavy_model.py) ...", flush=True)
    started = time.perf_counter()
    heavy_path = project / "model" / "heavy" / "model.onnx"
    run([sys.executable, str(BENCH / "heavy_model.py"), str(heavy_path)], project)
    trained_s = time.perf_counter() - started
    cost = model_cost(project, heavy_path)
    print(f"  model call: {', '.join(f'{n} rows {ms:.2f} ms' for n, ms in cost.items())}", flush=True)
    found = configure(servers_for(project, workdir, peer_bins, statsd_port, heavy_path))
    del found["ceiling"], found["baseline"]
    unbatched = Server(
        "service",
        found["service"].template,
        found["service"].env | {"MICRO_BATCH_SIZE": "1"},
        project,
        workdir / "service-unbatched.log",
        "/health-check",
    )
    found = {"service": found.pop("service"), "service unbatched": unbatched, **found}
    result = {
        "servers": found,
        "model_ms": cost,
        "training_s": trained_s,
        "onnx_mib": heavy_path.stat().st_size / 2**20,
        "hidden": HEAVY_LAYERS,
    }
    _, idle = start_all(found, 0)
    shoot = single(found)
    for name in found:
        measured(shoot(name, args.heavy_concurrency, 1), f"warm-up heavy {name}")
    cell = cells.setdefault(f"heavy/{args.heavy_concurrency}", {})
    print("heavy model ...", flush=True)
    for _ in range(args.runs):
        rounds_of_singles(shoot, found, args.heavy_concurrency, args.rounds, args.duration, cell, loads)
    result["rss_mib"] = {name: {"idle": idle[name], "peak": s.rss_mib("VmHWM")} for name, s in found.items()}
    return result


def ratios_of(cells: dict, peer_names: list[str]) -> dict:
    """The service's req/s over each other server's, and over the best peer's (per round, the peer
    that served most in that round; on the heavy model, among the peers that batch)."""
    found = {}
    for cell, by_name in cells.items():
        if cell == "mixed":
            continue
        others = [name for name in by_name if name != "service"]
        for other in others:
            found[f"{cell}/service:{other}"] = ratio(by_name, "service", other)
        contenders = [n for n in peer_names if n in by_name and (cell.startswith("single") or peers.PEERS[n].batching)]
        if contenders:
            best = [
                max(rounds, key=lambda r: r["rps"]) for rounds in zip(*(by_name[n] for n in contenders), strict=True)
            ]
            found[f"{cell}/service:best peer"] = ratio({"service": by_name["service"], "best": best}, "service", "best")
    return found


def render(report: dict) -> str:
    m, s, results, ratios = report["machine"], report["settings"], report["results"], report["ratios"]
    ms = lambda us: f"{us / 1000:.1f}"  # noqa: E731 (one-line formatters)
    spread = lambda pair, f="{:.2f}": f"{f.format(pair[0])}-{f.format(pair[1])}"  # noqa: E731
    times = lambda r: f"{r['median']:.2f}x ({spread(r['spread'])})"  # noqa: E731
    routes, load = s["routes"], report["load_average_over_rounds"]
    singles = [cell for cell in results if cell.startswith("single/")]
    names = list(results[singles[0]]) if singles else []
    title = lambda name: s["peers"][name]["title"] if name in s["peers"] else name  # noqa: E731
    lines = [
        "# Benchmark: the generated service, the framework's ceiling and its peers",
        "",
        f"- Date: {report['date']}; template commit {report['template_commit']}"
        + (f"; bake answers {' '.join(s['extra_context'])}" if s["extra_context"] else "; the default bake")
        + (f"; imported model {' '.join(s['imported_model'])}" if s.get("imported_model") else ""),
        f"- Machine: {m['cpus']} CPUs ({m['cpu']}), {m['memory_gib']} GiB, Linux {m['kernel']}, Python {m['python']}",
        f"- Load average (1 min): {report['load_average_before_after'][0]} before, "
        f"{report['load_average_before_after'][1]} after, {load[0]} / {load[1]} / {load[2]} (min / median / max) "
        "at the rounds' starts. Other work on the machine slows every server alike; compare ratios."
        + (f" {report['note']}" if report["note"] else ""),
        f"- Command (the Dockerfile's CMD and ENV, one worker, on 127.0.0.1): `{s['command']}`",
        f"- Each server, with all its processes, may run on CPU {s['server_cpus']} only (like a one-vCPU Fargate "
        "task); wrk runs on the other CPUs, as clients on other machines would."
        if s.get("server_cpus") not in (None, "all")
        else "- The servers may run on every CPU (`--cpus all`).",
        f"- Routes from the bake's OpenAPI: single `POST {routes['single']}`, batch `POST {routes['batch']}` "
        f"(key `{routes['batch_key']}`, {s['batch_rows']} copies of the documented example).",
        f"- Load: wrk, 1 thread, {s['duration_s']} s per measurement, {s['rounds']} rounds x {s['runs']} run(s), "
        f"the servers alternating within each round, each measured window of single requests after {LEAD_IN_S} s of "
        "the same load not counted; figures are medians over rounds, spreads min-max, and each "
        "ratio is taken round by round (neighbouring measurements).",
        "- Ceiling: FastAPI validating the service's own input class, answering a constant (no model, metrics or "
        "middleware). Baseline: the seed's hard-coded endpoint (reads no body).",
        "- Peers, each on the same ONNX model and input class through the bake's own model module, one "
        "model thread, in its own virtualenv:",
        *[f"  - {p['title']} ({p['version']}): {p['config']}" for p in s["peers"].values()],
        "",
        "Single requests, req/s (median over rounds) and p99 in ms:",
        "",
        "| server | "
        + " | ".join(f"{c.split('/')[1]} conn" for c in singles)
        + " | p99 "
        + " / ".join(c.split("/")[1] for c in singles)
        + " | service / this at 16 conn |",
        "|---|" + "---:|" * (len(singles) + 2),
    ]
    for name in names:
        key = f"single/16/service:{name}"
        lines.append(
            f"| {title(name)} | "
            + " | ".join(f"{results[c][name]['rps']:,.0f}" for c in singles)
            + " | "
            + " / ".join(ms(results[c][name]["p99_us"]) for c in singles)
            + f" | {times(ratios[key]) if key in ratios else '-'} |"
        )
    lines += [
        "",
        "The service over the best peer of each round: "
        + ", ".join(
            f"{c.split('/')[1]} conn {times(ratios[f'{c}/service:best peer'])}"
            for c in singles
            if f"{c}/service:best peer" in ratios
        )
        + "; over the ceiling: "
        + ", ".join(
            f"{c.split('/')[1]} conn {times(ratios[f'{c}/service:ceiling'])}"
            for c in singles
            if f"{c}/service:ceiling" in ratios
        )
        + ".",
    ]
    if heavy := report.get("heavy"):
        [cell] = [c for c in results if c.startswith("heavy/")]
        conn, by_name = cell.split("/")[1], results[cell]
        cost = heavy["model_ms"]
        lines += [
            "",
            f"Heavy model (bench/heavy_model.py: a neural network, {len(heavy['hidden'])} hidden layers of "
            f"{'/'.join(map(str, heavy['hidden']))} units, "
            f"{heavy['onnx_mib']:.0f} MiB of ONNX): one call of the bake's `predict` takes {cost['1']:.2f} ms for "
            f"1 row and {cost['64']:.2f} ms for 64 ({cost['64'] / 64:.3f} ms a row). Single requests at {conn} "
            "connections:",
            "",
            "| server | req/s | p50 ms | p99 ms | p99 over rounds, ms | service / this | peak memory, MiB |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for name, figures in by_name.items():
            key = f"{cell}/service:{name}"
            lines.append(
                f"| {title(name)} | {figures['rps']:,.0f} | {ms(figures['p50_us'])} | {ms(figures['p99_us'])} "
                f"| {spread([us / 1000 for us in figures['spread']['p99_us']], '{:.1f}')} "
                f"| {times(ratios[key]) if key in ratios else '-'} | {heavy['rss_mib'][name]['peak']:.0f} |"
            )
        if f"{cell}/service:best peer" in ratios:
            lines += [
                "",
                f"The service over the best batching peer of each round: {times(ratios[f'{cell}/service:best peer'])}.",
            ]
    if "mixed" in results:
        mixed, rows = results["mixed"], s["batch_rows"]
        lines += [
            "",
            f"Mixed load: single requests at 16 connections (wrk, 2 threads) while {s['batch_clients']} clients, "
            f"each its own wrk thread, send {rows}-item batches back to back (and the batches alone, alternating "
            "with the mix), with no other server running.",
            "",
            "| | req/s | rows/s | p50 / p99 ms | p99 over rounds, ms |",
            "|---|---:|---:|---:|---:|",
        ]
        for name, figures in mixed.items():
            row_rate = f"{figures['rps'] * rows:,.0f}" if name.startswith("batch") else "-"
            lines.append(
                f"| {name} | {figures['rps']:,.1f} | {row_rate} | {ms(figures['p50_us'])} / {ms(figures['p99_us'])} "
                f"| {spread([us / 1000 for us in figures['spread']['p99_us']], '{:.1f}')} |"
            )
    cold, rss = report["cold_start_s"], report["rss_mib"]
    lines += [
        "",
        "| | " + " | ".join(title(n) for n in cold) + " |",
        "|---|" + "---:|" * len(cold),
        "| cold start: spawn to first healthy answer (median of starts), s | "
        + " | ".join(f"{cold[n]:.2f}" for n in cold)
        + " |",
        "| memory after start (RSS, idle, with child processes), MiB | "
        + " | ".join(f"{rss[n]['idle']:.0f}" for n in cold)
        + " |",
        "| peak memory after all the load (VmHWM), MiB | " + " | ".join(f"{rss[n]['peak']:.0f}" for n in cold) + " |",
        "",
        "Errors (non-2xx or socket) over all rounds: "
        + ", ".join(
            f"{title(name)} {sum(c[name]['errors'] for c in results.values() if name in c)}"
            for name in dict.fromkeys([n for c in results.values() for n in c])
        )
        + ".",
        "",
        *targets(report),
    ]
    return "\n".join(lines)


def targets(report: dict) -> list[str]:
    """The targets of template issues #17 and #27, met or not, from this run's figures."""
    results, ratios, rows, checks = report["results"], report["ratios"], report["settings"]["batch_rows"], []
    pair = lambda r: f"{r['median']:.2f}x ({r['spread'][0]:.2f}-{r['spread'][1]:.2f})"  # noqa: E731
    if r := ratios.get("single/16/service:ceiling"):
        checks.append(("single, 16 connections: at least 0.9x the FastAPI ceiling", pair(r), r["median"] >= 0.9))
    if r := ratios.get("single/16/service:best peer"):
        checks.append(("single, 16 connections: at least 1.0x the best peer", pair(r), r["median"] >= 1))
    if heavy := report.get("heavy"):
        one_row = heavy["model_ms"]["1"]
        checks.append(
            (
                "heavy model: one call for 1 row takes at least 1 ms (the bench's setup)",
                f"{one_row:.2f} ms",
                one_row >= 1,
            )
        )
    for cell in [c for c in results if c.startswith("heavy/")]:
        conn, service = cell.split("/")[1], results[cell]["service"]
        if r := ratios.get(f"{cell}/service:service unbatched"):
            checks.append(
                (f"heavy model, {conn} connections: at least 1.5x the unbatched service", pair(r), r["median"] >= 1.5)
            )
        p99, worst = service["p99_us"] / 1000, service["spread"]["p99_us"][1] / 1000
        checks.append(
            (
                f"heavy model, {conn} connections: p99 at most 50 ms",
                f"{p99:.1f} ms (worst round {worst:.1f})",
                p99 <= 50,
            )
        )
        if r := ratios.get(f"{cell}/service:best peer"):
            checks.append(
                (
                    f"heavy model, {conn} connections: at least 1.0x the best peer with batching on",
                    pair(r),
                    r["median"] >= 1,
                )
            )
    if mixed := results.get("mixed"):
        p99 = mixed["single mixed"]["p99_us"] / 1000
        worst = mixed["single mixed"]["spread"]["p99_us"][1] / 1000
        checks.append(
            (
                "mixed load, batches back to back: single p99 at most 20 ms in every round",
                f"{p99:.1f} ms (worst round {worst:.1f})",
                worst <= 20,
            )
        )
        alone, under_mix = mixed["batch alone"]["rps"] * rows, mixed["batch mixed"]["rps"] * rows
        checks.append(("batch alone: at least 100,000 rows/s", f"{alone:,.0f} rows/s", alone >= 100_000))
        checks.append(("batch under the mix: at least 50,000 rows/s", f"{under_mix:,.0f} rows/s", under_mix >= 50_000))
    cold = report["cold_start_s"]["service"]
    checks.append(("cold start under 1.5 s", f"{cold:.2f} s", cold < 1.5))
    errors = sum(cell["service"]["errors"] for cell in results.values() if "service" in cell)
    errors += sum(v["errors"] for v in results.get("mixed", {}).values())
    checks.append(("no failed request (non-2xx or socket error) from the service", str(errors), errors == 0))
    lines = ["| target | this run (median, spread over rounds) | met |", "|---|---:|:---:|"]
    lines += [f"| {name} | {figure} | {'yes' if met else '**no**'} |" for name, figure, met in checks]
    peak = report["rss_mib"]["service"]["peak"]
    return [*lines, f"| memory per worker (stated, no target) | {peak:.0f} MiB peak | |", ""]


if __name__ == "__main__":
    main()
