"""The generated service's API docs: offline in a real browser, and off when DOCS_ENABLED=false."""

import json
import os
import sys
from pathlib import Path

import pytest

from .conftest import BAKE_PYTEST, run
from .test_matrix import CLASSIFICATION

DOC_PATHS = ["/docs", "/redoc", "/openapi.json", "/docs/swagger-ui-bundle.js", "/redoc/redoc.standalone.js"]
PROBE = f"""
import json
from fastapi.testclient import TestClient
from property_valuation_api.main import app
client = TestClient(app)
print(json.dumps({{path: client.get(path).status_code for path in {DOC_PATHS!r}}}))
"""


@pytest.mark.parametrize("answers", [CLASSIFICATION], ids=["classification"])
def test_the_browser_test_passes_in_headless_chromium(bake_once, answers, tmp_path, capsys):
    """REQUIRE_BROWSER=1, as in CI: a missing chromium fails here instead of skipping. The other task:
    the pages show the contract's examples and answers, whichever the task (the defaults' browser
    test runs in the fresh clone's `make test`, test_fresh_clone.py)."""
    shots = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    result = run(
        [sys.executable, *BAKE_PYTEST, "tests/test_docs_browser.py"],
        bake_once(answers),
        env={"REQUIRE_BROWSER": "1", "SCREENSHOT_DIR": str(shots)},
        timeout=240,
    )
    assert result.returncode == 0, result.stdout[-4000:]
    assert "2 passed" in result.stdout and "skipped" not in result.stdout, result.stdout[-2000:]
    for name in ("docs-try-it-out.png", "redoc.png"):
        png = shots / name
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        with capsys.disabled():
            print(f"\nscreenshot: {png}")


@pytest.mark.parametrize(("enabled", "status"), [("true", 200), ("false", 404)])
def test_docs_enabled_switches_every_docs_path(default_project, enabled, status):
    result = run([sys.executable, "-c", PROBE], default_project, env={"DOCS_ENABLED": enabled})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == dict.fromkeys(DOC_PATHS, status)
