"""Ray Serve serving the bake's ONNX model with the bake's pydantic input class.

`python rayserve_app.py PORT` (bench/run.py; see bake_model.py for the environment) starts a
local Ray instance without its dashboard and one application: one replica on one CPU
(`num_cpus=1`), a FastAPI ingress validating the bake's input class, and Ray Serve's dynamic
batching (`@serve.batch`) in front of the model, with `max_ongoing_requests` at the batch
size as Ray's batching guide says (its default of 5 would cap every batch at 5).
"""

import sys
import time

from bake_model import PATH, Input, load_model
from fastapi import FastAPI
from ray import serve

BATCH = 64
app = FastAPI()


@serve.deployment(num_replicas=1, ray_actor_options={"num_cpus": 1}, max_ongoing_requests=BATCH)
@serve.ingress(app)
class Peer:
    def __init__(self) -> None:
        self.model = load_model()

    @serve.batch(max_batch_size=BATCH, batch_wait_timeout_s=0.001)
    async def predict_many(self, items: list) -> list:  # one answer per item, whatever the task
        return self.model.predict(items)

    @app.post(PATH)
    async def predict(self, item: Input) -> dict:
        return {"answer": await self.predict_many(item)}

    @app.get("/health-check")
    async def health(self) -> dict:
        return {"status": "healthy"}


if __name__ == "__main__":
    import ray
    import rayserve_app  # the deployment from its module, not __main__: Ray's workers import it by name

    ray.init(include_dashboard=False, log_to_driver=False)
    serve.start(http_options={"host": "127.0.0.1", "port": int(sys.argv[1])})
    serve.run(rayserve_app.Peer.bind(), name="peer", route_prefix="/")
    while True:
        time.sleep(3600)
