/**
 * A flood-controlled, fair outgoing queue.
 *
 * - Rate: a token bucket for the whole connection (up to `burst` items at once, then `rate`
 *   items per second), which is what a server's own flood control counts.
 * - Pacing per target: an item may also count against a sliding window (a channel's `+f lines:secs`,
 *   see irc.ts), and waits while that window is full. Other targets go on meanwhile.
 * - Fairness: items are queued per requester (a lane). Lanes take turns, one item each, round
 *   robin; all anonymous requesters together take one turn, so that a crowd of unidentified
 *   people (or one changing nicks) cannot starve an identified one. Within a lane, order is kept.
 *
 * Paused while disconnected; items queued meanwhile go out after the reconnect.
 */

export interface OutboxOptions<T> {
  /** Items that may be sent back to back. */
  burst: number;
  /** Items per second after the burst. */
  rate: number;
  /** Oldest items (of the longest lane) are dropped beyond this many queued (default 2000). */
  maxQueue?: number;
  /** Called with how many items were dropped because the queue was full. */
  onDrop?: (count: number) => void;
  /** The window an item counts against, if any: at most `lines` items per `ms` for `key`. */
  windowOf?: (item: T) => { key: string; lines: number; ms: number } | undefined;
  now?: () => number;
}

/** Who an item is sent for. */
export interface Requester {
  key: string;
  /** Unidentified: all of them share one turn. */
  anonymous?: boolean;
}

const ANONYMOUS_TURN = '\u0000anonymous';

export class Outbox<T> {
  private readonly lanes = new Map<string, T[]>();
  /** Turn order: identified lane keys and ANONYMOUS_TURN, front goes next. */
  private turns: string[] = [];
  /** Turn order among the anonymous lanes. */
  private anonymousTurns: string[] = [];
  private readonly windows = new Map<string, number[]>();
  private count = 0;
  private tokens: number;
  private last: number;
  private timer: NodeJS.Timeout | undefined;
  private paused = true;
  private closed = false;
  private idleWaiters: Array<() => void> = [];
  private readonly now: () => number;

  constructor(
    private readonly send: (item: T) => void,
    private readonly options: OutboxOptions<T>,
  ) {
    if (!(options.burst >= 1) || !(options.rate > 0))
      throw new RangeError('outbox needs burst >= 1 and rate > 0');
    this.now = options.now ?? (() => performance.now());
    this.tokens = options.burst;
    this.last = this.now();
  }

  get size(): number {
    return this.count;
  }

  /** New flood control limits (configuration reloaded). */
  setRate(burst: number, rate: number): void {
    if (!(burst >= 1) || !(rate > 0)) throw new RangeError('outbox needs burst >= 1 and rate > 0');
    this.options.burst = burst;
    this.options.rate = rate;
    this.tokens = Math.min(this.tokens, burst);
  }

  /** Queues items for the default requester. */
  push(...items: T[]): void {
    this.enqueue({ key: '' }, items);
  }

  /** Queues items for a requester, after that requester's earlier items. */
  enqueue(from: Requester, items: readonly T[]): void {
    if (this.closed || items.length === 0) return;
    const key = from.anonymous ? `anon:${from.key}` : `id:${from.key}`;
    let lane = this.lanes.get(key);
    if (!lane) {
      lane = [];
      this.lanes.set(key, lane);
      if (from.anonymous) {
        this.anonymousTurns.push(key);
        if (!this.turns.includes(ANONYMOUS_TURN)) this.turns.push(ANONYMOUS_TURN);
      } else {
        this.turns.push(key);
      }
    }
    lane.push(...items);
    this.count += items.length;
    this.trim();
    this.pump();
  }

  /** Stop sending (disconnected); queued items stay. */
  pause(): void {
    this.paused = true;
    this.clearTimer();
  }

  /** Start sending (connected). */
  resume(): void {
    if (this.closed) return;
    this.paused = false;
    this.pump();
  }

  /** Drops everything queued. */
  clear(): void {
    this.lanes.clear();
    this.turns = [];
    this.anonymousTurns = [];
    this.count = 0;
    this.notifyIdle();
  }

  close(): void {
    this.closed = true;
    this.pause();
    this.clear();
  }

  /** Resolves when the queue is empty. */
  idle(): Promise<void> {
    if (this.count === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private trim(): void {
    const max = this.options.maxQueue ?? 2000;
    if (this.count <= max) return;
    let dropped = 0;
    while (this.count > max) {
      let longest: T[] | undefined;
      for (const lane of this.lanes.values()) if (!longest || lane.length > longest.length) longest = lane;
      if (!longest || longest.length === 0) break;
      longest.shift();
      this.count -= 1;
      dropped += 1;
    }
    for (const [key, lane] of [...this.lanes]) if (lane.length === 0) this.removeLane(key);
    this.options.onDrop?.(dropped);
  }

  private removeLane(key: string): void {
    this.lanes.delete(key);
    this.anonymousTurns = this.anonymousTurns.filter((k) => k !== key);
    this.turns = this.turns.filter(
      (k) => k !== key && (k !== ANONYMOUS_TURN || this.anonymousTurns.length > 0),
    );
  }

  private refill(): void {
    const now = this.now();
    this.tokens = Math.min(this.options.burst, this.tokens + ((now - this.last) / 1000) * this.options.rate);
    this.last = now;
  }

  /** 0 when the item may go now, else how many ms until its window has room. */
  private windowWait(item: T, now: number): number {
    const window = this.options.windowOf?.(item);
    if (!window) return 0;
    const sent = this.windows.get(window.key);
    if (!sent) return 0;
    while (sent.length > 0 && now - sent[0]! >= window.ms) sent.shift();
    if (sent.length < window.lines) return 0;
    return Math.max(1, Math.ceil(sent[0]! + window.ms - now));
  }

  private recordWindow(item: T, now: number): void {
    const window = this.options.windowOf?.(item);
    if (!window) return;
    let sent = this.windows.get(window.key);
    if (!sent) {
      sent = [];
      this.windows.set(window.key, sent);
    }
    sent.push(now);
  }

  /** The next sendable item by turn; `wait` is the shortest time until a blocked one may go. */
  private take(now: number): { item?: T; wait: number } {
    let wait = Number.POSITIVE_INFINITY;
    for (let t = 0; t < this.turns.length; t++) {
      const turn = this.turns[t]!;
      const candidates = turn === ANONYMOUS_TURN ? this.anonymousTurns : [turn];
      for (let c = 0; c < candidates.length; c++) {
        const key = candidates[c]!;
        const lane = this.lanes.get(key)!;
        const blocked = this.windowWait(lane[0]!, now);
        if (blocked > 0) {
          wait = Math.min(wait, blocked);
          continue;
        }
        const item = lane.shift()!;
        this.count -= 1;
        if (turn === ANONYMOUS_TURN) this.rotate(this.anonymousTurns, c, lane.length === 0, key);
        const laneDone = lane.length === 0;
        if (laneDone) this.lanes.delete(key);
        const turnDone = turn === ANONYMOUS_TURN ? this.anonymousTurns.length === 0 : laneDone;
        this.rotate(this.turns, t, turnDone, turn);
        return { item, wait: 0 };
      }
    }
    return { wait };
  }

  /** Moves the entry at `index` to the back (its turn is over), or removes it when it has nothing left. */
  private rotate(order: string[], index: number, done: boolean, key: string): void {
    order.splice(index, 1);
    if (!done) order.push(key);
  }

  private pump(): void {
    if (this.paused || this.timer) return;
    this.refill();
    let wait = 0;
    while (this.count > 0 && !this.paused) {
      if (this.tokens < 1) {
        wait = Math.max(1, Math.ceil(((1 - this.tokens) / this.options.rate) * 1000));
        break;
      }
      const now = this.now();
      const next = this.take(now);
      if (next.item === undefined) {
        wait = next.wait;
        break;
      }
      this.tokens -= 1;
      this.recordWindow(next.item, now);
      this.send(next.item);
    }
    if (this.count === 0) {
      this.notifyIdle();
      return;
    }
    if (this.paused || !Number.isFinite(wait)) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.pump();
      },
      Math.max(1, wait),
    );
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
