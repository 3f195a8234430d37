"""statsd metrics: every name the service emits is defined here, once.

In ECS the CloudWatch agent sidecar receives these on 127.0.0.1:8125/udp and publishes
each under the same name, prefix included (`<prefix>.{{ cookiecutter.prediction_name }}.single`), in the service's
namespace with one dimension, metric_type (timing or counter). infra/dashboard.yaml and
the alarms in infra/api.yaml use exactly these names; tests/test_observability.py checks
that the service, the dashboard and the alarms agree. Locally `make run` or docker compose
prints them. UDP sends never block or fail a request, whether or not anything listens.
"""

import logging
import socket

from statsd import StatsClient

from .settings import settings

SINGLE_TIMER = "{{ cookiecutter.prediction_name }}.single"  # ms from request to answer, POST /{{ cookiecutter.prediction_name }}
BATCH_TIMER = "{{ cookiecutter.prediction_name }}.batch"  # ms from request to answer, POST /{{ cookiecutter.prediction_name }}/batch
MODEL_TIMER = "model.predict"  # ms inside the model, per model call (one call may answer many requests)
ROWS = "{{ cookiecutter.prediction_name }}.rows"  # count of {{ cookiecutter.item_plural }} answered
REQUESTS = "requests.{route}"  # count per route
RESPONSES = "responses.{status_class}"  # count per status class; responses.5xx are the errors

ROUTES = ("{{ cookiecutter.prediction_name }}", "{{ cookiecutter.prediction_name }}_batch", "model_info", "health_check", "other")  # anything unnamed is "other"
REQUEST_TIMERS = {"{{ cookiecutter.prediction_name }}": SINGLE_TIMER, "{{ cookiecutter.prediction_name }}_batch": BATCH_TIMER}
STATUS_CLASSES = ("2xx", "3xx", "4xx", "5xx")

log = logging.getLogger(__name__)


def all_names() -> set[str]:
    """Every metric name the service can send (without the prefix)."""
    return (
        {SINGLE_TIMER, BATCH_TIMER, MODEL_TIMER, ROWS}
        | {REQUESTS.format(route=route) for route in ROUTES}
        | {RESPONSES.format(status_class=status_class) for status_class in STATUS_CLASSES}
    )


def make_client() -> StatsClient:
    try:
        return StatsClient(settings.statsd_host, settings.statsd_port, prefix=settings.statsd_prefix)
    except socket.gaierror:
        log.warning("statsd host %r does not resolve; metrics go to 127.0.0.1", settings.statsd_host)
        return StatsClient("127.0.0.1", settings.statsd_port, prefix=settings.statsd_prefix)


statsd = make_client()


def record_request(route: str, status: int, duration_ms: float) -> None:
    """Count a finished request by route and status class, and time the model routes, in one UDP packet."""
    with statsd.pipeline() as pipe:
        pipe.incr(REQUESTS.format(route=route))
        pipe.incr(RESPONSES.format(status_class=f"{status // 100}xx"))
        if route in REQUEST_TIMERS:
            pipe.timing(REQUEST_TIMERS[route], duration_ms)
