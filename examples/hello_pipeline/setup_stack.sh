#!/usr/bin/env bash
# Register what deploying to Hugging Face Spaces needs on the active ZenML server: the
# `hf_token` secret, the `hf` deployer and a stack using it. Safe to run again: it updates
# what exists.
#
#   HF_TOKEN=hf_... examples/hello_pipeline/setup_stack.sh [options]
#
#   --organization ORG          namespace of the Spaces (default: the token's own user)
#   --endpoint URL              the Hub (default https://huggingface.co; or the local Hub's URL)
#   --container-registry NAME   a registered container registry for the pipeline image; it must
#                               be publicly pullable, as Spaces pull their image anonymously
#   --stack NAME                the stack to register and activate (default hf-stack)
#
# The token reaches ZenML through a private temporary file, never a command line.
set -euo pipefail

organization="" endpoint="" registry="" stack="hf-stack"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --organization) organization="$2"; shift 2 ;;
    --endpoint) endpoint="$2"; shift 2 ;;
    --container-registry) registry="$2"; shift 2 ;;
    --stack) stack="$2"; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [[ -z "${HF_TOKEN:-}" ]]; then
  echo "Set HF_TOKEN to a Hugging Face token with write access to the organization." >&2
  exit 2
fi
zenml=${ZENML:-zenml}

values=$(mktemp)
trap 'rm -f "$values"' EXIT
chmod 600 "$values"
printf 'token: "%s"\n' "$HF_TOKEN" >"$values"
if "$zenml" secret get hf_token >/dev/null 2>&1; then
  "$zenml" secret update hf_token --values="@$values"
else
  "$zenml" secret create hf_token --values="@$values"
fi

options=(--secret_name=hf_token)
[[ -n "$organization" ]] && options+=("--organization=$organization")
[[ -n "$endpoint" ]] && options+=("--endpoint=$endpoint")
if "$zenml" deployer describe hf >/dev/null 2>&1; then
  "$zenml" deployer update hf "${options[@]}"
else
  "$zenml" deployer register hf --flavor=huggingface "${options[@]}"
fi

components=(-o default -a default -D hf)
[[ -n "$registry" ]] && components+=(-c "$registry")
if "$zenml" stack describe "$stack" >/dev/null 2>&1; then
  "$zenml" stack update "$stack" "${components[@]}"
  "$zenml" stack set "$stack"
else
  "$zenml" stack register "$stack" "${components[@]}" --set
fi
echo "Stack '$stack' deploys to Hugging Face Spaces: zenml pipeline deploy <module.pipeline>"
