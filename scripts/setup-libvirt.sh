#!/usr/bin/env bash
# Sets up a real libvirtd + QEMU (TCG) reached over a real sshd on 127.0.0.1, for the
# end-to-end suite (test/e2e). Run as root on Debian 12 (bookworm). Idempotent: safe to run
# twice and when the daemons already run. Writes /var/lib/virtbot-e2e/env.json, which the
# e2e tests read (they skip, saying why, when it is missing).
#
# Only 127.0.0.1 is ever a target. Nothing here is meant for a production machine.
set -euo pipefail

STATE=/var/lib/virtbot-e2e
SSH_PORT="${VIRTBOT_E2E_SSH_PORT:-2222}"
TEST_USER=virtbot-e2e
POOL=virtbot-e2e
POOL_DIR="$STATE/pool"
NETWORK=virtbot-e2e
BRIDGE=vbe2e0
NETWORK2=virtbot-e2e2
BRIDGE2=vbe2e1
# Defined, never started: "is this network active?" must say no.
NETWORK_OFF=virtbot-e2e-off
BRIDGE_OFF=vbe2e2
ISO="$STATE/iso/e2e.iso"
# Accounts the suite grants access to a VM (they must exist on the host).
GRANT_USERS=(vbe2e-alice vbe2e-bob)
GRANT_GROUP=vbe2e-ops

log() { echo "setup-libvirt: $*"; }

if [ "$(id -u)" -ne 0 ]; then
  echo "setup-libvirt: must run as root" >&2
  exit 1
fi

# ---------------------------------------------------------------- packages
packages=(libvirt-clients libvirt-daemon libvirt-daemon-driver-qemu libvirt-daemon-system qemu-system-x86
  qemu-utils openssh-server openssh-client dnsmasq-base iproute2 procps)
missing=()
for p in "${packages[@]}"; do
  [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" = 'install ok installed' ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Keep postinst scripts from starting daemons through init scripts: we start them ourselves.
  policy_created=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    policy_created=1
  fi
  trap '[ "$policy_created" -eq 1 ] && rm -f /usr/sbin/policy-rc.d' EXIT
  if ! apt-get install -y --no-install-recommends "${missing[@]}"; then
    apt-get update -qq
    apt-get install -y --no-install-recommends "${missing[@]}"
  fi
else
  log "packages already installed"
fi

# ---------------------------------------------------------------- users and groups
getent group kvm >/dev/null || groupadd --system kvm
getent group libvirt >/dev/null || groupadd --system libvirt
getent group libvirt-qemu >/dev/null || groupadd --system libvirt-qemu
if ! getent passwd libvirt-qemu >/dev/null; then
  useradd --system --gid kvm --groups kvm --home-dir /var/lib/libvirt --no-create-home \
    --shell /usr/sbin/nologin libvirt-qemu
fi

if ! getent passwd "$TEST_USER" >/dev/null; then
  useradd --create-home --shell /bin/bash --groups libvirt "$TEST_USER"
fi
usermod -aG libvirt "$TEST_USER"
# sshd refuses a locked account ('!' in the password field); '*' means "no password, not locked".
usermod -p '*' "$TEST_USER"

for u in "${GRANT_USERS[@]}"; do
  getent passwd "$u" >/dev/null || useradd --no-create-home --shell /usr/sbin/nologin "$u"
done
getent group "$GRANT_GROUP" >/dev/null || groupadd "$GRANT_GROUP"

# ---------------------------------------------------------------- libvirtd
conf=/etc/libvirt/libvirtd.conf
mkdir -p /etc/libvirt
touch "$conf"
set_conf() { # key value file
  if grep -Eq "^[[:space:]]*$1[[:space:]]*=" "$3"; then
    sed -i -E "s|^[[:space:]]*$1[[:space:]]*=.*|$1 = $2|" "$3"
  else
    echo "$1 = $2" >>"$3"
  fi
}
set_conf unix_sock_group '"libvirt"' "$conf"
set_conf unix_sock_rw_perms '"0770"' "$conf"
set_conf auth_unix_rw '"none"' "$conf"
set_conf auth_unix_ro '"none"' "$conf"
qconf=/etc/libvirt/qemu.conf
touch "$qconf"
# No AppArmor/SELinux in CI containers; QEMU runs as libvirt-qemu:kvm.
set_conf security_driver '"none"' "$qconf"

mkdir -p /run/libvirt /var/lib/libvirt/qemu /var/log/libvirt /var/cache/libvirt
if ! pgrep -x virtlogd >/dev/null; then
  log "starting virtlogd"
  virtlogd -d
fi
if ! pgrep -x libvirtd >/dev/null; then
  log "starting libvirtd"
  libvirtd -d
fi
for _ in $(seq 1 100); do
  virsh -c qemu:///system version >/dev/null 2>&1 && break
  sleep 0.1
done
virsh -c qemu:///system version >/dev/null

# ---------------------------------------------------------------- storage pool and network
mkdir -p "$POOL_DIR"
if ! virsh -c qemu:///system pool-info "$POOL" >/dev/null 2>&1; then
  virsh -c qemu:///system pool-define-as "$POOL" dir --target "$POOL_DIR" >/dev/null
fi
virsh -c qemu:///system pool-autostart "$POOL" >/dev/null 2>&1 || true
# (Capture first: `virsh … | grep -q` under pipefail fails when grep exits early.)
pool_info=$(virsh -c qemu:///system pool-info "$POOL")
if ! grep -q 'State:.*running' <<<"$pool_info"; then
  virsh -c qemu:///system pool-start "$POOL" >/dev/null
fi

# Isolated bridge networks without IP: no dnsmasq, no firewall rules, work in containers.
ensure_network() { # name bridge
  if ! virsh -c qemu:///system net-info "$1" >/dev/null 2>&1; then
    netxml=$(mktemp)
    printf "<network>\n  <name>%s</name>\n  <bridge name='%s' stp='off' delay='0'/>\n</network>\n" "$1" "$2" >"$netxml"
    virsh -c qemu:///system net-define "$netxml" >/dev/null
    rm -f "$netxml"
  fi
  virsh -c qemu:///system net-autostart "$1" >/dev/null 2>&1 || true
  local info
  info=$(virsh -c qemu:///system net-info "$1")
  if ! grep -Eq 'Active:[[:space:]]+yes' <<<"$info"; then
    virsh -c qemu:///system net-start "$1" >/dev/null
  fi
}
ensure_network "$NETWORK" "$BRIDGE"
ensure_network "$NETWORK2" "$BRIDGE2"
if ! virsh -c qemu:///system net-info "$NETWORK_OFF" >/dev/null 2>&1; then
  netxml=$(mktemp)
  printf "<network>\n  <name>%s</name>\n  <bridge name='%s' stp='off' delay='0'/>\n</network>\n" "$NETWORK_OFF" "$BRIDGE_OFF" >"$netxml"
  virsh -c qemu:///system net-define "$netxml" >/dev/null
  rm -f "$netxml"
fi
off_info=$(virsh -c qemu:///system net-info "$NETWORK_OFF")
if grep -Eq 'Active:[[:space:]]+yes' <<<"$off_info"; then
  virsh -c qemu:///system net-destroy "$NETWORK_OFF" >/dev/null
fi

# A small "ISO" (any file is a medium to QEMU) for the CD-ROM tests.
install -d -m 0755 "$(dirname "$ISO")"
[ -f "$ISO" ] || truncate -s 1M "$ISO"
chmod 0644 "$ISO"

# ---------------------------------------------------------------- sshd on 127.0.0.1
mkdir -p "$STATE" /run/sshd
chmod 0755 "$STATE"
[ -f "$STATE/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$STATE/ssh_host_ed25519_key"
# The client key is encrypted; its passphrase lives in a 0600 file (exercises Secret { file }).
if [ ! -f "$STATE/id_ed25519" ]; then
  head -c 24 /dev/urandom | base64 | tr -d '\n/+=' >"$STATE/passphrase"
  chmod 0600 "$STATE/passphrase"
  ssh-keygen -q -t ed25519 -N "$(cat "$STATE/passphrase")" -C virtbot-e2e -f "$STATE/id_ed25519"
fi
# A key the test user does not accept (the "host rejects the key" tests); no passphrase.
[ -f "$STATE/wrong_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C virtbot-e2e-wrong -f "$STATE/wrong_ed25519"
home=$(getent passwd "$TEST_USER" | cut -d: -f6)
install -d -m 0700 -o "$TEST_USER" -g "$TEST_USER" "$home/.ssh"
install -m 0600 -o "$TEST_USER" -g "$TEST_USER" "$STATE/id_ed25519.pub" "$home/.ssh/authorized_keys"
printf '[127.0.0.1]:%s %s\n' "$SSH_PORT" "$(cut -d' ' -f1,2 "$STATE/ssh_host_ed25519_key.pub")" >"$STATE/known_hosts"

cat >"$STATE/sshd_config" <<EOF
Port $SSH_PORT
ListenAddress 127.0.0.1
HostKey $STATE/ssh_host_ed25519_key
PidFile $STATE/sshd.pid
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin no
AllowUsers $TEST_USER
UsePAM no
MaxSessions 50
MaxStartups 50
Subsystem sftp internal-sftp
EOF
sshd_running=0
if [ -f "$STATE/sshd.pid" ] && kill -0 "$(cat "$STATE/sshd.pid")" 2>/dev/null; then sshd_running=1; fi
if [ "$sshd_running" -eq 1 ]; then
  kill -HUP "$(cat "$STATE/sshd.pid")" # reload the config
else
  log "starting sshd on 127.0.0.1:$SSH_PORT"
  /usr/sbin/sshd -f "$STATE/sshd_config"
fi
for _ in $(seq 1 50); do
  (exec 3<>/dev/tcp/127.0.0.1/"$SSH_PORT") 2>/dev/null && break
  sleep 0.1
done

# ---------------------------------------------------------------- env file for the tests
cat >"$STATE/env.json" <<EOF
{
  "uri": "qemu:///system",
  "ssh": {
    "host": "127.0.0.1",
    "port": $SSH_PORT,
    "user": "$TEST_USER",
    "privateKey": "$STATE/id_ed25519",
    "passphraseFile": "$STATE/passphrase",
    "knownHosts": "$STATE/known_hosts",
    "hostKey": "$(cut -d' ' -f1,2 "$STATE/ssh_host_ed25519_key.pub")"
  },
  "pool": "$POOL",
  "network": "$NETWORK",
  "network2": "$NETWORK2",
  "inactiveNetwork": "$NETWORK_OFF",
  "wrongKey": "$STATE/wrong_ed25519",
  "iso": "$ISO",
  "grantUsers": ["${GRANT_USERS[0]}", "${GRANT_USERS[1]}"],
  "grantGroup": "$GRANT_GROUP"
}
EOF
log "ready: $(virsh -c qemu:///system version --daemon | tr '\n' ' ' | tr -s ' ')"
log "env file: $STATE/env.json"
