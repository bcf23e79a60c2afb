#!/usr/bin/env bash
# Provide headless Chromium for the report's browser tests (tests/report, tests/e2e) and print its
# path on stdout.
#
# In order: `chromium` (or `chromium-browser`) already on PATH: nothing else happens, at once.
# Else, as root with apt-get (CI, a fresh Debian machine): install Debian's `chromium` package
# (about 30 s, once). Else: exit 1 saying what to run.
set -euo pipefail
say() { echo "install-chromium: $*" >&2; }

for name in chromium chromium-browser; do
  if command -v "$name" >/dev/null 2>&1; then
    command -v "$name"
    exit 0
  fi
done

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  say "installing Debian's chromium package"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq chromium >/dev/null
  command -v chromium
  exit 0
fi

say "chromium is not installed and cannot be installed by this user: run 'sudo apt-get install -y chromium'"
exit 1
