"""After rendering: drop what the chosen options do not need, then validate the result.

Each option that removes files has one small function below, so its effect is easy to
find. The validation is the template's tool, `ecs-model-tools validate`, the same command
`make validate` and the pipeline run. A failed check fails the bake and cookiecutter
removes the output folder.
"""

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

PROJECT = Path.cwd()
SLUG = "{{ cookiecutter.project_slug }}"
# The template as cookiecutter was given it (hooks run inside the project); cruft gives none.
TEMPLATE = "{{ cookiecutter.get('_repo_dir', '') }}"
STRICT = os.environ.get("VALIDATE_STRICT") == "1"


def remove(*paths: str) -> None:
    for path in paths:
        (PROJECT / path).unlink()


def remove_dns_stack_without_hosted_zone() -> None:
    """hosted_zone_name empty: no wildcard DNS name, so no infra/environment/dns.yaml (no DnsStack)."""
    if not "{{ cookiecutter.hosted_zone_name }}":
        remove("infra/environment/dns.yaml")


def make_scripts_executable() -> None:
    """Shell scripts get LF line endings and the executable bit, whatever the checkout did."""
    for script in PROJECT.rglob("*.sh"):
        script.write_bytes(script.read_bytes().replace(b"\r\n", b"\n"))
        script.chmod(0o755)


def tool() -> tuple[list[str], dict[str, str]] | None:
    """How to run ecs-model-tools: the template's own copy (tools/src, the version this project
    pins), else one installed beside this Python or on PATH; None if there is none."""
    source = Path(os.environ.get("PWD", "."), TEMPLATE, "tools", "src") if TEMPLATE else None
    if source and (source / "ecs_model_tools" / "cli.py").is_file():
        pythonpath = os.pathsep.join(filter(None, [str(source.resolve()), os.environ.get("PYTHONPATH")]))
        return [sys.executable, "-m", "ecs_model_tools"], {**os.environ, "PYTHONPATH": pythonpath}
    if importlib.util.find_spec("ecs_model_tools"):
        return [sys.executable, "-m", "ecs_model_tools"], dict(os.environ)
    if command := shutil.which("ecs-model-tools"):
        return [command], dict(os.environ)
    return None


def validate() -> None:
    found = tool()
    if found is None:
        summary = "ecs-model-tools is not installed, so no check ran; `make validate` in the project installs it"
        print(f"\nvalidate: {'FAIL (VALIDATE_STRICT=1)' if STRICT else 'skipped'}: {summary}", file=sys.stderr)
        if STRICT:
            sys.exit(1)
        return
    command, env = found
    result = subprocess.run([*command, "validate"], cwd=PROJECT, env=env)
    if result.returncode != 0:
        print(f"\nThe generated project failed validation; {SLUG}/ was not kept.", file=sys.stderr)
        sys.exit(1)


def where_from_here() -> str:
    """The project's path as the user's shell sees it (cookiecutter runs hooks inside the project)."""
    try:
        return os.path.relpath(PROJECT, os.environ["PWD"])
    except (KeyError, ValueError):  # no PWD, or another drive on Windows
        return str(PROJECT)


def print_next_steps() -> None:
    print(
        f"""
Created {PROJECT}

Next steps:
  cd {where_from_here()}
  make run          # installs, trains the sample model, serves http://localhost:8000/docs
  make test         # the service's tests
  make validate     # every offline check the pipeline runs

README.md walks you from here to the first deploy.
"""
    )
    if "{{ cookiecutter.infrastructure }}" == "shared":
        return  # the environment's certificate and zone are its owner's to set
    if "{{ cookiecutter.certificate_arn }}":
        print("infra/params/dev.json: dev serves HTTP until CertificateArn names a certificate of the dev account.")
    if "{{ cookiecutter.hosted_zone_name }}":
        print("infra/params/<env>.json: set the environment's HostedZoneId (Z...) of each account's zone.")


def main() -> None:
    remove_dns_stack_without_hosted_zone()
    make_scripts_executable()
    validate()
    print_next_steps()


if __name__ == "__main__":
    main()
