import { execFileSync } from 'node:child_process';

/** True when a `virsh` client is installed (scripts/setup-libvirt.sh installs it). */
function haveVirsh(): boolean {
  try {
    execFileSync('virsh', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export const NO_VIRSH = !haveVirsh();
export const NO_VIRSH_REASON = "skipped: no virsh on this machine — run 'sudo scripts/setup-libvirt.sh'";
if (NO_VIRSH) console.warn(`libvirt tests ${NO_VIRSH_REASON}`);
