#!/usr/bin/env bash
# Makes sure PostgreSQL's server binaries (initdb, pg_ctl, postgres, psql,
# pg_dump) are installed for the PostgreSQL tests and prints their directory.
# Uses $WIJKLOG_PG_BIN if set, else Debian's /usr/lib/postgresql/15/bin;
# installs Debian's `postgresql` package with apt-get when running as root.
# The tests start their own throwaway cluster: nothing here starts a server.
set -euo pipefail
bin="${WIJKLOG_PG_BIN:-/usr/lib/postgresql/15/bin}"
have() { [ -x "$bin/initdb" ] && [ -x "$bin/pg_ctl" ] && [ -x "$bin/psql" ] && [ -x "$bin/pg_dump" ]; }
if ! have; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing postgresql with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
    # The package starts a cluster of its own on port 5432; the tests do not
    # use it (they start throwaway clusters on free ports).
  else
    echo "error: PostgreSQL is needed for the PostgreSQL tests and was not found in $bin." >&2
    echo "       Install Debian's 'postgresql' package (as root: apt-get install -y postgresql)," >&2
    echo "       or point WIJKLOG_PG_BIN at a directory with initdb, pg_ctl, psql and pg_dump." >&2
    exit 1
  fi
fi
if ! have; then
  echo "error: installing postgresql did not produce initdb, pg_ctl, psql and pg_dump in $bin." >&2
  exit 1
fi
if [ ! -f "$("$bin/pg_config" --sharedir)/extension/unaccent.control" ]; then
  echo "error: the unaccent extension (full-text search) is missing from $bin's PostgreSQL; install postgresql-contrib." >&2
  exit 1
fi
echo "$bin"
