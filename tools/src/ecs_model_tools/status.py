"""What an environment runs, read from AWS.

    ecs-model-tools status dev|prod          (make status ENV=dev)

For this model's ECS service (the outputs of the API stack <project>-<env>-api), each
deployment ECS lists (the one serving, and any rollout in progress): its state and task
counts, and its image: the commit (the image's tag), the digest and tags ECR holds for it
(running, previous, healthy-<tree>), and the model version and SHA-256 the image's labels
carry. Labels are part of the image, so they are read from the registry with skopeo inspect;
without skopeo they are left out, saying how to get it. Then the service deployment ECS is
running, if any: its status and lifecycle stage (a canary's TEST_TRAFFIC_SHIFT, BAKE_TIME...).

Uses the credentials and region the AWS CLI would find (profile, SSO, variables), read-only.
Exit status 1 when the environment has no API stack or AWS cannot be read.
"""

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import boto3
import botocore.exceptions

from . import cross_stack

LABELS = {"model.version": "model version", "model.sha256": "model sha256"}


def labels(image: str, authorization: str) -> dict[str, str]:
    """The image's labels, from its registry (skopeo inspect, with ECR's token in a private auth
    file, not on its command line), or a note on why they are missing."""
    if shutil.which("skopeo") is None:
        return {"labels": "not read: install skopeo (apt-get install skopeo, brew install skopeo)"}
    with tempfile.TemporaryDirectory() as folder:
        auth = Path(folder) / "auth.json"
        auth.write_text(json.dumps({"auths": {image.split("/", 1)[0]: {"auth": authorization}}}))
        command = ["skopeo", "inspect", "--authfile", str(auth), f"docker://{image}"]
        found = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if found.returncode != 0:
        return {"labels": f"not read: skopeo inspect said {found.stderr.strip()[-300:]}"}
    given = json.loads(found.stdout).get("Labels") or {}
    return {text: given.get(label, "(no label)") for label, text in LABELS.items()}


def stage(ecs, cluster: str, service: str) -> list[str]:
    """The service deployment in progress: its status and lifecycle stage (read from the raw
    answer: this lock's botocore predates the lifecycleStage field)."""
    raw: list[dict] = []
    event = "after-call.ecs.DescribeServiceDeployments"

    def keep_raw(http_response, **_):
        raw.extend(json.loads(http_response.content).get("serviceDeployments", []))

    ecs.meta.events.register(event, keep_raw)
    try:
        listed = ecs.list_service_deployments(
            cluster=cluster,
            service=service,
            status=["PENDING", "IN_PROGRESS", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS"],
        )["serviceDeployments"]
        if listed:
            ecs.describe_service_deployments(serviceDeploymentArns=[d["serviceDeploymentArn"] for d in listed])
    except botocore.exceptions.ClientError as error:  # no permission, say: the rest of the status still shows
        return [f"  service deployments: could not read them ({error})"]
    finally:
        ecs.meta.events.unregister(event, keep_raw)
    if not raw:
        return ["  no service deployment in progress"]
    return [
        f"  service deployment {d.get('status')}: stage {d.get('lifecycleStage', 'not reported')}"
        f", target revision {d.get('targetServiceRevision', {}).get('arn', '?').rsplit('/', 1)[-1]}"
        for d in raw
    ]


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in {"dev", "prod"}:
        print("usage: ecs-model-tools status dev|prod   (make status ENV=dev)", file=sys.stderr)
        return 2
    env = argv[0]
    config = json.loads((cross_stack.ROOT / "project.json").read_text())
    stack = f"{config['project']}-{env}-api"
    session = boto3.Session()
    cfn, ecs, ecr = (session.client(name) for name in ("cloudformation", "ecs", "ecr"))
    try:
        outputs = {
            o["OutputKey"]: o["OutputValue"] for o in cfn.describe_stacks(StackName=stack)["Stacks"][0]["Outputs"]
        }
        cluster, service_name = outputs["ClusterName"], outputs["ServiceName"]
        service = ecs.describe_services(cluster=cluster, services=[service_name])["services"][0]
        authorization = ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
        running = f"{service['runningCount']} of {service['desiredCount']} tasks running"
        lines = [f"{env}: service {service_name} in cluster {cluster}, {running}"]
        for deployment in service["deployments"]:
            definition = ecs.describe_task_definition(taskDefinition=deployment["taskDefinition"])["taskDefinition"]
            image = next(c["image"] for c in definition["containerDefinitions"] if "/api:" in c["image"])
            repository, commit = image.split("/", 1)[1].rsplit(":", 1)
            details = ecr.describe_images(repositoryName=repository, imageIds=[{"imageTag": commit}])["imageDetails"][0]
            digest = details["imageDigest"]
            lines += [
                f"  deployment {deployment['status'].lower()} ({deployment.get('rolloutState', '?')}):"
                f" {deployment['runningCount']} of {deployment['desiredCount']} tasks,"
                f" revision {deployment['taskDefinition'].rsplit('/', 1)[-1]}",
                f"    commit         {commit}",
                f"    digest         {digest}",
                f"    tags           {', '.join(sorted(details.get('imageTags', [])))}",
                *(f"    {k:14} {v}" for k, v in labels(f"{image.rsplit(':', 1)[0]}@{digest}", authorization).items()),
            ]
        lines += stage(ecs, cluster, service_name)
    except botocore.exceptions.ClientError as error:
        if "does not exist" in str(error):
            print(f"status: nothing is deployed to {env} yet (no stack {stack})", file=sys.stderr)
        else:
            print(f"status: could not read {env} from AWS: {error}", file=sys.stderr)
        return 1
    except botocore.exceptions.BotoCoreError as error:
        print(f"status: could not read {env} from AWS: {error}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0
