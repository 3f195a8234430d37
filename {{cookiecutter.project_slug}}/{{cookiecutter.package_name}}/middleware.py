"""One place that sees every HTTP request: request id, request metrics, access log line
(RequestContext); and the bounds that keep a worker alive whatever it is sent: requests in
flight (InFlightLimit) and body size (BodyLimit).

Metrics count every request and time every {{ cookiecutter.prediction_name }}. The access log, by default, has a line
only for requests that failed (status 400 and up) or took `SLOW_REQUEST_MS` or longer: a line per
request costs worker throughput and CloudWatch Logs ingestion (the performance and costs
pages). `ACCESS_LOG=all` logs every request.
"""

import logging
import os
import re
import time

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import metrics
from .logs import model_version, request_id
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
        rid = incoming if SAFE_ID.match(incoming) else os.urandom(16).hex()  # random, as uuid4 but cheaper
        token = request_id.set(rid)
        version_token = model_version.set(None)  # the route's model dependency sets it (deps.py)
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
            model_version.reset(version_token)
            request_id.reset(token)


def log_request(scope: Scope, route: str, status: int, duration_ms: float) -> None:
    """One JSON line for the request (logs.py adds its request id), with the version of the model
    that served it (none for a request no model saw: 404, 413, a 503 from InFlightLimit)."""
    log.info(
        "request",
        extra={
            "method": scope["method"],
            "path": scope["path"],
            "route": route,
            "status": status,
            "duration_ms": round(duration_ms, 2),
            "model_version": model_version.get(),
        },
    )


class InFlightLimit:
    """Past `MAX_IN_FLIGHT` requests in flight in this worker, answer 503 with Retry-After at once,
    before reading the body, instead of queueing without end: callers and the load balancer get a
    clear signal, and a flood cannot grow the worker's memory. GET /health-check is never counted
    nor refused: a busy task is healthy, and failing its health check would only move its load
    onto the other tasks."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == "/health-check":
            await self.app(scope, receive, send)
            return
        if self.in_flight >= settings.max_in_flight:
            busy = JSONResponse(
                {"detail": f"The service is at its limit of {settings.max_in_flight} requests in flight; retry."},
                status_code=503,
                headers={"retry-after": "1"},
            )
            await busy(scope, receive, send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1


class BodyLimit:
    """413, naming the limit, for a body over its route's limit (`limits` by path, else `default`):
    checked against Content-Length before anything is read (the server reads no more than it), and
    counted as the body streams in when there is none (a chunked body). The answer closes the
    connection, so the rest of the body is never read nor buffered; the route then sees the client
    gone."""

    def __init__(self, app: ASGIApp, default: int, limits: dict[str, int]) -> None:
        self.app = app
        self.default = default
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.get(scope["path"], self.default)
        headers = dict(scope["headers"])
        length = headers.get(b"content-length", b"")
        if length.isdigit() and b"transfer-encoding" not in headers:  # the server reads no more than that
            if int(length) > limit:
                await too_large(limit)(scope, receive, send)
            else:
                await self.app(scope, receive, send)
            return
        received = 0
        refused = False

        async def receive_within_limit() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    await too_large(limit)(scope, receive, send)
                    return {"type": "http.disconnect"}
            return message

        async def send_unless_refused(message: Message) -> None:
            if not refused:  # the route's own answer to the "disconnect" goes nowhere
                await send(message)

        await self.app(scope, receive_within_limit, send_unless_refused)


def too_large(limit: int) -> JSONResponse:
    return JSONResponse(
        {"detail": f"The request body is larger than this route's limit of {limit} bytes.", "limit_bytes": limit},
        status_code=413,
        headers={"connection": "close"},  # uvicorn closes the connection once this is sent
    )
