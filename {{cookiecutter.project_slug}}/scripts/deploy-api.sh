#!/usr/bin/env bash
# Deploy the API stack <project>-<env>-api with the image of this commit, then wait until
# the ECS service is stable. A rollout the circuit breaker rolls back fails this step.
# Then the images the service runs are tagged "running" (the ones before, "previous"),
# which the repositories' lifecycle policy never expires.
#
#   scripts/deploy-api.sh dev|prod       (make deploy-api ENV=dev)
# IMAGE_TAG defaults to BITBUCKET_COMMIT, or to git HEAD on a laptop.
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

use_environment "${1:-}"
IMAGE_TAG="${IMAGE_TAG:-${BITBUCKET_COMMIT:-$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || true)}}"
require_var IMAGE_TAG "set BITBUCKET_COMMIT or IMAGE_TAG, or run inside the git repository"
stack_parameters api "Prefix=$PROJECT" "EnvironmentName=$ENV_NAME" "EnvironmentPrefix=$ENVIRONMENT_PREFIX" \
  "ImageTag=$IMAGE_TAG"
use_credentials
guard_account
require_stack "$BOOTSTRAP_STACK" "an admin runs 'make bootstrap ENV=$ENV_NAME' once per account first"
require_stack "$INFRA_STACK" "run 'make deploy-infra ENV=$ENV_NAME' first"
role="$(stack_output "$BOOTSTRAP_STACK" CloudFormationExecutionRoleArn)"
repository="$(stack_output "$INFRA_STACK" RepositoryName)"
image_in_ecr "$repository" "$IMAGE_TAG" ||
  die "image $repository:$IMAGE_TAG is not in ECR: run 'make build-push ENV=$ENV_NAME' first"
deploy_stack "$API_STACK" "$ROOT/infra/api.yaml" "$role" "${PARAMETERS[@]}"

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
if [ "$SIDECAR_IMAGE_SOURCE" = ecr_copy ]; then
  agent_repository="$(stack_output "$INFRA_STACK" AgentRepositoryName)"
  agent_tag="$(stack_parameter "$API_STACK" AgentImageTag)"
  mark_running "$agent_repository" "$agent_tag"
fi
