/**
 * The changes virtbot itself made lately, noted by the pipeline just before each one runs, so
 * that the events they cause ("web01 stopped") are said as theirs ("— by royce's `vm stop`,
 * 12:03") rather than as news, and not posted again where the command's own reply already is.
 * A change explains events on its host about its VM (or about a VM named in its arguments, like
 * the new VM of `vm clone`) of the kinds such a command causes (`vm suspend` explains
 * "suspended"), from just before it started until shortly after it finished (its task included);
 * what the guest does in its own time (`vm shutdown`, `vm reboot`) for a few minutes more. A
 * crash or a host lost is never explained by one.
 */
import type { Authorized } from '../pipeline/invocation.js';
import type { EventKind, HostEvent } from './types.js';

export interface OwnChange {
  host: string;
  /** The VMs it is about: its target, and VM names among its arguments. */
  vms: string[];
  /** 'vm stop'. */
  path: string;
  who: string;
  placeKey: string;
  time: Date;
  /** When it finished (its task included); events until a grace after it are its own. */
  finished?: Date;
}

/** How long after a change finished its events are still said to be its own. */
export const OWN_CHANGE_GRACE_MS = 5_000;
/** The same for changes the guest carries out in its own time (ACPI shutdown, reboot). */
export const GUEST_GRACE_MS = 5 * 60_000;
/** Changes are forgotten this long after they were noted. */
export const OWN_CHANGE_WINDOW_MS = 6 * 60 * 60_000;
/** How long before the note an event may be and still be the change's (clocks of host and bot). */
const EARLY_MS = 5_000;

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$/;

const DEVICES: EventKind[] = ['device-added', 'device-removed', 'defined'];
/** The events each command causes, by path prefix (the longest that matches); others: any VM event. */
const CAUSES: [string, EventKind[]][] = [
  ['vm start', ['started', 'resumed']],
  ['vm stop', ['stopped', 'undefined']],
  ['vm shutdown', ['stopped', 'undefined']],
  ['vm reboot', ['stopped', 'started']],
  ['vm reset', []],
  ['vm suspend', ['suspended']],
  ['vm resume', ['resumed']],
  ['vm delete', ['stopped', 'undefined']],
  ['vm create', ['defined']],
  ['vm clone', ['defined']],
  ['vm rename', ['defined', 'undefined']],
  ['vm snapshot create', ['suspended', 'resumed']],
  ['vm snapshot revert', ['started', 'stopped', 'suspended', 'resumed', 'defined']],
  ['vm snapshot delete', []],
  ['vm nic', DEVICES],
  ['vm disk', DEVICES],
  ['vm cdrom', DEVICES],
  ['vm cpu', DEVICES],
  ['vm memory', DEVICES],
  ['vm describe', ['defined']],
  ['vm autostart', ['defined']],
  ['vm users', ['defined']],
  ['vm groups', ['defined']],
];

function causes(path: string, kind: EventKind): boolean {
  const found = CAUSES.filter(([prefix]) => path === prefix || path.startsWith(`${prefix} `)).sort(
    (a, b) => b[0].length - a[0].length,
  )[0];
  return found === undefined || found[1].includes(kind);
}

export class OwnChanges {
  private changes: OwnChange[] = [];

  constructor(private readonly windowMs = OWN_CHANGE_WINDOW_MS) {}

  /** Notes a change about to run; `finished` when it ended (again when its task ended). */
  note(invocation: Authorized, time: Date): { finished(time: Date): void } {
    const { target } = invocation;
    if (target.kind === 'none' || target.kind === 'hosts') return { finished: () => {} };
    const vms = target.kind === 'host' ? [] : [target.vm];
    for (const arg of invocation.command.args) {
      const value = invocation.args[arg.name];
      if (arg.type === 'vm' && typeof value === 'string' && NAME.test(value) && !vms.includes(value))
        vms.push(value);
    }
    this.prune(time);
    const change: OwnChange = {
      host: target.host.name,
      vms,
      path: invocation.command.path.join(' '),
      who: invocation.identity.user ?? invocation.identity.nick,
      placeKey: invocation.placeKey,
      time,
    };
    this.changes.push(change);
    return {
      finished: (at) => {
        if (change.finished === undefined || at > change.finished) change.finished = at;
      },
    };
  }

  /** The latest own change that explains this event, if any. */
  explain(event: HostEvent): OwnChange | undefined {
    if (event.kind === 'crashed' || event.kind === 'host-lost' || event.kind === 'host-back')
      return undefined;
    if (event.vm === undefined) return undefined;
    const at = event.time.getTime();
    for (let i = this.changes.length - 1; i >= 0; i--) {
      const c = this.changes[i]!;
      const t = c.time.getTime();
      if (c.host !== event.host || !c.vms.includes(event.vm) || !causes(c.path, event.kind)) continue;
      const grace = /^vm (shutdown|reboot)$/.test(c.path) ? GUEST_GRACE_MS : OWN_CHANGE_GRACE_MS;
      const until = c.finished === undefined ? Number.POSITIVE_INFINITY : c.finished.getTime() + grace;
      if (at >= t - EARLY_MS && at <= until) return c;
    }
    return undefined;
  }

  private prune(now: Date): void {
    const oldest = now.getTime() - this.windowMs;
    this.changes = this.changes.filter((c) => c.time.getTime() >= oldest);
  }
}
