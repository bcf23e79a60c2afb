#!/usr/bin/env bash
# The main job: `pulumi up` on the `local` stack, against the embedded emulator (no credentials,
# no server to start). Sets up .venv, validates the stack, installs the Pulumi CLI with Pulumi's
# official installer when it is missing, logs in to a local file backend under .tuned-models/,
# and runs `pulumi up --stack local --yes`, then shows `tuned-models status --stack local`.
#
# Environment: PULUMI_CONFIG_PASSPHRASE (default: empty; the local stack holds no secrets).
set -euo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e .
export PATH="$PWD/.venv/bin:$HOME/.pulumi/bin:$PATH"

echo "== tuned-models validate --stack local"
tuned-models validate --stack local

if ! command -v pulumi >/dev/null 2>&1; then
  echo "== installing the Pulumi CLI (https://get.pulumi.com)"
  if ! curl -fsSL https://get.pulumi.com | sh; then
    echo "up-local: the Pulumi CLI is missing and its installer failed (no network to get.pulumi.com?)." >&2
    echo "up-local: without it, this is what \`pulumi up\` would do (tuned-models plan --stack local):" >&2
    tuned-models plan --stack local || true
    exit 1
  fi
fi

mkdir -p .tuned-models/pulumi-state
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-}"
export PULUMI_SKIP_UPDATE_CHECK=1
pulumi login "file://$PWD/.tuned-models/pulumi-state"
pulumi stack select local --create --non-interactive
pulumi up --stack local --yes --non-interactive
echo "== tuned-models status --stack local"
tuned-models status --stack local
