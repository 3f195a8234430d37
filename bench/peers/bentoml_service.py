"""BentoML serving the bake's ONNX model with the bake's pydantic input class.

`bentoml serve bentoml_service:Peer` (bench/run.py; see bake_model.py for the environment).
One worker, adaptive batching on (`batchable=True`, BentoML's recommended way to serve a
model that takes many rows): a request carries a list of items, and BentoML merges
concurrent requests' lists into one call. No access line per request, as the service.
"""

import bentoml
from bake_model import PATH, Input, load_model


@bentoml.service(workers=1, traffic={"timeout": 30}, logging={"access": {"enabled": False}})
class Peer:
    def __init__(self) -> None:
        self.model = load_model()

    @bentoml.api(route=PATH, batchable=True, max_batch_size=64, max_latency_ms=1000)
    def predict(self, items: list[Input]) -> list:  # one answer per item, whatever the task
        return self.model.predict(items)
