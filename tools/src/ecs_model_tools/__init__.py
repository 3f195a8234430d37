"""The tooling of the ecs-model-starter template: the checks, the deploy rehearsal and the
helpers its deploy scripts call, run from a baked project's root (`ecs-model-tools --help`)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ecs-model-tools")
except PackageNotFoundError:  # run from a checkout (the bake's hook), not installed
    __version__ = "unknown"
