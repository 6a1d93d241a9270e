/**
 * `events on|off|list`: which libvirt events this channel gets — a VM crashed, started or stopped
 * outside virtbot, a device released, a host lost or back (src/events/). Subscriptions made here
 * are kept in dataDir/events.json; those of the config (`events.channels`) always apply.
 *
 * Events tell what happens to VMs: a channel gets those of a host only when the person who sets
 * it up may list that host's VMs there (`vm list host=H`, judged as if said here), for every
 * configured host the glob matches.
 */

import { globToRegExp } from '../src/auth/glob.js';
import { CommandError, type CommandGroup } from '../src/command/spec.js';
import { DEFAULT_KINDS, EVENT_KINDS, type EventKind, type Subscription } from '../src/events/types.js';
import { messageOf } from '../src/libvirt/virsh-shell.js';
import { arg, type CommandContext, defineCommand } from '../src/pipeline/define.js';
import { plural } from './vm-common.js';

const GLOB = /^[A-Za-z0-9_.*?+-]{1,64}$/;

function glob(value: string | undefined, what: string): string {
  if (value === undefined) return '*';
  if (!GLOB.test(value))
    throw new CommandError(`'${value}' is not a ${what} glob: letters, digits, . _ + - * ?`, 'invalid');
  return value;
}

function desk(ctx: CommandContext) {
  if (!ctx.events) throw new CommandError('events are not wired in this virtbot');
  return ctx.events;
}

/** A change of the subscriptions, or a one-line failure when its file cannot be written (a full disk). */
async function saving<T>(change: Promise<T>): Promise<T> {
  try {
    return await change;
  } catch (error) {
    throw new CommandError(`the subscriptions could not be saved, so nothing changed: ${messageOf(error)}`);
  }
}

function channelOnly(ctx: CommandContext): void {
  if (ctx.place.private) throw new CommandError('say it in the channel the events should go to', 'invalid');
}

const here = (ctx: CommandContext) => ctx.place.label ?? ctx.place.channel;
const samePlace = (a: Subscription['place'], b: Subscription['place']) =>
  a.transport === b.transport && a.network === b.network && a.channel === b.channel;

function show(s: Subscription): string {
  const kinds = s.kinds.length === EVENT_KINDS.length ? 'every kind' : s.kinds.join(', ');
  return `host ${s.host}, VM ${s.vm}: ${kinds} (by ${s.by})`;
}

const on = defineCommand({
  path: ['events', 'on'],
  summary: 'post libvirt events of these hosts and VMs here (crashes, starts and stops outside virtbot, …)',
  args: {
    host: arg.text('host glob (default: every host)'),
    vm: arg.text('VM glob (default: every VM)'),
    kinds: arg.names(
      `which events (default: ${DEFAULT_KINDS.join(', ')}; or any of ${EVENT_KINDS.join(', ')}, or all)`,
    ),
  },
  examples: [
    { input: 'events on host=prod-* vm=web*', reply: 'events of host prod-*, VM web* now go to #examples' },
    { input: 'events on kinds=crashed,nope', reply: "'nope' is not an event kind" },
  ],
  async run({ args, ctx }) {
    channelOnly(ctx);
    const host = glob(args.host, 'host');
    const vm = glob(args.vm, 'VM');
    let kinds: EventKind[] = [...DEFAULT_KINDS];
    if (args.kinds !== undefined) {
      if (args.kinds.length === 1 && args.kinds[0] === 'all') kinds = [...EVENT_KINDS];
      else {
        const bad = args.kinds.find((k) => !(EVENT_KINDS as readonly string[]).includes(k));
        if (bad !== undefined)
          throw new CommandError(
            `'${bad}' is not an event kind (kinds: ${EVENT_KINDS.join(', ')}, all)`,
            'invalid',
          );
        kinds = args.kinds as EventKind[];
      }
    }
    const matched = ctx.directory.names().filter((h) => globToRegExp(host, 'i').test(h));
    for (const name of matched) {
      const { verdict } = await ctx.permissions.explain(ctx.identity, `vm list host=${name}`, ctx.place);
      if (!verdict.allowed) {
        throw new CommandError(
          `you may not list the VMs of host ${name} here (${verdict.reason}), so its events cannot come here`,
          'denied',
        );
      }
    }
    await saving(
      desk(ctx).add({
        place: { ...ctx.place },
        host,
        vm,
        kinds,
        by: ctx.identity.user ?? ctx.identity.nick,
        since: ctx.now().toISOString(),
      }),
    );
    return {
      reply:
        `events of host ${host}, VM ${vm} now go to ${here(ctx)}: ${kinds.join(', ')}` +
        (matched.length === 0 ? ' (no configured host matches it yet)' : ''),
      detail: `Subscribe ${here(ctx)} to events of host ${host}, VM ${vm} (${kinds.join(', ')})`,
    };
  },
});

const off = defineCommand({
  path: ['events', 'off'],
  summary: 'stop posting events here (all of this channel’s, or those of host= / vm=)',
  args: {
    host: arg.text('only the subscription of this host glob'),
    vm: arg.text('only the one of this VM glob'),
  },
  examples: [{ input: 'events off', reply: 'no events were set up for #examples' }],
  async run({ args, ctx }) {
    channelOnly(ctx);
    const filter = {
      ...(args.host !== undefined ? { host: glob(args.host, 'host') } : {}),
      ...(args.vm !== undefined ? { vm: glob(args.vm, 'VM') } : {}),
    };
    const removed = await saving(desk(ctx).remove({ ...ctx.place }, filter));
    const configured = (await desk(ctx).list()).filter(
      (s) => s.by === 'config' && samePlace(s.place, ctx.place),
    );
    const still =
      configured.length > 0
        ? `; ${plural(configured.length, 'subscription')} of the config still apply (change them there)`
        : '';
    if (removed.length === 0)
      return {
        reply: `no events were set up for ${here(ctx)} from chat${still}`,
        detail: 'Unsubscribe: none',
      };
    return {
      reply: `${here(ctx)} no longer gets events of ${removed.map((s) => `host ${s.host}, VM ${s.vm}`).join('; ')}${still}`,
      detail: `Unsubscribe ${here(ctx)} from ${plural(removed.length, 'subscription')}`,
    };
  },
});

const list = defineCommand({
  path: ['events', 'list'],
  summary: 'which events go to this channel, and how many other places get events',
  args: {},
  examples: [{ input: 'events list', reply: '#examples gets no events' }],
  async run({ ctx }) {
    const all = await desk(ctx).list();
    const mine = all.filter((s) => samePlace(s.place, ctx.place));
    const others = new Set(
      all
        .filter((s) => !samePlace(s.place, ctx.place))
        .map((s) => `${s.place.transport}:${s.place.network}:${s.place.channel}`),
    );
    const elsewhere = others.size > 0 ? `; ${plural(others.size, 'other place')} get events` : '';
    const reply =
      mine.length === 0
        ? `${here(ctx)} gets no events${elsewhere}`
        : `${here(ctx)} gets events of ${mine.map(show).join('; ')}${elsewhere}`;
    return { reply, lines: mine.map(show), detail: 'List event subscriptions' };
  },
});

export const group: CommandGroup = {
  name: 'events',
  summary:
    'libvirt events in this channel: crashes, starts and stops outside virtbot, devices, hosts lost and back',
  commands: [on, off, list],
};
