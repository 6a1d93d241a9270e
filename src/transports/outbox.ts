/**
 * A flood-controlled outgoing queue (token bucket): up to `burst` items at once, then `rate`
 * items per second. FIFO, so replies keep their order. Paused while disconnected; items queued
 * meanwhile go out after the reconnect. irc-framework has no flood control of its own.
 */

export interface OutboxOptions {
  /** Items that may be sent back to back. */
  burst: number;
  /** Items per second after the burst. */
  rate: number;
  /** Oldest items are dropped beyond this many queued (default 2000). */
  maxQueue?: number;
  /** Called with how many items were dropped because the queue was full. */
  onDrop?: (count: number) => void;
  now?: () => number;
}

export class Outbox<T> {
  private readonly queue: T[] = [];
  private tokens: number;
  private last: number;
  private timer: NodeJS.Timeout | undefined;
  private paused = true;
  private closed = false;
  private idleWaiters: Array<() => void> = [];
  private readonly now: () => number;

  constructor(
    private readonly send: (item: T) => void,
    private readonly options: OutboxOptions,
  ) {
    if (!(options.burst >= 1) || !(options.rate > 0))
      throw new RangeError('outbox needs burst >= 1 and rate > 0');
    this.now = options.now ?? (() => performance.now());
    this.tokens = options.burst;
    this.last = this.now();
  }

  get size(): number {
    return this.queue.length;
  }

  push(...items: T[]): void {
    if (this.closed) return;
    this.queue.push(...items);
    const max = this.options.maxQueue ?? 2000;
    if (this.queue.length > max) {
      const dropped = this.queue.length - max;
      this.queue.splice(0, dropped);
      this.options.onDrop?.(dropped);
    }
    this.pump();
  }

  /** Stop sending (disconnected); queued items stay. */
  pause(): void {
    this.paused = true;
    this.clearTimer();
  }

  /** Start sending (connected). The bucket starts full again only after a pause long enough to refill it. */
  resume(): void {
    if (this.closed) return;
    this.paused = false;
    this.pump();
  }

  /** Drops everything queued. */
  clear(): void {
    this.queue.length = 0;
    this.notifyIdle();
  }

  close(): void {
    this.closed = true;
    this.pause();
    this.clear();
  }

  /** Resolves when the queue is empty. */
  idle(): Promise<void> {
    if (this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private refill(): void {
    const now = this.now();
    this.tokens = Math.min(this.options.burst, this.tokens + ((now - this.last) / 1000) * this.options.rate);
    this.last = now;
  }

  private pump(): void {
    if (this.paused || this.timer) return;
    this.refill();
    while (this.queue.length > 0 && this.tokens >= 1 && !this.paused) {
      this.tokens -= 1;
      const item = this.queue.shift() as T;
      this.send(item);
    }
    if (this.queue.length === 0) {
      this.notifyIdle();
      return;
    }
    if (this.paused) return;
    const wait = Math.max(1, Math.ceil(((1 - this.tokens) / this.options.rate) * 1000));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.pump();
    }, wait);
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
