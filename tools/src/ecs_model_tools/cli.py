"""ecs-model-tools COMMAND [ARGS]: run from the root of a project baked from ecs-model-starter.

The generated project's Makefile and deploy scripts call these; each command's module says
what it does in full.
"""

import importlib
import sys
from pathlib import Path

from . import __version__

# command -> (module, function taking the remaining arguments, one line of help)
COMMANDS = {
    "validate": ("validate", "main", "every offline check: lint, templates, IAM, pipeline (make validate)"),
    "rehearse": ("rehearse", "main", "dev's deploys and a promotion, on a local AWS emulator (make rehearse)"),
    "status": ("status", "main", "dev|prod: what the environment runs, read from AWS (make status)"),
    "cross-stack": ("cross_stack", "main", "the templates and parameter files fit together"),
    "stack-params": ("stack_params", "main", "ENV SECTION [Key=Value ...]: checked parameters of one stack"),
    "listener-rule": ("listener_rule", "main", "priority | check [--new]: this model's listener rule"),
    "openapi": ("openapi_snapshot", "main", "[--accept]: the request schema against docs/openapi.json"),
    "artifact": ("artifact", "main", "[--publish] [MODEL_PATH]: the committed model, checked by checksum"),
    "release-check": ("release_check", "package", "FOLDER MODEL_JSON: the release check's code, packaged"),
    "emulator": ("emulator", "serve", "PORT RUNNING_TASKS: moto server with the rehearsal's patches"),
    "statsd-console": ("statsd_console", "run", "print the statsd metrics the service sends (make run)"),
}


def usage() -> str:
    lines = [f"usage: ecs-model-tools COMMAND [ARGS]   (version {__version__})", "", "commands:"]
    lines += [f"  {name:15} {text}" for name, (_, _, text) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in {"-h", "--help"}:
        print(usage())
        return 0 if args else 2
    if args[0] == "--version":
        print(f"ecs-model-tools {__version__}")
        return 0
    if args[0] not in COMMANDS:
        print(f"ecs-model-tools: unknown command {args[0]!r}\n\n{usage()}", file=sys.stderr)
        return 2
    if args[0] not in {"emulator", "statsd-console"} and not Path("project.json").is_file():
        print("ecs-model-tools: run it from a baked project's root (no project.json here)", file=sys.stderr)
        return 2
    module, function, _ = COMMANDS[args[0]]
    return getattr(importlib.import_module(f"ecs_model_tools.{module}"), function)(args[1:]) or 0
