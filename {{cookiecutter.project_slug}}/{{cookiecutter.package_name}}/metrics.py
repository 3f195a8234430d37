"""statsd metrics: every name the service emits is defined here, once.

In ECS the CloudWatch agent sidecar receives these on 127.0.0.1:8125/udp and publishes
them to CloudWatch; locally `make run` or docker compose prints them. UDP sends never
block or fail a request, whether or not anything listens.
"""

import logging
import socket

from statsd import StatsClient

from .settings import settings

VALUATION_TIMER = "valuation.single"  # ms, one property, whole request
BATCH_TIMER = "valuation.batch"  # ms, one batch request
REQUESTS = "requests.{route}.{status_class}"  # count, e.g. requests.valuation.2xx
ERRORS = "errors.{route}"  # count of 5xx responses

log = logging.getLogger(__name__)


def make_client() -> StatsClient:
    try:
        return StatsClient(settings.statsd_host, settings.statsd_port, prefix=settings.statsd_prefix)
    except socket.gaierror:
        log.warning("statsd host %r does not resolve; metrics go to 127.0.0.1", settings.statsd_host)
        return StatsClient("127.0.0.1", settings.statsd_port, prefix=settings.statsd_prefix)


statsd = make_client()


def count_request(route: str, status: int) -> None:
    statsd.incr(REQUESTS.format(route=route, status_class=f"{status // 100}xx"))
    if status >= 500:
        statsd.incr(ERRORS.format(route=route))
