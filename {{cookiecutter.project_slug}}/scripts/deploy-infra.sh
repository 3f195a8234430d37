#!/usr/bin/env bash
# Package the infrastructure templates to the artifact bucket and deploy them: with
# infrastructure "own" (project.json) first the environment's stack <environment>-<env>
# (infra/environment/environment.yaml, params "environment"), then this model's
# <project>-<env>-infra (infra/root.yaml, params "infra"), whose listener rule priority is
# checked against the environment's listener first. Unchanged is success.
#
#   scripts/deploy-infra.sh dev|prod     (make deploy-infra ENV=dev)
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

use_environment "${1:-}"
if [ "$INFRASTRUCTURE" = own ]; then
  stack_parameters environment "EnvironmentPrefix=$ENVIRONMENT_PREFIX" "EnvironmentName=$ENV_NAME"
  environment_parameters=("${PARAMETERS[@]}")
fi
require_command ecs-model-tools "run 'make install' (the template's tool, pinned in the Makefile)"
priority="$(cd "$ROOT" && ecs-model-tools listener-rule priority)"
test_priority="$(cd "$ROOT" && ecs-model-tools listener-rule test-priority)"
stack_parameters infra "Prefix=$PROJECT" "EnvironmentName=$ENV_NAME" "EnvironmentPrefix=$ENVIRONMENT_PREFIX" \
  "ListenerRulePriority=$priority" "TestListenerRulePriority=$test_priority" "ProductionAccount=$PROD_ACCOUNT"
use_credentials
guard_account
require_stack "$BOOTSTRAP_STACK" "an admin runs 'make bootstrap ENV=$ENV_NAME' once per account first"
bucket="$(stack_output "$BOOTSTRAP_STACK" ArtifactBucketName)"
role="$(stack_output "$BOOTSTRAP_STACK" CloudFormationExecutionRoleArn)"

# This model's tasks leave the VPC through the environment's egress (its outputs NatGateway and
# Endpoints, contract v1): stop, naming what is missing, before deploying anything.
check_egress() {
  local nat endpoints ecs_exec service missing=()
  nat="$(stack_output "$ENVIRONMENT_STACK" NatGateway)"
  endpoints="$(stack_output "$ENVIRONMENT_STACK" Endpoints)"
  [ "$nat" = true ] && return 0
  ecs_exec="$(python3 -c 'import json, sys; print(str(json.load(open(sys.argv[1])).get("ecs_exec", False)).lower())' "$ROOT/project.json")"
  [ "$SIDECAR_IMAGE_SOURCE" != public_ecr ] ||
    missing+=("NAT (sidecar_image_source public_ecr: the tasks pull the CloudWatch agent from public.ecr.aws)")
  for service in s3 ecr.api ecr.dkr logs monitoring $([ "$ecs_exec" = true ] && echo ssmmessages); do
    [[ ",$endpoints," == *",$service,"* ]] || missing+=("a VPC endpoint for $service, or NAT")
  done
  [ -z "${missing[*]:-}" ] || die "environment $ENVIRONMENT_STACK lacks what this model's tasks need to leave the VPC:
$(printf '  - %s\n' "${missing[@]}")
The environment has NAT: $nat; endpoints: $endpoints. Ask its owner to add them (nat_gateways, ecs_exec in the environment's repository), or change this model's answers; nothing was deployed"
}

mkdir -p "$ROOT/build"
package() { # TEMPLATE (under infra/) -> the packaged template's path
  local packaged
  packaged="$ROOT/build/$(basename "$1" .yaml).$ENV_NAME.yaml"
  say "packaging infra/$1 to s3://$bucket/$ENV_NAME/" >&2
  aws cloudformation package \
    --template-file "$ROOT/infra/$1" \
    --s3-bucket "$bucket" \
    --s3-prefix "$ENV_NAME" \
    --output-template-file "$packaged" >/dev/null
  echo "$packaged"
}

if [ "$INFRASTRUCTURE" = own ]; then
  packaged="$(package environment/environment.yaml)"
  deploy_stack "$ENVIRONMENT_STACK" "$packaged" "$role" "${environment_parameters[@]}"
  say "stack $ENVIRONMENT_STACK is $(stack_status "$ENVIRONMENT_STACK")"
fi
require_stack "$ENVIRONMENT_STACK" "the environment $ENVIRONMENT_PREFIX is deployed by the repository that owns it (infrastructure \"own\"); deploy it to $ENV_NAME first"
check_egress
check_listener_rule "$priority"
# The listener's protocol is the environment's now (not an export: a certificate changes it).
PARAMETERS+=("ListenerProtocol=$(stack_output "$ENVIRONMENT_STACK" ListenerProtocol)")
packaged="$(package root.yaml)"
deploy_stack "$INFRA_STACK" "$packaged" "$role" "${PARAMETERS[@]}"
say "stack $INFRA_STACK is $(stack_status "$INFRA_STACK")"
