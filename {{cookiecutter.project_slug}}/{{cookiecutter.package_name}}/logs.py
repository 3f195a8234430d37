"""JSON log lines on stdout, one object per line, as CloudWatch Logs Insights likes them."""

import logging
import sys
from contextvars import ContextVar

from pythonjsonlogger.json import JsonFormatter

request_id: ContextVar[str] = ContextVar("request_id", default="-")
# The version of the model that served the request: set by deps.served_model, logged by middleware.py.
model_version: ContextVar[str | None] = ContextVar("model_version", default=None)


class RequestIdFilter(logging.Filter):
    """Stamp every record with the id of the request being served."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        record.__dict__.pop("color_message", None)  # uvicorn's ANSI-coloured duplicate
        return True


def json_handler() -> logging.Handler:
    """Every log line: one JSON object on stdout, with the id of the request being served."""
    handler = logging.StreamHandler(sys.stdout)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            rename_fields={"asctime": "timestamp", "levelname": "level", "name": "logger"},
        )
    )
    return handler


def configure_logging(level: str) -> None:
    """Each worker's logging (main.py). uvicorn's own process, which starts the workers, logs
    through json_handler too: the Dockerfile passes it logging.json."""
    logging.basicConfig(level=level, handlers=[json_handler()], force=True)
    logging.captureWarnings(True)  # Python's warnings too, as JSON lines instead of plain text on stderr
    # uvicorn installs its own handlers; send its records through ours instead.
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    # middleware.py writes the access line (with request id, route and model version); uvicorn's
    # own would duplicate it and cost a second formatted line per request.
    logging.getLogger("uvicorn.access").handlers.clear()
    logging.getLogger("uvicorn.access").propagate = False
