/**
 * Events in chat: each HostEvent goes to the places whose subscriptions match its host, VM and
 * kind, said once per place:
 *
 *  - an event one of virtbot's own changes explains is linked to it ("web01 on lab stopped — by
 *    royce's `vm stop`, 12:03 UTC"), and not posted at all where that command was said (its reply
 *    is there already);
 *  - a storm is coalesced: events of a place are gathered for `coalesceMs` after the first (which
 *    goes out at once when the place was quiet), and three or more of one kind on one host become
 *    one line ("12 VMs on prod-1 stopped: a, b, c, …");
 *  - each place gets at most `burst` lines per `perSeconds` (IRC flood limits); what does not fit
 *    waits, and when more is waiting than fits, the last line sums it up ("… and 9 more: …");
 *  - where a meeting is open, each line is also an item of its minutes.
 */
import { globToRegExp } from '../auth/glob.js';
import { placeKey } from '../core/place.js';
import type { AuditRecord, Place, Reply } from '../core/types.js';
import type { OwnChange, OwnChanges } from './own-changes.js';
import type { EventKind, EventSource, HostEvent, Subscription } from './types.js';

export interface EventLimits {
  /** Gather a place's events this long after the first before posting them. */
  coalesceMs: number;
  /** This many or more of one kind on one host become one line. */
  coalesceAt: number;
  /** At most `burst` lines per `perSeconds` in one place. */
  burst: number;
  perSeconds: number;
}

export interface RouterDeps {
  subscriptions(): Subscription[];
  ownChanges: OwnChanges;
  announce(place: Place, replies: Reply[]): Promise<void>;
  /** The meetings engine's `recordOperation`: an item in the meeting open in that place, if any. */
  minutes?(placeKey: string, record: AuditRecord, line: string): Promise<void>;
  limits(): EventLimits;
  botNick: string;
  now(): Date;
  warn(error: unknown, what: string): void;
}

interface Queued {
  event: HostEvent;
  own: OwnChange | undefined;
}

interface PlaceState {
  place: Place;
  queue: Queued[];
  timer: NodeJS.Timeout | undefined;
  /** Times (ms) of the lines posted lately, for the budget. */
  sent: number[];
  /** When the last batch went out (ms), to tell a quiet place from a busy one. */
  lastFlush: number;
}

let sequence = 0;

export class EventRouter {
  private readonly places = new Map<string, PlaceState>();
  private readonly posting = new Set<Promise<void>>();

  constructor(private readonly deps: RouterDeps) {}

  attach(source: EventSource): () => void {
    return source.subscribe((event) => this.handle(event));
  }

  /** Routes one event to the places that want it (posting is asynchronous: see `idle`). */
  handle(event: HostEvent): void {
    const own = this.deps.ownChanges.explain(event);
    const seen = new Set<string>();
    for (const sub of this.deps.subscriptions()) {
      if (!matches(sub, event)) continue;
      const key = placeKey(sub.place);
      if (seen.has(key) || (own && own.placeKey === key)) continue;
      seen.add(key);
      this.enqueue(key, sub.place, { event, own });
    }
  }

  private enqueue(key: string, place: Place, item: Queued): void {
    let state = this.places.get(key);
    if (!state) {
      state = { place, queue: [], timer: undefined, sent: [], lastFlush: Number.NEGATIVE_INFINITY };
      this.places.set(key, state);
    }
    state.queue.push(item);
    if (state.timer) return;
    const { coalesceMs } = this.deps.limits();
    const now = this.deps.now().getTime();
    const quiet = state.queue.length === 1 && now - state.lastFlush >= coalesceMs;
    if (quiet && this.budget(state, now) > 0) this.track(this.flushPlace(state));
    else
      state.timer = setTimeout(
        () => this.track(this.flushPlace(state)),
        Math.max(coalesceMs, this.wait(state, now)),
      );
  }

  /** Lines this place may still post now. */
  private budget(state: PlaceState, now: number): number {
    const { burst, perSeconds } = this.deps.limits();
    state.sent = state.sent.filter((t) => t > now - perSeconds * 1000);
    return Math.max(0, burst - state.sent.length);
  }

  /** How long until the place may post again. */
  private wait(state: PlaceState, now: number): number {
    const { burst, perSeconds } = this.deps.limits();
    if (this.budget(state, now) > 0) return 0;
    const oldest = state.sent[state.sent.length - burst] ?? now;
    return Math.max(0, oldest + perSeconds * 1000 - now);
  }

  private track(job: Promise<void>): void {
    this.posting.add(job);
    void job.finally(() => this.posting.delete(job));
  }

  private async flushPlace(state: PlaceState, force = false): Promise<void> {
    if (state.timer) clearTimeout(state.timer);
    state.timer = undefined;
    if (state.queue.length === 0) return;
    const now = this.deps.now().getTime();
    const budget = force ? Math.max(1, this.budget(state, now)) : this.budget(state, now);
    if (budget === 0) {
      state.timer = setTimeout(() => this.track(this.flushPlace(state)), this.wait(state, now));
      return;
    }
    const limits = this.deps.limits();
    const items = state.queue.splice(0);
    let lines = coalesce(items, limits.coalesceAt);
    if (lines.length > budget) {
      const posted = lines.slice(0, budget - 1);
      const rest = items.filter((i) => !posted.some((l) => l.items.includes(i)));
      lines = [...posted, summary(rest)];
    }
    state.lastFlush = now;
    for (const _ of lines) state.sent.push(now);
    const replies: Reply[] = lines.map((l) => ({ text: l.text, kind: 'reply' }));
    try {
      await this.deps.announce(state.place, replies);
    } catch (error) {
      this.deps.warn(error, 'events could not be posted');
    }
    for (const line of lines) await this.minute(state.place, line);
  }

  private async minute(place: Place, line: Line): Promise<void> {
    if (!this.deps.minutes || place.private) return;
    const first = line.items[0]!.event;
    const time = this.deps.now();
    const record: AuditRecord = {
      id: `ev-${time.getTime().toString(36)}-${(sequence++).toString(36)}`,
      time: first.time.toISOString(),
      transport: place.transport,
      network: place.network,
      channel: place.channel,
      user: null,
      nick: this.deps.botNick,
      proof: 'event',
      command: `event ${first.kind}`,
      outcome: 'ok',
      detail: line.text,
      host: first.host,
      ...(first.vm !== undefined ? { vm: first.vm } : {}),
    };
    await this.deps
      .minutes(placeKey(place), record, line.text)
      .catch((error: unknown) => this.deps.warn(error, 'an event could not be added to the minutes'));
  }

  /** Posts everything waiting now, within the places' budgets (at least one line each). */
  async flush(): Promise<void> {
    for (const state of this.places.values())
      if (state.queue.length > 0) this.track(this.flushPlace(state, true));
    await this.idle();
  }

  /** Resolves when nothing is being posted. */
  async idle(): Promise<void> {
    while (this.posting.size > 0) await Promise.all([...this.posting]);
  }

  /** Lines waiting (not yet posted) in a place. */
  waiting(place: Place): number {
    return this.places.get(placeKey(place))?.queue.length ?? 0;
  }

  close(): void {
    for (const state of this.places.values()) if (state.timer) clearTimeout(state.timer);
  }
}

function matches(sub: Subscription, event: HostEvent): boolean {
  if (!sub.kinds.includes(event.kind)) return false;
  if (!globToRegExp(sub.host, 'i').test(event.host)) return false;
  // Host events concern every VM of the host: they go to every subscription of that host.
  return event.vm === undefined || globToRegExp(sub.vm, 'i').test(event.vm);
}

interface Line {
  text: string;
  items: Queued[];
}

const VERB: Record<EventKind, string> = {
  started: 'started',
  stopped: 'stopped',
  crashed: 'crashed',
  suspended: 'was suspended',
  resumed: 'resumed',
  defined: 'was defined',
  undefined: 'was undefined',
  'device-added': 'got a device',
  'device-removed': 'released a device',
  'host-lost': 'lost',
  'host-back': 'back',
};

export function clock(time: Date): string {
  return `${time.toISOString().slice(11, 16)} UTC`;
}

/** One event as a line. */
export function describeEvent(event: HostEvent, own?: OwnChange): string {
  const when = clock(event.time);
  if (event.kind === 'host-lost')
    return `host ${event.host} lost${event.detail ? `: ${event.detail}` : ''} (${when})`;
  if (event.kind === 'host-back')
    return `host ${event.host} is back${event.detail ? `: ${event.detail}` : ''} (${when})`;
  const device = event.kind === 'device-added' || event.kind === 'device-removed';
  const verb = device ? (event.kind === 'device-added' ? 'got device' : 'released device') : VERB[event.kind];
  const what = `${event.vm} on ${event.host} ${verb}${device && event.detail ? ` ${event.detail}` : ''}`;
  const detail = !device && event.detail ? event.detail : undefined;
  if (own)
    return `${what}${detail ? ` (${detail})` : ''} — by ${own.who}'s \`${own.path}\`, ${clock(own.time)}`;
  const outside = event.kind === 'started' || event.kind === 'stopped' ? ' outside virtbot' : '';
  return `${what}${outside} (${detail ? `${detail}, ` : ''}${when})`;
}

function coalesce(items: Queued[], at: number): Line[] {
  const groups = new Map<string, Queued[]>();
  for (const item of items) {
    const { host, kind, vm } = item.event;
    // VM events group by host, kind and whether virtbot caused them; a host's own event stays a line of its own.
    const key =
      vm === undefined ? `host ${host} ${kind} ${groups.size}` : `${host} ${kind} ${item.own ? 'own' : ''}`;
    const group = groups.get(key) ?? [];
    group.push(item);
    groups.set(key, group);
  }
  const lines: Line[] = [];
  for (const group of groups.values()) {
    if (group.length < at) {
      for (const item of group) lines.push({ text: describeEvent(item.event, item.own), items: [item] });
      continue;
    }
    const { host, kind } = group[0]!.event;
    const names = [...new Set(group.map((g) => g.event.vm!))];
    const shown = names.length > 8 ? `${names.slice(0, 8).join(', ')}, …` : names.join(', ');
    const from = clock(group[0]!.event.time);
    const to = clock(group.at(-1)!.event.time);
    const span = from === to ? from : `${from.replace(' UTC', '')}–${to}`;
    const by = group[0]!.own ? ' — by virtbot commands' : '';
    lines.push({
      text: `${names.length} VMs on ${host} ${VERB[kind]}: ${shown}${by} (${span})`,
      items: group,
    });
  }
  return lines;
}

function summary(rest: Queued[]): Line {
  const counts = new Map<string, number>();
  const hosts = new Set<string>();
  for (const { event } of rest) {
    counts.set(event.kind, (counts.get(event.kind) ?? 0) + 1);
    hosts.add(event.host);
  }
  const parts = [...counts].map(([kind, n]) => `${n} ${kind}`);
  return {
    text: `… and ${rest.length} more events on ${[...hosts].join(', ')}: ${parts.join(', ')} (too many to post here; 'vm list' shows the states)`,
    items: rest,
  };
}
