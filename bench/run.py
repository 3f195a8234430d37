"""Benchmark the generated service against the framework's ceiling and a peer, in one run.

    python bench/run.py [--duration 3] [--rounds 5] [--runs 1] [--extra-context key=value ...]

Bakes the project (the defaults, or with `--extra-context` answers) into a temporary
directory, trains its model and starts, each the way the Dockerfile starts the service
(one uvicorn worker, on 127.0.0.1):
- the service itself;
- the ceiling (bench/ceiling_app.py): FastAPI validating the service's own input class and
  answering a constant: no model, no metrics, no middleware;
- the peer (bench/peer_service.py): BentoML, from its own virtualenv, on the same ONNX model
  and input class, adaptive batching on;
- the seed's baseline (bench/baseline_app.py): a hard-coded answer, an extra column.
The routes, the batch key and the request example come from the bake's /openapi.json. wrk
drives them from a second process; the servers alternate round after round, so a noisy
machine moves them all, and each figure is a median over rounds with its spread. The mixed
load runs single requests and batch clients at once. Writes a Markdown report (and the raw
figures as JSON beside it). See bench/README.md.
"""

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

BENCH = Path(__file__).resolve().parent
TEMPLATE = BENCH.parent
LUA = BENCH / "load.lua"
VENV_BIN = str(Path(sys.executable).parent)
PEER_REQUIREMENTS = BENCH / "requirements-peer.txt"
PEER_VENV = TEMPLATE / ".venv" / "bench-peer"  # BentoML is heavy: its own virtualenv, kept between runs
SERVERS = ("service", "ceiling", "peer", "baseline")


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


def ensure_peer() -> Path:
    """The peer's virtualenv (requirements-peer.txt), installed once and again when the file changes."""
    stamp = PEER_VENV / ".installed"
    wanted = PEER_REQUIREMENTS.read_text()
    if not stamp.is_file() or stamp.read_text() != wanted:
        print(f"installing the peer (BentoML) into {PEER_VENV} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(PEER_VENV)], check=True)
        pip = [str(PEER_VENV / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, "--requirement", str(PEER_REQUIREMENTS)], check=True)
        stamp.write_text(wanted)
    return PEER_VENV / "bin"


def run(args: list[str], cwd: Path, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": os.pathsep.join([VENV_BIN, os.environ["PATH"]])}
    return subprocess.run(args, cwd=cwd, env=env, check=True, capture_output=True, text=True, **kwargs)


def bake_and_train(workdir: Path, template: Path, extra_context: list[str]) -> Path:
    cookiecutter = shutil.which("cookiecutter", path=VENV_BIN) or shutil.which("cookiecutter")
    bake = [cookiecutter, "--no-input", "--accept-hooks", "no", "--output-dir", str(workdir), str(template)]
    run([*bake, *extra_context], workdir)
    [project] = [p for p in workdir.iterdir() if p.is_dir()]
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
        self.name, self.command, self.env, self.cwd, self.log, self.health = name, command, env, cwd, log, health
        self.port = free_port()
        self.command[self.command.index("--port") + 1] = str(self.port)
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
            self.proc = subprocess.Popen(self.command, cwd=self.cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        deadline = started + 60
        while time.perf_counter() < deadline:
            if self.healthy():
                return time.perf_counter() - started
            if self.proc.poll() is not None:
                sys.exit(f"{self.name} exited with {self.proc.returncode}; see {self.log}")
            time.sleep(0.005)
        sys.exit(f"{self.name} was not healthy within 60 s; see {self.log}")

    def rss_mib(self, field: str = "VmRSS") -> float:
        """Resident memory now (VmRSS) or at its peak so far (VmHWM), of the process and its children
        (the peer serves from a child process)."""
        pids, total = [self.proc.pid], 0
        while pids:
            pid = pids.pop()
            try:
                status = Path(f"/proc/{pid}/status").read_text()
                pids += [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
            except OSError:
                continue
            total += int(re.search(rf"^{field}:\s+(\d+) kB", status, re.MULTILINE).group(1))
        return total / 1024

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=25)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def wrk(binary: str, port: int, path: str, body: Path, connections: int, seconds: int) -> subprocess.Popen:
    """wrk, started; `measured` reads its figures."""
    args = [binary, "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", str(LUA)]
    args += [f"http://127.0.0.1:{port}{path}", "--", str(body)]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def measured(load: subprocess.Popen, label: str) -> dict:
    output, _ = load.communicate(timeout=120)
    result = json.loads(re.search(r"^RESULT (.*)$", output, re.MULTILINE).group(1))
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


def servers_for(project: Path, workdir: Path, peer_bin: Path | None, statsd_port: int) -> dict[str, Server]:
    """The four servers, with the service's uvicorn flags (one worker, 127.0.0.1)."""
    command, env = dockerfile_command(project)
    if "--workers" in command:  # one worker is what is measured (a bake from before WEB_CONCURRENCY)
        command[command.index("--workers") + 1] = "1"
    command[command.index("--host") + 1] = "127.0.0.1"
    model_path = str(project / "model/artifacts/model.onnx")
    env |= {"WEB_CONCURRENCY": "1", "MODEL_PATH": model_path, "STATSD_PORT": str(statsd_port)}
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
    if peer_bin:
        peer_command = [str(peer_bin / "bentoml"), "serve", "peer_service:Peer", "--host", "127.0.0.1", "--port", "0"]
        peer_env = {
            "PATH": os.pathsep.join([str(peer_bin), os.environ["PATH"]]),
            "PYTHONPATH": str(project),
            "MODEL_PATH": model_path,
            "BENTOML_HOME": str(workdir / "bentoml"),
            "BENTOML_DO_NOT_TRACK": "true",
            **{k: v for k, v in env.items() if k.endswith("_THREADS")},  # one compute thread, as the service
        }
        found["peer"] = Server("peer", peer_command, peer_env, BENCH, workdir / "peer.log", "/readyz")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=3, help="seconds per measured run (default 3)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds per scenario in each pass")
    parser.add_argument("--runs", type=int, default=1, help="passes over all scenarios; spreads are over all rounds")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64], help="for single requests")
    parser.add_argument("--batch-rows", type=int, default=1000, help="items per batch request")
    parser.add_argument("--batch-clients", type=int, default=4, help="concurrent batch clients, alone and mixed")
    parser.add_argument("--cold-starts", type=int, default=3, help="starts to time; the median is reported")
    parser.add_argument("--no-peer", action="store_true", help="skip BentoML (no virtualenv to install)")
    parser.add_argument("--extra-context", nargs="+", default=[], metavar="KEY=VALUE", help="cookiecutter answers")
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
        and 1 <= args.batch_clients <= 64
    ):
        parser.error("keep runs bounded: --rounds 1..10, --runs 1..5, --duration 1..60 s, --concurrency 1..512")
    if bad := [item for item in args.extra_context if "=" not in item]:
        parser.error(f"--extra-context takes key=value, not {bad}")

    wrk_binary = ensure_wrk()
    peer_bin = None if args.no_peer else ensure_peer()
    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    statsd_sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # like the agent's port; never read
    statsd_sink.bind(("127.0.0.1", 0))
    servers: dict[str, Server] = {}
    load_before = os.getloadavg()
    try:
        print(f"baking and training in {workdir} ...", flush=True)
        project = bake_and_train(workdir, args.template, args.extra_context)
        servers = servers_for(project, workdir, peer_bin, statsd_sink.getsockname()[1])
        service = servers["service"]
        service.start()
        api = discover(service.port)
        if api["batch_limit"] and args.batch_rows > api["batch_limit"]:
            parser.error(f"--batch-rows {args.batch_rows} is over the bake's batch limit of {api['batch_limit']}")
        answer = post(service.port, api["single"], api["example"])
        service.stop()
        servers["ceiling"].env |= {"BENCH_PATH": api["single"], "BENCH_ANSWER": json.dumps(answer)}
        servers["baseline"].env |= {"BENCH_PATH": api["single"]}
        if "peer" in servers:
            input_class = (
                run(
                    [sys.executable, "bench_ceiling_app.py", servers["ceiling"].env["BENCH_APP"], api["single"]],
                    project,
                )
                .stderr.strip()
                .splitlines()[-1]
            )
            servers["peer"].env |= {"BENCH_INPUT": input_class, "BENCH_PATH": api["single"]}

        cold, idle = {}, {}
        for server in servers.values():
            times = []
            for _ in range(args.cold_starts):
                times.append(server.start())
                server.stop()
            cold[server.name] = statistics.median(times)
            server.start()
            idle[server.name] = server.rss_mib()
        print("cold start: " + ", ".join(f"{k} {v:.2f} s" for k, v in cold.items()), flush=True)

        one, peer_one, batch = workdir / "one.json", workdir / "peer-one.json", workdir / "batch.json"
        one.write_text(json.dumps(api["example"]))
        peer_one.write_text(json.dumps({"items": [api["example"]]}))  # a batchable BentoML API takes a list
        batch.write_text(json.dumps({api["batch_key"]: [api["example"]] * args.batch_rows}))
        bodies = {name: peer_one if name == "peer" else one for name in servers}
        single = lambda name, c, seconds: wrk(wrk_binary, servers[name].port, api["single"], bodies[name], c, seconds)  # noqa: E731
        batches = lambda seconds: wrk(wrk_binary, service.port, api["batch"], batch, args.batch_clients, seconds)  # noqa: E731

        for name in servers:  # warm up: first requests, code paths, allocator
            measured(single(name, 16, 1), f"warm-up {name}")
        measured(batches(1), "warm-up batch")

        cells: dict[str, dict[str, list[dict]]] = {}
        for _ in range(args.runs):
            for c in args.concurrency:
                names = [n for n in SERVERS if n in servers and (c == 16 or n != "peer")]  # the peer at 16 only
                cell = cells.setdefault(f"single/{c}", {n: [] for n in names})
                for _ in range(args.rounds):
                    for name in names:
                        cell[name].append(measured(single(name, c, args.duration), f"{name} c={c}"))
                print(f"single c={c:<3} " + ", ".join(f"{n} {cell[n][-1]['rps']:,.0f}" for n in names), flush=True)
            mixed = cells.setdefault("mixed", {"batch alone": [], "batch mixed": [], "single mixed": []})
            for _ in range(args.rounds):
                mixed["batch alone"].append(measured(batches(args.duration), "batch alone"))
                running = batches(args.duration)
                mixed["single mixed"].append(measured(single("service", 16, args.duration), "single mixed"))
                mixed["batch mixed"].append(measured(running, "batch mixed"))
            print(
                "mixed: "
                + ", ".join(
                    f"{k} {v[-1]['rps']:,.0f} req/s p99 {v[-1]['p99_us'] / 1000:.1f} ms" for k, v in mixed.items()
                ),
                flush=True,
            )
        memory = {name: {"idle": idle[name], "peak": s.rss_mib("VmHWM")} for name, s in servers.items()}
    finally:
        for server in servers.values():
            server.stop()
        statsd_sink.close()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    report = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "template_commit": template_commit(),
        "machine": machine(),
        "load_average_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        "note": args.note,
        "settings": {
            "duration_s": args.duration,
            "rounds": args.rounds,
            "runs": args.runs,
            "batch_rows": args.batch_rows,
            "batch_clients": args.batch_clients,
            "extra_context": args.extra_context,
            "routes": {k: api[k] for k in ("single", "batch", "batch_key")},
            "command": " ".join(servers["service"].command),
            "peer": peer_bin and re.search(r"^bentoml==\S+", PEER_REQUIREMENTS.read_text(), re.MULTILINE).group(0),
        },
        "cold_start_s": cold,
        "rss_mib": memory,
        "results": {
            cell: {name: summary(rounds) for name, rounds in by_name.items()} for cell, by_name in cells.items()
        },
        "ratios": {
            f"{cell}/{a}:{b}": ratio(by_name, a, b)
            for cell, by_name in cells.items()
            if cell.startswith("single/")
            for a, b in (("service", "ceiling"), ("service", "peer"), ("service", "baseline"))
            if a in by_name and b in by_name
        },
    }
    markdown = render(report)
    print("\n" + markdown)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(markdown)
    args.output.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.output} and {args.output.with_suffix('.json')}")


def render(report: dict) -> str:
    m, s, results, ratios = report["machine"], report["settings"], report["results"], report["ratios"]
    ms = lambda us: f"{us / 1000:.1f}"  # noqa: E731 (one-line formatters)
    spread = lambda pair, f="{:.2f}": f"{f.format(pair[0])}-{f.format(pair[1])}"  # noqa: E731
    routes = s["routes"]
    lines = [
        "# Benchmark: the generated service, the framework's ceiling and a peer",
        "",
        f"- Date: {report['date']}; template commit {report['template_commit']}"
        + (f"; bake answers {' '.join(s['extra_context'])}" if s["extra_context"] else "; the default bake"),
        f"- Machine: {m['cpus']} CPUs ({m['cpu']}), {m['memory_gib']} GiB, Linux {m['kernel']}, Python {m['python']}",
        f"- Load average (1 min) before/after: {report['load_average_before_after'][0]} / "
        f"{report['load_average_before_after'][1]} (other work on the machine; all servers share it)"
        + (f". {report['note']}" if report["note"] else ""),
        f"- Command (the Dockerfile's CMD and ENV, one worker, on 127.0.0.1): `{s['command']}`",
        f"- Routes from the bake's OpenAPI: single `POST {routes['single']}`, batch `POST {routes['batch']}` "
        f"(key `{routes['batch_key']}`, {s['batch_rows']} copies of the documented example).",
        f"- Load: wrk, 1 thread, {s['duration_s']} s per measurement, {s['rounds']} rounds x {s['runs']} run(s), "
        "the servers alternating within each round; figures are medians over rounds, spreads min-max.",
        "- Ceiling: FastAPI validating the service's own input class, answering a constant (no model, metrics or "
        f"middleware). Peer: {s['peer'] or 'not run'}, same ONNX model and input class, adaptive batching, one "
        "worker, no access log; a request carries a one-item list. Baseline: the seed's hard-coded endpoint "
        "(reads no body).",
        "",
        "| single, conn | service req/s | ceiling req/s | peer req/s | baseline req/s | service / ceiling "
        "| service / peer | p99 ms: service / ceiling / peer / baseline |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for cell, by_name in results.items():
        if not cell.startswith("single/"):
            continue
        rps = [f"{by_name[n]['rps']:,.0f}" if n in by_name else "-" for n in SERVERS]
        vs = [
            f"{ratios[key]['median']:.2f}x ({spread(ratios[key]['spread'])})" if key in ratios else "-"
            for key in (f"{cell}/service:ceiling", f"{cell}/service:peer")
        ]
        p99 = " / ".join(ms(by_name[n]["p99_us"]) if n in by_name else "-" for n in SERVERS)
        lines.append(f"| {cell.split('/')[1]} | {' | '.join(rps)} | {' | '.join(vs)} | {p99} |")
    if "mixed" in results:
        mixed, rows = results["mixed"], s["batch_rows"]
        lines += [
            "",
            f"Mixed load: single requests at 16 connections while {s['batch_clients']} clients loop {rows}-item "
            "batches (and the batches alone, alternating with the mix).",
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
    names = [n for n in SERVERS if n in cold]
    lines += [
        "",
        "| | " + " | ".join(names) + " |",
        "|---|" + "---:|" * len(names),
        "| cold start: spawn to first healthy answer (median of starts), s | "
        + " | ".join(f"{cold[n]:.2f}" for n in names)
        + " |",
        "| memory after start (RSS, idle, with child processes), MiB | "
        + " | ".join(f"{rss[n]['idle']:.0f}" for n in names)
        + " |",
        "| peak memory after all the load (VmHWM), MiB | " + " | ".join(f"{rss[n]['peak']:.0f}" for n in names) + " |",
        "",
        "Errors (non-2xx or socket) over all rounds: "
        + ", ".join(
            f"{name} {sum(cell[name]['errors'] for cell in results.values() if name in cell)}" for name in names
        )
        + f"; mixed {sum(v['errors'] for v in results.get('mixed', {}).values())}.",
        "",
        *targets(report),
    ]
    return "\n".join(lines)


def targets(report: dict) -> list[str]:
    """The targets of template issue #17, met or not, from this run's figures."""
    results, ratios, rows, checks = report["results"], report["ratios"], report["settings"]["batch_rows"], []
    pair = lambda r: f"{r['median']:.2f}x ({r['spread'][0]:.2f}-{r['spread'][1]:.2f})"  # noqa: E731
    if r := ratios.get("single/16/service:ceiling"):
        checks.append(("single, 16 connections: at least 0.9x the FastAPI ceiling", pair(r), r["median"] >= 0.9))
    if r := ratios.get("single/16/service:peer"):
        checks.append(("single, 16 connections: ahead of the peer (BentoML)", pair(r), r["median"] > 1))
    if mixed := results.get("mixed"):
        p99 = mixed["single mixed"]["p99_us"] / 1000
        worst = mixed["single mixed"]["spread"]["p99_us"][1] / 1000
        checks.append(("mixed load: single p99 at most 20 ms", f"{p99:.1f} ms (worst round {worst:.1f})", p99 <= 20))
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
