#!/usr/bin/env bash
# Copy the image dev ran healthy for this source tree (tagged healthy-<tree> by dev's deploy-api)
# from dev's ECR into production's, tagged with this commit (IMAGE_TAG). skopeo copies it byte
# for byte, so production runs the very digest dev ran; nothing is built or trained. Dev's
# repository policy lets production's deploy identity pull, nothing more (infra/ecr.yaml).
#
#   scripts/promote.sh prod              (make promote ENV=prod; the main pipeline runs it)
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

use_environment "${1:-}"
[ "$ENV_NAME" = prod ] || die "only production takes promoted images; dev builds its own (make build-push ENV=dev)"
require_var IMAGE_TAG "set BITBUCKET_COMMIT or IMAGE_TAG, or run inside the git repository"
require_command skopeo "apt-get install skopeo (Debian, Ubuntu; the pipeline step does), or brew install skopeo"
tree="$(source_tree)"
use_credentials
guard_account
require_stack "$INFRA_STACK" "run 'make deploy-infra ENV=prod' first"
repository="$(stack_output "$INFRA_STACK" RepositoryName)"
target="$(stack_output "$INFRA_STACK" RepositoryUri):$IMAGE_TAG"
digest="$(healthy_digest "$tree")"
[ -n "$digest" ] || die "dev has not run source tree $tree healthy, so there is nothing to promote: push it to dev and let the deploy finish"
source_image="$DEV_ACCOUNT.dkr.ecr.$AWS_DEFAULT_REGION.amazonaws.com/$PROJECT-dev/api@$digest"
# One token serves both registries (it is valid for every registry the identity may read);
# skopeo keeps it in its auth file, not on a command line.
password="$(aws ecr get-login-password)"
for registry in "${source_image%%/*}" "${target%%/*}"; do skopeo login -u AWS --password-stdin "$registry" <<<"$password"; done

if copied="$(image_digest "$repository" "$IMAGE_TAG")"; then
  say "$target is in ECR already"
else
  say "copying $source_image to $target"
  skopeo copy --all --preserve-digests "docker://$source_image" "docker://$target"
  copied="$(image_digest "$repository" "$IMAGE_TAG")" || die "skopeo copied nothing to $target"
fi
[ "$copied" = "$digest" ] || die "$target is $copied, not $digest, the image dev ran; nothing deploys it"

skopeo_copy() { skopeo copy "docker://$1" "docker://$2"; }
copy_agent_image skopeo_copy
say "promoted $digest (dev's image of source tree $tree) to $target"
