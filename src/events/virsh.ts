/**
 * The adapter from `virsh event --all --loop --timestamp` lines to HostEvents, for a stream that
 * reads that command's output per host (the libvirt event stream being built in src/libvirt/ is
 * one): `fromVirshEvent(host, line)` gives the event, or undefined for lines that are none of
 * ours ("event 'reboot' …", tray changes, block jobs, the shell's own chatter).
 *
 *   2026-12-01 12:03:00.123+0000: event 'lifecycle' for domain 'web01': Stopped Destroyed
 *   2026-12-01 12:03:01.456+0000: event 'device-removed' for domain 'web01': net0
 */
import type { EventKind, HostEvent } from './types.js';

const LINE =
  /^(?:(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?)([+-]\d{4})?: )?event '([a-z-]+)' for domain '([^']+)'(?:: (.*))?$/;

/** libvirt's lifecycle event types (virsh prints them capitalised) → ours. */
/** libvirt's lifecycle event types, as chat's kinds. */
export const LIFECYCLE: Record<string, EventKind> = {
  defined: 'defined',
  undefined: 'undefined',
  started: 'started',
  suspended: 'suspended',
  resumed: 'resumed',
  stopped: 'stopped',
  crashed: 'crashed',
  pmsuspended: 'suspended',
};

export function fromVirshEvent(
  host: string,
  line: string,
  now: () => Date = () => new Date(),
): HostEvent | undefined {
  const m = LINE.exec(line.trim());
  if (!m) return undefined;
  const [, stamp, zone, type, vm, rest] = m;
  const time = stamp ? parseStamp(stamp, zone) : now();
  if (type === 'lifecycle') {
    const [what = '', ...detail] = (rest ?? '').trim().split(/\s+/);
    let kind = LIFECYCLE[what.toLowerCase()];
    // A guest that stopped because it crashed is a crash, whatever the type says.
    if (kind === 'stopped' && /^crashed$/i.test(detail[0] ?? '')) kind = 'crashed';
    if (kind === undefined) return undefined;
    const event: HostEvent = { host, vm: vm!, kind, time };
    if (detail.length > 0) event.detail = detail.join(' ').toLowerCase();
    return event;
  }
  if (type === 'device-added' || type === 'device-removed') {
    const event: HostEvent = { host, vm: vm!, kind: type, time };
    if (rest) event.detail = rest.trim();
    return event;
  }
  return undefined;
}

function parseStamp(stamp: string, zone: string | undefined): Date {
  const iso = `${stamp.replace(' ', 'T')}${zone ? `${zone.slice(0, 3)}:${zone.slice(3)}` : 'Z'}`;
  const time = new Date(iso);
  return Number.isNaN(time.getTime()) ? new Date() : time;
}
