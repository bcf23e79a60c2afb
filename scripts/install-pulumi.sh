#!/usr/bin/env bash
# Provide a working Pulumi CLI for this project and print the directory that holds it.
#
#   scripts/install-pulumi.sh            # prints the bin directory on the last line of stdout
#
# In order: `pulumi` already on PATH (any user with internet has it); else Pulumi's official
# installer (https://get.pulumi.com); else build the pinned version from Pulumi's published Go
# modules. The build keeps its caches and binaries outside the repository
# (TUNED_MODELS_TOOLS, default ~/.cache/tuned-models), so a fresh clone on the same machine reuses
# them; nothing it downloads or builds is ever written into the repository.
#
# The Python language host (pulumi-language-python) is an untagged Go module that the Go module
# proxy does not serve, so the built CLI gets ours, installed beside it from scripts/pulumi-host/:
# a small gRPC host that runs the program with the Python SDK's own runner; see README.
#
# Environment: PULUMI_VERSION (default below), TUNED_MODELS_TOOLS, TUNED_MODELS_NO_INSTALLER=1
# (skip the official installer, e.g. in CI where it cannot be reached), TUNED_MODELS_FORCE_BUILD=1
# (build even when a pulumi is on PATH).
set -euo pipefail

V="${PULUMI_VERSION:-3.274.1}"
TOOLS="${TUNED_MODELS_TOOLS:-$HOME/.cache/tuned-models}"
PREFIX="$TOOLS/pulumi-v$V"
say() { echo "install-pulumi: $*" >&2; }

# 1. A pulumi already on PATH (not one of ours) is the user's choice.
if [ -z "${TUNED_MODELS_FORCE_BUILD:-}" ] && command -v pulumi >/dev/null 2>&1; then
  say "using $(command -v pulumi) ($(PULUMI_SKIP_UPDATE_CHECK=true pulumi version 2>/dev/null || echo '?'))"
  dirname "$(command -v pulumi)"
  exit 0
fi

HOST_DIR="$(cd "$(dirname "$0")" && pwd)/pulumi-host"
built_ok() {
  [ -x "$PREFIX/bin/pulumi" ] && [ -x "$PREFIX/bin/pulumi-resource-pulumi-python" ] \
    && [ -f "$PREFIX/bin/pulumi-language-python-exec" ] \
    && [ "$(PULUMI_SKIP_UPDATE_CHECK=true "$PREFIX/bin/pulumi" version 2>/dev/null)" = "v$V" ]
}
install_host() {  # this repository's language host, refreshed on every run (it is ours, and tiny)
  install -m 0755 "$HOST_DIR/launcher.sh" "$PREFIX/bin/pulumi-language-python"
  install -m 0755 "$HOST_DIR/language_host.py" "$PREFIX/bin/"
}
if built_ok; then
  install_host
  say "pulumi v$V already built in $PREFIX/bin"
  echo "$PREFIX/bin"
  exit 0
fi

# 2. The official installer, when it can be reached (a few seconds' probe, no retries).
if [ -z "${TUNED_MODELS_NO_INSTALLER:-}" ] && [ -z "${TUNED_MODELS_FORCE_BUILD:-}" ] \
   && command -v curl >/dev/null 2>&1 \
   && curl -fsS --max-time 8 -o /dev/null https://get.pulumi.com 2>/dev/null; then
  say "installing with Pulumi's official installer"
  if curl -fsSL --max-time 300 https://get.pulumi.com | sh -s -- --version "$V" >&2; then
    echo "$HOME/.pulumi/bin"
    exit 0
  fi
  say "the official installer failed; building from Go modules instead"
fi

# 3. Build from Pulumi's published Go modules.
command -v go >/dev/null 2>&1 || { say "no pulumi, no installer and no Go toolchain: cannot provide the CLI"; exit 1; }
say "building pulumi v$V from Go modules into $PREFIX (first build: several minutes)"
WORK="$TOOLS/build-pulumi-v$V"
export CGO_ENABLED=0
export GOFLAGS="-modcacherw"
export GOMODCACHE="${GOMODCACHE:-$(go env GOMODCACHE)}"
export GOCACHE="${GOCACHE:-$(go env GOCACHE)}"
rm -rf "$WORK"
mkdir -p "$WORK" "$PREFIX/bin"
cd "$WORK"
go mod init tuned-models.invalid/pulumi-build >/dev/null 2>&1

PKG=github.com/pulumi/pulumi/pkg/v3
SDK=github.com/pulumi/pulumi/sdk/v3
fail() { say "$1"; say "build directory kept for inspection: $WORK"; exit 1; }

pkg_mod=$(go mod download -json "$PKG@v$V" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("GoMod") or ""); e=d.get("Error"); e and print(e, file=sys.stderr)') \
  || fail "cannot download $PKG@v$V from the Go module proxy"
[ -n "$pkg_mod" ] || fail "cannot download $PKG@v$V from the Go module proxy"
# Replace directives apply only in the main module: repeat pkg's module-to-module ones here
# (its local-path ones, such as sdk => ../sdk, are replaced by the required sdk version).
go mod edit -json "$pkg_mod" | python3 -c '
import json, sys
for r in json.load(sys.stdin).get("Replace") or []:
    old, new = r["Old"], r["New"]
    if new.get("Version"):
        print(old["Path"] + ("@" + old["Version"] if old.get("Version") else "") + "=" + new["Path"] + "@" + new["Version"])
' | while read -r rep; do go mod edit -replace "$rep"; done

go get "$SDK@v$V" "$PKG/cmd/pulumi@v$V" >&2 || fail "go get of $PKG@v$V failed (a dependency missing from the proxy?)"
LDF="-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$V"
start=$(date +%s)
go build -trimpath -tags osusergo,grpcnotrace -ldflags "$LDF" -o "$PREFIX/bin/pulumi" "$PKG/cmd/pulumi" >&2 \
  || fail "go build of $PKG/cmd/pulumi failed"
say "built pulumi in $(( $(date +%s) - start )) s"

SDK_DIR=$(go list -m -f '{{.Dir}}' "$SDK")
# The two helper scripts the CLI needs for Python ship in the sdk module (never in this repository).
install -m 0755 "$SDK_DIR/python/dist/pulumi-resource-pulumi-python" "$PREFIX/bin/" \
  || fail "the sdk module no longer ships python/dist/pulumi-resource-pulumi-python"
install -m 0755 "$SDK_DIR/python/cmd/pulumi-language-python-exec" "$PREFIX/bin/" \
  || fail "the sdk module no longer ships python/cmd/pulumi-language-python-exec"
install_host
built_ok || fail "the built CLI does not report v$V: '$("$PREFIX/bin/pulumi" version 2>&1 || true)'"
rm -rf "$WORK"
say "pulumi v$V ready in $PREFIX/bin"
echo "$PREFIX/bin"
