#!/usr/bin/env bash
# Set up the virtualenv (.venv) with the project and its dev tools, provide the Pulumi CLI
# (scripts/install-pulumi.sh: the first run on a new machine builds it from Go modules, about
# 5 minutes) and headless Chromium for the report's browser tests (scripts/install-chromium.sh:
# Debian's package, installed once when run as root), then run the whole suite: ruff, ruff format,
# mypy (strict) and pytest, including the end-to-end tests on the real CLI. Exits non-zero on any
# failure. Arguments go to pytest.
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
echo "== Chromium"
# The browser tests are part of the suite: without Chromium the run fails, unless you opt out on
# a machine that cannot have it (TUNED_MODELS_SKIP_BROWSER=1 skips them, and says so).
if [ -n "${TUNED_MODELS_SKIP_BROWSER:-}" ]; then
  echo "TUNED_MODELS_SKIP_BROWSER is set: the report's browser tests will be skipped"
else
  chromium_bin="$(scripts/install-chromium.sh)"
  export TUNED_MODELS_REQUIRE_BROWSER=1
  "$chromium_bin" --version 2>/dev/null
fi
echo "== pytest"
.venv/bin/python -m pytest -p no:cacheprovider "$@"
