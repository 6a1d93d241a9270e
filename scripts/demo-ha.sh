#!/usr/bin/env bash
# Two virtbot instances sharing one PostgreSQL, on one private IRC server, against libvirt's
# test driver: installs what is missing (virsh, ngircd, PostgreSQL; needs root or sudo for that),
# builds, starts everything on 127.0.0.1, says how to connect, and stops it all on Ctrl-C.
# Idempotent: each run starts from a fresh temporary directory and removes it at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else SUDO="none"; fi
need_root() {
  if [ "$SUDO" = "none" ]; then
    echo "virtbot demo-ha: $1 is missing; run this once as root (or install $2)" >&2
    exit 1
  fi
}
if ! command -v virsh >/dev/null 2>&1; then
  need_root virsh libvirt-clients
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libvirt-clients >/dev/null
fi
if ! command -v ngircd >/dev/null 2>&1; then
  need_root ngircd ngircd
  $SUDO bash scripts/setup-irc.sh
fi
if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
  need_root PostgreSQL postgresql
  $SUDO bash scripts/setup-postgres.sh
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
  npm ci --no-audit --no-fund --silent
fi
if [ ! -f dist/test/harness/postgres.js ] || [ ! -f dist/src/cli.js ] ||
  [ -n "$(find src commands test/harness bench -newer dist/src/cli.js -name '*.ts' -print -quit)" ]; then
  npm run --silent build
fi
exec node scripts/demo-ha.mjs
