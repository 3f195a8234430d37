"""The docs pages in a real headless browser, offline, against the Dockerfile's command.

Needs Debian's chromium (`make browser`). Without it these tests skip, saying so, unless
REQUIRE_BROWSER=1 (as in CI), where a missing browser fails them. Set CHROMIUM to use
another Chromium binary, and SCREENSHOT_DIR to keep the screenshots somewhere other than
pytest's temporary directory.
"""

import json
import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from {{ cookiecutter.package_name }}.contract import EXAMPLES

from .conftest import ANSWER, BATCH_ROUTE, ROUTE, serving

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
TITLE = "{{ cookiecutter.project_name }}"
SINGLE_ROUTE_SUMMARY = "The {{ cookiecutter.prediction_name }} of one {{ cookiecutter.item_name }}."  # its docstring
# The flags of an offline browser: no background or first-run traffic, and no host but
# 127.0.0.1 resolves. The route handler below also refuses (and records) any other request.
OFFLINE_FLAGS = [
    "--no-sandbox",  # runs as root in CI containers
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]


@pytest.fixture(scope="session")  # session scope: decided before the session's model is trained
def chromium() -> Path:
    if CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    reason = f"no Chromium at {CHROMIUM}: run `make browser` (or set CHROMIUM=/path/to/chromium)"
    if os.environ.get("REQUIRE_BROWSER") == "1" or os.environ.get("CI") == "true":  # CI: Bitbucket sets it
        pytest.fail(f"a browser is required here (REQUIRE_BROWSER=1 or CI=true) but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def live_url(chromium, artifact):
    with serving(artifact) as (_, url):
        yield url


@pytest.fixture
def screenshot_dir(tmp_path) -> Path:
    directory = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@pytest.fixture
def page(chromium, live_url, tmp_path):
    """A page in a fresh profile that may reach the service and nothing else."""
    off_host: list[str] = []
    errors: list[str] = []

    def only_the_service(route):
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            off_host.append(route.request.url)
            route.abort("internetdisconnected")

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            tmp_path / "profile", executable_path=chromium, headless=True, args=OFFLINE_FLAGS
        )
        context.set_default_timeout(20_000)
        context.route("**/*", only_the_service)
        page = context.pages[0] if context.pages else context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        yield page
        context.close()
    assert off_host == [], "the page tried to reach the network beyond 127.0.0.1"
    assert errors == [], "the page raised JavaScript errors"


def save(page: Page, directory: Path, name: str, capsys) -> None:
    path = directory / name
    page.screenshot(path=path, full_page=True)
    with capsys.disabled():
        print(f"\nscreenshot: {path}")


def test_swagger_ui_lists_the_operations_and_try_it_out_values_the_example(page, live_url, screenshot_dir, capsys):
    page.goto(f"{live_url}/docs")
    expect(page.locator(".info .title")).to_contain_text(TITLE)
    expect(page.locator(".info .description")).to_contain_text("version test-1")
    paths = page.locator(".opblock-summary-path")
    expect(paths).to_have_count(4)
    assert sorted(paths.all_inner_texts()) == sorted(["/health-check", "/model", ROUTE, BATCH_ROUTE])

    operation = page.locator(".opblock-post", has=page.locator(f'[data-path="{ROUTE}"]'))
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    shown = json.loads(operation.locator("textarea.body-param__text").input_value())
    assert shown == EXAMPLES[0]  # the example on `{{ cookiecutter.__item_class }}`, not a generated placeholder
    operation.get_by_role("button", name="Execute").click()

    live = operation.locator(".live-responses-table")
    expect(live.locator("tr.response .response-col_status")).to_have_text("200")
    body = json.loads(live.locator(".response-col_description pre").first.inner_text())
    assert body[ANSWER] is not None and body["model_version"] == "test-1"
    save(page, screenshot_dir, "docs-try-it-out.png", capsys)


def test_redoc_renders_the_operations_and_examples(page, live_url, screenshot_dir, capsys):
    page.goto(f"{live_url}/redoc")
    expect(page.locator("h1").first).to_contain_text(TITLE)
    expect(page.get_by_text(SINGLE_ROUTE_SUMMARY).first).to_be_visible()
    expect(page.get_by_text(BATCH_ROUTE).first).to_be_attached()
    # A text value of the last example (JavaScript shows 1295.0 as 1295: a number's field name instead).
    last_text = next((value for value in EXAMPLES[-1].values() if isinstance(value, str)), list(EXAMPLES[-1])[-1])
    expect(page.get_by_text(last_text).first).to_be_attached()  # the last example, shown in the batch example
    save(page, screenshot_dir, "redoc.png", capsys)
