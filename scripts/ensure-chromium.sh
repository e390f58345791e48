#!/usr/bin/env bash
# Makes sure a Chromium for the browser tests is installed and prints its path.
# Uses $CHROMIUM if set, else /usr/bin/chromium; installs Debian's `chromium`
# package with apt-get when running as root. Never downloads a browser build.
set -euo pipefail
bin="${CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$bin" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing chromium with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq chromium >&2
  else
    echo "error: Chromium is needed for the browser tests and was not found at $bin." >&2
    echo "       Install Debian's 'chromium' package (as root: apt-get install -y chromium)," >&2
    echo "       or point CHROMIUM at a Chromium/Chrome binary." >&2
    exit 1
  fi
fi
if [ ! -x "$bin" ]; then
  echo "error: chromium installation did not produce $bin." >&2
  exit 1
fi
echo "$bin"
