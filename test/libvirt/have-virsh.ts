import { execFileSync } from 'node:child_process';
import { LocalBackend } from '../../src/libvirt/backend.js';
import { Hypervisor, type HypervisorOptions } from '../../src/libvirt/hypervisor.js';

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

/** A Hypervisor on a fresh libvirt test driver (its own virsh process, its own default state). */
export function testHypervisor(options: HypervisorOptions = {}): Hypervisor {
  return new Hypervisor(
    'test',
    'test:///default',
    new LocalBackend({ host: 'test', uri: 'test:///default' }),
    () => {},
    options,
  );
}
