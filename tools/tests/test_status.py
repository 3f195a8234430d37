"""make status reads a rollout's lifecycle stage from ECS's own answer, although this lock's botocore
predates the field: a local HTTP server answers as the ECS API reference documents it."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import boto3

from ecs_model_tools import status

CLUSTER, SERVICE = "ml-models-prod", "property-valuation-api"
ECS_ARN = "arn:aws:ecs:eu-west-1:222222222222"
DEPLOYMENT = f"{ECS_ARN}:service-deployment/{CLUSTER}/{SERVICE}/Kx2uFOq7ZDNTUGE1hg9wE"
# DescribeServiceDeployments, as the ECS API reference's example shows one in progress.
ANSWERS = {
    "ListServiceDeployments": {"serviceDeployments": [{"serviceDeploymentArn": DEPLOYMENT, "status": "IN_PROGRESS"}]},
    "DescribeServiceDeployments": {
        "serviceDeployments": [
            {
                "serviceDeploymentArn": DEPLOYMENT,
                "status": "IN_PROGRESS",
                "lifecycleStage": "BAKE_TIME",
                "targetServiceRevision": {
                    "arn": f"{ECS_ARN}:service-revision/{CLUSTER}/{SERVICE}/4980306466373577095",
                    "requestedTaskCount": 2,
                    "runningTaskCount": 2,
                    "pendingTaskCount": 0,
                },
            }
        ],
        "failures": [],
    },
}


class ECS(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        body = json.dumps(self.server.answers[self.headers["X-Amz-Target"].rsplit(".", 1)[1]]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_the_stage_of_a_rollout_in_progress_is_read_from_ecs_answer():
    server = HTTPServer(("127.0.0.1", 0), ECS)
    server.answers = dict(ANSWERS)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        session = boto3.Session("key", "secret", region_name="eu-west-1")
        ecs = session.client("ecs", endpoint_url=f"http://127.0.0.1:{server.server_port}")
        assert status.stage(ecs, CLUSTER, SERVICE) == [
            "  service deployment IN_PROGRESS: stage BAKE_TIME, target revision 4980306466373577095"
        ]
        server.answers["ListServiceDeployments"] = {"serviceDeployments": []}
        assert status.stage(ecs, CLUSTER, SERVICE) == ["  no service deployment in progress"]
    finally:
        server.shutdown()
