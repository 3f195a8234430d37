"""The documentation the service serves: its own assets, its description, examples that work."""

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from {{ cookiecutter.package_name }}.contract import EXAMPLES, {{ cookiecutter.__item_class }}
from {{ cookiecutter.package_name }}.schemas import BatchRequest
from {{ cookiecutter.package_name }}.settings import Settings

from .conftest import ANSWER, ANSWERS, BATCH_KEY, BATCH_ROUTE, ROUTE

ROOT = Path(__file__).resolve().parent.parent


def test_every_setting_is_in_the_configuration_page_and_the_env_example():
    table = (ROOT / "docs" / "configuration.md").read_text()
    example = (ROOT / ".env.example").read_text()
    for name in (name.upper() for name in Settings.model_fields):
        assert f"| `{name}`" in table or f", `{name}` |" in table, f"{name} is not in docs/configuration.md's table"
        assert f"\n{name}=" in example, f"{name} is not in .env.example"


def test_docs_pages_load_their_assets_from_the_service_not_a_cdn(client):
    for page in ("/docs", "/redoc"):
        html = client.get(page).text
        assert not re.findall(r"https?://", html), f"{page} links outside the service"
        assets = re.findall(r'(?:src|href)="(/[^"]+)"', html)
        assert any(asset.endswith(".js") for asset in assets)
        for asset in assets:
            assert client.get(asset).status_code == 200, asset


def test_description_names_the_loaded_model_and_how_to_call_it(client):
    info = client.get("/openapi.json").json()["info"]
    assert info["title"] == "{{ cookiecutter.project_name }}"
    assert "version `test-1`" in info["description"]
    metrics = client.get("/model").json()["metrics"]
    assert all(name in info["description"] for name in metrics)
    assert f"POST {ROUTE}`" in info["description"] and f"POST {BATCH_ROUTE}`" in info["description"]


def test_every_documented_request_example_is_answered(client):
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    assert schemas["{{ cookiecutter.__item_class }}"]["examples"] == EXAMPLES
    [batch] = schemas["BatchRequest"]["examples"]
    assert batch == BatchRequest.model_json_schema()["examples"][0] == {BATCH_KEY: EXAMPLES}
    response = client.post(BATCH_ROUTE, json=batch)
    assert response.status_code == 200
    assert len(response.json()[ANSWERS]) == len(batch[BATCH_KEY]) > 1
    for item, answer in zip(batch[BATCH_KEY], response.json()[ANSWERS], strict=True):
        assert client.post(ROUTE, json=item).json()[ANSWER] == answer


PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
REQUEST_BODY = re.compile(r"-d '(\{.*?\})'", re.S)  # a JSON body written into a curl command


def stale_bodies(text: str) -> list[str]:
    """The request bodies in `text` that the contract refuses."""
    stale = []
    for body in REQUEST_BODY.findall(text):
        try:
            {{ cookiecutter.__item_class }}.model_validate_json(body)
        except ValidationError:
            stale.append(body)
    return stale


@pytest.mark.parametrize("page", PAGES, ids=[page.name for page in PAGES])
def test_request_bodies_written_in_the_docs_are_the_contracts(page):
    """A request body copied into the README or docs/ goes stale when the contract changes."""
    assert stale_bodies(page.read_text()) == []


def test_a_stale_request_body_is_caught():
    assert stale_bodies("""curl -d '{"no_such_field": 1}'""") == ['{"no_such_field": 1}']


def test_the_readme_sends_the_contracts_example_and_names_the_answer():
    """`make try` (the README's way to call the service) posts contract.EXAMPLES[0]; the API table
    names the response fields the service answers."""
    readme = (ROOT / "README.md").read_text()
    assert "make try" in readme
    [recipe] = re.findall(r"^try:.*?\n((?:\t.*\n)+)", (ROOT / "Makefile").read_text(), re.M)
    assert "EXAMPLES[0]" in recipe and f"/{ROUTE.strip('/')} " in recipe.replace("\\\n", " ")
    single, batch = f'"{ANSWER}", "model_version"', f'"{ANSWERS}": [...], "model_version"'
    assert "`{" + single + "}`" in readme and "`{" + batch + "}`" in readme
