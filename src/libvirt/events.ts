/**
 * libvirt's domain events for one host, as a typed stream: one long-lived `virsh event --all
 * --loop --timestamp` beside the command shell (over SSH a second exec channel on the same
 * connection; locally a second process), parsed into HostEvent values and restarted, with
 * backoff, whenever it dies. Subscribers also hear `host-lost` / `host-back` (the Hypervisor
 * emits them when the connection to the host goes and comes back) and `stream-gap` (the stream
 * was down for a while: events may have been missed, look again).
 *
 * libvirt's test driver (`test:///…`) keeps its state per connection: a second virsh process
 * would watch a fresh default of its own and never see the shell's changes. On test:/// there
 * is no event stream (`available` is false) and nothing waits for one: every device change on
 * the test driver completes before its command returns (it cannot hotplug).
 */
import type { ShellProcess } from './virsh-shell.js';

export type HostEvent =
  | { type: 'lifecycle'; domain: string; time: Date; event: string; detail: string }
  | { type: 'device-added'; domain: string; time: Date; alias: string }
  | { type: 'device-removed'; domain: string; time: Date; alias: string }
  | { type: 'device-removal-failed'; domain: string; time: Date; alias: string }
  | { type: 'job-completed'; domain: string; time: Date; fields: Record<string, string> }
  | { type: 'metadata-change'; domain: string; time: Date; kind: string; uri: string }
  /** Any other domain event virsh prints (reboot, balloon-change, tray-change, …). */
  | { type: 'domain'; name: string; domain: string; time: Date; detail: string }
  | { type: 'host-lost'; time: Date; reason: string }
  | { type: 'host-back'; time: Date }
  | { type: 'stream-gap'; time: Date; since: Date };

export type DomainEvent = Extract<HostEvent, { domain: string }>;

/** "2026-12-01 20:42:29.801+0000" (virTimeStringNowRaw) as a Date. */
function parseTimestamp(text: string): Date | undefined {
  const m = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d(?:\.\d+)?)([+-]\d\d)(\d\d)$/.exec(text);
  if (!m) return undefined;
  const date = new Date(`${m[1]}T${m[2]}${m[3]}:${m[4]}`);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

const HEAD =
  /^(?:(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?[+-]\d{4}): )?event '([a-z0-9-]+)' for domain '(.*)'$/;
const HEAD_DETAIL =
  /^(?:(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?[+-]\d{4}): )?event '([a-z0-9-]+)' for domain '(.*?)':(?: (.*))?$/;

/** Events whose details follow on the next lines. */
const MULTI_LINE = new Set([
  'tunable',
  'job-completed',
  'graphics',
  'memory-failure',
  'memory-device-size-change',
  'nic-mac-change',
]);

function build(name: string, domain: string, time: Date, detail: string, extra: string[]): DomainEvent {
  switch (name) {
    case 'lifecycle': {
      const [event = '', ...rest] = detail.split(' ');
      return { type: 'lifecycle', domain, time, event, detail: rest.join(' ') };
    }
    case 'device-added':
    case 'device-removed':
    case 'device-removal-failed':
      return { type: name, domain, time, alias: detail.trim() };
    case 'job-completed': {
      const fields: Record<string, string> = {};
      for (const line of extra) {
        const m = /^\s*([^:]+):\s?(.*)$/.exec(line);
        if (m) fields[m[1]!.trim()] = m[2]!;
      }
      return { type: 'job-completed', domain, time, fields };
    }
    case 'metadata-change': {
      const m = /^type (\S+), uri (.*)$/.exec(detail);
      return { type: 'metadata-change', domain, time, kind: m?.[1] ?? '', uri: m?.[2] ?? '' };
    }
    default:
      return {
        type: 'domain',
        name,
        domain,
        time,
        detail: [detail, ...extra.map((l) => l.trim())].filter(Boolean).join('; '),
      };
  }
}

/**
 * Turns virsh's event output, in chunks as they come, into events. A multi-line event is
 * complete when the next line is not one of its continuation lines, or at `flush()`.
 */
export class EventParser {
  private buffer = '';
  private pending: { name: string; domain: string; time: Date; detail: string; extra: string[] } | undefined;

  constructor(
    private readonly emit: (event: DomainEvent) => void,
    private readonly now: () => Date = () => new Date(),
  ) {}

  push(chunk: string): void {
    this.buffer += chunk;
    for (let nl = this.buffer.indexOf('\n'); nl >= 0; nl = this.buffer.indexOf('\n')) {
      const line = this.buffer.slice(0, nl).replace(/\r$/, '');
      this.buffer = this.buffer.slice(nl + 1);
      this.line(line);
    }
    // Single-line events are complete as soon as their line is; multi-line ones wait for flush().
  }

  /** End of a burst of output: a pending multi-line event is complete. */
  flush(): void {
    const p = this.pending;
    this.pending = undefined;
    if (p) this.emit(build(p.name, p.domain, p.time, p.detail, p.extra));
  }

  private line(line: string): void {
    const head = HEAD.exec(line) ?? HEAD_DETAIL.exec(line);
    if (!head) {
      if (this.pending && line.trim() !== '' && !line.startsWith('virsh # ')) this.pending.extra.push(line);
      return;
    }
    this.flush();
    const [, stamp, name, domain, detail] = head;
    const time = (stamp !== undefined ? parseTimestamp(stamp) : undefined) ?? this.now();
    if (MULTI_LINE.has(name!)) {
      this.pending = { name: name!, domain: domain!, time, detail: detail ?? '', extra: [] };
      return;
    }
    this.emit(build(name!, domain!, time, detail ?? '', []));
  }
}

export type EventListener = (event: HostEvent) => void;

export interface HostEventsOptions {
  /** First restart delay (ms) after the stream dies; doubles up to maxBackoffMs. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** May the stream (re)start now? (Not while the host is down.) */
  allowed?: () => boolean;
}

/** The event stream of one host. */
export class HostEvents {
  private readonly listeners = new Set<EventListener>();
  private proc: ShellProcess | undefined;
  private starting: Promise<void> | undefined;
  private ready: Promise<void> | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private closed = false;
  private lostAt: Date | undefined;
  /** Streams started so far (for tests and diagnostics). */
  starts = 0;

  constructor(
    readonly host: string,
    /** Starts an interactive `virsh -q -c URI` for the stream; undefined when there is none (test:///). */
    private readonly spawn: (() => Promise<ShellProcess>) | undefined,
    private readonly options: HostEventsOptions = {},
  ) {}

  /** False on libvirt's test driver: no events can be seen (see the file's head). */
  get available(): boolean {
    return this.spawn !== undefined;
  }

  /** Hear every event; returns the function that stops listening. */
  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Tell every subscriber (the Hypervisor emits host-lost / host-back this way). */
  emit(event: HostEvent): void {
    for (const l of [...this.listeners]) {
      try {
        l(event);
      } catch {
        // A subscriber's failure is its own.
      }
    }
  }

  /**
   * Start the stream (idempotent); resolves when virsh has connected and begun listening, or
   * rejects when it could not (it is retried in the background either way).
   */
  start(): Promise<void> {
    if (!this.spawn || this.closed) return Promise.resolve();
    if (this.proc) return this.ready ?? Promise.resolve();
    if (!this.starting) {
      this.starting = this.startOnce().finally(() => {
        this.starting = undefined;
      });
      this.starting.catch(() => this.scheduleRestart());
    }
    return this.starting;
  }

  /** The first event for which `accept` is true, or undefined after `timeoutMs`. */
  waitFor<E extends HostEvent>(accept: (e: HostEvent) => e is E, timeoutMs: number): Promise<E | undefined>;
  waitFor(accept: (e: HostEvent) => boolean, timeoutMs: number): Promise<HostEvent | undefined>;
  waitFor(accept: (e: HostEvent) => boolean, timeoutMs: number): Promise<HostEvent | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        stop();
        resolve(undefined);
      }, timeoutMs);
      timer.unref();
      const stop = this.subscribe((e) => {
        if (!accept(e)) return;
        clearTimeout(timer);
        stop();
        resolve(e);
      });
    });
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.restartTimer);
    this.proc?.kill();
    this.proc = undefined;
    this.listeners.clear();
  }

  private async startOnce(): Promise<void> {
    const proc = await this.spawn!();
    if (this.closed) {
      proc.kill();
      return;
    }
    this.starts++;
    const parser = new EventParser((e) => this.emit(e));
    let out = '';
    let err = '';
    let listening = false;
    let resolveReady: () => void = () => {};
    let rejectReady: (e: Error) => void = () => {};
    const ready = new Promise<void>((resolve, reject) => {
      resolveReady = resolve;
      rejectReady = reject;
    });
    ready.catch(() => undefined);
    const command = 'event --all --loop --timestamp';
    proc.onStdout((chunk) => {
      if (listening) {
        parser.push(chunk);
        setImmediate(() => parser.flush());
        return;
      }
      out += chunk;
      const at = out.indexOf(`virsh # ${command}\n`);
      if (at < 0) return;
      listening = true;
      this.failures = 0;
      resolveReady();
      if (this.lostAt) {
        const since = this.lostAt;
        this.lostAt = undefined;
        this.emit({ type: 'stream-gap', time: new Date(), since });
      }
      const rest = out.slice(at + command.length + 9);
      out = '';
      if (rest) parser.push(rest);
    });
    proc.onStderr((chunk) => {
      err += chunk;
      if (err.length > 4096) err = err.slice(-4096);
    });
    proc.onClose((reason) => {
      if (this.proc === proc) this.proc = undefined;
      parser.flush();
      const said = err
        .split('\n')
        .filter((l) => l.startsWith('error: '))
        .map((l) => l.slice(7))
        .join(': ');
      rejectReady(new Error(`the event stream of ${this.host} ${reason}${said ? `: ${said}` : ''}`));
      if (this.closed) return;
      this.lostAt ??= new Date();
      this.scheduleRestart();
    });
    this.proc = proc;
    this.ready = ready;
    proc.write(`uri\n${command}\n`);
    return ready;
  }

  private scheduleRestart(): void {
    if (this.closed || this.restartTimer || this.proc) return;
    this.failures++;
    const base = this.options.backoffMs ?? 250;
    const delay = Math.min(this.options.maxBackoffMs ?? 30_000, base * 2 ** (this.failures - 1));
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.closed) return;
      if (this.options.allowed && !this.options.allowed()) {
        this.scheduleRestart();
        return;
      }
      void this.start().catch(() => undefined);
    }, delay);
    this.restartTimer.unref();
  }
}
