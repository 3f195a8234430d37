"""Benchmark the generated service against the seed's hard-coded baseline, in one run.

    python bench/run.py [--duration 3] [--rounds 5] [--output bench/results/latest.md]

Bakes the default project into a temporary directory (cookiecutter --no-input, hooks off:
the validator is not what is measured), trains its model, starts the service with the
Dockerfile's exact CMD and ENV (one worker, on 127.0.0.1) and the baseline
(bench/baseline_app.py) with the same uvicorn flags, then drives both with wrk from a
second process at fixed concurrencies. Baseline and service runs alternate, round after
round, and each figure is the median over the rounds, so a noisy machine moves both.
Writes a Markdown table (and the raw figures as JSON beside it). See bench/README.md.
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


def bake_and_train(workdir: Path, template: Path) -> Path:
    cookiecutter = shutil.which("cookiecutter", path=VENV_BIN) or shutil.which("cookiecutter")
    run([cookiecutter, "--no-input", "--accept-hooks", "no", "--output-dir", str(workdir), str(template)], workdir)
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


def documented_example(port: int) -> dict:
    """The request example the service documents in /openapi.json: what a user would send."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/openapi.json", timeout=5) as response:
        return json.load(response)["components"]["schemas"]["Property"]["examples"][0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def healthy(port: int) -> bool:
    """One raw GET /health-check (no client library start-up cost in the cold-start figure)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"GET /health-check HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
            return sock.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


class Server:
    """A uvicorn process started the way the container starts it; records its cold start."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], cwd: Path, log: Path) -> None:
        self.name, self.command, self.env, self.cwd, self.log = name, command, env, cwd, log
        self.port = int(command[command.index("--port") + 1])
        self.proc: subprocess.Popen | None = None

    def start(self) -> float:
        """Start and wait until /health-check answers 200; return seconds from spawn."""
        env = {**os.environ, **self.env, "PATH": os.pathsep.join([VENV_BIN, os.environ["PATH"]])}
        with self.log.open("ab") as out:
            started = time.perf_counter()
            self.proc = subprocess.Popen(self.command, cwd=self.cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        deadline = started + 60
        while time.perf_counter() < deadline:
            if healthy(self.port):
                return time.perf_counter() - started
            if self.proc.poll() is not None:
                sys.exit(f"{self.name} exited with {self.proc.returncode}; see {self.log}")
            time.sleep(0.005)
        sys.exit(f"{self.name} was not healthy within 60 s; see {self.log}")

    def rss_mib(self, field: str = "VmRSS") -> float:
        """Resident memory now (VmRSS) or at its peak so far (VmHWM)."""
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        return int(re.search(rf"^{field}:\s+(\d+) kB", status, re.MULTILINE).group(1)) / 1024

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=25)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def wrk(binary: str, port: int, path: str, body: Path | None, connections: int, seconds: int) -> dict:
    args = [binary, "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", str(LUA)]
    args += [f"http://127.0.0.1:{port}{path}", "--", str(body) if body else ""]
    output = subprocess.run(args, capture_output=True, text=True, check=True, timeout=seconds + 30).stdout
    result = json.loads(re.search(r"^RESULT (.*)$", output, re.MULTILINE).group(1))
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    if result["non_2xx"] or result["socket_errors"]:
        errors = f"{result['non_2xx']} non-2xx, {result['socket_errors']} socket errors"
        print(f"  warning: {path} c={connections}: {errors}")
    return result


def median_of(runs: list[dict]) -> dict:
    return {key: statistics.median(r[key] for r in runs) for key in ("rps", "p50_us", "p99_us")} | {
        "errors": sum(r["non_2xx"] + r["socket_errors"] for r in runs),
        "runs": len(runs),
    }


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=3, help="seconds per measured run (default 3)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating baseline/service rounds per cell")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--batch-rows", type=int, default=1000, help="properties per batch request")
    parser.add_argument("--cold-starts", type=int, default=3, help="starts to time; the median is reported")
    parser.add_argument("--output", type=Path, default=BENCH / "results" / "latest.md")
    parser.add_argument("--endpoints", nargs="+", choices=["health", "single", "batch"], default=None)
    parser.add_argument("--template", type=Path, default=TEMPLATE, help="template to bake (default: this one)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary bake and server logs")
    args = parser.parse_args()
    if not (
        1 <= args.rounds <= 10
        and 1 <= args.duration <= 60
        and 1 <= min(args.concurrency) <= max(args.concurrency) <= 512
    ):
        parser.error("keep runs bounded: --rounds 1..10, --duration 1..60 s, --concurrency 1..512")

    wrk_binary = ensure_wrk()
    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    statsd_sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # like the agent's port; never read
    statsd_sink.bind(("127.0.0.1", 0))
    servers: list[Server] = []
    load_before = os.getloadavg()
    try:
        print(f"baking and training in {workdir} ...", flush=True)
        project = bake_and_train(workdir, args.template)
        command, env = dockerfile_command(project)
        if "--workers" in command:  # one worker is what is measured (a bake from before WEB_CONCURRENCY)
            command[command.index("--workers") + 1] = "1"
        env["WEB_CONCURRENCY"] = "1"
        command[command.index("--host") + 1] = "127.0.0.1"
        env |= {"MODEL_PATH": str(project / "model/artifacts/model.onnx")}
        env |= {"STATSD_PORT": str(statsd_sink.getsockname()[1])}
        shutil.copy(BENCH / "baseline_app.py", workdir / "baseline_app.py")
        base_command = [*command]
        base_command[1] = "baseline_app:app"
        if "--log-config" in base_command:  # the service's JSON logging imports its package; the baseline has none
            del base_command[base_command.index("--log-config") : base_command.index("--log-config") + 2]
        service = Server("service", command, env, project, workdir / "service.log")
        baseline = Server("baseline", base_command, env, workdir, workdir / "baseline.log")
        for server in (service, baseline):
            server.command[server.command.index("--port") + 1] = str(free_port())
            server.port = int(server.command[server.command.index("--port") + 1])

        cold, idle = {}, {}
        for server in (baseline, service):
            times = []
            for _ in range(args.cold_starts):
                times.append(server.start())
                server.stop()
            cold[server.name] = statistics.median(times)
            servers.append(server)
            server.start()
            idle[server.name] = server.rss_mib()
        print(f"cold start: baseline {cold['baseline']:.2f} s, service {cold['service']:.2f} s", flush=True)

        example = documented_example(service.port)
        one = workdir / "one.json"
        one.write_text(json.dumps(example))
        many = workdir / "batch.json"
        many.write_text(json.dumps({"properties": [example] * args.batch_rows}))
        cells = [("health", "/health-check", None, True), ("single", "/valuation", one, True)]
        cells.append(("batch", "/valuation/batch", many, False))

        for server in (baseline, service):  # warm up: first requests, code paths, allocator
            wrk(wrk_binary, server.port, "/valuation", one, 16, 1)
        wrk(wrk_binary, service.port, "/valuation/batch", many, 4, 1)

        results: dict = {}
        cells = [cell for cell in cells if args.endpoints is None or cell[0] in args.endpoints]
        for name, path, body, with_baseline in cells:
            for connections in args.concurrency:
                runs: dict[str, list[dict]] = {"baseline": [], "service": []}
                for _ in range(args.rounds):
                    for server in (baseline, service) if with_baseline else (service,):
                        runs[server.name].append(wrk(wrk_binary, server.port, path, body, connections, args.duration))
                results[f"{name}/{connections}"] = {k: median_of(v) for k, v in runs.items() if v}
                line = ", ".join(f"{k} {v['rps']:,.0f} req/s" for k, v in results[f"{name}/{connections}"].items())
                print(f"{name:7} c={connections:<3} {line}", flush=True)
        memory = {server.name: {"idle": idle[server.name], "peak": server.rss_mib("VmHWM")} for server in servers}
    finally:
        for server in servers:
            server.stop()
        statsd_sink.close()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    report = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "template_commit": template_commit(),
        "machine": machine(),
        "load_average_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        "settings": {
            "duration_s": args.duration,
            "rounds": args.rounds,
            "batch_rows": args.batch_rows,
            "command": " ".join(command),
            "env": env | {"MODEL_PATH": "<bake>/model/artifacts/model.onnx", "STATSD_PORT": "<sink>"},
        },
        "cold_start_s": cold,
        "rss_mib": memory,
        "results": results,
        "batch_rows": args.batch_rows,
    }
    markdown = render(report, args.concurrency)
    print("\n" + markdown)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(markdown)
    args.output.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.output} and {args.output.with_suffix('.json')}")


def render(report: dict, concurrencies: list[int]) -> str:
    m, s = report["machine"], report["settings"]
    ms = lambda us: f"{us / 1000:.1f}"  # noqa: E731 (a one-line formatter)
    lines = [
        "# Benchmark: generated service vs the seed's hard-coded baseline",
        "",
        f"- Date: {report['date']}; template commit {report['template_commit']}",
        f"- Machine: {m['cpus']} CPUs ({m['cpu']}), {m['memory_gib']} GiB, Linux {m['kernel']}, Python {m['python']}",
        f"- Load average (1 min) before/after: {report['load_average_before_after'][0]} / "
        f"{report['load_average_before_after'][1]} (other work on the machine; both apps share it)",
        f"- Command (the Dockerfile's CMD and ENV, one worker, on 127.0.0.1): `{s['command']}`",
        f"- Load: wrk, 1 thread, {s['duration_s']} s per run, {s['rounds']} rounds alternating baseline and "
        "service; each figure is the median of the rounds. Baseline: bench/baseline_app.py (sync `/valuation` "
        "returning a constant, statsd timer decorator; it reads no body).",
        "",
        "| endpoint | conn | baseline req/s | service req/s | ratio | baseline p50 / p99 ms | service p50 / p99 ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, label in (("health", "GET /health-check"), ("single", "POST /valuation")):
        for c in concurrencies:
            if f"{name}/{c}" not in report["results"]:
                continue
            b, v = report["results"][f"{name}/{c}"]["baseline"], report["results"][f"{name}/{c}"]["service"]
            lines.append(
                f"| {label} | {c} | {b['rps']:,.0f} | {v['rps']:,.0f} | {v['rps'] / b['rps']:.2f}x | "
                f"{ms(b['p50_us'])} / {ms(b['p99_us'])} | {ms(v['p50_us'])} / {ms(v['p99_us'])} |"
            )
    lines += [
        "",
        f"| POST /valuation/batch ({report['batch_rows']} rows) | conn | requests/s | rows/s | p50 / p99 ms |",
        "|---|---:|---:|---:|---:|",
    ]
    for c in concurrencies:
        if f"batch/{c}" not in report["results"]:
            continue
        v = report["results"][f"batch/{c}"]["service"]
        rows = v["rps"] * report["batch_rows"]
        lines.append(f"| service | {c} | {v['rps']:,.1f} | {rows:,.0f} | {ms(v['p50_us'])} / {ms(v['p99_us'])} |")
    cold, rss = report["cold_start_s"], report["rss_mib"]
    lines += [
        "",
        "| | baseline | service |",
        "|---|---:|---:|",
        f"| cold start: spawn to first healthy /health-check (median of starts), s | {cold['baseline']:.2f} | "
        f"{cold['service']:.2f} |",
        f"| memory of the one worker after start (RSS, idle), MiB | {rss['baseline']['idle']:.0f} | "
        f"{rss['service']['idle']:.0f} |",
        f"| peak memory after all the load (VmHWM), MiB | {rss['baseline']['peak']:.0f} | "
        f"{rss['service']['peak']:.0f} |",
        "",
        f"Errors (non-2xx or socket) over all runs: "
        f"{sum(v['errors'] for cell in report['results'].values() for v in cell.values())}.",
        "",
        *targets(report),
    ]
    return "\n".join(lines)


def targets(report: dict) -> list[str]:
    """The serving targets (template issue #7), met or not, from this run's figures."""
    results, checks = report["results"], []
    if "single/16" in results:
        base, service = results["single/16"]["baseline"], results["single/16"]["service"]
        ratio = service["rps"] / base["rps"]
        checks.append(("single /valuation, 16 connections: ≥ 1.0x the baseline's req/s", f"{ratio:.2f}x", ratio >= 1))
        p99 = f"{service['p99_us'] / 1000:.1f} ms vs {base['p99_us'] / 1000:.1f} ms"
        p99_met = service["p99_us"] <= base["p99_us"]
        checks.append(("single /valuation, 16 connections: p99 ≤ the baseline's", p99, p99_met))
    if "batch/16" in results:
        rows = results["batch/16"]["service"]["rps"] * report["batch_rows"]
        checks.append(("batch valuation, 16 connections: ≥ 50,000 rows/s", f"{rows:,.0f} rows/s", rows >= 50_000))
    cold = report["cold_start_s"]["service"]
    checks.append(("cold start < 1.5 s", f"{cold:.2f} s", cold < 1.5))
    lines = ["| target | this run | met |", "|---|---:|:---:|"]
    lines += [f"| {name} | {figure} | {'yes' if met else '**no**'} |" for name, figure, met in checks]
    peak = report["rss_mib"]["service"]["peak"]
    return [*lines, f"| memory per worker (stated, no target) | {peak:.0f} MiB peak | |", ""]


if __name__ == "__main__":
    main()
