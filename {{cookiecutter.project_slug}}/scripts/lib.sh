# Shared by the deploy scripts. Each checks everything it needs and stops with a message naming
# what is missing before its first call that changes anything in AWS.
# Stack names (one place): <project>-bootstrap, <project>-<env>-infra, <project>-<env>-api,
# and the environment's <environment>-<env> (deployed here only with infrastructure "own").
# shellcheck shell=bash
# shellcheck disable=SC2034  # the variables set here are used by the scripts that source it

set -euo pipefail
if [ "${BASH_VERSINFO[0]}" -lt 4 ]; then
  echo "error: bash 4 or newer is needed (bash $BASH_VERSION runs this; on macOS: brew install bash)" >&2
  exit 1
fi

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

die() { echo "error: $*" >&2; exit 1; }
say() { echo "==> $*"; }

# The bake-time facts (project name, region, accounts, deploy identity, workspace, sidecar
# image source) are in project.json at the repository's root, read by every script.
facts="$(python3 -c 'import json, sys
c = json.load(open(sys.argv[1]))
print(c["project"], c["region"], c["deploy_identity"], c["accounts"]["dev"], c["accounts"]["prod"],
      c["bitbucket_workspace"], c["sidecar_image_source"], c["infrastructure"], c["environment"], sep="\n")' \
  "$ROOT/project.json" 2>&1)" || die "cannot read project.json: ${facts##*$'\n'}"
{ read -r PROJECT; read -r PROJECT_REGION; read -r DEPLOY_IDENTITY; read -r DEV_ACCOUNT; read -r PROD_ACCOUNT
  read -r BITBUCKET_WORKSPACE; read -r SIDECAR_IMAGE_SOURCE; read -r INFRASTRUCTURE; read -r ENVIRONMENT_PREFIX; } <<<"$facts"
BOOTSTRAP_STACK="$PROJECT-bootstrap"

# usage: use_environment ENV -- sets ENV_NAME, EXPECTED_ACCOUNT, DEPLOYMENT (the Bitbucket
# deployment environment), ENVIRONMENT_STACK, INFRA_STACK, API_STACK, PARAMS_FILE, IMAGE_TAG
# (BITBUCKET_COMMIT or git HEAD, unless set)
use_environment() {
  ENV_NAME="${1:-}"
  case "$ENV_NAME" in
    dev) EXPECTED_ACCOUNT="$DEV_ACCOUNT" DEPLOYMENT=Test ;;
    prod) EXPECTED_ACCOUNT="$PROD_ACCOUNT" DEPLOYMENT=Production ;;
    "") die "no environment given: run $(basename "$0") dev|prod (or make <target> ENV=dev)" ;;
    *) die "unknown environment '$ENV_NAME': use dev or prod" ;;
  esac
  ENVIRONMENT_STACK="$ENVIRONMENT_PREFIX-$ENV_NAME"
  INFRA_STACK="$PROJECT-$ENV_NAME-infra"
  API_STACK="$PROJECT-$ENV_NAME-api"
  PARAMS_FILE="$ROOT/infra/params/$ENV_NAME.json"
  [ -f "$PARAMS_FILE" ] || die "parameters file infra/params/$ENV_NAME.json is missing"
  IMAGE_TAG="${IMAGE_TAG:-${BITBUCKET_COMMIT:-$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || true)}}"
}

require_var() { [ -n "${!1:-}" ] || die "variable $1 is not set: $2"; } # NAME "where it comes from"
require_command() { command -v "$1" >/dev/null 2>&1 || die "command '$1' not found: $2"; } # NAME "how to get it"

# Credentials: in a pipeline step, from OIDC (the role in AWS_ROLE_ARN) or from the
# secured variables; on a laptop, whatever the AWS CLI finds (profile, SSO, variables).
use_credentials() {
  require_command aws "run 'make install' (the AWS CLI is locked in uv.lock)"
  export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-${AWS_REGION:-}}"
  require_var AWS_DEFAULT_REGION "set it to $PROJECT_REGION (a deployment variable in Bitbucket, or export it)"
  if [ -n "${BITBUCKET_STEP_OIDC_TOKEN:-}" ]; then
    require_var AWS_ROLE_ARN "set it as a deployment variable: the DeployRoleArn output of stack $BOOTSTRAP_STACK"
    AWS_WEB_IDENTITY_TOKEN_FILE="$(mktemp)"
    trap 'rm -f "$AWS_WEB_IDENTITY_TOKEN_FILE"' EXIT
    printf '%s' "$BITBUCKET_STEP_OIDC_TOKEN" >"$AWS_WEB_IDENTITY_TOKEN_FILE"
    export AWS_WEB_IDENTITY_TOKEN_FILE
    export AWS_ROLE_SESSION_NAME="bitbucket-${BITBUCKET_BUILD_NUMBER:-local}"
  elif [ -n "${BITBUCKET_BUILD_NUMBER:-}" ] && [ "$DEPLOY_IDENTITY" = oidc ]; then
    die "no OIDC token in this pipeline step: give the step 'oidc: true' in bitbucket-pipelines.yml"
  elif [ -n "${BITBUCKET_BUILD_NUMBER:-}" ]; then
    require_var AWS_ACCESS_KEY_ID "store the deploy user's access key id as a secured deployment variable"
    require_var AWS_SECRET_ACCESS_KEY "store the deploy user's secret access key as a secured deployment variable"
  fi
}

# Refuse to deploy an environment into any account or region but its own.
guard_account() {
  local identity
  identity="$(aws sts get-caller-identity --query Account --output text 2>&1)" ||
    die "no usable AWS credentials for $ENV_NAME (aws sts get-caller-identity said: $identity)"
  [ "$identity" = "$EXPECTED_ACCOUNT" ] ||
    die "refusing to deploy $ENV_NAME into account $identity: $ENV_NAME belongs to account $EXPECTED_ACCOUNT (project.json)"
  [ "$AWS_DEFAULT_REGION" = "$PROJECT_REGION" ] ||
    die "refusing to deploy into region $AWS_DEFAULT_REGION: this project deploys to $PROJECT_REGION (AWS_DEFAULT_REGION)"
  say "$ENV_NAME: account $identity, region $AWS_DEFAULT_REGION"
}

# What describe-stacks says about a stack, read once per stack and kept in STACK_INFO.
declare -A STACK_INFO=()

load_stack() { # STACK
  local json key value
  STACK_INFO["$1 loaded"]=1
  if ! json="$(aws cloudformation describe-stacks --stack-name "$1" --query 'Stacks[0]' --output json 2>&1)"; then
    # Only "does not exist" means no stack; anything else (no permission, throttling) stops here.
    [[ "$json" == *"does not exist"* ]] || die "could not read stack $1: $json"
    return 0
  fi
  while IFS=$'\t' read -r key value; do
    STACK_INFO["$1 $key"]="$value"
  done < <(python3 -c 'import json, sys
stack = json.load(sys.stdin)
print("status", stack["StackStatus"], sep="\t")
print("termination_protection", stack.get("EnableTerminationProtection", False), sep="\t")
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

stack_info() { # STACK KEY -> what load_stack read ("status", "output <Key>", "parameter <Key>"), or nothing
  [ -n "${STACK_INFO["$1 loaded"]:-}" ] || load_stack "$1"
  echo "${STACK_INFO["$1 $2"]:-}"
}
stack_status() { stack_info "$1" status; } # STACK -> status, or nothing if the stack does not exist
stack_parameter() { stack_info "$1" "parameter $2"; } # STACK KEY -> value, or nothing
stack_output() { # STACK KEY
  local value
  value="$(stack_info "$1" "output $2")"
  [ -n "$value" ] || die "stack $1 has no output $2"
  echo "$value"
}

require_stack() { # STACK "what creates it"
  [ -n "${STACK_INFO["$1 loaded"]:-}" ] || load_stack "$1"
  local status="${STACK_INFO["$1 status"]:-}"
  [ -n "$status" ] || die "stack $1 not found in account $EXPECTED_ACCOUNT: $2"
  case "$status" in
    CREATE_COMPLETE | UPDATE_COMPLETE | UPDATE_ROLLBACK_COMPLETE | IMPORT_COMPLETE | IMPORT_ROLLBACK_COMPLETE) ;;
    *) die "stack $1 is $status, not ready: $2" ;;
  esac
}

# usage: stack_parameters SECTION [Key=Value ...] -- sets the array PARAMETERS from
# infra/params/<env>.json, checked against the section's template (ecs-model-tools stack-params).
stack_parameters() {
  local lines
  require_command ecs-model-tools "run 'make install' (the template's tool, pinned in the Makefile)"
  lines="$(cd "$ROOT" && ecs-model-tools stack-params "$ENV_NAME" "$@")" ||
    die "fix infra/params/$ENV_NAME.json or the template; nothing was deployed"
  mapfile -t PARAMETERS <<<"$lines"
}

# usage: deploy_stack STACK TEMPLATE ROLE_ARN Key=Value... -- through a change set, which
# CloudFormation executes as ROLE_ARN (empty: as the caller); unchanged is success. A failure
# prints the events that explain it. Production's stacks get termination protection.
deploy_stack() {
  local stack="$1" template="$2" role="$3"
  shift 3
  prepare_stack "$stack" "$role"
  say "deploying stack $stack"
  if ! aws cloudformation deploy \
    --stack-name "$stack" \
    --template-file "$template" \
    ${role:+--role-arn "$role"} \
    --capabilities CAPABILITY_IAM CAPABILITY_NAMED_IAM CAPABILITY_AUTO_EXPAND \
    --no-fail-on-empty-changeset \
    --tags "Project=$([ "$stack" = "$ENVIRONMENT_STACK" ] && echo "$ENVIRONMENT_PREFIX" || echo "$PROJECT")" "Environment=$ENV_NAME" \
    --parameter-overrides "$@"; then
    forget_stack "$stack"
    explain_failure "$stack"
  fi
  forget_stack "$stack"
  if [ "$ENV_NAME" = prod ] && [ "$stack" != "$BOOTSTRAP_STACK" ]; then
    protect_stack "$stack"
  fi
}

# Make sure `aws cloudformation deploy` can act on STACK, or stop with the exact command
# that gets it there. REVIEW_IN_PROGRESS (a change set that was never executed) needs
# nothing: deploy creates the stack from a new change set.
prepare_stack() { # STACK ROLE_ARN
  local stack="$1" role="$2" status
  status="$(stack_status "$stack")"
  case "$status" in
    ROLLBACK_COMPLETE) replace_rolled_back_stack "$stack" "$role" ;;
    "" | REVIEW_IN_PROGRESS | *_COMPLETE) ;;
    *_IN_PROGRESS)
      die "stack $stack is $status: another deploy or a rollback is still running. Wait for it, then run this step again:
  $(wait_command "$stack" "$status")" ;;
    *)
      failed_events "$stack" >&2
      die "stack $stack is $status and cannot be deployed until the resources named above are fixed; then run:
  $(repair_command "$stack" "$status" "$role")
and run this step again" ;;
  esac
}

# A first create that rolled back (ROLLBACK_COMPLETE) left no resources (the rollback
# deleted them), and CloudFormation refuses every operation on such a stack but a delete
# (AWS CloudFormation User Guide, stack status codes). Delete it and let the deploy create
# it anew. The bootstrap stack belongs to an admin: its command is printed instead.
replace_rolled_back_stack() { # STACK ROLE_ARN
  local stack="$1" role="$2"
  failed_events "$stack" >&2
  if [ "$stack" = "$BOOTSTRAP_STACK" ]; then
    die "stack $stack is ROLLBACK_COMPLETE: its first create failed (the events above say why) and it can only be deleted. Fix the cause, then, as the admin:
  aws cloudformation delete-stack --stack-name $stack && aws cloudformation wait stack-delete-complete --stack-name $stack
and run this again"
  fi
  say "stack $stack is ROLLBACK_COMPLETE: its first create failed (events above) and left no resources; deleting it to create it again"
  aws cloudformation delete-stack --stack-name "$stack" ${role:+--role-arn "$role"}
  if ! aws cloudformation wait stack-delete-complete --stack-name "$stack"; then
    failed_events "$stack" >&2
    die "could not delete the rolled-back stack $stack; the events above say why"
  fi
  forget_stack "$stack"
}

wait_command() { # STACK STATUS -> the command that returns when STATUS is over
  local verb="${2%%_*}"
  case "$2" in
    CREATE_IN_PROGRESS | DELETE_IN_PROGRESS | IMPORT_IN_PROGRESS) echo "aws cloudformation wait stack-${verb,,}-complete --stack-name $1" ;;
    UPDATE_IN_PROGRESS | UPDATE_COMPLETE_CLEANUP_IN_PROGRESS) echo "aws cloudformation wait stack-update-complete --stack-name $1" ;;
    UPDATE_ROLLBACK_IN_PROGRESS | UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS) echo "aws cloudformation wait stack-rollback-complete --stack-name $1" ;;
    # no waiter ends on this status's outcome: read it until it ends in _COMPLETE or _FAILED
    *) echo "aws cloudformation describe-stacks --stack-name $1 --query 'Stacks[0].StackStatus' --output text" ;;
  esac
}

repair_command() { # STACK STATUS ROLE_ARN -> the command that makes the stack deployable
  local role_arg="${3:+ --role-arn $3}"
  case "$2" in
    UPDATE_ROLLBACK_FAILED) echo "aws cloudformation continue-update-rollback --stack-name $1$role_arg" ;;
    UPDATE_FAILED) echo "aws cloudformation rollback-stack --stack-name $1$role_arg" ;;
    DELETE_FAILED) echo "aws cloudformation delete-stack --stack-name $1$role_arg  # add --retain-resources <LogicalId> for each resource you removed by hand" ;;
    *) echo "aws cloudformation delete-stack --stack-name $1$role_arg" ;;
  esac
}

explain_failure() { # STACK -- after a failed deploy: print why, and stop
  local stack="$1" events status
  events="$(failed_events "$stack")"
  echo "$events" >&2
  if grep -qi "circuit breaker" <<<"$events"; then
    die "the ECS deployment circuit breaker stopped the rollout of $stack: the new tasks did not become healthy, so the service was rolled back to the previous version; read the task logs (CloudWatch Logs) to see why they failed"
  fi
  if grep -qiE "^ *Service .*(alarm|hook)" <<<"$events"; then # the ECS service's own failure, not an alarm resource
    die "the deploy of $stack was rolled back: one of this model's alarms fired or the release check failed (the events above say which); the previous version serves all traffic. See docs/operations.md, 'When a release rolls back', and the release check's log group /aws/lambda/$PROJECT-$ENV_NAME-release-check"
  fi
  if grep -q "cannot be updated as it is in use by" <<<"$events"; then
    die "deploy of stack $stack failed: it would change an export that the API stack imports, which AWS refuses, so nothing changed. Follow docs/operations.md, 'Changing a value a stack imports': export the new value under a new name, move the API stack to it, then remove the old export"
  fi
  status="$(stack_status "$stack")"
  if [ "$status" = ROLLBACK_COMPLETE ]; then
    die "deploy of stack $stack failed: its first create rolled back (the events above say why). Fix the cause and run this step again: it deletes the rolled-back stack and creates it anew"
  fi
  die "deploy of stack $stack failed (status ${status:-unknown}); the error and the events above say why"
}

# The failed events of STACK (a name or an id), newest first, then those of every nested
# stack that failed in them: its own events name the resource that failed, where the
# parent says only "Embedded stack ... was not successfully created".
failed_events() { # STACK [INDENT]
  local stack="$1" indent="${2:-}" events logical type physical status reason
  events="$(aws cloudformation describe-stack-events --stack-name "$stack" --max-items 100 --output text \
    --query "StackEvents[?contains(ResourceStatus, 'FAILED')].[LogicalResourceId, ResourceType, PhysicalResourceId || '-', ResourceStatus, ResourceStatusReason || '-']" \
    2>/dev/null)" || return 0
  echo "${indent}Failed events of ${stack##*:stack/} (newest first):"
  [ -n "$events" ] || return 0
  while IFS=$'\t' read -r logical type physical status reason; do
    echo "${indent}  $logical  $status  $reason"
  done <<<"$events"
  [ "$indent" != "        " ] || return 0 # two levels of nesting are all this project has
  while IFS=$'\t' read -r logical type physical status reason; do
    if [ "$type" = AWS::CloudFormation::Stack ] && [[ "$physical" == arn:* ]] &&
      [ "$physical" != "$stack" ] && [ "$logical" != "$stack" ]; then
      failed_events "$physical" "$indent    "
    fi
  done < <(sort -u -t$'\t' -k3,3 <<<"$events")
}

# Termination protection after a first successful deploy: a delete-stack fails until someone
# turns it off on purpose (nested stacks inherit it). It replaces the load balancer's deletion
# protection, which turned a failed first create into ROLLBACK_FAILED.
protect_stack() { # STACK
  [ -n "${STACK_INFO["$1 loaded"]:-}" ] || load_stack "$1"
  [ "${STACK_INFO["$1 termination_protection"]:-}" != True ] || return 0
  say "turning on termination protection for $1"
  aws cloudformation update-termination-protection --enable-termination-protection --stack-name "$1" >/dev/null
  forget_stack "$1"
}

# This model's listener rule priority (derived from the project name) must be free on the
# environment's listener, and on a first deploy no rule may route its path or host yet.
# CloudFormation would refuse a taken priority only after creating the rest of the stack.
check_listener_rule() { # PRIORITY
  local listener rules new=""
  listener="$(stack_output "$ENVIRONMENT_STACK" ListenerArn)"
  rules="$(aws elbv2 describe-rules --listener-arn "$listener" --output json 2>&1)" ||
    die "could not read the rules of the environment's listener $listener: $rules"
  [ -n "$(stack_status "$INFRA_STACK")" ] || new="--new"
  (cd "$ROOT" && ecs-model-tools listener-rule check $new) <<<"$rules" ||
    die "the listener rule of $PROJECT cannot be deployed into $ENVIRONMENT_STACK (above); nothing was deployed"
  say "listener rule priority $1 is free for $PROJECT on $ENVIRONMENT_STACK"
}

# The digest of REPOSITORY:TAG; status 1 if there is no such image. Any error but
# ImageNotFoundException (no permission, throttling) stops the step: nothing is pushed on a guess.
image_digest() { # REPOSITORY TAG
  local output
  output="$(aws ecr describe-images --repository-name "$1" --image-ids "imageTag=$2" \
    --query 'imageDetails[0].imageDigest' --output text 2>&1)" && echo "$output" && return 0
  case "$output" in
    *ImageNotFoundException*) return 1 ;;
    *) die "could not tell whether $1:$2 is in ECR, so nothing was pushed; aws ecr describe-images said: $output" ;;
  esac
}

image_in_ecr() { image_digest "$@" >/dev/null; } # REPOSITORY TAG

# Dev tags the image it ran healthy "healthy-<source tree>" (dev merged into main has dev's
# tree), and production runs only that image. REHEARSAL_TREE stands in outside a git checkout.
source_tree() {
  git -C "$ROOT" rev-parse 'HEAD^{tree}' 2>/dev/null && return 0
  [ -n "${REHEARSAL_TREE:-}" ] || die "$ROOT is not a git checkout: the source tree names the image dev ran"
  echo "$REHEARSAL_TREE"
}

healthy_digest() { # TREE -> the digest of the image dev ran healthy for TREE, or nothing
  local output
  output="$(aws ecr batch-get-image --registry-id "$DEV_ACCOUNT" --repository-name "$PROJECT-dev/api" \
    --image-ids "imageTag=healthy-$1" --query 'images[0].imageId.imageDigest' --output text 2>&1)" ||
    die "could not read dev's images (repository $PROJECT-dev/api of account $DEV_ACCOUNT): $output"
  [ "$output" = None ] || echo "$output"
}

# With sidecar_image_source "ecr_copy": the pinned CloudWatch agent (infra/params, api.AgentImageTag)
# is copied once from public.ecr.aws into the environment's ECR, for tasks without NAT.
copy_agent_image() { # COPY_FUNCTION -- called as COPY_FUNCTION SOURCE TARGET
  local tag repository
  [ "$SIDECAR_IMAGE_SOURCE" = ecr_copy ] || return 0
  tag="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["api"].get("AgentImageTag", ""))' "$PARAMS_FILE")"
  [ -n "$tag" ] || die "infra/params/$ENV_NAME.json has no api.AgentImageTag (the CloudWatch agent tag to copy)"
  repository="$(stack_output "$INFRA_STACK" AgentRepositoryName)"
  if image_in_ecr "$repository" "$tag"; then
    say "$repository:$tag is already in ECR"
  else
    say "copying the CloudWatch agent $tag into $repository"
    "$1" "public.ecr.aws/cloudwatch-agent/cloudwatch-agent:$tag" "$(stack_output "$INFRA_STACK" AgentRepositoryUri):$tag"
  fi
}

# After a deploy: the image the service runs carries the tag "running" and the one it ran
# before "previous". The repositories let only these two tags move (infra/ecr.yaml), and
# their lifecycle policy never expires an image that carries either.
mark_running() { # REPOSITORY TAG
  local repository="$1" images digest tags running="" new="" replaced=""
  images="$(aws ecr describe-images --repository-name "$1" --filter tagStatus=TAGGED --output text \
    --query "imageDetails[?contains(imageTags, 'running') || contains(imageTags, '$2')].[imageDigest, join(',', imageTags)]")" ||
    die "could not read the images of $1 from ECR"
  while read -r digest tags; do
    [[ ",$tags," != *,running,* ]] || running="$digest"
    [[ ",$tags," != *",$2,"* ]] || new="$digest"
  done <<<"$images"
  [ -n "$new" ] || die "image $repository:$2 is not in ECR, so it cannot be marked as running"
  [ "$running" != "$new" ] || return 0
  [ -z "$running" ] || { put_tag "$repository" running previous && replaced="; the image it replaced, previous"; }
  put_tag "$repository" "$2" running
  say "$repository: $2 is tagged running$replaced"
}

image_commit() { # REPOSITORY TAG -> the commit tag of the image TAG names, or nothing if no image has TAG
  local tags
  if ! tags="$(aws ecr describe-images --repository-name "$1" --image-ids "imageTag=$2" \
    --query 'imageDetails[0].imageTags' --output text 2>&1)"; then
    [[ "$tags" == *ImageNotFoundException* ]] || die "could not read $1:$2 from ECR: $tags"
    return 0
  fi
  tr '\t' '\n' <<<"$tags" | grep -vxE 'running|previous|healthy-.*|None' | head -n 1
}

put_tag() { # REPOSITORY FROM_TAG TO_TAG -- TO_TAG then names the image FROM_TAG names
  local image manifest media output
  image="$(aws ecr batch-get-image --repository-name "$1" --image-ids "imageTag=$2" --output json \
    --query 'images[0].[imageManifestMediaType, imageManifest]')" || die "could not read $1:$2 from ECR"
  media="$(python3 -c 'import json, sys; print(json.load(sys.stdin)[0] or "")' <<<"$image")" || die "$1:$2 is not in ECR"
  manifest="$(python3 -c 'import json, sys; print(json.load(sys.stdin)[1])' <<<"$image")" || die "$1:$2 is not in ECR"
  output="$(aws ecr put-image --repository-name "$1" --image-tag "$3" --image-manifest "$manifest" \
    ${media:+--image-manifest-media-type "$media"} 2>&1)" && return 0
  [[ "$output" == *ImageAlreadyExistsException* ]] ||
    die "could not tag $1:$2 as $3 (the lifecycle policy protects only tagged images): $output"
}
