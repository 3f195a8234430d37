#!/usr/bin/env bash
# Package the infrastructure templates to the artifact bucket and deploy the root stack
# <project>-<env>-infra with infra/params/<env>.json ("infra"). Unchanged is success.
#
#   scripts/deploy-infra.sh dev|prod     (make deploy-infra ENV=dev)
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

use_environment "${1:-}"
stack_parameters infra "Prefix=$PROJECT" "EnvironmentName=$ENV_NAME"
use_credentials
guard_account
require_stack "$BOOTSTRAP_STACK" "an admin runs 'make bootstrap ENV=$ENV_NAME' once per account first"
bucket="$(stack_output "$BOOTSTRAP_STACK" ArtifactBucketName)"
role="$(stack_output "$BOOTSTRAP_STACK" CloudFormationExecutionRoleArn)"

mkdir -p "$ROOT/build"
packaged="$ROOT/build/root.$ENV_NAME.yaml"
say "packaging infra/root.yaml to s3://$bucket/$ENV_NAME/"
aws cloudformation package \
  --template-file "$ROOT/infra/root.yaml" \
  --s3-bucket "$bucket" \
  --s3-prefix "$ENV_NAME" \
  --output-template-file "$packaged" >/dev/null

deploy_stack "$INFRA_STACK" "$packaged" "$role" "${PARAMETERS[@]}"
say "stack $INFRA_STACK is $(stack_status "$INFRA_STACK")"
