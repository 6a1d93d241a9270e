/**
 * The outcome of a device change (attach, detach, update of a NIC, disk or CD-ROM), told
 * truthfully: `done`, `in-progress` on the host, or a failure (thrown). Never "not done" for a
 * change that can still happen:
 *
 *  - When the connection drops or the command times out, libvirt may still be working (QEMU
 *    busy, stopped, or slow). virtbot asks whether libvirt still holds a job on the domain
 *    (`domstats --balloon --nowait`: while a job is held, the stats that need one are left out),
 *    and only once it has ended looks at the live VM and its config. While the job runs the
 *    answer is `in-progress`, with `settled`, a promise that resolves when it has ended (on
 *    libvirt's device-added / device-removed event, the host coming back, or a periodic look).
 *  - A detach that libvirt passed on to the guest, which has not released the device yet, is
 *    `in-progress` too; `settled` follows the device-removed event (done) or
 *    device-removal-failed (failed).
 *
 * `settled` never rejects. It resolves `unknown` only when virtbot stops watching (the deadline,
 * or the host's Hypervisor closed) before libvirt said.
 */

import type { HostEvent } from './events.js';
import { HostDownError } from './health.js';
import type { Hypervisor, Scope } from './hypervisor.js';
import { doing } from './virsh/errors.js';
import { messageOf, VirshConnectionError, VirshError } from './virsh-shell.js';
import { child, elements, parseXml, type XmlElement } from './xml.js';

export type ChangeState = 'done' | 'in-progress';
export type SettledState = 'done' | 'failed' | 'unknown';

export interface Settled {
  state: SettledState;
  /** Where the change is now (for done): the running VM, the config. */
  live: boolean;
  config: boolean;
  /** One line for a follow-up in chat: "NIC 52:54:00:… is now attached to web01 (live and in config)". */
  message: string;
}

/** Which device a change is about: a NIC by MAC, a disk or CD-ROM by target. */
export type DeviceKey = { kind: 'interface'; mac: string } | { kind: 'disk'; target: string; device: string };

export function deviceKey(device: XmlElement): DeviceKey | undefined {
  if (device.name === 'interface') {
    const mac = child(device, 'mac')?.attrs['address']?.toLowerCase();
    return mac ? { kind: 'interface', mac } : undefined;
  }
  if (device.name === 'disk') {
    const target = child(device, 'target')?.attrs['dev'];
    return target ? { kind: 'disk', target, device: device.attrs['device'] ?? 'disk' } : undefined;
  }
  return undefined;
}

export function describeKey(key: DeviceKey): string {
  if (key.kind === 'interface') return `NIC ${key.mac}`;
  return `${key.device === 'cdrom' ? 'CD-ROM' : key.device === 'floppy' ? 'floppy' : 'disk'} ${key.target}`;
}

/** The device element for `key` in a domain XML tree, if there. */
export function findDevice(domain: XmlElement, key: DeviceKey): XmlElement | undefined {
  const devices = child(domain, 'devices');
  if (!devices) return undefined;
  if (key.kind === 'interface')
    return elements(devices, 'interface').find(
      (e) => child(e, 'mac')?.attrs['address']?.toLowerCase() === key.mac,
    );
  return elements(devices, 'disk').find((e) => child(e, 'target')?.attrs['dev'] === key.target);
}

/** Do two device elements agree on what an update changes (source, model, type)? */
export function sameSettings(found: XmlElement, wanted: XmlElement): boolean {
  const attrs = (e: XmlElement | undefined) => JSON.stringify(Object.entries(e?.attrs ?? {}).sort());
  if ((found.attrs['type'] ?? '') !== (wanted.attrs['type'] ?? '')) return false;
  return ['source', 'model'].every((name) => attrs(child(found, name)) === attrs(child(wanted, name)));
}

/** Where the device is now. `live`/`config` are undefined when there is no such side. */
export interface Presence {
  running: boolean;
  persistent: boolean;
  live: XmlElement | undefined;
  config: XmlElement | undefined;
}

/** The domain's state and the device in its live XML and its config, in one round trip. */
export async function presence(hv: Hypervisor, vm: string, key: DeviceKey): Promise<Presence> {
  const [info, live, config] = await hv.batch([
    { command: 'dominfo', args: [{ option: '--domain', value: vm }] },
    { command: 'dumpxml', args: [{ option: '--domain', value: vm }] },
    { command: 'dumpxml', args: [{ option: '--domain', value: vm }, { option: '--inactive' }] },
  ]);
  for (const r of [info, live, config]) if (!r!.ok) throw r!.error;
  const state = /^State:\s*(.*)$/m.exec((info as { stdout: string }).stdout)?.[1]?.trim() ?? '';
  const persistent = /^Persistent:\s*yes$/m.test((info as { stdout: string }).stdout);
  const running = state !== 'shut off' && state !== 'crashed';
  return {
    running,
    persistent,
    live: running ? findDevice(parseXml((live as { stdout: string }).stdout), key) : undefined,
    config: persistent ? findDevice(parseXml((config as { stdout: string }).stdout), key) : undefined,
  };
}

export type DeviceOp = 'attach' | 'detach' | 'update';

/** Is the change there, on each side it was asked for? */
function reached(op: DeviceOp, wanted: XmlElement, found: XmlElement | undefined): boolean {
  if (op === 'detach') return found === undefined;
  if (found === undefined) return false;
  return op === 'attach' || sameSettings(found, wanted);
}

export interface WatchOptions {
  /** How long to watch before settling `unknown` (ms). Default 10 min. */
  deadlineMs?: number;
  /** How often to look without an event (ms). Default 2 s. */
  pollMs?: number;
}

/** What an in-progress change waits for, and how it is described. */
interface Watch {
  hv: Hypervisor;
  vm: string;
  op: DeviceOp;
  device: XmlElement;
  key: DeviceKey;
  scope: Scope;
  /** The device's alias in the live VM (for detach: the device-removed event names it). */
  alias: string | undefined;
  /** Why it is in progress (for the reply). */
  why: 'job' | 'guest';
}

function verbDone(op: DeviceOp, what: string, vm: string, live: boolean, config: boolean): string {
  const where = live && config ? 'live and in config' : live ? 'live' : config ? 'in config' : '';
  if (op === 'attach') return `${what} is now attached to ${vm}${where ? ` (${where})` : ''}`;
  if (op === 'update') return `${what} of ${vm} is now updated${where ? ` (${where})` : ''}`;
  return `${what} was released by ${vm}'s guest: it is gone`;
}

/** Judge where things stand once libvirt's job has ended; undefined: still waiting (the guest). */
function judge(w: Watch, p: Presence): Settled | undefined {
  const what = describeKey(w.key);
  const live = !w.scope.live || !p.running || reached(w.op, w.device, p.live);
  const config = !w.scope.config || !p.persistent || reached(w.op, w.device, p.config);
  if (w.op === 'detach') {
    // Libvirt has done its part; the guest may still release the device later.
    if (!live) return undefined;
    return {
      state: 'done',
      live: w.scope.live,
      config: w.scope.config && config,
      message: verbDone(w.op, what, w.vm, true, config),
    };
  }
  const onLive = w.scope.live && p.running && reached(w.op, w.device, p.live);
  const onConfig = w.scope.config && p.persistent && reached(w.op, w.device, p.config);
  if (!onLive && !onConfig)
    return {
      state: 'failed',
      live: false,
      config: false,
      message: `${what} was not ${w.op === 'attach' ? 'attached to' : 'changed on'} ${w.vm}: libvirt finished without it`,
    };
  return {
    state: 'done',
    live: onLive,
    config: onConfig,
    message: verbDone(w.op, what, w.vm, onLive, onConfig),
  };
}

/**
 * Watch an in-progress change until it settles. Wakes on the domain's device and lifecycle
 * events, on host-back / stream-gap, and every `pollMs`; each time asks whether libvirt's job
 * has ended and, once it has, where the device is.
 */
function watch(w: Watch, options: WatchOptions): Promise<Settled> {
  const { hv, vm } = w;
  const deadline = Date.now() + (options.deadlineMs ?? 10 * 60_000);
  const pollMs = options.pollMs ?? 2000;
  const what = describeKey(w.key);
  void hv.events.start().catch(() => undefined);
  return new Promise<Settled>((resolve) => {
    let done = false;
    let looking = false;
    let again = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (s: Settled) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      stop();
      hv.forgetPending(vm, w.key);
      resolve(s);
    };
    const look = async (): Promise<void> => {
      if (done) return;
      if (looking) {
        again = true;
        return;
      }
      looking = true;
      try {
        if (hv.closed) {
          finish({
            state: 'unknown',
            live: false,
            config: false,
            message: `virtbot stopped watching ${what} on ${vm} before it settled`,
          });
          return;
        }
        const busy = w.why === 'job' ? await hv.jobActive(vm) : false;
        if (busy === false) {
          const p = await presence(hv, vm, w.key);
          if (w.why === 'job' && w.op === 'detach' && p.running && p.live) {
            // Libvirt is done and the guest has the request: from now on wait for the guest.
            w.why = 'guest';
            w.alias ??= child(p.live, 'alias')?.attrs['name'];
          }
          const verdict = judge(w, p);
          if (verdict) {
            finish(verdict);
            return;
          }
        }
      } catch (error) {
        // The VM is gone (undefined or destroyed): a detach is then done, anything else failed.
        if (error instanceof VirshError && /failed to get domain|Domain not found/i.test(error.message)) {
          finish(
            w.op === 'detach'
              ? {
                  state: 'done',
                  live: false,
                  config: false,
                  message: `${what} is gone: ${vm} no longer exists`,
                }
              : { state: 'failed', live: false, config: false, message: `${what}: ${vm} no longer exists` },
          );
          return;
        }
        // Unreachable for now: look again later.
      } finally {
        looking = false;
      }
      if (Date.now() >= deadline) {
        finish({
          state: 'unknown',
          live: false,
          config: false,
          message:
            w.why === 'guest'
              ? `${vm}'s guest has still not released ${what} after ${Math.round((options.deadlineMs ?? 600_000) / 60_000)} min; it stays until the VM stops (it is no longer in the config)`
              : `libvirt has still not finished with ${what} on ${vm}; virtbot stopped watching`,
        });
        return;
      }
      if (again) {
        again = false;
        void look();
        return;
      }
      clearTimeout(timer);
      timer = setTimeout(() => void look(), pollMs);
      timer.unref();
    };
    const relevant = (e: HostEvent): boolean => {
      if (e.type === 'host-back' || e.type === 'stream-gap') return true;
      if (!('domain' in e) || e.domain !== vm) return false;
      if (e.type === 'device-removal-failed') {
        if (w.op === 'detach' && (w.alias === undefined || e.alias === w.alias)) {
          finish({
            state: 'failed',
            live: true,
            config: w.scope.config,
            message: `${vm}'s guest refused to release ${what}; it stays until the VM stops${w.scope.config ? ' (it is no longer in the config)' : ''}`,
          });
        }
        return false;
      }
      return e.type === 'device-added' || e.type === 'device-removed' || e.type === 'lifecycle';
    };
    const stop = hv.events.subscribe((e) => {
      if (relevant(e)) void look();
    });
    void look();
  });
}

/** What `applyDeviceChange` returns: where the change is, and whether it is still under way. */
export interface DeviceOutcome {
  /** The running VM changed (or, in progress, will). */
  live: boolean;
  /** The persistent config changed (or will). */
  config: boolean;
  via: 'device-api' | 'define' | 'checked';
  liveRefused?: string;
  /** done, or in progress on the host (see `settled`). */
  state: ChangeState;
  /** Why it is in progress, for the reply: "the guest has not released it yet", … */
  pending?: string;
  /** Resolves when an in-progress change has settled. */
  settled?: Promise<Settled>;
}

export class ChangeNotDoneError extends VirshConnectionError {
  constructor(message: string, command?: string) {
    super(message, command);
    this.name = 'ChangeNotDoneError';
  }
}

/**
 * Run one device operation through libvirt's device API with `scope` and tell its outcome (see
 * the file's head). VirshError (libvirt refused) is thrown as is; a change found not done once
 * libvirt's job had ended throws ChangeNotDoneError.
 */
export async function deviceOutcome(
  hv: Hypervisor,
  vm: string,
  op: DeviceOp,
  device: XmlElement,
  scope: Scope,
  run: () => Promise<unknown>,
  options: WatchOptions = {},
): Promise<DeviceOutcome> {
  const key = deviceKey(device);
  try {
    await run();
  } catch (error) {
    if (!(error instanceof VirshConnectionError) || error instanceof HostDownError || !key) throw error;
    return afterLoss(hv, vm, op, device, key, scope, error, options);
  }
  const base = { live: scope.live, config: scope.config, via: 'device-api' as const };
  if (op !== 'detach' || !scope.live || !key) return { ...base, state: 'done' };
  // libvirt asked the guest and waited a little; a guest that has not let go yet still may.
  const p = await presence(hv, vm, key);
  if (!p.running || !p.live) return { ...base, state: 'done' };
  const w: Watch = {
    hv,
    vm,
    op,
    device,
    key,
    scope,
    alias: child(p.live, 'alias')?.attrs['name'],
    why: 'guest',
  };
  const settled = watch(w, options);
  hv.rememberPending(vm, key, settled);
  return { ...base, state: 'in-progress', pending: 'the guest has not released it yet', settled };
}

async function afterLoss(
  hv: Hypervisor,
  vm: string,
  op: DeviceOp,
  device: XmlElement,
  key: DeviceKey,
  scope: Scope,
  error: VirshConnectionError,
  options: WatchOptions,
): Promise<DeviceOutcome> {
  const what = error.message.replace(/: outcome unknown$/, '');
  const lost = `the connection dropped while ${doing(error.command)}`;
  const w: Watch = { hv, vm, op, device, key, scope, alias: undefined, why: 'job' };
  let busy: boolean | undefined;
  let p: Presence | undefined;
  try {
    busy = await hv.jobActive(vm);
    if (busy === false) p = await presence(hv, vm, key);
  } catch (checkError) {
    if (checkError instanceof HostDownError) busy = undefined;
    else if (!(checkError instanceof VirshConnectionError))
      throw new VirshConnectionError(
        `${what}; checking afterwards failed too (${messageOf(checkError)}): outcome unknown`,
        error.command,
      );
  }
  if (busy === false && p) {
    if (op === 'detach' && p.running && p.live && scope.live) {
      // libvirt is done with it; the guest has not released the device yet.
      w.why = 'guest';
      w.alias = child(p.live, 'alias')?.attrs['name'];
    } else {
      const verdict = judge(w, p)!;
      if (verdict.state === 'failed')
        throw new ChangeNotDoneError(`${what}; checked afterwards: not done`, error.command);
      return { live: verdict.live, config: verdict.config, via: 'checked', state: 'done' };
    }
  }
  const settled = watch(w, options);
  hv.rememberPending(vm, key, settled);
  return {
    live: scope.live,
    config: scope.config,
    via: 'checked',
    state: 'in-progress',
    pending:
      w.why === 'guest'
        ? `${lost}; libvirt has done its part, the guest has not released it yet`
        : `${lost}; libvirt is still working on it`,
    settled,
  };
}
