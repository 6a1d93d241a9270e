#!/usr/bin/env bash
# Installs Debian's chromium for the meeting minutes browser test (test/meeting/browser.test.ts),
# which drives it with playwright-core (executablePath /usr/bin/chromium).
# Idempotent: does nothing when /usr/bin/chromium is already there.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  echo "setup-chromium: /usr/bin/chromium already installed ($(/usr/bin/chromium --version 2>/dev/null || echo 'version unknown'))"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

echo "setup-chromium: installing chromium"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq || true
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core

if [ ! -x /usr/bin/chromium ]; then
  echo "setup-chromium: chromium was installed but /usr/bin/chromium is missing" >&2
  exit 1
fi
echo "setup-chromium: installed $(/usr/bin/chromium --version 2>/dev/null || echo chromium)"
