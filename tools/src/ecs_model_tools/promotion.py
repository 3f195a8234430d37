"""The rehearsal's production release (rehearse.py runs it after dev's first push).

As the main pipeline does once dev is merged into it (another commit, the same source tree),
in the production account of the same emulator (emulator.py 15): an admin's bootstrap, then
deploy-infra, promote and deploy-api ENV=prod. Then what must hold: production runs the very
digest dev ran, copied by skopeo and never built; build-push refuses production; deploy-api
refuses an image pushed to production's ECR by hand; `make status` reads both environments.
"""

import hashlib
import json
import re

from .rehearse import (
    ACCOUNTS,
    DEV_ACCOUNT,
    OWN_ENVIRONMENT,
    PROD_ACCOUNT,
    PROJECT,
    ROOT,
    Check,
    Rehearsal,
)


def image_digest(ecr, repository: str, tag: str) -> str:
    found = ecr.describe_images(repositoryName=repository, imageIds=[{"imageTag": tag}])["imageDetails"]
    return found[0]["imageDigest"]


def service_image(rehearsal: Rehearsal, environment: str) -> str:
    account = ACCOUNTS[environment]
    outputs = rehearsal.outputs(f"{PROJECT}-{environment}-api", account)
    ecs = rehearsal.client("ecs", account)
    service = ecs.describe_services(cluster=outputs["ClusterName"], services=[outputs["ServiceName"]])["services"][0]
    definition = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
    return next(c["image"] for c in definition["containerDefinitions"] if "/api:" in c["image"])


def production_release(rehearsal: Rehearsal, dev_commit: str) -> list[Check]:
    commit = hashlib.sha1(dev_commit.encode() + b"+main").hexdigest()  # noqa: S324 (a made-up merge commit)
    print(f"\nrehearse: dev merged into main, commit {commit}: the production release")
    if not OWN_ENVIRONMENT:
        rehearsal.standin_environment("prod")
    rehearsal.bootstrap("prod")
    env = rehearsal.pipeline_env(commit, build=3, environment="prod")
    refused_build = rehearsal.run_failing("build-push", env, "prod")
    for target in ("deploy-infra", "promote", "deploy-api"):
        rehearsal.run(target, env, "prod")

    # An image pushed into production's ECR by hand (another digest): deploy-api refuses it.
    dev_ecr, prod_ecr = rehearsal.client("ecr", DEV_ACCOUNT), rehearsal.client("ecr", PROD_ACCOUNT)
    layer = {
        "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
        "size": 1,
        "digest": "sha256:" + "2" * 64,
    }
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"digest": "sha256:" + "0" * 64},
        "layers": [layer],
    }
    hand_built = f"hand-built-{commit[:8]}"  # one per release: a rehearsal may run again into one emulator
    prod_ecr.put_image(repositoryName=f"{PROJECT}-prod/api", imageTag=hand_built, imageManifest=json.dumps(manifest))
    refused = rehearsal.run_failing("deploy-api", {**env, "IMAGE_TAG": hand_built}, "prod")

    status = {e: rehearsal.run("status", rehearsal.admin_of(ACCOUNTS[e]), e, capture=True) for e in ("dev", "prod")}
    dev_digest = image_digest(dev_ecr, f"{PROJECT}-dev/api", dev_commit)
    healthy = {
        tag for i in dev_ecr.list_images(repositoryName=f"{PROJECT}-dev/api")["imageIds"]
        if i["imageDigest"] == dev_digest for tag in [i.get("imageTag") or ""] if tag.startswith("healthy-")
    }  # fmt: skip
    prod_image = service_image(rehearsal, "prod")
    prod_digest = image_digest(prod_ecr, f"{PROJECT}-prod/api", prod_image.rsplit(":", 1)[1])
    copies = [c["args"] for c in rehearsal.skopeo_calls() if c["args"][:1] == ["copy"]]
    logins = [c for c in rehearsal.skopeo_calls() if c["args"][:1] == ["login"]]  # to both registries
    source = f"docker://{DEV_ACCOUNT}.dkr.ecr."
    built = [c["args"] for c in rehearsal.docker_calls() if c["args"][:1] in (["build"], ["push"])]
    model = json.loads((ROOT / "model/artifacts/model.json").read_text())
    return [
        Check(
            "emulated",
            "production runs the digest dev ran",
            prod_image.endswith(f":{commit}") and prod_digest == dev_digest and len(healthy) == 1,
            f"{dev_digest[:19]}... dev {dev_commit[:8]} {sorted(healthy)[0][:16] if healthy else 'not healthy'}..."
            f" -> prod {commit[:8]}",
        ),
        Check(
            "emulated",
            "promoted byte for byte; production never builds",
            any("--preserve-digests" in a and any(x.startswith(source) and dev_digest in x for x in a) for a in copies)
            and {DEV_ACCOUNT, PROD_ACCOUNT} <= {c["args"][-1].split(".")[0] for c in logins if c.get("password_given")}
            and not any(f"{PROD_ACCOUNT}.dkr.ecr." in " ".join(a) for a in built)
            and "never a build" in refused_build,
            f"skopeo copy {source}...@{dev_digest[:19]}...; docker builds for prod: none",
        ),
        Check(
            "emulated",
            "production refuses an image dev did not run",
            "refusing to deploy" in refused
            and "dev has not run it healthy" in refused
            and service_image(rehearsal, "prod") == prod_image,
            f"deploy-api IMAGE_TAG={hand_built} stopped; production still runs " + prod_image.rsplit(":", 1)[1][:8],
        ),
        Check(
            "emulated",
            "make status shows commit, digest, model",
            all(
                c in status[e]
                and dev_digest in status[e]
                and re.search(rf"model version +{re.escape(model['version'])}$", status[e], re.MULTILINE)
                for e, c in (("dev", dev_commit), ("prod", commit))
            ),
            f"model {model['version']} in dev and prod",
        ),
    ]
