#!/usr/bin/env bash
# Build the image from the committed model (checked against the SHA-256 model.json records;
# the pipeline never trains) and push it to the environment's ECR repository, tagged with the
# commit and labelled with the commit, the model version and the model's SHA-256. With
# sidecar_image_source "ecr_copy" (project.json), then copy the pinned CloudWatch agent image
# into ECR, so tasks in private subnets without NAT can pull it.
#
#   scripts/build-push.sh dev|prod       (make build-push ENV=dev)
# IMAGE_TAG defaults to BITBUCKET_COMMIT, or to git HEAD on a laptop. A tag already in ECR
# is not pushed again (tags are immutable); any error of that check but "not found" stops
# the step (image_in_ecr in lib.sh).
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

use_environment "${1:-}"
IMAGE_TAG="${IMAGE_TAG:-${BITBUCKET_COMMIT:-$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || true)}}"
require_var IMAGE_TAG "set BITBUCKET_COMMIT or IMAGE_TAG, or run inside the git repository"
require_command docker "install Docker (in Bitbucket the step needs 'services: [docker]')"
use_credentials
model="$(cd "$ROOT" && ecs-model-tools artifact)" || die "nothing was built (above): the image is built from the committed model"
read -r model_version model_sha256 <<<"$model"
guard_account
require_stack "$INFRA_STACK" "run 'make deploy-infra ENV=$ENV_NAME' first"
repository="$(stack_output "$INFRA_STACK" RepositoryName)"
repository_uri="$(stack_output "$INFRA_STACK" RepositoryUri)"
registry="${repository_uri%%/*}"

say "logging in to $registry"
aws ecr get-login-password | docker login --username AWS --password-stdin "$registry"

if image_in_ecr "$repository" "$IMAGE_TAG"; then
  say "$repository:$IMAGE_TAG is already in ECR; not building it again"
else
  # The image deployed now is the build cache (its layers carry inline cache metadata).
  load_stack "$API_STACK"
  previous="$(stack_parameter "$API_STACK" ImageTag)"
  say "building $repository_uri:$IMAGE_TAG${previous:+ (cache from $previous)}"
  DOCKER_BUILDKIT=1 docker build \
    --build-arg BUILDKIT_INLINE_CACHE=1 \
    ${previous:+--cache-from "$repository_uri:$previous"} \
    --label "org.opencontainers.image.revision=$IMAGE_TAG" \
    --label "model.version=$model_version" --label "model.sha256=$model_sha256" \
    --tag "$repository_uri:$IMAGE_TAG" \
    "$ROOT"
  docker push "$repository_uri:$IMAGE_TAG"
fi

if [ "$SIDECAR_IMAGE_SOURCE" = ecr_copy ]; then
  agent_tag="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["api"].get("AgentImageTag", ""))' "$PARAMS_FILE")"
  [ -n "$agent_tag" ] || die "infra/params/$ENV_NAME.json has no api.AgentImageTag (the CloudWatch agent tag to copy)"
  agent_repository="$(stack_output "$INFRA_STACK" AgentRepositoryName)"
  agent_uri="$(stack_output "$INFRA_STACK" AgentRepositoryUri)"
  if image_in_ecr "$agent_repository" "$agent_tag"; then
    say "$agent_repository:$agent_tag is already in ECR"
  else
    say "copying the CloudWatch agent $agent_tag into $agent_uri"
    docker pull "public.ecr.aws/cloudwatch-agent/cloudwatch-agent:$agent_tag"
    docker tag "public.ecr.aws/cloudwatch-agent/cloudwatch-agent:$agent_tag" "$agent_uri:$agent_tag"
    docker push "$agent_uri:$agent_tag"
  fi
fi
say "pushed $repository_uri:$IMAGE_TAG"
