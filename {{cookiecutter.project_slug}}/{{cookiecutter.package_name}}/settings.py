"""Service configuration, read once from environment variables (or a local .env file)."""

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    model_path: Path = Field(
        Path("model/artifacts/model.onnx"),
        description="Trained model artifact (ONNX); its metadata JSON sits beside it.",
    )
    model_threads: int = Field(
        1, ge=1, le=64, description="ONNX Runtime threads per worker; a task runs one worker per vCPU."
    )
    statsd_host: str = "127.0.0.1"
    statsd_port: int = Field(8125, ge=1, le=65535)
    statsd_prefix: str = "{{ cookiecutter.project_slug }}"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    access_log: Literal["slow-or-failed", "all"] = Field(
        "slow-or-failed",
        description="Which requests get an access log line: every one, or only failed (status 400 and up) "
        "and slow ones. Metrics count every request either way.",
    )
    slow_request_ms: float = Field({{ cookiecutter.latency_alarm_ms }}, gt=0, description="A request this slow or slower gets logged.")
    batch_limit: int = Field(1000, ge=1, description="Most {{ cookiecutter.item_plural }} in one batch request.")
    max_body_bytes: int = Field(
        4096, ge=1024, description="Largest request body, in bytes, on every route but the batch route (413 above it)."
    )
    batch_record_bytes: int = Field(
        1024,
        ge=256,
        description="Body bytes per {{ cookiecutter.item_name }} on the batch route (limit: BATCH_LIMIT times this).",
    )
    max_in_flight: int = Field(
        64, ge=1, description="Most requests a worker serves at once; past it, 503 and Retry-After (not /health-check)."
    )
    micro_batch_size: int = Field(
        64, ge=1, le=1000, description="Most concurrent single requests answered by one model call (1: no grouping)."
    )
    micro_batch_wait_ms: float = Field(
        0, ge=0, le=100, description="Under load, longest wait for more requests to group into a call (0: never)."
    )
    model_thread_after_ms: float = Field(
        0.5,
        ge=0,
        le=1000,
        description="Model calls move off the event loop to the worker's model thread once they take more "
        "CPU time than this, in milliseconds, on average (batching.py).",
    )
    docs_enabled: bool = Field(True, description="Serve /docs, /redoc and /openapi.json.")
    path_prefix: str = Field(
        "",
        pattern=r"^(/[a-z0-9][a-z0-9-]*)?$",
        description="Serve under this prefix as well (/<project>: the environment's listener rule routes it here).",
    )

    @property
    def batch_body_bytes(self) -> int:
        """The batch route's body limit: BATCH_LIMIT {{ cookiecutter.item_plural }} at BATCH_RECORD_BYTES each."""
        return max(self.max_body_bytes, self.batch_limit * self.batch_record_bytes)


settings = Settings()
