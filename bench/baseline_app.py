"""The baseline: the seed design's minimal service, for ratios that hold on a noisy machine.

A sync `/valuation` that returns a hard-coded value, timed with the statsd client's
decorator, and the `/health-check` the load balancer calls. It reads no body and loads no
model, so it is the cost of FastAPI and uvicorn alone. bench/run.py gives it the service's single
route as BENCH_PATH.
"""

import os

from fastapi import FastAPI
from statsd import StatsClient

statsd = StatsClient("127.0.0.1", int(os.environ.get("STATSD_PORT", "8125")), prefix="baseline")
app = FastAPI(title="baseline")


@app.get("/health-check")
def health_check():
    return {"status": "healthy"}


@app.post(os.environ.get("BENCH_PATH", "/valuation"))
@statsd.timer("valuation")
def valuation():
    return {"valuation": 350_000, "currency": "EUR", "model_version": "hard-coded"}
