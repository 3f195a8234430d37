"""The peer: BentoML serving the bake's ONNX model with the bake's pydantic input class.

Run by bench/run.py in its own virtualenv (requirements-peer.txt) as
`bentoml serve peer_service:Peer`, from this folder with the bake on PYTHONPATH, and these
environment variables: BENCH_INPUT (the input class, `module:qualname`, as bench/ceiling_app.py
finds it), BENCH_PATH (the route), MODEL_PATH. The model is loaded and called by the bake's own
`load` and `predict` (the model module beside its contract), so the peer does exactly the service's model work.
Adaptive batching is on: a request carries a list of items, and BentoML merges concurrent
requests' lists into one call.
"""

import importlib
import os
from pathlib import Path

import bentoml

module_name, _, class_name = os.environ["BENCH_INPUT"].partition(":")
Input = getattr(importlib.import_module(module_name), class_name)  # the bake's contract module
model_module = importlib.import_module(module_name.rpartition(".")[0] + ".model")


# Like the service, no access line per request (BentoML logs one by default).
@bentoml.service(workers=1, traffic={"timeout": 30}, logging={"access": {"enabled": False}})
class Peer:
    def __init__(self) -> None:
        self.model = model_module.load(Path(os.environ["MODEL_PATH"]), 1)

    @bentoml.api(route=os.environ["BENCH_PATH"], batchable=True, max_batch_size=64, max_latency_ms=1000)
    def predict(self, items: list[Input]) -> list:  # one answer per item, whatever the task
        return self.model.predict(items)
