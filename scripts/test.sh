#!/usr/bin/env bash
# Set up the virtualenv (.venv) with the project and its dev tools, provide the Pulumi CLI
# (scripts/install-pulumi.sh: the first run on a new machine builds it from Go modules, about
# 5 minutes), then run the whole suite: ruff, ruff format, mypy (strict) and pytest, including the
# end-to-end tests on the real CLI. Exits non-zero on any failure. Arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy"
.venv/bin/mypy
echo "== Pulumi CLI"
TUNED_MODELS_PULUMI_BIN="$(scripts/install-pulumi.sh)"
export TUNED_MODELS_PULUMI_BIN TUNED_MODELS_REQUIRE_E2E=1
"$TUNED_MODELS_PULUMI_BIN/pulumi" version
echo "== pytest"
.venv/bin/python -m pytest -p no:cacheprovider "$@"
