#!/usr/bin/env bash
# Installs the real IRC servers the transport tests start on 127.0.0.1 (ngircd, InspIRCd, Atheme).
# Idempotent: installs only what is missing. Never starts the system daemons.
set -euo pipefail

missing=()
command -v ngircd >/dev/null 2>&1 || missing+=(ngircd)
command -v inspircd >/dev/null 2>&1 || missing+=(inspircd)
command -v atheme-services >/dev/null 2>&1 || missing+=(atheme-services)

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-irc: ngircd, inspircd and atheme-services already installed"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

echo "setup-irc: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Keep the packages' postinst scripts from starting the system daemons.
policy_created=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  policy_created=1
fi
trap '[ "$policy_created" -eq 1 ] && $SUDO rm -f /usr/sbin/policy-rc.d' EXIT

$SUDO apt-get update -qq || true
$SUDO apt-get install -y --no-install-recommends "${missing[@]}"
echo "setup-irc: done"
