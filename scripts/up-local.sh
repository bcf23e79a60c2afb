#!/usr/bin/env bash
# The main job: `pulumi up` of the `local` stack on the embedded emulator (no credentials, no server
# to start), then `tuned-models status --stack local` and the HTML page of
# `tuned-models report --stack local` (its path is printed last). `./scripts/up-local.sh
# vertex-local` does the same for the vertex backend's local stack (Vertex AI and Cloud Storage on
# the embedded emulator).
#
# Sets up .venv with the project, validates the stack offline, provides the Pulumi CLI
# (scripts/install-pulumi.sh: the one on PATH, else Pulumi's installer, else a build from Pulumi's
# Go modules cached outside the repository), and runs it offline against a local file backend
# under .tuned-models/ (scripts/pulumi-env.sh). Exits non-zero if any step fails.
set -euo pipefail
cd "$(dirname "$0")/.."
stack="${1:-local}"
python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[report]'

echo "== tuned-models validate --stack $stack"
.venv/bin/tuned-models validate --stack "$stack"

echo "== Pulumi CLI"
. scripts/pulumi-env.sh
pulumi version

echo "== pulumi up --stack $stack"
pulumi stack select "$stack" --create --non-interactive >/dev/null
pulumi up --stack "$stack" --yes --non-interactive

echo "== tuned-models status --stack $stack"
tuned-models status --stack "$stack"

echo "== tuned-models report --stack $stack"
tuned-models report --stack "$stack"
