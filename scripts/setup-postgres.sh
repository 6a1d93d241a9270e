#!/usr/bin/env bash
# Installs PostgreSQL from Debian for the store suites and benchmarks, which start their own
# private server (initdb + pg_ctl on 127.0.0.1 and a free port, as the unprivileged `postgres`
# user). Idempotent: installs only what is missing. Never creates or starts the system cluster.
set -euo pipefail

if ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "setup-postgres: PostgreSQL already installed ($(ls -d /usr/lib/postgresql/*/ | xargs -n1 basename | tr '\n' ' '))"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

echo "setup-postgres: installing postgresql"
export DEBIAN_FRONTEND=noninteractive
# No 'main' cluster at install time, and no daemon started by the package's scripts.
$SUDO mkdir -p /etc/postgresql-common
if ! grep -qs '^create_main_cluster' /etc/postgresql-common/createcluster.conf; then
  echo 'create_main_cluster = false' | $SUDO tee -a /etc/postgresql-common/createcluster.conf >/dev/null
fi
policy_created=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  policy_created=1
fi
trap '[ "$policy_created" -eq 1 ] && $SUDO rm -f /usr/sbin/policy-rc.d' EXIT

$SUDO apt-get update -qq || true
$SUDO apt-get install -y --no-install-recommends postgresql postgresql-client
echo "setup-postgres: done"
