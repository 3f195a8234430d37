#!/usr/bin/env bash
# Build dev's image from the committed model (checked against the SHA-256 model.json records;
# the pipeline never trains) and push it to ECR, tagged with the commit (IMAGE_TAG) and
# labelled with the commit, the model version and the model's SHA-256; then the CloudWatch
# agent (copy_agent_image). A tag already in ECR is not pushed again (tags are immutable).
# Production never builds: it runs the image dev ran (scripts/promote.sh).
#
#   scripts/build-push.sh dev            (make build-push ENV=dev)
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

use_environment "${1:-}"
[ "$ENV_NAME" = dev ] || die "production runs only images dev ran healthy, never a build: run 'make promote ENV=prod'"
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

docker_copy() { docker pull "$1" && docker tag "$1" "$2" && docker push "$2"; }
copy_agent_image docker_copy
say "pushed $repository_uri:$IMAGE_TAG"
