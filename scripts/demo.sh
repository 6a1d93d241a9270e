#!/usr/bin/env bash
# One command for a new user: installs what the demo needs (virsh, npm packages), builds, and opens
# the virtbot console on the embedded default — one host 'test' on libvirt's test driver.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v virsh >/dev/null 2>&1; then
  echo "virtbot demo: installing libvirt-clients (virsh)..." >&2
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "virtbot demo: virsh is missing; install the libvirt-clients package as root" >&2
    exit 1
  fi
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libvirt-clients >/dev/null
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
  npm ci --no-audit --no-fund --silent
fi
if [ ! -f dist/src/cli.js ] || [ -n "$(find src commands -newer dist/src/cli.js -name '*.ts' -print -quit)" ]; then
  npm run --silent build
fi
exec node bin/virtbot.js console "$@"
