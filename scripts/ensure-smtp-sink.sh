#!/usr/bin/env bash
# Prints the path of a python that has aiosmtpd (the real SMTP server the mail
# tests start on loopback). Installs the pinned packages of
# tests/smtp/requirements.txt into a virtualenv under target/ when missing;
# fails with a clear message when it cannot.
set -eu
cd "$(dirname "$0")/.."
venv=target/smtp-venv
req=tests/smtp/requirements.txt
py="$venv/bin/python"
if [ -x "$py" ] && "$py" -c 'import aiosmtpd' 2>/dev/null && cmp -s "$req" "$venv/requirements.txt"; then
  echo "$PWD/$py"
  exit 0
fi
if ! command -v python3 >/dev/null; then
  echo "error: the mail tests need python3 (3.8+) to run aiosmtpd, a real SMTP server; install python3" >&2
  exit 1
fi
echo "==> installing aiosmtpd (SMTP server for the mail tests) into $venv" >&2
rm -rf "$venv"
if ! python3 -m venv "$venv" >&2; then
  echo "error: python3 -m venv failed; install the venv module (Debian: apt-get install python3-venv)" >&2
  exit 1
fi
if ! "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req" >&2; then
  echo "error: could not install aiosmtpd from PyPI (see above); the mail tests cannot run without it" >&2
  exit 1
fi
cp "$req" "$venv/requirements.txt"
echo "$PWD/$py"
