#!/usr/bin/env bash
# Once per AWS account, by an admin: deploy the bootstrap stack (the pipeline's deploy
# identity, CloudFormation's execution role, the artifact bucket).
#
#   scripts/bootstrap.sh dev|prod        (make bootstrap ENV=dev)
#
# With deploy_identity "oidc", needs, from Bitbucket's Repository settings > Pipelines > OpenID Connect:
#   BITBUCKET_OIDC_AUDIENCE                 Audience: ari:cloud:bitbucket::workspace/<uuid> (no braces)
#   BITBUCKET_REPO_UUID                     Repository UUID, with braces
#   BITBUCKET_DEPLOYMENT_ENVIRONMENT_UUID   UUID of the deployment environment, with braces:
#                                           Test for dev, Production for prod
# Optional: EXISTING_OIDC_PROVIDER_ARN, the account's Bitbucket OIDC provider if it has one already.
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

use_environment "${1:-}"
# DevAccount: production's deploy identity may pull dev's images (make promote).
parameters=("Prefix=$PROJECT" "EnvironmentName=$ENV_NAME" "EnvironmentPrefix=$ENVIRONMENT_PREFIX" "DevAccount=$DEV_ACCOUNT")
# The one hosted zone CloudFormation may add records to: the environment's (own environment
# with host routing only; infra/params/<env>.json).
if grep -q '^  HostedZoneId:' "$ROOT/infra/bootstrap.yaml"; then
  zone="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["environment"].get("HostedZoneId", ""))' "$PARAMS_FILE")"
  parameters+=("HostedZoneId=$zone")
fi
if [ "$DEPLOY_IDENTITY" = oidc ]; then
  oidc_page="copy it from Bitbucket: Repository settings > Pipelines > OpenID Connect"
  uuid='[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'
  require_var BITBUCKET_OIDC_AUDIENCE "$oidc_page (Audience)"
  require_var BITBUCKET_REPO_UUID "$oidc_page (Repository UUID, with the braces)"
  require_var BITBUCKET_DEPLOYMENT_ENVIRONMENT_UUID "$oidc_page (the UUID of deployment environment $DEPLOYMENT, with the braces)"
  [[ "$BITBUCKET_OIDC_AUDIENCE" =~ ^ari:cloud:bitbucket::workspace/${uuid}$ ]] ||
    die "BITBUCKET_OIDC_AUDIENCE is '$BITBUCKET_OIDC_AUDIENCE', not ari:cloud:bitbucket::workspace/<uuid without braces>: $oidc_page (Audience)"
  [[ "$BITBUCKET_REPO_UUID" =~ ^[{]${uuid}[}]$ ]] ||
    die "BITBUCKET_REPO_UUID is '$BITBUCKET_REPO_UUID', not {<uuid>} with the braces: $oidc_page (Repository UUID)"
  [[ "$BITBUCKET_DEPLOYMENT_ENVIRONMENT_UUID" =~ ^[{]${uuid}[}]$ ]] ||
    die "BITBUCKET_DEPLOYMENT_ENVIRONMENT_UUID is '$BITBUCKET_DEPLOYMENT_ENVIRONMENT_UUID', not {<uuid>} with the braces: $oidc_page (deployment environment $DEPLOYMENT)"
  parameters+=(
    "BitbucketAudience=$BITBUCKET_OIDC_AUDIENCE"
    "BitbucketRepositoryUuid=$BITBUCKET_REPO_UUID"
    "DeploymentEnvironmentUuid=$BITBUCKET_DEPLOYMENT_ENVIRONMENT_UUID"
    "ExistingOidcProviderArn=${EXISTING_OIDC_PROVIDER_ARN:-}"
  )
fi
use_credentials
guard_account

if [ "$DEPLOY_IDENTITY" = oidc ]; then
  provider_url="api.bitbucket.org/2.0/workspaces/$BITBUCKET_WORKSPACE/pipelines-config/identity/oidc"
  if [ -z "$(stack_status "$BOOTSTRAP_STACK")" ] && [ -z "${EXISTING_OIDC_PROVIDER_ARN:-}" ]; then
    existing="$(aws iam list-open-id-connect-providers --output text \
      --query "OpenIDConnectProviderList[?ends_with(Arn, '$provider_url')].Arn")"
    [ -z "$existing" ] || die "account $EXPECTED_ACCOUNT already has the Bitbucket OIDC provider $existing: export EXISTING_OIDC_PROVIDER_ARN=$existing and run again"
  fi
fi

# A new account has no ECS service-linked role until ECS first needs one, and a cluster with
# capacity providers created at that moment fails ("Unable to assume the service linked
# role"). Create it now; an account that already has it answers "has been taken" (the
# emulator, EntityAlreadyExists: the second model bootstrapped into one account).
if ! output="$(aws iam create-service-linked-role --aws-service-name ecs.amazonaws.com 2>&1)"; then
  case "$output" in
    *"has been taken"* | *EntityAlreadyExists*) ;;
    *) die "could not create the ECS service-linked role: $output" ;;
  esac
fi

# The bootstrap creates the execution role, so it runs with the admin's own permissions.
deploy_stack "$BOOTSTRAP_STACK" "$ROOT/infra/bootstrap.yaml" "" "${parameters[@]}"

say "bootstrap of $ENV_NAME done; in Bitbucket, Repository settings > Deployments > $DEPLOYMENT set:"
echo "  AWS_DEFAULT_REGION = $AWS_DEFAULT_REGION"
if [ "$DEPLOY_IDENTITY" = oidc ]; then
  echo "  AWS_ROLE_ARN       = $(stack_output "$BOOTSTRAP_STACK" DeployRoleArn)"
else
  user="$(stack_output "$BOOTSTRAP_STACK" DeployUserName)"
  echo "  AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (secured) from:"
  echo "    aws iam create-access-key --user-name $user"
fi
