#!/usr/bin/env bash
# Installs everything the tests need on a fresh Debian machine (as root), then runs lint and the
# whole suite: unit tests, transcripts, libvirt test driver, real libvirtd+QEMU over sshd, real
# IRC servers, the real discord.js client against a local fake gateway, Chromium on the minutes.
# Idempotent: a second run skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -eq 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  for setup in scripts/setup-libvirt.sh scripts/setup-irc.sh scripts/setup-chromium.sh scripts/setup-postgres.sh; do
    if [ -f "$setup" ]; then
      echo "== $setup"
      bash "$setup"
    fi
  done
else
  echo "note: not root, so system packages and test services are not set up; suites that need them skip with a reason"
fi

echo "== npm ci"
npm ci --no-audit --no-fund
status=0
echo "== lint"
# A lint error fails the run, but the tests still run so that one report shows everything.
npx biome check . || { status=1; echo "lint: FAILED"; }
echo "== build"
npm run build

echo "== tests"
npx vitest run --reporter=default --reporter=json --outputFile=.vitest-results.json || status=$?
node scripts/test-summary.mjs .vitest-results.json || status=1
exit "$status"
