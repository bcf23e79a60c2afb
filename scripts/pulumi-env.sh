# Source this file (`. scripts/pulumi-env.sh`) to run `pulumi` commands on this project offline:
# the Pulumi CLI from scripts/install-pulumi.sh first on PATH, the project's .venv next, state in a
# local file backend under .tuned-models/, no update check, no plugin downloads, up to 64 steps at
# once (PULUMI_PARALLEL). The local stack holds no secrets, so the passphrase defaults to empty;
# set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE) before sourcing for stacks that do.
_tm_root="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)"
_tm_bin="$("$_tm_root/scripts/install-pulumi.sh")" || return 1 2>/dev/null || exit 1
export PATH="$_tm_bin:$_tm_root/.venv/bin:$PATH"
export PULUMI_HOME="${PULUMI_HOME:-$_tm_root/.tuned-models/pulumi-home}"
export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$_tm_root/.tuned-models/pulumi-state}"
if [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-}"
fi
export PULUMI_SKIP_UPDATE_CHECK=true
# The engine runs at most 4 x CPU cores steps at once by default; a tuned model's step is mostly
# waiting for the service, so let every model of a stack train at the same time.
export PULUMI_PARALLEL="${PULUMI_PARALLEL:-64}"
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export PIP_DISABLE_PIP_VERSION_CHECK=1
mkdir -p "${PULUMI_BACKEND_URL#file://}"
unset _tm_root _tm_bin
