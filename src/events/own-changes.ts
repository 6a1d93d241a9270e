/**
 * The changes virtbot itself made lately, noted by the pipeline just before each one runs, so
 * that the events they cause ("web01 stopped") are said as theirs ("— by royce's `vm stop`,
 * 12:03") rather than as news, and not posted again where the command's own reply already is.
 * A change explains events on its host about its VM (or about a VM named in its arguments, like
 * the new VM of `vm clone`) for a few minutes; a crash or a host lost is never explained by one.
 */
import type { Authorized } from '../pipeline/invocation.js';
import type { HostEvent } from './types.js';

export interface OwnChange {
  host: string;
  /** The VMs it is about: its target, and VM names among its arguments. */
  vms: string[];
  /** 'vm stop'. */
  path: string;
  who: string;
  placeKey: string;
  time: Date;
}

/** How long after a change its events are still said to be its own. */
export const OWN_CHANGE_WINDOW_MS = 5 * 60_000;
/** How long before the note an event may be and still be the change's (clocks of host and bot). */
const EARLY_MS = 5_000;

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$/;

export class OwnChanges {
  private changes: OwnChange[] = [];

  constructor(private readonly windowMs = OWN_CHANGE_WINDOW_MS) {}

  note(invocation: Authorized, time: Date): void {
    const { target } = invocation;
    if (target.kind === 'none' || target.kind === 'hosts') return;
    const vms = target.kind === 'host' ? [] : [target.vm];
    for (const arg of invocation.command.args) {
      const value = invocation.args[arg.name];
      if (arg.type === 'vm' && typeof value === 'string' && NAME.test(value) && !vms.includes(value))
        vms.push(value);
    }
    this.prune(time);
    this.changes.push({
      host: target.host.name,
      vms,
      path: invocation.command.path.join(' '),
      who: invocation.identity.user ?? invocation.identity.nick,
      placeKey: invocation.placeKey,
      time,
    });
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
      if (c.host !== event.host || !c.vms.includes(event.vm)) continue;
      if (at >= t - EARLY_MS && at <= t + this.windowMs) return c;
    }
    return undefined;
  }

  private prune(now: Date): void {
    const oldest = now.getTime() - this.windowMs;
    this.changes = this.changes.filter((c) => c.time.getTime() >= oldest);
  }
}
