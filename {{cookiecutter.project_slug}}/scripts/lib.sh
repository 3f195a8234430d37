# Shared by the deploy scripts (bootstrap.sh, deploy-infra.sh, build-push.sh,
# deploy-api.sh). Each script checks everything it needs and stops with a message naming
# what is missing before its first call that changes anything in AWS.
#
# Stack names (one place): <project>-bootstrap, <project>-<env>-infra, <project>-<env>-api.
# shellcheck shell=bash
# shellcheck disable=SC2034  # the variables set here are used by the scripts that source it

set -euo pipefail
if [ "${BASH_VERSINFO[0]}" -lt 4 ]; then
  echo "error: bash 4 or newer is needed (bash $BASH_VERSION runs this; on macOS: brew install bash)" >&2
  exit 1
fi

PROJECT="{{ cookiecutter.project_slug }}"
PROJECT_REGION="{{ cookiecutter.aws_region }}"
DEPLOY_IDENTITY="{{ cookiecutter.deploy_identity }}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BOOTSTRAP_STACK="$PROJECT-bootstrap"

die() {
  echo "error: $*" >&2
  exit 1
}

say() {
  echo "==> $*"
}

# usage: use_environment ENV -- sets ENV_NAME, EXPECTED_ACCOUNT, DEPLOYMENT (the Bitbucket
# deployment environment), INFRA_STACK, API_STACK, PARAMS_FILE
use_environment() {
  ENV_NAME="${1:-}"
  case "$ENV_NAME" in
    dev) EXPECTED_ACCOUNT="{{ cookiecutter.dev_account_id }}" DEPLOYMENT=Test ;;
    prod) EXPECTED_ACCOUNT="{{ cookiecutter.prod_account_id }}" DEPLOYMENT=Production ;;
    "") die "no environment given: run $(basename "$0") dev|prod (or make <target> ENV=dev)" ;;
    *) die "unknown environment '$ENV_NAME': use dev or prod" ;;
  esac
  INFRA_STACK="$PROJECT-$ENV_NAME-infra"
  API_STACK="$PROJECT-$ENV_NAME-api"
  PARAMS_FILE="$ROOT/infra/params/$ENV_NAME.json"
  [ -f "$PARAMS_FILE" ] || die "parameters file infra/params/$ENV_NAME.json is missing"
}

require_var() { # NAME "where it comes from"
  [ -n "${!1:-}" ] || die "variable $1 is not set: $2"
}

require_command() { # NAME "how to get it"
  command -v "$1" >/dev/null 2>&1 || die "command '$1' not found: $2"
}

# Credentials: in a pipeline step, from OIDC (the role in AWS_ROLE_ARN) or from the
# secured variables; on a laptop, whatever the AWS CLI finds (profile, SSO, variables).
use_credentials() {
  require_command aws "run 'make install' (the AWS CLI is pinned in requirements-dev.txt)"
  if [ -z "${AWS_DEFAULT_REGION:-}" ] && [ -n "${AWS_REGION:-}" ]; then
    export AWS_DEFAULT_REGION="$AWS_REGION"
  fi
  require_var AWS_DEFAULT_REGION "set it to $PROJECT_REGION (a deployment variable in Bitbucket, or export it)"
  if [ -n "${BITBUCKET_STEP_OIDC_TOKEN:-}" ]; then
    require_var AWS_ROLE_ARN "set it as a deployment variable: the DeployRoleArn output of stack $BOOTSTRAP_STACK"
    AWS_WEB_IDENTITY_TOKEN_FILE="$(mktemp)"
    trap 'rm -f "$AWS_WEB_IDENTITY_TOKEN_FILE"' EXIT
    printf '%s' "$BITBUCKET_STEP_OIDC_TOKEN" >"$AWS_WEB_IDENTITY_TOKEN_FILE"
    export AWS_WEB_IDENTITY_TOKEN_FILE
    export AWS_ROLE_SESSION_NAME="bitbucket-${BITBUCKET_BUILD_NUMBER:-local}"
  elif [ -n "${BITBUCKET_BUILD_NUMBER:-}" ]; then
{%- if cookiecutter.deploy_identity == "oidc" %}
    die "no OIDC token in this pipeline step: give the step 'oidc: true' in bitbucket-pipelines.yml"
{%- else %}
    require_var AWS_ACCESS_KEY_ID "store the deploy user's access key id as a secured deployment variable"
    require_var AWS_SECRET_ACCESS_KEY "store the deploy user's secret access key as a secured deployment variable"
{%- endif %}
  fi
}

# Refuse to deploy an environment into any account or region but its own.
guard_account() {
  local identity
  identity="$(aws sts get-caller-identity --query Account --output text 2>&1)" ||
    die "no usable AWS credentials for $ENV_NAME (aws sts get-caller-identity said: $identity)"
  [ "$identity" = "$EXPECTED_ACCOUNT" ] ||
    die "refusing to deploy $ENV_NAME into account $identity: $ENV_NAME belongs to account $EXPECTED_ACCOUNT (scripts/lib.sh)"
  [ "$AWS_DEFAULT_REGION" = "$PROJECT_REGION" ] ||
    die "refusing to deploy into region $AWS_DEFAULT_REGION: this project deploys to $PROJECT_REGION (AWS_DEFAULT_REGION)"
  say "$ENV_NAME: account $identity, region $AWS_DEFAULT_REGION"
}

# What describe-stacks says about a stack, read once per stack and kept in STACK_INFO:
# "<stack> status", "<stack> output <Key>", "<stack> parameter <Key>".
declare -A STACK_INFO=()

load_stack() { # STACK
  local json key value
  STACK_INFO["$1 loaded"]=1
  json="$(aws cloudformation describe-stacks --stack-name "$1" --query 'Stacks[0]' --output json 2>/dev/null)" || return 0
  while IFS=$'\t' read -r key value; do
    STACK_INFO["$1 $key"]="$value"
  done < <(python3 -c 'import json, sys
stack = json.load(sys.stdin)
print("status", stack["StackStatus"], sep="\t")
for o in stack.get("Outputs", []):
    print("output " + o["OutputKey"], o["OutputValue"], sep="\t")
for p in stack.get("Parameters", []):
    print("parameter " + p["ParameterKey"], p.get("ParameterValue", ""), sep="\t")' <<<"$json")
}

forget_stack() { # STACK -- after a deploy changed it
  local key
  for key in "${!STACK_INFO[@]}"; do
    [[ "$key" != "$1 "* ]] || unset "STACK_INFO[$key]"
  done
}

stack_status() { # STACK -> status, or nothing if the stack does not exist
  [ -n "${STACK_INFO["$1 loaded"]:-}" ] || load_stack "$1"
  echo "${STACK_INFO["$1 status"]:-}"
}

require_stack() { # STACK "what creates it"
  [ -n "${STACK_INFO["$1 loaded"]:-}" ] || load_stack "$1"
  local status="${STACK_INFO["$1 status"]:-}"
  [ -n "$status" ] || die "stack $1 not found in account $EXPECTED_ACCOUNT: $2"
  case "$status" in
    *_COMPLETE) ;;
    *) die "stack $1 is $status, not ready: $2" ;;
  esac
}

stack_output() { # STACK KEY
  [ -n "${STACK_INFO["$1 loaded"]:-}" ] || load_stack "$1"
  [ -n "${STACK_INFO["$1 output $2"]:-}" ] || die "stack $1 has no output $2"
  echo "${STACK_INFO["$1 output $2"]}"
}

stack_parameter() { # STACK KEY -> value, or nothing
  [ -n "${STACK_INFO["$1 loaded"]:-}" ] || load_stack "$1"
  echo "${STACK_INFO["$1 parameter $2"]:-}"
}

# usage: stack_parameters SECTION TEMPLATE [Key=Value ...] -- sets the array PARAMETERS
# from infra/params/<env>.json, checked against the template (scripts/stack_params.py).
stack_parameters() {
  local lines
  lines="$(python3 "$ROOT/scripts/stack_params.py" "$PARAMS_FILE" "$@")" ||
    die "fix infra/params/$ENV_NAME.json or the template; nothing was deployed"
  mapfile -t PARAMETERS <<<"$lines"
}

# usage: deploy_stack STACK TEMPLATE ROLE_ARN Key=Value...
# Deploys through a change set; CloudFormation acts with ROLE_ARN (the bootstrap's
# execution role; empty: the caller's own permissions). An unchanged stack is success.
# A failure prints the events that explain it.
deploy_stack() {
  local stack="$1" template="$2" role="$3"
  shift 3
  say "deploying stack $stack"
  if ! aws cloudformation deploy \
    --stack-name "$stack" \
    --template-file "$template" \
    ${role:+--role-arn "$role"} \
    --capabilities CAPABILITY_IAM CAPABILITY_NAMED_IAM CAPABILITY_AUTO_EXPAND \
    --no-fail-on-empty-changeset \
    --tags "Project=$PROJECT" "Environment=$ENV_NAME" \
    --parameter-overrides "$@"; then
    local events
    events="$(failed_events "$stack")"
    echo "$events" >&2
    if grep -qi "circuit breaker" <<<"$events"; then
      die "the ECS deployment circuit breaker stopped the rollout of $stack: the new tasks did not become healthy, so the service was rolled back to the previous version; read the task logs (CloudWatch Logs) to see why they failed"
    fi
    die "deploy of stack $stack failed (status $(stack_status "$stack")); the error and the events above say why"
  fi
  forget_stack "$stack"
}

failed_events() { # STACK -> the failed events, newest first
  echo "Failed events of $1 (newest first):"
  aws cloudformation describe-stack-events --stack-name "$1" --max-items 40 \
    --query "StackEvents[?contains(ResourceStatus, 'FAILED')].[LogicalResourceId, ResourceStatus, ResourceStatusReason]" \
    --output text 2>/dev/null || true
}
