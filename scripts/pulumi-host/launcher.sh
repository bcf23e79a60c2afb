#!/bin/sh
# pulumi-language-python for a Pulumi CLI built from Go modules (scripts/install-pulumi.sh installs
# it beside the CLI under that name): runs language_host.py, beside it, with a Python that has the
# Pulumi SDK (the project's virtualenv when the CLI starts us from the project root).
here=$(dirname "$(readlink -f "$0")")
for py in "${PULUMI_PYTHON_CMD:-}" "${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/python}" ./.venv/bin/python python3; do
  if [ -n "$py" ] && "$py" -c "import pulumi, grpc" >/dev/null 2>&1; then
    exec "$py" -u "$here/language_host.py" "$@"
  fi
done
echo "pulumi-language-python: no Python with the Pulumi SDK found (activate the project's virtualenv)" >&2
exit 1
