"""Rehearse the deploys on this machine, against a local AWS emulator. No AWS account.

    make rehearse        (or: ecs-model-tools rehearse)

Starts moto server (emulator.py) on 127.0.0.1 on a free port and runs the make
targets the pipeline runs, with the environment Bitbucket gives them, with only `docker` and
`skopeo` replaced by stand-ins that record what they are asked to do (the emulator has ECR's
API but no registry). The scripts' `aws` is the project's own AWS CLI, imported once and forked
for each call (aws_forks.py: a rehearsal makes about 150 calls):

    with infrastructure "shared", as the environment's owner: a stand-in environment, from
                               infra/environment/ (what this repository's pipeline never deploys)
    as an admin:               make bootstrap ENV=dev
    as the pipeline, commit A: make deploy-infra / build-push / deploy-api ENV=dev
    as an admin of production: make bootstrap ENV=prod (and the stand-in environment there)
    as the main pipeline, A merged: make deploy-infra / promote / deploy-api ENV=prod, then
                               make status ENV=dev and ENV=prod (promotion.py)
    as the dev pipeline, commit B: deploy-infra / build-push / deploy-api ENV=dev again
    as an admin on a laptop:   make rollback ENV=dev (back to commit A's image, rolling)

    ecs-model-tools rehearse --failures

rehearses what goes wrong on a first deploy instead: the model's target group cannot be
created (deploy-infra fails, the stack rolls back, the nested stack's own events say why), the
retry deletes the rolled-back stack and creates it anew; ECR refuses the image existence
check (build-push stops and pushes nothing), the retry pushes; then deploy-api.

Then it checks what exists. "emulated" checks read the emulator's state; "static" checks
read the templates for what the emulator cannot show (Fargate settings, alarms, scaling).
Exit status 1 if a step or a check failed. The emulator is stopped in every case; set
REHEARSE_EMULATOR_LOG=<file> to keep its log.

    ecs-model-tools rehearse --first-release      (or REHEARSE_FIRST_RELEASE=1 make rehearse)

stops after the production release: no second push, no rollback.

    ecs-model-tools rehearse --emulator http://localhost:PORT   (or REHEARSE_EMULATOR_URL=...)

rehearses into an emulator that is already running (and leaves it running), where another
model may be deployed already: how the template's tests put two models in one environment.
"""

import argparse
import base64
import hashlib
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

import boto3

# the scripts' aws, forked per call; CloudFormation-aware YAML; this model's rule priority and routes
from . import aws_forks, cross_stack, listener_rule

ROOT = cross_stack.ROOT
CONFIG = json.loads((ROOT / "project.json").read_text())  # the bake-time facts
PROJECT, REGION = CONFIG["project"], CONFIG["region"]
DEV_ACCOUNT, PROD_ACCOUNT = CONFIG["accounts"]["dev"], CONFIG["accounts"]["prod"]
ACCOUNTS = {"dev": DEV_ACCOUNT, "prod": PROD_ACCOUNT}
OIDC, AGENT_COPY = CONFIG["deploy_identity"] == "oidc", CONFIG["sidecar_image_source"] == "ecr_copy"
ENV = "dev"  # what most of the rehearsal deploys; production_release() then promotes to "prod"
BOOTSTRAP_STACK, INFRA_STACK, API_STACK = f"{PROJECT}-bootstrap", f"{PROJECT}-{ENV}-infra", f"{PROJECT}-{ENV}-api"
OWN_ENVIRONMENT = CONFIG["infrastructure"] == "own"
ENVIRONMENT_STACK = f"{CONFIG['environment']}-{ENV}"
CONTRACT = f"{ENVIRONMENT_STACK}:{cross_stack.CONTRACT}:"  # the environment's export names
# What the stand-in environment of a "shared" bake is given (its owner's infra/params).
STANDIN_PARAMETERS = {
    "VpcCidr": "10.0.0.0/16",
    "FlowLogDays": "0",
    "AlbIngressCidr": "10.0.0.0/16",
    "NatGateways": "single",
    "CertificateArn": "",
    "AccessLogDays": "30",
    "AlarmEmail": "oncall@example.com",
    "HostedZoneName": "models.example.com",
    "HostedZoneId": "",
}

STATUS_COMMIT = re.compile(r"^ +commit +(\w+)$", re.MULTILINE)  # each deployment's commit, in make status

# The docker stand-in: records each call as a JSON line; a push registers the image in the
# emulator's ECR (as a real push would), so the deploy finds the image it deploys.
# Faults the --failures rehearsal asks the emulator for (emulator.py, 9).
FAULTS = "AWS::ElasticLoadBalancingV2::TargetGroup,ecr:DescribeImages"
DOCKER_STANDIN = """#!PYTHON
import hashlib, json, os, sys
from pathlib import Path
import boto3
args = sys.argv[1:]
record = {"args": args}
if args[:1] == ["login"] and "--password-stdin" in args:
    record["password_given"] = bool(sys.stdin.read().strip())
if args[:1] == ["build"]:
    record["model_present"] = (Path(args[-1]) / "model/artifacts/model.onnx").is_file()
if args[:1] == ["push"]:
    name, tag = args[1].split("/", 1)[1].rsplit(":", 1)
    layer = "sha256:" + hashlib.sha256(tag.encode()).hexdigest()  # one image per tag, as a build gives
    log = Path(os.environ["DOCKER_STANDIN_LOG"])
    built = [json.loads(line)["args"] for line in (log.read_text().splitlines() if log.exists() else [])]
    built = [a for a in built if a[:1] == ["build"] and args[1] in a]
    labels = dict(v.split("=", 1) for k, v in zip(built[-1], built[-1][1:]) if k == "--label") if built else {}
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "config": {"digest": "sha256:" + "0" * 64},
                "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 1,
                            "digest": layer}],
                "annotations": labels}  # where the skopeo stand-in finds the image's labels
    boto3.client("ecr").put_image(repositoryName=name, imageTag=tag, imageManifest=json.dumps(manifest))
with open(os.environ["DOCKER_STANDIN_LOG"], "a") as log:
    log.write(json.dumps(record) + "\\n")
"""

# The skopeo stand-in (the emulator has ECR's API but no registry): `login` takes the password
# from stdin; `copy` copies the manifest with ECR's API, as the identity the step runs as, from
# the source account's registry (by registryId, emulator.py 15) into the target's; `inspect`
# prints the labels the docker stand-in recorded. Each call is recorded as a JSON line.
SKOPEO_STANDIN = """#!PYTHON
import json, os, sys
import boto3
args = sys.argv[1:]
ecr = boto3.client("ecr")

def reference(ref):
    registry, rest = ref.removeprefix("docker://").split("/", 1)
    name, image = rest.split("@") if "@" in rest else rest.rsplit(":", 1)
    return registry.split(".")[0], name, {"imageDigest" if "@" in rest else "imageTag": image}

def manifest(ref):
    if ref.startswith("docker://public.ecr.aws/"):
        layer = "sha256:" + "1" * 64
        return json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                           "config": {"digest": layer}, "layers": [{"digest": layer}]})
    account, name, image = reference(ref)
    return ecr.batch_get_image(registryId=account, repositoryName=name, imageIds=[image])["images"][0]["imageManifest"]

images = [a for a in args if a.startswith("docker://")]
record = {"args": args}
if args[:1] == ["login"] and "--password-stdin" in args:
    record["password_given"] = bool(sys.stdin.read().strip())
if args[:1] == ["copy"]:
    account, name, image = reference(images[1])
    copied = manifest(images[0])
    ecr.put_image(registryId=account, repositoryName=name, imageTag=image["imageTag"], imageManifest=copied)
if args[:1] == ["inspect"]:
    print(json.dumps({"Labels": json.loads(manifest(images[0])).get("annotations", {})}))
with open(os.environ["DOCKER_STANDIN_LOG"].replace("docker-calls", "skopeo-calls"), "a") as log:
    log.write(json.dumps(record) + "\\n")
"""


@dataclass
class Check:
    kind: str  # emulated or static
    name: str
    ok: bool
    detail: str = ""


class StepFailed(Exception):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Emulator:
    """moto server on 127.0.0.1, started for the rehearsal and always stopped after it."""

    def __init__(self, account: str, faults: str = ""):
        self.port = free_port()
        self.url = f"http://localhost:{self.port}"  # localhost: moto reads S3 bucket names from the host
        running = json.loads((ROOT / f"infra/params/{ENV}.json").read_text())["api"].get("DesiredCount", 1)
        env = {**os.environ, "MOTO_ACCOUNT_ID": account, "EMULATOR_FAULTS": faults}
        log = os.environ.get("REHEARSE_EMULATOR_LOG")
        self.log = open(log, "w+b") if log else tempfile.TemporaryFile()  # noqa: SIM115 (closed in __exit__)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ecs_model_tools", "emulator", str(self.port), str(running)],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def __enter__(self):
        deadline = time.monotonic() + 60  # ~0.4 s on an idle machine; much longer on a busy one
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/moto-api/", timeout=1)
                return self
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.log.seek(0)
                    output = self.log.read().decode()[-2000:]
                    self.__exit__()  # stopped here: a with statement does not call __exit__ when __enter__ raises
                    raise RuntimeError("moto server did not start:\n" + output) from None
                time.sleep(0.1)

    def __exit__(self, *exc):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


class RunningEmulator:
    """An emulator someone else started (--emulator URL): used, never stopped."""

    def __init__(self, url: str):
        self.url = url

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass


class Rehearsal:
    def __init__(self, emulator: Emulator, workdir: Path):
        self.workdir = workdir
        self.docker_log = workdir / "docker-calls.jsonl"
        self.bin_dir = bin_dir = workdir / "bin"  # docker and skopeo stand-ins; aws (aws_forks.py)
        bin_dir.mkdir()
        for name, script in (("docker", DOCKER_STANDIN), ("skopeo", SKOPEO_STANDIN)):
            (bin_dir / name).write_text(script.replace("PYTHON", sys.executable, 1))
            (bin_dir / name).chmod(0o755)
        self.skopeo_log = workdir / "skopeo-calls.jsonl"
        # Nothing from the caller's AWS or Bitbucket setup may leak in: no profile, no keys.
        base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BITBUCKET_"))}
        self.base_env = {
            **base,
            "PATH": os.pathsep.join([str(bin_dir), base["PATH"]]),
            "AWS_ENDPOINT_URL": emulator.url,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_DEFAULT_REGION": REGION,
            "DOCKER_STANDIN_LOG": str(self.docker_log),
            "BASH_ENV": str(bin_dir / "aws.bash"),  # the scripts' aws, forked (aws_forks.py)
        }
        if subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True).returncode != 0:
            self.base_env["REHEARSAL_TREE"] = hashlib.sha1(str(ROOT).encode()).hexdigest()  # noqa: S324 (made up)
        self.admin_env = self.admin_of(DEV_ACCOUNT)

    def admin_of(self, account: str) -> dict[str, str]:
        """An admin's keys for the account (the emulator's convention, emulator.py 15)."""
        return {**self.base_env, "AWS_ACCESS_KEY_ID": f"ADMIN{account}KEY", "AWS_SECRET_ACCESS_KEY": "admin"}

    def client(self, service: str, account: str = DEV_ACCOUNT):
        session = boto3.Session(f"ADMIN{account}KEY", "admin", region_name=REGION)
        return session.client(service, endpoint_url=self.base_env["AWS_ENDPOINT_URL"])

    def run(self, target: str, env: dict[str, str], environment: str = ENV, capture: bool = False) -> str:
        """A step, its output streamed (with `capture`: printed once it ends, and returned); StepFailed if it fails."""
        print(f"\n--- make {target} ENV={environment}", flush=True)
        started = time.perf_counter()
        command = ["make", "--no-print-directory", target, f"ENV={environment}"]
        pipe = subprocess.PIPE if capture else None
        result = subprocess.run(command, cwd=ROOT, env=env, stdout=pipe, stderr=pipe, text=True)
        if capture:
            print(result.stdout + result.stderr, end="", flush=True)
        if result.returncode != 0:
            raise StepFailed(f"step {target} failed (exit {result.returncode})")
        print(f"--- {target}: ok in {time.perf_counter() - started:.1f} s", flush=True)
        return result.stdout or ""

    def run_failing(self, target: str, env: dict[str, str], environment: str = ENV) -> str:
        """A step that is meant to fail: its output (printed too), or StepFailed if it succeeded."""
        print(f"\n--- make {target} ENV={environment} (meant to fail)", flush=True)
        command = ["make", "--no-print-directory", target, f"ENV={environment}"]
        result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        print(result.stdout + result.stderr, end="", flush=True)
        if result.returncode == 0:
            raise StepFailed(f"step {target} succeeded although it was meant to fail")
        print(f"--- {target}: failed, as meant (exit {result.returncode})", flush=True)
        return result.stdout + result.stderr

    def standin_environment(self, environment: str = ENV) -> None:
        """A "shared" bake's environment, deployed as its owner would (infra/environment/)."""
        account = ACCOUNTS[environment]
        cfn, stack = self.client("cloudformation", account), f"{CONFIG['environment']}-{environment}"
        if any(s["StackName"] == stack for s in cfn.describe_stacks()["Stacks"]):
            print(f"\nrehearse: environment {stack} exists already (another model deployed it)")
            return
        print(f"\n--- stand-in environment {stack} (not deployed by this repository's pipeline)", flush=True)
        bucket = f"{CONFIG['environment']}-{environment}-standin"
        self.client("s3", account).create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        packaged = self.workdir / "environment.yaml"
        aws = [sys.executable, "-m", "awscli", "cloudformation"]
        declared = cross_stack.load(ROOT / "infra/environment/environment.yaml")["Parameters"]
        values = [f"{k}={v}" for k, v in STANDIN_PARAMETERS.items() if k in declared]
        for command in (
            ["package", "--template-file", str(ROOT / "infra/environment/environment.yaml"), "--s3-bucket", bucket,
             "--output-template-file", str(packaged)],
            ["deploy", "--stack-name", stack, "--template-file", str(packaged),
             "--parameter-overrides", f"EnvironmentName={environment}", *values],
        ):  # fmt: skip
            result = subprocess.run([*aws, *command], env=self.admin_of(account), capture_output=True, text=True)
            if result.returncode != 0:
                raise StepFailed(f"stand-in environment: aws cloudformation {command[0]} failed: {result.stderr}")
        print(f"--- stand-in environment {stack}: ok", flush=True)

    def bootstrap(self, environment: str = ENV) -> None:
        account = ACCOUNTS[environment]
        env = self.admin_of(account)
        if OIDC:
            # As Bitbucket's OpenID Connect settings page shows them (made-up UUIDs).
            env["BITBUCKET_OIDC_AUDIENCE"] = "ari:cloud:bitbucket::workspace/00000000-0000-4000-8000-00000000000a"
            env["BITBUCKET_REPO_UUID"] = "{00000000-0000-4000-8000-00000000000b}"
            env["BITBUCKET_DEPLOYMENT_ENVIRONMENT_UUID"] = "{00000000-0000-4000-8000-00000000000c}"
            # Another model's bootstrap in this account created the provider: reuse it, as
            # scripts/bootstrap.sh asks an admin to.
            stacks = {s["StackName"] for s in self.client("cloudformation", account).describe_stacks()["Stacks"]}
            providers = self.client("iam", account).list_open_id_connect_providers()["OpenIDConnectProviderList"]
            if providers and BOOTSTRAP_STACK not in stacks:
                env["EXISTING_OIDC_PROVIDER_ARN"] = providers[0]["Arn"]
        self.run("bootstrap", env, environment)

    def pipeline_env(self, commit: str, build: int, environment: str = ENV) -> dict[str, str]:
        """What a Bitbucket deployment step has (on the dev branch, or main for "prod"): its
        variables and credentials."""
        account = ACCOUNTS[environment]
        outputs = self.outputs(BOOTSTRAP_STACK, account)
        home = self.workdir / f"home-{environment}-{build}"  # a step's fresh container: no AWS CLI cache
        home.mkdir(exist_ok=True)
        env = {
            **self.base_env,
            "HOME": str(home),
            "BITBUCKET_BUILD_NUMBER": str(build),
            "BITBUCKET_BRANCH": "main" if environment == "prod" else "dev",
            "BITBUCKET_COMMIT": commit,
        }
        if OIDC:  # the step has `oidc: true`; the AWS CLI assumes AWS_ROLE_ARN with the token
            env["BITBUCKET_STEP_OIDC_TOKEN"] = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZWhlYXJzYWwifQ.c2lnbmF0dXJl"  # noqa: S105 (unsigned, for the emulator)
            env["AWS_ROLE_ARN"] = outputs["DeployRoleArn"]
        else:  # the deploy user's keys, stored as secured deployment variables
            key = self.client("iam", account).create_access_key(UserName=outputs["DeployUserName"])["AccessKey"]
            env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"] = key["AccessKeyId"], key["SecretAccessKey"]
        return env

    def deploy(self, commit: str, build: int) -> None:
        env = self.pipeline_env(commit, build)
        for target in ("deploy-infra", "build-push", "deploy-api"):
            self.run(target, env)

    def deploy_through_failures(self, commit: str) -> list[Check]:
        """The first push with the emulator's faults: each failing step, then its retry."""
        env = self.pipeline_env(commit, build=1)
        infra_failed = self.run_failing("deploy-infra", env)
        rolled_back = self.client("cloudformation").describe_stacks(StackName=INFRA_STACK)["Stacks"][0]
        self.run("deploy-infra", env)
        recreated = self.client("cloudformation").describe_stacks(StackName=INFRA_STACK)["Stacks"][0]
        pushes_before = len(self.docker_calls())
        push_failed = self.run_failing("build-push", env)
        pushed_anyway = [c["args"][:1] for c in self.docker_calls()[pushes_before:] if c["args"][:1] != ["login"]]
        self.run("build-push", env)
        self.run("deploy-api", env)
        return [
            Check(
                "emulated",
                "failed first create rolled back, step failed",
                rolled_back["StackStatus"] == "ROLLBACK_COMPLETE" and "its first create rolled back" in infra_failed,
                rolled_back["StackStatus"],
            ),
            Check(
                "emulated",
                "failed nested stack's own events printed",
                "injected failure of AWS::ElasticLoadBalancingV2::TargetGroup" in infra_failed
                and "Embedded stack" in infra_failed,
                "RoutingStack: TargetGroup CREATE_FAILED",
            ),
            Check(
                "emulated",
                "retry deleted the rolled-back stack, created anew",
                recreated["StackStatus"] == "CREATE_COMPLETE" and recreated["StackId"] != rolled_back["StackId"],
                f"{rolled_back['StackId'].rsplit('/', 1)[-1][:8]} -> {recreated['StackId'].rsplit('/', 1)[-1][:8]}",
            ),
            Check(
                "emulated",
                "existence check error stops build-push, no push",
                "could not tell whether" in push_failed
                and "AccessDeniedException" in push_failed
                and not pushed_anyway,
                f"docker calls after the error: {pushed_anyway or 'none'}",
            ),
        ]

    # What exists afterwards.
    def outputs(self, stack: str, account: str = DEV_ACCOUNT) -> dict[str, str]:
        described = self.client("cloudformation", account).describe_stacks(StackName=stack)["Stacks"][0]
        return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}

    def service_image(self) -> tuple[str, str, list[str]]:
        outputs = self.outputs(API_STACK)
        ecs = self.client("ecs")
        found = ecs.describe_services(cluster=outputs["ClusterName"], services=[outputs["ServiceName"]])
        service = found["services"][0]
        definition = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
        images = [c["image"] for c in definition["containerDefinitions"]]
        return service["clusterArn"], service["taskDefinition"], images

    def docker_calls(self) -> list[dict]:
        if not self.docker_log.exists():
            return []
        return [json.loads(line) for line in self.docker_log.read_text().splitlines()]

    def skopeo_calls(self) -> list[dict]:
        if not self.skopeo_log.exists():
            return []
        return [json.loads(line) for line in self.skopeo_log.read_text().splitlines()]

    def check_first_deploy(self, commit: str) -> list[Check]:
        cfn, ecr = self.client("cloudformation"), self.client("ecr")
        stacks = {s["StackName"]: s["StackStatus"] for s in cfn.describe_stacks()["Stacks"]}
        ours = {ENVIRONMENT_STACK, BOOTSTRAP_STACK, INFRA_STACK, API_STACK}
        nested = sorted(name for name in stacks if name.startswith(INFRA_STACK + "-"))
        wired = [r for r in cross_stack.load(ROOT / "infra/root.yaml")["Resources"].values() if "TemplateURL" in str(r)]
        not_complete = {n: s for n, s in stacks.items() if s not in ("CREATE_COMPLETE", "UPDATE_COMPLETE")}
        exports = {e["Name"]: e["Value"] for e in cfn.list_exports()["Exports"]}
        infra = self.outputs(INFRA_STACK)
        cluster_arn, _, images = self.service_image()
        repository = infra["RepositoryName"]
        tags = [i.get("imageTag") for i in ecr.list_images(repositoryName=repository)["imageIds"]]
        calls = self.docker_calls()
        registry = infra["RepositoryUri"].split("/")[0]
        sha256 = json.loads((ROOT / "model/artifacts/model.json").read_text())["files"]["model.onnx"]["sha256"]
        checks = [
            Check("emulated", "stacks complete", ours <= set(stacks) and not not_complete, f"{len(stacks)} stacks"),
            Check(
                "emulated",
                "infra nested stacks",
                len(nested) == len(wired) >= 4,
                f"{len(nested)} nested stacks in {INFRA_STACK}",
            ),
            Check(
                "emulated",
                "exports the API stack imports",
                set(api_imports()) <= set(exports),
                f"{len(api_imports())} imports; missing: {sorted(set(api_imports()) - set(exports)) or 'none'}",
            ),
            Check(
                "emulated",
                "API stack resolved the imports",
                cluster_arn.endswith("/" + exports[f"{CONTRACT}ClusterName"])
                and f"{exports[f'{PROJECT}-{ENV}-RepositoryUri']}:{commit}" in images,
                f"cluster {cluster_arn.rsplit('/', 1)[-1]}, images {images}",
            ),
            Check("emulated", "ECR repository has this commit", commit in tags, f"{repository}: {tags}"),
            Check(
                "emulated",
                "service runs this commit's image",
                any(image.endswith(":" + commit) for image in images),
                images[0] if images else "no containers",
            ),
            Check(
                "emulated",
                "docker login with get-login-password",
                any(c["args"][:1] == ["login"] and c.get("password_given") and registry in c["args"] for c in calls),
                registry,
            ),
            Check(
                "emulated",
                "image built from the model, labelled, inline cache",
                any(
                    c["args"][:1] == ["build"]
                    and c.get("model_present")
                    and "BUILDKIT_INLINE_CACHE=1" in c["args"]
                    and f"model.sha256={sha256}" in c["args"]
                    and f"org.opencontainers.image.revision={commit}" in c["args"]
                    for c in calls
                ),
                "docker build " + " ".join(next((c["args"][1:] for c in calls if c["args"][:1] == ["build"]), [])),
            ),
        ]
        checks += self.check_model_stacks()
        if AGENT_COPY:
            agent = infra["AgentRepositoryName"]
            agent_tags = [i.get("imageTag") for i in ecr.list_images(repositoryName=agent)["imageIds"]]
            checks.append(
                Check("emulated", "CloudWatch agent copied to ECR", bool(agent_tags), f"{agent}: {agent_tags}")
            )
        return checks

    def check_model_stacks(self) -> list[Check]:
        """The model's rule on the environment's listener; what the model's own stacks hold."""
        cfn, elb = self.client("cloudformation"), self.client("elbv2")
        infra = self.outputs(INFRA_STACK)
        rule = rules_by_target_group(elb, self.outputs(ENVIRONMENT_STACK)["ListenerArn"]).get(
            dict(export_values(cfn))[f"{PROJECT}-{ENV}-TargetGroupArn"], {}
        )
        routes = sorted(listener_rule.routes(rule))
        wanted = sorted(
            [f"{PROJECT}.{self.outputs(ENVIRONMENT_STACK)['HostedZoneName']}"]  # the environment's zone
            if CONFIG["routing"] == "host"
            else [f"/{PROJECT}", f"/{PROJECT}/*"]
        )
        stacks = [s["StackName"] for s in cfn.describe_stacks()["Stacks"]]
        model = [s for s in stacks if s.startswith((INFRA_STACK, API_STACK))]
        kinds = {
            r.get("ResourceType") for s in model for r in cfn.describe_stack_resources(StackName=s)["StackResources"]
        }
        shared = kinds & {"AWS::EC2::VPC", "AWS::ElasticLoadBalancingV2::LoadBalancer", "AWS::ECS::Cluster"}
        exports = dict(export_values(cfn))
        test_rule = rules_by_target_group(elb, self.outputs(ENVIRONMENT_STACK)["ListenerArn"], test=True).get(
            exports[f"{PROJECT}-{ENV}-AlternateTargetGroupArn"], {}
        )
        header = [c.get("HttpHeaderConfig", {}) for c in test_rule.get("Conditions", []) if c["Field"] == "http-header"]
        return [
            Check(
                "emulated",
                "test listener rule: header, before production",
                sorted(listener_rule.routes(test_rule)) == wanted
                and header == [{"HttpHeaderName": "X-Release-Check", "Values": [PROJECT]}]
                and str(test_rule.get("Priority")) == str(listener_rule.test_priority()) != str(rule.get("Priority"))
                and listener_rule.test_priority() < listener_rule.priority(),
                f"priority {test_rule.get('Priority')}, header {header}",
            ),
            self.check_release_check(),
            Check(
                "emulated",
                "listener rule routes to this model's targets",
                routes == wanted and str(rule.get("Priority")) == str(listener_rule.priority()),
                f"{routes} priority {rule.get('Priority')} -> {infra['ApiUrl']}",
            ),
            Check(
                "emulated",
                "model stacks hold no VPC, load balancer, cluster",
                not shared and "AWS::ElasticLoadBalancingV2::ListenerRule" in kinds,
                f"{len(model)} stacks of {PROJECT}, {len(kinds)} resource types: {sorted(shared) or 'none of these'}",
            ),
        ]

    def check_release_check(self) -> Check:
        """The release check's Lambda function, as deployed: its code package holds the handler and
        the model.json it compares answers with (moto cannot run it; tests/test_release_check.py
        runs it against a real service)."""
        function = self.client("lambda").get_function(FunctionName=f"{PROJECT}-{ENV}-release-check")
        packaged_template = cross_stack.load(ROOT / f"build/api.{ENV}.yaml")  # what deploy-api deployed
        code = packaged_template["Resources"]["ReleaseCheck"]["Properties"]["Code"]
        content = self.client("s3").get_object(Bucket=code["S3Bucket"], Key=code["S3Key"])["Body"].read()
        package = zipfile.ZipFile(io.BytesIO(content))
        names = sorted(package.namelist())
        packaged = json.loads(package.read("model.json")) if "model.json" in names else {}
        local = json.loads((ROOT / "model/artifacts/model.json").read_text())
        config = function["Configuration"]
        return Check(
            "emulated",
            "release check packaged with model.json",
            config["CodeSha256"] == base64.b64encode(hashlib.sha256(content).digest()).decode()
            and names == ["model.json", "release_check.py"]
            and packaged == local
            and config["Handler"] == "release_check.handler"
            and bool(config.get("VpcConfig", {}).get("SubnetIds")),
            f"{config['FunctionName']}: {names}, model {packaged.get('version')}",
        )

    def image_tags(self) -> dict[str, set[str]]:
        """Tags of each image in the API repository, by digest."""
        repository = self.outputs(INFRA_STACK)["RepositoryName"]
        found: dict[str, set[str]] = {}
        for image in self.client("ecr").list_images(repositoryName=repository)["imageIds"]:
            found.setdefault(image["imageDigest"], set()).add(image.get("imageTag"))
        return found

    def check_second_deploy(
        self, first: tuple[str, str, list[str]], commit: str, first_commit: str, status: str
    ) -> list[Check]:
        """The second push replaced the service's image, and `make status` reports the new one alone."""
        _, task_definition, images = self.service_image()
        builds = [c for c in self.docker_calls() if c["args"][:1] == ["build"]]
        tagged = {tag: tags for tags in self.image_tags().values() for tag in tags}
        return [
            Check(
                "emulated",
                "running and previous images tagged",
                {"running", commit} <= tagged.get(commit, set())
                and {"previous", first_commit} <= tagged.get(first_commit, set()),
                f"running: {sorted(tagged.get('running', []))}; previous: {sorted(tagged.get('previous', []))}",
            ),
            Check(
                "emulated",
                "second push updated the service",
                task_definition != first[1]
                and any(image.endswith(":" + commit) for image in images)
                and STATUS_COMMIT.findall(status) == [commit],
                f"{first[1].rsplit('/', 1)[-1]} -> {task_definition.rsplit('/', 1)[-1]};"
                f" make status: {', '.join(c[:8] for c in STATUS_COMMIT.findall(status))}",
            ),
            Check(
                "emulated",
                "second build used the deployed image as cache",
                bool(builds) and "--cache-from" in builds[-1]["args"],
                " ".join(a for a in builds[-1]["args"] if "cache" in a) if builds else "no build",
            ),
        ]

    def check_rollback(self, first_commit: str, second_commit: str) -> Check:
        """make rollback deployed the image tagged previous, rolling, and the tags changed places."""
        _, _, images = self.service_image()
        tagged = {tag: tags for tags in self.image_tags().values() for tag in tags}
        strategy = self.outputs(API_STACK).get("DeploymentStrategy")
        return Check(
            "emulated",
            "rollback serves the previous image, rolling",
            any(image.endswith(":" + first_commit) for image in images)
            and {"running", first_commit} <= tagged.get(first_commit, set())
            and {"previous", second_commit} <= tagged.get(second_commit, set())
            and strategy == "ROLLING",
            f"service runs {[i.rsplit('/', 1)[-1] for i in images]}; strategy {strategy}",
        )


def api_imports() -> list[str]:
    """Export names infra/api.yaml imports, for this project and environment."""
    api = cross_stack.load(ROOT / "infra/api.yaml")
    names = (str(cross_stack.name_of(value)) for value in cross_stack.walk(api, "Fn::ImportValue"))
    return sorted(
        {
            name.replace("${Prefix}", PROJECT)
            .replace("${EnvironmentPrefix}", CONFIG["environment"])
            .replace("${EnvironmentName}", ENV)
            for name in names
        }
    )


def export_values(cfn) -> list[tuple[str, str]]:
    return [(e["Name"], e["Value"]) for e in cfn.list_exports()["Exports"]]


def rules_by_target_group(elb, listener: str, test: bool = False) -> dict[str, dict]:
    """The listener's production rules (or with `test`, the test rules, which need a header), by
    each target group they forward to (a rule that forwards to two by weight is listed under both)."""
    found = {}
    for rule in elb.describe_rules(ListenerArn=listener)["Rules"]:
        if test != any(c.get("Field") == "http-header" for c in rule.get("Conditions", [])):
            continue
        for action in rule.get("Actions", []):
            if action.get("Type") != "forward":
                continue
            weighted = action.get("ForwardConfig", {}).get("TargetGroups", [])
            for arn in [action.get("TargetGroupArn"), *(group["TargetGroupArn"] for group in weighted)]:
                if arn:
                    found[arn] = rule
    return found


def static_checks() -> list[Check]:
    """What moto drops or skips: Fargate settings, load balancing, circuit breaker, alarms, scaling."""
    resources = cross_stack.load(ROOT / "infra/api.yaml")["Resources"].values()

    def of_type(kind):
        return [r.get("Properties", {}) for r in resources if r["Type"] == kind]

    tasks, services = of_type("AWS::ECS::TaskDefinition"), of_type("AWS::ECS::Service")
    alarms = of_type("AWS::CloudWatch::Alarm")
    task = tasks[0] if len(tasks) == 1 else {}
    service = services[0] if len(services) == 1 else {}
    launch = service.get("LaunchType") or json.dumps(service.get("CapacityProviderStrategy", ""))
    config = service.get("DeploymentConfiguration", {})
    breaker = config.get("DeploymentCircuitBreaker", {})
    rollout = json.loads((ROOT / "infra/params/prod.json").read_text())["api"]["DeploymentStrategy"]
    hooks = json.dumps(config.get("LifecycleHooks", ""))
    network = service.get("NetworkConfiguration", {}).get("AwsvpcConfiguration", {})
    return [
        Check(
            "static",
            "task definition is Fargate, awsvpc, cpu/memory",
            "FARGATE" in task.get("RequiresCompatibilities", [])
            and task.get("NetworkMode") == "awsvpc"
            and bool(task.get("Cpu"))
            and bool(task.get("Memory")),
            "infra/api.yaml",
        ),
        Check("static", "service runs on Fargate", "FARGATE" in launch, launch),
        Check(
            "static",
            "service in private subnets, no public IP",
            network.get("AssignPublicIp") == "DISABLED",
            f"AssignPublicIp {network.get('AssignPublicIp')}",
        ),
        Check(
            "static",
            "service behind the load balancer",
            bool(service.get("LoadBalancers")),
            f"{len(service.get('LoadBalancers', []))} target group",
        ),
        Check(
            "static",
            "circuit breaker with rollback",
            breaker.get("Enable") is True and breaker.get("Rollback") is True,
            json.dumps(breaker),
        ),
        Check(
            "static",
            "alarm rollback; prod releases with the check",
            config.get("Alarms", {}).get("Rollback") is True
            and len(config.get("Alarms", {}).get("AlarmNames", [])) == 4
            and "POST_TEST_TRAFFIC_SHIFT" in hooks
            and "AdvancedConfiguration" in json.dumps(service.get("LoadBalancers")),
            f"prod {rollout}, dev ROLLING (infra/params); 4 rollback alarms; release check at POST_TEST_TRAFFIC_SHIFT",
        ),
        Check(
            "static",
            "alarms notify the alarm topic",
            bool(alarms) and all(a.get("AlarmActions") for a in alarms),
            f"{len(alarms)} alarms",
        ),
        Check(
            "static",
            "autoscaling target and policies",
            bool(of_type("AWS::ApplicationAutoScaling::ScalableTarget"))
            and bool(of_type("AWS::ApplicationAutoScaling::ScalingPolicy")),
            f"{len(of_type('AWS::ApplicationAutoScaling::ScalingPolicy'))} policies",
        ),
    ]


def commit_ids() -> tuple[str, str]:
    """This commit (git HEAD, or BITBUCKET_COMMIT), and a stand-in for the next push's commit."""
    head = (
        os.environ.get("BITBUCKET_COMMIT")
        or subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    )
    first = head or hashlib.sha1(b"rehearsal").hexdigest()  # noqa: S324 (a made-up commit id)
    return first, hashlib.sha1(first.encode() + b"+1").hexdigest()  # noqa: S324


def report(checks: list[Check]) -> bool:
    print("\nrehearse: checks (emulated = read from the emulator; static = read from the templates)")
    for check in checks:
        print(f"  {'PASS' if check.ok else 'FAIL'}  {check.kind:8}  {check.name:46} {check.detail}")
    failed = sum(not c.ok for c in checks)
    emulated = sum(c.kind == "emulated" for c in checks)
    static = len(checks) - emulated
    print(f"rehearse: {len(checks) - failed} passed, {failed} failed ({emulated} emulated, {static} static)")
    return failed == 0


def main(argv: list[str] | None = None) -> int:
    if shutil.which("make") is None:
        print("rehearse: error: make is not installed", file=sys.stderr)
        return 1
    parser = argparse.ArgumentParser(description="Rehearse the deploys against a local AWS emulator.")
    parser.add_argument("--failures", action="store_true", help="rehearse a failing first deploy and its retries")
    parser.add_argument(
        "--first-release",
        action="store_true",
        default=os.environ.get("REHEARSE_FIRST_RELEASE") == "1",
        help="dev's first push and its promotion only: no second push, no rollback ($REHEARSE_FIRST_RELEASE=1)",
    )
    parser.add_argument(
        "--emulator",
        metavar="URL",
        default=os.environ.get("REHEARSE_EMULATOR_URL"),
        help="use this running emulator, where another model may be (default: $REHEARSE_EMULATOR_URL)",
    )
    arguments = parser.parse_args(argv)
    failures = arguments.failures
    first, second = commit_ids()
    started = time.perf_counter()
    checks = static_checks()
    faults = FAULTS if failures else ""
    running = RunningEmulator(arguments.emulator) if arguments.emulator else Emulator(DEV_ACCOUNT, faults)
    with tempfile.TemporaryDirectory(prefix="rehearse-") as workdir, running as emulator:
        print(f"rehearse: AWS emulator on {emulator.url} (account {DEV_ACCOUNT}, {REGION}); docker, skopeo: stand-ins")
        rehearsal = Rehearsal(emulator, Path(workdir))
        with aws_forks.serving(rehearsal.bin_dir):
            try:
                if not OWN_ENVIRONMENT:
                    rehearsal.standin_environment()
                rehearsal.bootstrap()
                print(f"\nrehearse: first push to {ENV}, commit {first}{', through failures' if failures else ''}")
                if failures:
                    checks += rehearsal.deploy_through_failures(first)
                else:
                    rehearsal.deploy(first, build=1)
                checks += rehearsal.check_first_deploy(first)
                if not failures:
                    from .promotion import production_release  # it imports this module

                    checks += production_release(rehearsal, first)
                if not failures and not arguments.first_release:
                    before = rehearsal.service_image()
                    print(f"\nrehearse: second push to {ENV}, commit {second} (a new commit)")
                    rehearsal.deploy(second, build=2)
                    status = rehearsal.run("status", rehearsal.admin_env, capture=True)
                    checks += rehearsal.check_second_deploy(before, second, first, status)
                    print(f"\nrehearse: make rollback, from a laptop with an admin's keys: back to commit {first}")
                    rehearsal.run("rollback", rehearsal.admin_env)
                    checks.append(rehearsal.check_rollback(first, second))
            except StepFailed as failure:
                print(f"\nrehearse: {failure}; the output above says why", file=sys.stderr)
                return 1
    ok = report(checks)
    print(f"rehearse: {'done' if ok else 'FAILED'} in {time.perf_counter() - started:.0f} s")
    return 0 if ok else 1
