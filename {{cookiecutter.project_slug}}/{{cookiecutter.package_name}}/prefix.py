"""Serving under the load balancer's path prefix as well as at the plain paths.

In an environment shared by several models, the listener rule sends /<project>/... to this
service without rewriting the path (infra/routing.yaml), and the task definition sets
PATH_PREFIX=/<project> (infra/api.yaml). A request under the prefix crosses the middleware
as its plain path (/<project>/x as /x: body limits, the health-check exemption, metrics and
logs see the paths they know), then reaches the routes as ASGI says a proxied request
should: the full path with the prefix as root_path, so /docs, /redoc and their assets are
found and link to /<project>/openapi.json, and Swagger's "Try it out" calls through the
prefix. A request without the prefix (make run, docker compose, tests) is served as before.
"""

from starlette.types import ASGIApp, Receive, Scope, Send

KEY = "path_prefix"  # where StripPrefix leaves the prefix for RestorePrefix


class StripPrefix:
    """Outermost middleware: /<prefix>/x continues as /x, the prefix noted in the scope."""

    def __init__(self, app: ASGIApp, prefix: str) -> None:
        self.app = app
        self.prefix = prefix.rstrip("/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if self.prefix and scope["type"] in ("http", "websocket") and (path + "/").startswith(self.prefix + "/"):
            path = path[len(self.prefix) :] or "/"
            scope = {**scope, "path": path, "raw_path": path.encode(), KEY: self.prefix}
        await self.app(scope, receive, send)


class RestorePrefix:
    """Innermost middleware: the routes see the full path again, with the prefix as root_path."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        prefix = scope.get(KEY)
        if not prefix:
            await self.app(scope, receive, send)
            return
        path = prefix + scope["path"]
        inner = {**scope, "path": path, "raw_path": path.encode(), "root_path": scope.get("root_path", "") + prefix}
        try:
            await self.app(inner, receive, send)
        finally:  # the route the router matched, for RequestContext's metrics and access log
            if "route" in inner:
                scope["route"] = inner["route"]
