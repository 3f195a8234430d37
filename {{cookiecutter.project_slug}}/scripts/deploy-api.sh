#!/usr/bin/env bash
# Deploy the API stack <project>-<env>-api with this commit's image (IMAGE_TAG; production only
# the image dev ran healthy), then wait until the service is stable. A rollout the circuit
# breaker or this model's alarms roll back fails this step, as does a canary or linear release
# whose release check (a Lambda: the tool's release_check.py, packaged with model.json's expected
# answers) fails. Then the images the service runs are tagged "running" (the ones before,
# "previous"), which the lifecycle policy never expires; in dev also "healthy-<source tree>".
#
#   scripts/deploy-api.sh dev|prod       (make deploy-api ENV=dev)
# With ROLLBACK=1 (make rollback): the image tagged "previous", rolling, without the release check.
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

use_environment "${1:-}"
[ -z "${ROLLBACK:-}" ] || IMAGE_TAG=previous # the tag; the commit it names is read from ECR below
require_var IMAGE_TAG "set BITBUCKET_COMMIT or IMAGE_TAG, or run inside the git repository"
common=("Prefix=$PROJECT" "EnvironmentName=$ENV_NAME" "EnvironmentPrefix=$ENVIRONMENT_PREFIX")
stack_parameters api "${common[@]}" "ImageTag=$IMAGE_TAG"
use_credentials
guard_account
require_stack "$BOOTSTRAP_STACK" "an admin runs 'make bootstrap ENV=$ENV_NAME' once per account first"
require_stack "$INFRA_STACK" "run 'make deploy-infra ENV=$ENV_NAME' first"
role="$(stack_output "$BOOTSTRAP_STACK" CloudFormationExecutionRoleArn)"
bucket="$(stack_output "$BOOTSTRAP_STACK" ArtifactBucketName)"
repository="$(stack_output "$INFRA_STACK" RepositoryName)"
if [ -n "${ROLLBACK:-}" ]; then # make rollback: the image tagged "previous", which ran healthy, rolling at once
  IMAGE_TAG="$(image_commit "$repository" previous)"
  [ -n "$IMAGE_TAG" ] || die "no image of $repository is tagged previous: $ENV_NAME has had one release, nothing to roll back to"
  stack_parameters api "${common[@]}" "ImageTag=$IMAGE_TAG"
  PARAMETERS=("${PARAMETERS[@]/#DeploymentStrategy=*/DeploymentStrategy=ROLLING}")
  say "rolling $ENV_NAME back to $IMAGE_TAG, the release before the one running (rolling: it ran healthy before)"
fi
digest="$(image_digest "$repository" "$IMAGE_TAG")" ||
  die "image $repository:$IMAGE_TAG is not in ECR: run 'make $([ "$ENV_NAME" = prod ] && echo promote || echo build-push) ENV=$ENV_NAME' first"
[ -n "${ROLLBACK:-}" ] || tree="$(source_tree)"
if [ "$ENV_NAME" = prod ] && [ -z "${ROLLBACK:-}" ]; then # production runs only what dev ran healthy
  healthy="$(healthy_digest "$tree")"
  [ "$digest" = "$healthy" ] ||
    die "refusing to deploy $repository:$IMAGE_TAG ($digest): dev has not run it healthy (dev's image for source tree $tree: ${healthy:-none}). Push this tree to dev, then 'make promote ENV=prod'"
fi
# infra/api.yaml's ReleaseCheck Code: the tool's release check, with this model's expected answers.
if ! (cd "$ROOT" && ecs-model-tools release-check build/release_check model/artifacts/model.json); then
  # ROLLING never calls the release check; CANARY and LINEAR would fail every release without the answers.
  printf '%s\n' "${PARAMETERS[@]}" | grep -qx 'DeploymentStrategy=ROLLING' ||
    die "model/artifacts/model.json is missing or cannot check a canary or linear release (above): commit the model ('make publish-model')"
  say "warning: the release check could not use model.json (above); $ENV_NAME rolls, so nothing calls it"
fi
packaged="$ROOT/build/api.$ENV_NAME.yaml"
aws cloudformation package --template-file "$ROOT/infra/api.yaml" --s3-bucket "$bucket" --s3-prefix "$ENV_NAME" \
  --output-template-file "$packaged" >/dev/null
deploy_stack "$API_STACK" "$packaged" "$role" "${PARAMETERS[@]}"

load_stack "$API_STACK"
cluster="$(stack_output "$API_STACK" ClusterName)"
service="$(stack_output "$API_STACK" ServiceName)"
say "waiting until service $service is stable"
if ! aws ecs wait services-stable --cluster "$cluster" --services "$service"; then
  aws ecs describe-services --cluster "$cluster" --services "$service" \
    --query 'services[0].events[:5].message' --output text >&2 || true
  die "service $service did not become stable; see its events above and the task logs"
fi
images="$(aws ecs describe-task-definition --output text --query 'taskDefinition.containerDefinitions[].image' \
  --task-definition "$(aws ecs describe-services --cluster "$cluster" --services "$service" \
    --query 'services[0].taskDefinition' --output text)")"
grep -q ":$IMAGE_TAG\b" <<<"$images" ||
  die "service $service does not run image tag $IMAGE_TAG after the deploy (it runs: $images); was it rolled back?"
say "service $service is stable and runs $repository:$IMAGE_TAG"
mark_running "$repository" "$IMAGE_TAG"
# The first image dev ran healthy for a tree keeps the tag (it is immutable).
if [ "$ENV_NAME" = dev ] && [ -z "${ROLLBACK:-}" ] && [ -z "$(healthy_digest "$tree")" ]; then
  put_tag "$repository" "$IMAGE_TAG" "healthy-$tree" && say "$repository: $IMAGE_TAG is tagged healthy-$tree"
fi
if [ "$SIDECAR_IMAGE_SOURCE" = ecr_copy ]; then
  agent_repository="$(stack_output "$INFRA_STACK" AgentRepositoryName)"
  agent_tag="$(stack_parameter "$API_STACK" AgentImageTag)"
  mark_running "$agent_repository" "$agent_tag"
fi
