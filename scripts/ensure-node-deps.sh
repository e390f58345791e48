#!/usr/bin/env bash
# Installs the npm packages of every JavaScript package in the repository from its
# committed package-lock.json (npm ci), only when node_modules is missing or older
# than the lock file. Fails with a clear message when Node.js or npm is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "error: Node.js 20+ and npm are required (install them with your package manager, e.g. 'apt-get install nodejs npm')." >&2
  exit 1
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
  echo "error: Node.js 20 or newer is required, found $(node --version)." >&2
  exit 1
fi

for dir in "$@"; do
  [ -f "$dir/package.json" ] || continue
  if [ ! -f "$dir/package-lock.json" ]; then
    echo "error: $dir/package-lock.json is missing; dependencies must be locked." >&2
    exit 1
  fi
  stamp="$dir/node_modules/.package-lock.json"
  if [ ! -f "$stamp" ] || [ "$dir/package-lock.json" -nt "$stamp" ]; then
    echo "==> npm ci in $dir"
    npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
  fi
done
