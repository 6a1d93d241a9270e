/**
 * A circuit breaker per host. When virtbot cannot reach a host (virsh will not start, SSH refuses
 * the key, nothing answers), the host is `down`: every call to it fails at once with
 * HostDownError ("lab unreachable since 12:03, next try in 14 s: <reason>") instead of waiting
 * out a reconnect, and a background try reconnects it with exponential backoff and jitter. A
 * call never waits for a try, so a broken host never slows a command, on it or on any other
 * host. Failures of single commands on a reachable host (a timeout on a stuck VM) do not count.
 */
import { type Plain, type PlainError, plainError } from './virsh/errors.js';
import { VirshConnectionError } from './virsh-shell.js';

export type HealthState = 'idle' | 'up' | 'down';

export interface HostHealthView {
  host: string;
  /** idle: not contacted yet; up: the last contact worked; down: unreachable. */
  state: HealthState;
  /** When it went down (or came up). */
  since?: Date;
  /** When down: the next background try. */
  nextTry?: Date;
  /** When down: why, in plain words. */
  reason?: string;
  code?: string;
  /** When down: a try is running now. */
  trying?: boolean;
}

function clock(date: Date): string {
  return `${String(date.getHours()).padStart(2, '0')}:${String(date.getMinutes()).padStart(2, '0')}`;
}

/**
 * The host is down: nothing was sent to it. A VirshConnectionError, so that code which reports
 * connection failures reports this one too; unlike its parent, the outcome is known (not done).
 */
export class HostDownError extends VirshConnectionError implements Plain {
  constructor(
    readonly host: string,
    readonly since: Date,
    readonly nextTry: Date | undefined,
    readonly reason: PlainError,
    now: Date,
    readonly trying = false,
  ) {
    const next =
      trying || nextTry === undefined
        ? 'trying again now'
        : `next try in ${Math.max(1, Math.ceil((nextTry.getTime() - now.getTime()) / 1000))} s`;
    super(`${host} unreachable since ${clock(since)}, ${next}: ${reason.message}`);
    this.name = 'HostDownError';
  }

  plain(): PlainError {
    return { code: 'HOST_DOWN', message: this.message };
  }
}

export interface HealthOptions {
  /** First retry delay (ms); doubles per failed try up to maxBackoffMs. */
  backoffMs?: number;
  maxBackoffMs?: number;
  now?: () => number;
  random?: () => number;
  /** Runs `fn` after `ms` (tests run it by hand and await it); returns a cancel function. */
  schedule?: (fn: () => Promise<void>, ms: number) => () => void;
}

function defaultSchedule(fn: () => Promise<void>, ms: number): () => void {
  const timer = setTimeout(() => void fn(), ms);
  timer.unref();
  return () => clearTimeout(timer);
}

export type HealthListener = (view: HostHealthView, previous: HealthState) => void;

export class HostHealth {
  private state: HealthState = 'idle';
  private since: Date | undefined;
  private nextTry: Date | undefined;
  private reason: PlainError | undefined;
  private failures = 0;
  private trying = false;
  private cancel: (() => void) | undefined;
  private closed = false;
  private readonly listeners: HealthListener[] = [];
  private readonly now: () => number;

  constructor(
    readonly host: string,
    /** Tries to reach the host (bypassing the breaker); resolves when it is reachable. */
    private readonly probe: () => Promise<void>,
    private readonly options: HealthOptions = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  /** Throws HostDownError while the host is down. */
  gate(): void {
    if (this.state === 'down') throw this.downError(undefined);
  }

  get isDown(): boolean {
    return this.state === 'down';
  }

  /** A contact with the host worked. */
  succeeded(): void {
    this.failures = 0;
    this.cancel?.();
    this.cancel = undefined;
    this.nextTry = undefined;
    this.reason = undefined;
    if (this.state !== 'up') this.transition('up');
  }

  /** Reaching the host failed: it is down; returns the HostDownError a caller gets. */
  failed(error: unknown): HostDownError {
    // Calls that were already under way when the host went down change nothing.
    if (this.state === 'down' && this.cancel !== undefined) return this.downError(error);
    this.failures++;
    this.reason = plainError(error);
    const base = this.options.backoffMs ?? 500;
    const max = this.options.maxBackoffMs ?? 30_000;
    const jitter = 0.8 + 0.4 * (this.options.random ?? Math.random)();
    const delay = Math.round(Math.min(max, base * 2 ** (this.failures - 1)) * jitter);
    this.nextTry = new Date(this.now() + delay);
    if (this.state !== 'down') this.transition('down');
    this.cancel?.();
    if (!this.closed) this.cancel = (this.options.schedule ?? defaultSchedule)(() => this.retry(), delay);
    return this.downError(error);
  }

  private downError(cause: unknown): HostDownError {
    const down = new HostDownError(
      this.host,
      this.since!,
      this.nextTry,
      this.reason!,
      new Date(this.now()),
      this.trying,
    );
    if (cause !== undefined) (down as { cause?: unknown }).cause = cause;
    return down;
  }

  /** The background try. */
  private async retry(): Promise<void> {
    this.cancel = undefined;
    if (this.closed || this.state !== 'down' || this.trying) return;
    this.trying = true;
    try {
      await this.probe();
      this.trying = false;
      this.succeeded();
    } catch (error) {
      this.trying = false;
      this.cancel = undefined;
      if (!this.closed) this.failed(error);
    }
  }

  view(): HostHealthView {
    const view: HostHealthView = { host: this.host, state: this.state };
    if (this.since) view.since = this.since;
    if (this.state === 'down') {
      if (this.nextTry) view.nextTry = this.nextTry;
      if (this.reason) {
        view.reason = this.reason.message;
        view.code = this.reason.code;
      }
      view.trying = this.trying;
    }
    return view;
  }

  onChange(listener: HealthListener): void {
    this.listeners.push(listener);
  }

  close(): void {
    this.closed = true;
    this.cancel?.();
    this.cancel = undefined;
  }

  private transition(to: HealthState): void {
    const previous = this.state;
    this.state = to;
    this.since = new Date(this.now());
    const view = this.view();
    for (const l of this.listeners) l(view, previous);
  }
}
