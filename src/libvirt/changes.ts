/**
 * Applying a device change to a domain the best way the host allows:
 *  - libvirt's own atomic operations (attach-device, detach-device, update-device) on the live
 *    VM and its persistent config when the driver supports them;
 *  - otherwise (libvirt's test driver, for one) a read-modify-define of the persistent config
 *    under the per-domain lock, reported as "config only, from the next boot".
 * The caller always learns what really happened (`Applied`), so the reply never claims more.
 */
import type { Hypervisor, Scope } from './hypervisor.js';
import { VirshError } from './virsh-shell.js';
import { child, insertChild, parseXml, removeChild, replaceChild, type XmlElement } from './xml.js';

export interface Applied {
  /** The running VM changed. */
  live: boolean;
  /** The persistent config changed. */
  config: boolean;
  /** How: libvirt's device API, or a define of the edited config. */
  via: 'device-api' | 'define';
  /** The VM runs but the change could not be made live (driver cannot hotplug). */
  liveRefused?: string;
}

export interface DomainState {
  running: boolean;
  persistent: boolean;
}

/** True for "this function is not supported by the connection driver" and kin. */
export function isUnsupported(error: unknown): boolean {
  return (
    error instanceof VirshError &&
    /not supported by the connection driver|unsupported configuration|operation not supported|this function is not supported/i.test(
      error.message,
    )
  );
}

export async function domainState(hv: Hypervisor, vm: string): Promise<DomainState> {
  const summary = await hv.domainSummary(vm);
  const running = summary.state !== 'shut off' && summary.state !== 'crashed';
  return { running, persistent: summary.persistent };
}

export function scopeFor(state: DomainState): Scope {
  return { live: state.running, config: state.persistent || !state.running };
}

/** Edit the persistent config by read-modify-define. `edit` returns false to abort. */
export async function editConfig(
  hv: Hypervisor,
  vm: string,
  edit: (domain: XmlElement) => void,
): Promise<void> {
  const domain = parseXml(await hv.dumpXml(vm, { inactive: true }));
  edit(domain);
  await hv.define(domain);
}

type DeviceOp = 'attach' | 'detach' | 'update';

/**
 * Apply a device operation. `configEdit` makes the same change on a config `<devices>` element
 * (used when the driver has no device API).
 */
export async function applyDevice(
  hv: Hypervisor,
  vm: string,
  state: DomainState,
  op: DeviceOp,
  device: XmlElement,
  configEdit: (devices: XmlElement) => void,
): Promise<Applied> {
  const scope = scopeFor(state);
  try {
    if (op === 'attach') await hv.attachDevice(vm, device, scope);
    else if (op === 'detach') await hv.detachDevice(vm, device, scope);
    else await hv.updateDevice(vm, device, scope);
    return { live: scope.live, config: scope.config, via: 'device-api' };
  } catch (error) {
    if (!isUnsupported(error)) throw error;
    if (!state.persistent) throw error;
    await editConfig(hv, vm, (domain) => {
      const devices = child(domain, 'devices');
      if (!devices) throw new Error(`domain '${vm}' has no <devices>`);
      configEdit(devices);
    });
    const applied: Applied = { live: false, config: true, via: 'define' };
    if (state.running) applied.liveRefused = `host ${hv.name} cannot change a running VM's devices`;
    return applied;
  }
}

/** Config-side edits matching the device operations. */
export const configEdits = {
  attach: (device: XmlElement) => (devices: XmlElement) => insertChild(devices, device),
  detach: (match: (e: XmlElement) => boolean) => (devices: XmlElement) => {
    const found = devices.children.find((c): c is XmlElement => 'name' in c && match(c));
    if (!found) throw new Error('device not found in the config');
    removeChild(devices, found);
  },
  update: (match: (e: XmlElement) => boolean, device: XmlElement) => (devices: XmlElement) => {
    const found = devices.children.find((c): c is XmlElement => 'name' in c && match(c));
    if (!found) throw new Error('device not found in the config');
    replaceChild(devices, found, device);
  },
};

/** " (live and config)", " (config; from the next boot)" … for replies. */
export function appliedNote(applied: Applied): string {
  if (applied.live && applied.config) return 'live and in config';
  if (applied.live) return 'live only (transient VM)';
  if (applied.liveRefused) return `in config, from the next boot (${applied.liveRefused})`;
  return 'in config';
}
