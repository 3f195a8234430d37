"""One place that sees every HTTP request: request id, request metrics, access log line.

Metrics count every request and time every valuation. The access log, by default, has a line only for
requests that failed (status 400 and up) or took `SLOW_REQUEST_MS` or longer: a line per
request costs about a fifth of a worker's throughput and, in CloudWatch Logs, about $0.17
per million requests. `ACCESS_LOG=all` logs every request (README.md, "Logs and metrics").
"""

import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import metrics
from .logs import request_id
from .settings import settings

log = logging.getLogger("access")
SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


class RequestContext:
    """Pure ASGI middleware (cheaper than BaseHTTPMiddleware on every request)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        rid = incoming if SAFE_ID.match(incoming) else uuid.uuid4().hex
        token = request_id.set(rid)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            duration_ms = (time.perf_counter() - started) * 1000
            route = getattr(scope.get("route"), "name", None)
            route = route if route in metrics.ROUTES else "other"  # docs assets, 404s, redirects
            metrics.record_request(route, status, duration_ms)
            if settings.access_log == "all" or status >= 400 or duration_ms >= settings.slow_request_ms:
                log_request(scope, route, status, duration_ms)
            request_id.reset(token)


def log_request(scope: Scope, route: str, status: int, duration_ms: float) -> None:
    """One JSON line for the request (logs.py adds its request id)."""
    model = getattr(scope["app"].state, "model", None)
    log.info(
        "request",
        extra={
            "method": scope["method"],
            "path": scope["path"],
            "route": route,
            "status": status,
            "duration_ms": round(duration_ms, 2),
            "model_version": model.version if model else None,
        },
    )
