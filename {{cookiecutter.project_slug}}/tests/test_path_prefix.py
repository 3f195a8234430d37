"""Behind the environment's listener rule (/{{ cookiecutter.project_slug }}/..., PATH_PREFIX set by
infra/api.yaml) and at the plain paths, in one real uvicorn started by the Dockerfile's command."""

import os
import re
import sys

import httpx2 as httpx

from .conftest import ANSWER, EXAMPLE, ROUTE, serving

PREFIX = "/{{ cookiecutter.project_slug }}"


def test_the_service_answers_under_its_prefix_and_at_its_plain_paths(artifact):
    with serving(artifact, PATH_PREFIX=PREFIX) as (_, url):
        for prefix in (PREFIX, ""):
            base = url + prefix
            assert httpx.get(f"{base}/health-check").json() == {"status": "healthy"}
            response = httpx.post(f"{base}{ROUTE}", json=EXAMPLE)
            assert response.status_code == 200 and ANSWER in response.json(), response.text
            schema = httpx.get(f"{base}/openapi.json").json()
            # Under the prefix, Swagger's "Try it out" calls through it; at the plain paths, straight.
            assert schema.get("servers") == ([{"url": prefix}] if prefix else None)
            for page in ("docs", "redoc"):
                html = httpx.get(f"{base}/{page}").text
                assert f"{prefix}/openapi.json" in html, page
                assets = re.findall(r'(?:src|href)="(/[^"]+)"', html)
                assert assets and all(a.startswith(f"{prefix}/{page}/") for a in assets), assets
                assert all(httpx.get(url + asset).status_code == 200 for asset in assets)
        assert httpx.get(f"{url}/another-model{PREFIX}/health-check").status_code == 404


def test_requests_under_the_prefix_are_counted_and_timed_by_their_route(artifact, statsd_packets):
    """The metrics (and the access log) name the route a prefixed request reached, not "other"."""
    with serving(artifact, PATH_PREFIX=PREFIX, STATSD_PORT=os.environ["STATSD_PORT"]) as (_, url):
        statsd_packets(expected=sys.maxsize, wait=0.5)  # what starting it sent: the health checks
        assert httpx.post(f"{url}{PREFIX}{ROUTE}", json=EXAMPLE).status_code == 200
        lines = statsd_packets(expected=sys.maxsize, wait=1)
    name = ROUTE.strip("/")
    assert f"{{ cookiecutter.project_slug }}.requests.{name}:1|c" in lines, lines
    assert any(line.startswith(f"{{ cookiecutter.project_slug }}.{name}.single:") for line in lines), lines
