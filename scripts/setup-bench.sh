#!/usr/bin/env bash
# Prepares the fan-out benchmark (bench/fanout.ts) and the flat-cost one (bench/flat.ts: three
# unprivileged users' libvirt sessions with 1, 50 and 200 VMs): 16 more sshd instances on 127.0.0.1, ports
# 2301-2316 by default, each letting the e2e test user in with the e2e key, in front of the
# libvirt set up by scripts/setup-libvirt.sh (run that first). Run as root. Idempotent: safe to
# run twice and while the daemons run. Writes /var/lib/virtbot-e2e/bench-env.json, which the
# benchmark reads (it skips, saying why, when the file is missing).
#
# Only 127.0.0.1 is ever a target. Nothing here is meant for a production machine.
set -euo pipefail

STATE=/var/lib/virtbot-e2e
BENCH="$STATE/bench"
COUNT="${VIRTBOT_BENCH_HOSTS:-16}"
FIRST_PORT="${VIRTBOT_BENCH_FIRST_PORT:-2301}"
TEST_USER=virtbot-e2e

log() { echo "setup-bench: $*"; }

if [ "$(id -u)" -ne 0 ]; then
  echo "setup-bench: must run as root" >&2
  exit 1
fi
if [ ! -f "$STATE/env.json" ] || [ ! -f "$STATE/ssh_host_ed25519_key" ]; then
  echo "setup-bench: run scripts/setup-libvirt.sh first (no $STATE/env.json)" >&2
  exit 1
fi

mkdir -p "$BENCH" /run/sshd
chmod 0755 "$BENCH"
hostkey=$(cut -d' ' -f1,2 "$STATE/ssh_host_ed25519_key.pub")
: >"$BENCH/known_hosts.new"
ports=()
for i in $(seq 1 "$COUNT"); do
  port=$((FIRST_PORT + i - 1))
  ports+=("$port")
  conf="$BENCH/sshd-$i.conf"
  pid="$BENCH/sshd-$i.pid"
  cat >"$conf.new" <<CONF
Port $port
ListenAddress 127.0.0.1
HostKey $STATE/ssh_host_ed25519_key
PidFile $pid
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin no
AllowUsers $TEST_USER
UsePAM no
MaxSessions 20
MaxStartups 20
CONF
  mv "$conf.new" "$conf"
  printf '[127.0.0.1]:%s %s\n' "$port" "$hostkey" >>"$BENCH/known_hosts.new"
  if [ -f "$pid" ] && kill -0 "$(cat "$pid")" 2>/dev/null; then
    kill -HUP "$(cat "$pid")"
  else
    log "starting sshd $i on 127.0.0.1:$port"
    /usr/sbin/sshd -f "$conf"
  fi
done
mv "$BENCH/known_hosts.new" "$BENCH/known_hosts"
for port in "${ports[@]}"; do
  for _ in $(seq 1 50); do
    (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break
    sleep 0.1
  done
done

# Hosts with 1, 50 and 200 VMs for the flat-cost benchmark (bench/flat.ts): each an unprivileged
# user's own libvirt (qemu:///session, its daemon started on demand), with that many small,
# never-started VMs defined. The benchmark reaches them through `runuser -u USER -- virsh`.
sessions=()
for n in 1 50 200; do
  user="vbbench-n$n"
  getent passwd "$user" >/dev/null || useradd --create-home --shell /usr/sbin/nologin "$user"
  home=$(getent passwd "$user" | cut -d: -f6)
  run="$home/.run"
  install -d -m 0700 -o "$user" -g "$user" "$run"
  as_user() { runuser -u "$user" -- env HOME="$home" XDG_RUNTIME_DIR="$run" "$@"; }
  have=$(as_user virsh -q -c qemu:///session list --all --name | grep -c . || true)
  for i in $(seq $((have + 1)) "$n"); do
    name=$(printf 'vbn-%03d' "$i")
    # (virsh would reopen /dev/stdin, which is root's; cat reads the open descriptor.)
    as_user sh -c 'cat >"$1/domain.xml" && virsh -q -c qemu:///session define "$1/domain.xml" >/dev/null' sh "$run" <<XML
<domain type='qemu'><name>$name</name><memory unit='MiB'>32</memory><vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os></domain>
XML
  done
  log "session of $user: $n VMs"
  sessions+=("{\"user\": \"$user\", \"home\": \"$home\", \"runtimeDir\": \"$run\", \"vms\": $n}")
done
session_list=$(IFS=,; echo "${sessions[*]}")

port_list=$(IFS=,; echo "${ports[*]}")
cat >"$STATE/bench-env.json" <<JSON
{
  "ports": [$port_list],
  "uri": "test:///default",
  "knownHosts": "$BENCH/known_hosts",
  "sessions": [$session_list]
}
JSON
log "ready: $COUNT sshd on 127.0.0.1 ports ${ports[0]}-${ports[-1]}"
log "env file: $STATE/bench-env.json"
