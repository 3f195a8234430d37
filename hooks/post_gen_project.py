"""After rendering: drop what the chosen options do not need, then validate the result.

Each option that removes files has one small function below, so its effect is easy to
find. The validation is the generated project's own `scripts/validate.py`, the same one
`make validate` and the pipeline run. A failed check fails the bake and cookiecutter
removes the output folder.
"""

import os
import subprocess
import sys
from pathlib import Path

PROJECT = Path.cwd()
SLUG = "{{ cookiecutter.project_slug }}"


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


def validate() -> None:
    result = subprocess.run([sys.executable, "scripts/validate.py"], cwd=PROJECT)
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
