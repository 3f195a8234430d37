"""statsd metrics: every name the service emits is defined here, once.

In ECS the CloudWatch agent sidecar receives these on 127.0.0.1:8125/udp and publishes
each under the same name, prefix included (`<prefix>.{{ cookiecutter.prediction_name }}.single`), in the service's
namespace with one dimension, metric_type (timing or counter). infra/dashboard.yaml and
the alarms in infra/api.yaml use exactly these names; tests/test_observability.py checks
that the service, the dashboard and the alarms agree. Locally `make run` or docker compose
prints them. UDP sends never block or fail a request, whether or not anything listens.

Requests do not send their metrics one packet each: `record_request` and `record_model_call`
add them to a buffer that `send_pending` sends every FLUSH_SECONDS (main.lifespan runs it, and
sends the rest at shutdown), many lines per packet. Counters are summed (`requests.{{ cookiecutter.prediction_name }}:37|c`
counts 37 requests, as the agent sums it anyway); every timing is kept and sent on its own line.
"""

import asyncio
import logging
import socket
from collections import Counter

from statsd import StatsClient

from .settings import settings

# ms from request to answer, of POST /{{ cookiecutter.prediction_name }} and of POST /{{ cookiecutter.prediction_name }}/batch
SINGLE_TIMER = "{{ cookiecutter.prediction_name }}.single"
BATCH_TIMER = "{{ cookiecutter.prediction_name }}.batch"
MODEL_TIMER = "model.predict"  # ms inside the model, per model call (one call may answer many requests)
ROWS = "{{ cookiecutter.prediction_name }}.rows"  # count of {{ cookiecutter.item_plural }} answered
REQUESTS = "requests.{route}"  # count per route
RESPONSES = "responses.{status_class}"  # count per status class; responses.5xx are the errors

ROUTES = (
    "{{ cookiecutter.prediction_name }}",
    "{{ cookiecutter.prediction_name }}_batch",
    "model_info",
    "health_check",
    "other",  # anything unnamed
)
REQUEST_TIMERS = {"{{ cookiecutter.prediction_name }}": SINGLE_TIMER, "{{ cookiecutter.prediction_name }}_batch": BATCH_TIMER}
STATUS_CLASSES = ("2xx", "3xx", "4xx", "5xx")
REQUEST_COUNTERS = {route: REQUESTS.format(route=route) for route in ROUTES}  # formatted once, not per request
RESPONSE_COUNTERS = {int(c[0]): RESPONSES.format(status_class=c) for c in STATUS_CLASSES}  # by status // 100

FLUSH_SECONDS = 0.1  # the longest a metric waits in the buffer; the agent aggregates per minute
MAX_PENDING_TIMINGS = 1000  # or sooner, when this many timings wait
PACKET_BYTES = 1432  # statsd lines per UDP packet, up to this size (fits an Ethernet frame)

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
        return StatsClient(settings.statsd_host, settings.statsd_port, settings.statsd_prefix, PACKET_BYTES)
    except socket.gaierror:
        log.warning("statsd host %r does not resolve; metrics go to 127.0.0.1", settings.statsd_host)
        return StatsClient("127.0.0.1", settings.statsd_port, settings.statsd_prefix, PACKET_BYTES)


statsd = make_client()
counts: Counter[str] = Counter()  # not sent yet
timings: list[tuple[str, float]] = []  # not sent yet, in ms


def record_request(route: str, status: int, duration_ms: float) -> None:
    """Count a finished request by route and status class, and time the model routes."""
    counts[REQUEST_COUNTERS[route]] += 1
    counts[RESPONSE_COUNTERS.get(status // 100) or RESPONSES.format(status_class=f"{status // 100}xx")] += 1  # 1xx
    if route in REQUEST_TIMERS:
        add_timing(REQUEST_TIMERS[route], duration_ms)


def record_model_call(rows: int, duration_ms: float) -> None:
    """Time one model call and count the rows it answered."""
    counts[ROWS] += rows
    add_timing(MODEL_TIMER, duration_ms)


def add_timing(name: str, duration_ms: float) -> None:
    timings.append((name, duration_ms))
    if len(timings) >= MAX_PENDING_TIMINGS:
        flush()


def flush() -> None:
    """Send everything recorded so far, as few packets as the lines fit in."""
    global counts, timings
    sending, counts, timed, timings = counts, Counter(), timings, []
    with statsd.pipeline() as pipe:
        for name, count in sending.items():
            pipe.incr(name, count)
        for name, duration_ms in timed:
            pipe.timing(name, duration_ms)


async def send_pending() -> None:
    """Flush every FLUSH_SECONDS, until cancelled (main.lifespan); then flush what is left."""
    try:
        while True:
            await asyncio.sleep(FLUSH_SECONDS)
            flush()
    finally:
        flush()
