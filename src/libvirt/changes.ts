/**
 * Applying a device change to a domain the best way the host allows:
 *  - libvirt's own atomic operations (attach-device, detach-device, update-device) on the live
 *    VM and its persistent config when the driver supports them;
 *  - otherwise (libvirt's test driver, for one) a read-modify-define of the persistent config
 *    under the per-domain lock, reported as "config only, from the next boot".
 * The caller always learns what really happened (`Applied`), so the reply never claims more:
 * done, or in progress on the host with `settled` (device-change.ts), never "not done" for a
 * change libvirt may still complete.
 */
import {
  ChangeNotDoneError,
  type ChangeState,
  deviceKey,
  deviceOutcome,
  presence,
  type Settled,
  type WatchOptions,
} from './device-change.js';
import { HostDownError } from './health.js';
import type { Hypervisor, Scope } from './hypervisor.js';
import { messageOf, VirshConnectionError, VirshError } from './virsh-shell.js';
import { child, insertChild, parseXml, removeChild, replaceChild, type XmlElement } from './xml.js';

export interface Applied {
  /** The running VM changed. */
  live: boolean;
  /** The persistent config changed. */
  config: boolean;
  /** How: libvirt's device API, a define of the edited config, or unknown but checked done after a dropped connection. */
  via: 'device-api' | 'define' | 'checked';
  /** The VM runs but the change could not be made live (driver cannot hotplug). */
  liveRefused?: string;
  /** done, or still in progress on the host (then `settled` tells when it is over). Absent: done. */
  state?: ChangeState;
  /** Why it is in progress, for the reply. */
  pending?: string;
  /** For an in-progress change: resolves once it has settled (done, failed, or unknown). */
  settled?: Promise<Settled>;
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

/** How long a change checked after a dropped connection is given to show (see doneOrChecked). */
export interface CheckWindow {
  /** Look again until this long after the loss (ms); default 10 s. */
  windowMs?: number;
  pollMs?: number;
}

/**
 * Run a change. When the connection drops mid-way its outcome is unknown: ask libvirt again
 * (the session reconnects) whether the change took effect. Libvirt may still be carrying it out
 * (a start waits for QEMU, a destroy for the process to go), so a change not seen yet is looked
 * at again until `windowMs` has passed before it is called not done. Resolves false when the
 * change just worked, true when it was checked and found done; rejects when it was not done, or
 * when the check failed too — never reports an unknown outcome as done.
 */
export async function doneOrChecked(
  change: () => Promise<unknown>,
  check: () => Promise<boolean>,
  window: CheckWindow = {},
): Promise<boolean> {
  try {
    await change();
    return false;
  } catch (error) {
    // Not sent at all (the host is down): nothing to check.
    if (!(error instanceof VirshConnectionError) || error instanceof HostDownError) throw error;
    const what = error.message.replace(/: outcome unknown$/, '');
    const windowMs = window.windowMs ?? 10_000;
    const deadline = Date.now() + windowMs;
    for (;;) {
      let done: boolean;
      try {
        done = await check();
      } catch (checkError) {
        throw new VirshConnectionError(
          `${what}; checking afterwards failed too (${messageOf(checkError)}): outcome unknown`,
          error.command,
        );
      }
      if (done) return true;
      if (Date.now() >= deadline) break;
      await new Promise((resolve) => setTimeout(resolve, window.pollMs ?? 500));
    }
    throw new ChangeNotDoneError(
      `${what}; checked afterwards for ${Math.round(windowMs / 1000)} s: not done`,
      error.command,
    );
  }
}

type DeviceOp = 'attach' | 'detach' | 'update';

/**
 * Apply a device operation and tell its outcome truthfully (device-change.ts): done, or
 * in progress on the host with `settled`; a change found not done after libvirt's job ended
 * throws. `configEdit` makes the same change on a config `<devices>` element (used when the
 * driver has no device API). A detach acts only where the device is (a NIC that is live only is
 * detached live only). `check` is no longer asked: after a dropped connection virtbot waits for
 * libvirt's job to end and looks at the live VM and the config itself.
 */
export async function applyDevice(
  hv: Hypervisor,
  vm: string,
  state: DomainState,
  op: DeviceOp,
  device: XmlElement,
  configEdit: (devices: XmlElement) => void,
  _check?: () => Promise<boolean>,
  options: WatchOptions = {},
): Promise<Applied> {
  let scope = scopeFor(state);
  const key = deviceKey(device);
  if (op === 'detach' && scope.live && scope.config && key) {
    const p = await presence(hv, vm, key);
    if (p.live && !p.config) scope = { live: true, config: false };
    else if (!p.live && p.config) scope = { live: false, config: true };
  }
  try {
    return await deviceOutcome(
      hv,
      vm,
      op,
      device,
      scope,
      async () => {
        if (op === 'attach') await hv.attachDevice(vm, device, scope);
        else if (op === 'detach') await hv.detachDevice(vm, device, scope);
        else await hv.updateDevice(vm, device, scope);
      },
      options,
    );
  } catch (error) {
    if (!isUnsupported(error)) throw error;
    if (!state.persistent) throw error;
    await editConfig(hv, vm, (domain) => {
      const devices = child(domain, 'devices');
      if (!devices) throw new Error(`domain '${vm}' has no <devices>`);
      configEdit(devices);
    });
    const applied: Applied = { live: false, config: true, via: 'define', state: 'done' };
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
  if (applied.state === 'in-progress')
    return `in progress on the host: ${applied.pending ?? 'libvirt is still working on it'}`;
  if (applied.via === 'checked') return 'checked after the connection dropped mid-way';
  if (applied.live && applied.config) return 'live and in config';
  if (applied.live) return 'live only (transient VM)';
  if (applied.liveRefused) return `in config, from the next boot (${applied.liveRefused})`;
  return 'in config';
}
