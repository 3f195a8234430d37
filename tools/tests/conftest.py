"""A project to run the tool on: the template's defaults, rendered without its hooks (which run
this tool: the tests here must not depend on what they test)."""

import shutil
from pathlib import Path

import pytest
from cookiecutter.main import cookiecutter

TEMPLATE = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def rendered(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("rendered")
    return Path(cookiecutter(str(TEMPLATE), no_input=True, accept_hooks=False, output_dir=str(out)))


@pytest.fixture
def project(rendered, tmp_path) -> Path:
    """A copy of the rendered project that a test may change."""
    return Path(shutil.copytree(rendered, tmp_path / rendered.name))
