"""From the code to the alarm: the metrics the service sends are the ones CloudWatch shows.

The service runs and is driven through every route and status class while a UDP listener
captures its statsd packets. Each packet is mapped the way the CloudWatch agent sidecar
maps it (name kept, dimension metric_type from the statsd type), and compared with the
metrics infra/dashboard.yaml and the alarms in infra/api.yaml reference.
"""

import json
import re
import sys
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }} import metrics
from {{ cookiecutter.package_name }}.settings import settings

from .conftest import BATCH_KEY, BATCH_ROUTE, EXAMPLE, ROUTE

ROOT = Path(__file__).resolve().parent.parent
from ecs_model_tools import cross_stack  # noqa: E402  (the template's tool: CloudFormation-aware YAML)

AGENT_METRIC_TYPES = {"ms": "timing", "c": "counter", "g": "gauge"}  # the agent's statsd input
NAMESPACE = "<service namespace>"


def as_agent_publishes(lines: list[str]) -> set[tuple[str, str]]:
    """(MetricName, metric_type) for each statsd line, as the agent publishes them."""
    published = set()
    for line in lines:
        name, _, rest = line.partition(":")
        statsd_type = rest.split("|")[1]
        published.add((name, AGENT_METRIC_TYPES[statsd_type]))
    return published


def task_definition() -> dict:
    api = cross_stack.load(ROOT / "infra" / "api.yaml")
    return api["Resources"]["TaskDefinition"]["Properties"]


def container(name: str) -> dict:
    return next(c for c in task_definition()["ContainerDefinitions"] if c["Name"] == name)


def environment(name: str) -> dict:
    return {item["Name"]: item["Value"] for item in container(name)["Environment"]}


def agent_config() -> dict:
    template, variables = environment("cloudwatch-agent")["CW_CONFIG_CONTENT"]["Fn::Sub"]
    assert set(variables) == {"Namespace"}
    return json.loads(template.replace("${Namespace}", NAMESPACE))


def service_metric(namespace, metric_name, dimensions: dict) -> tuple[str, str] | None:
    """A reference to the service's namespace as (MetricName with the prefix, metric_type)."""
    if namespace != NAMESPACE:
        return None
    assert set(dimensions) == {"metric_type"}, f"{metric_name}: the agent adds only metric_type, got {dimensions}"
    return metric_name.replace("${Prefix}", settings.statsd_prefix), dimensions["metric_type"]


def expand(rows: list[list]) -> list[list]:
    """Resolve a dashboard's "." (same as the row above) and "..." (rest of the row above)."""
    done: list[list] = []
    for row in rows:
        values = [v for v in row if not isinstance(v, dict)]
        if values and values[0] == "...":
            values = done[-1][: len(done[-1]) - len(values) + 1] if len(values) > 1 else list(done[-1])
        values = [done[-1][i] if v == "." else v for i, v in enumerate(values)]
        done.append(values)
    return done


def dashboard_metrics() -> set[tuple[str, str]]:
    dashboard = cross_stack.load(ROOT / "infra" / "dashboard.yaml")
    body = dashboard["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    body = body.replace("${MetricsNamespace}", NAMESPACE).replace("${LatencyAlarmMs}", "1")
    found = set()
    for widget in json.loads(body)["widgets"]:
        for row in expand(widget["properties"].get("metrics", [])):
            namespace, name, *dims = row
            metric = service_metric(namespace, name, dict(zip(dims[::2], dims[1::2], strict=True)))
            if metric:
                found.add(metric)
    return found


def alarm_metrics() -> set[tuple[str, str]]:
    api = cross_stack.load(ROOT / "infra" / "api.yaml")
    found = set()
    for resource in api["Resources"].values():
        if resource["Type"] != "AWS::CloudWatch::Alarm":
            continue
        props = resource["Properties"]
        stats = [m["MetricStat"]["Metric"] for m in props.get("Metrics", []) if "MetricStat" in m]
        for metric in [props, *stats]:
            if "MetricName" not in metric:
                continue
            namespace = metric["Namespace"]
            if isinstance(namespace, dict):  # Fn::ImportValue of <Prefix>-<Env>-MetricsNamespace
                assert namespace["Fn::ImportValue"]["Fn::Sub"].endswith("-MetricsNamespace")
                namespace = NAMESPACE
            name = metric["MetricName"]
            name = name["Fn::Sub"] if isinstance(name, dict) else name
            dims = {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}
            if found_metric := service_metric(namespace, name, dims):
                found.add(found_metric)
    return found


@pytest.fixture
def emitted(client, statsd_packets, monkeypatch) -> set[tuple[str, str]]:
    """Drive every route and status class; return what the agent would publish."""
    client.get("/health-check")  # health_check 2xx
    client.post(ROUTE, json=EXAMPLE)  # single 2xx, timers, rows
    client.post(ROUTE, json={})  # single 4xx
    client.post(BATCH_ROUTE, json={BATCH_KEY: [EXAMPLE, EXAMPLE]})  # batch 2xx
    client.get("/model")  # model_info 2xx
    client.get("/nowhere")  # other 4xx
    client.get("/model/", follow_redirects=False)  # other 3xx (a redirect to /model)
    loaded = client.app.state.model
    monkeypatch.setattr(client.app.state, "model", None)
    client.get("/health-check")  # health_check 5xx (503)
    monkeypatch.setattr(client.app.state, "model", loaded)
    monkeypatch.setattr(type(loaded), "predict", lambda *args: 1 / 0)
    # The same client, on the app's own event loop: metrics are recorded and sent from that one
    # thread, as in the service. The client re-raises the error the app answered with a 500.
    with pytest.raises(ZeroDivisionError):
        client.post(BATCH_ROUTE, json={BATCH_KEY: [EXAMPLE]})  # batch 5xx
    client.portal.call(metrics.flush)  # on the app's loop: everything recorded is in the socket now
    return as_agent_publishes(statsd_packets(expected=sys.maxsize, wait=0.5))  # all of it, however many lines


def test_the_agent_is_configured_for_what_the_service_sends():
    config = agent_config()
    statsd = config["metrics"]["metrics_collected"]["statsd"]
    env = environment("api")
    assert env["STATSD_HOST"] == "127.0.0.1"  # containers of a Fargate task share localhost
    assert statsd["service_address"] == f":{env['STATSD_PORT']}"
    assert env["STATSD_PREFIX"] == {"Ref": "Prefix"}  # the same Prefix the dashboard and alarms use
    assert statsd["metric_separator"] == "."  # names keep their dots, as written in metrics.py
    assert config["agent"]["omit_hostname"] is True  # no per-task host dimension
    assert config["metrics"]["namespace"] == NAMESPACE
    assert "append_dimensions" not in config["metrics"]  # would need EC2 instance metadata, absent on Fargate


def test_the_service_emits_every_metric_it_declares(emitted):
    names = {name.removeprefix(f"{settings.statsd_prefix}.") for name, _ in emitted}
    assert names == metrics.all_names()


def test_every_dashboard_and_alarm_metric_is_one_the_service_emits(emitted):
    referenced = dashboard_metrics() | alarm_metrics()
    assert referenced, "no service metric found on the dashboard or in the alarms"
    assert referenced - emitted == set()


def test_every_metric_the_service_emits_is_on_the_dashboard(emitted):
    assert emitted - dashboard_metrics() == set()


def test_the_latency_alarm_watches_the_single_request_timer():
    assert (f"{settings.statsd_prefix}.{metrics.SINGLE_TIMER}", "timing") in alarm_metrics()


def test_the_dashboard_shows_the_state_of_every_alarm():
    """The alarm widget lists alarm ARNs by name: a new or renamed alarm must be listed there too."""
    api = cross_stack.load(ROOT / "infra" / "api.yaml")
    names = [
        resource["Properties"]["AlarmName"]["Fn::Sub"]
        for resource in api["Resources"].values()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
    ]
    dashboard = cross_stack.load(ROOT / "infra" / "dashboard.yaml")
    body = dashboard["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    body = body.replace("${LatencyAlarmMs}", "1")
    (widget,) = [w for w in json.loads(body)["widgets"] if w["type"] == "alarm"]
    listed = [arn.split(":alarm:")[1] for arn in widget["properties"]["alarms"]]
    assert sorted(listed) == sorted(names)


def test_statsd_names_are_what_cloudwatch_accepts():
    for name in metrics.all_names():
        assert re.fullmatch(r"[a-z0-9_.]+", name), name
