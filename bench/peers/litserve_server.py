"""LitServe serving the bake's ONNX model with the bake's pydantic input class.

`python litserve_server.py PORT` (bench/run.py; see bake_model.py for the environment).
As LitServe's docs set up a CPU model: `accelerator="cpu"`, one inference worker and one API
server, batching on (`max_batch_size` with a short `batch_timeout`; the default `batch` and
`unbatch` hand `predict` a list), `fast_queue` (ZeroMQ, which its docs advise above 100
requests per second), and no access log, as the service. Requests are validated by the request class annotated on
`decode_request` (pydantic), as LitServe documents. LitServe runs the model in a worker
process that its uvicorn API server feeds through a queue.
"""

import sys

import litserve as ls
from bake_model import PATH, Input, load_model


class Peer(ls.LitAPI):
    def setup(self, device) -> None:
        self.model = load_model()

    def decode_request(self, request: Input):
        return request

    def predict(self, items: list) -> list:  # a batch: one answer per item, whatever the task
        return self.model.predict(items)

    def encode_response(self, answer):
        return {"answer": answer}


if __name__ == "__main__":
    api = Peer(max_batch_size=64, batch_timeout=0.001, api_path=PATH)
    server = ls.LitServer(api, accelerator="cpu", devices=1, workers_per_device=1, fast_queue=True)
    server.run(host="127.0.0.1", port=int(sys.argv[1]), generate_client_file=False, access_log=False)
