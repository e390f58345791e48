#!/usr/bin/env bash
# The repository stands on its own: code, tests and docs never cite background
# files that live outside it, nor issue numbers of the tracker. What a reader
# needs is written into docs/. Fails listing every offending line.
set -euo pipefail
cd "$(dirname "$0")/.."
pattern='INTERFACES\.md|DOMAIN\.md|ARCHITECTURE\.md|STYLE\.md|[Ii]ssue #?[0-9]+'
if hits=$(git grep -n -E "$pattern" -- ':!Cargo.lock' ':!*package-lock.json' ':!scripts/check-self-contained.sh'); then
  echo "error: these lines cite files outside the repository or issue numbers; say it in the project's own words (docs/):" >&2
  echo "$hits" >&2
  exit 1
fi
