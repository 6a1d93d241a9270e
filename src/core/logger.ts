import { closeSync, fsyncSync, mkdirSync, openSync, write, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { type DestinationStream, type Logger, pino } from 'pino';

const SECRET_KEY = /^(password|passphrase|token|privatekey|secret|apikey|authorization)$/i;
const MAX_DEPTH = 10;

/**
 * Replaces secret-looking fields at any depth, so that logging a whole config section or an
 * error carrying its options cannot leak a token or a password. A literal secret in the config
 * (`{ value: …, insecure: true }`) is recognised by its shape.
 */
export function redactSecrets(value: unknown, depth = 0): unknown {
  if (depth > MAX_DEPTH || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return value;
  if (Array.isArray(value)) return value.map((v) => redactSecrets(v, depth + 1));
  const out: Record<string, unknown> = {};
  const record = value as Record<string, unknown>;
  const literalSecret = record['insecure'] === true && 'value' in record;
  for (const [key, v] of Object.entries(record)) {
    out[key] =
      SECRET_KEY.test(key) || (literalSecret && key === 'value') ? '[secret]' : redactSecrets(v, depth + 1);
  }
  return out;
}

/** Log lines held while the file is slow; past this, lines are dropped (and counted). */
const MAX_BUFFERED = 4 * 1024 * 1024;

/**
 * The log file as pino writes to it, built so that a failing file (ENOSPC, EACCES, EIO) can never
 * crash virtbot or hold up a reply: a write error is never thrown or emitted as 'error'. Lines
 * are dropped and counted while the file cannot be written; the failure is said once on stderr;
 * the next write after `retryMs` tries again, and once it works the log says how many lines were
 * lost. Without `sync`, lines are buffered (up to 4 MiB) and written in the background.
 */
export class ResilientFileDestination implements DestinationStream {
  /** Lines lost because the file could not be written or the buffer was full. */
  dropped = 0;
  private fd: number | undefined;
  private buffer: string[] = [];
  private buffered = 0;
  private writing = false;
  private failure: { code: string; at: number } | undefined;
  /** The last write stopped part way through a line: the next one starts on a fresh line. */
  private partial = false;
  private waiters: (() => void)[] = [];
  private readonly retryMs: number;

  constructor(
    readonly file: string,
    private readonly options: { sync?: boolean; retryMs?: number; stderr?: (line: string) => void } = {},
  ) {
    this.retryMs = options.retryMs ?? 1000;
    live.add(this);
  }

  /** Why the file cannot be written, when it cannot (for tests and `health`). */
  get failing(): string | undefined {
    return this.failure?.code;
  }

  write(line: string): boolean {
    if (this.failure && Date.now() - this.failure.at < this.retryMs) {
      this.dropped++;
      return true;
    }
    if (this.options.sync) {
      this.writeNow([line]);
      return true;
    }
    if (this.buffered + line.length > MAX_BUFFERED) {
      this.dropped++;
      return true;
    }
    this.buffer.push(line);
    this.buffered += line.length;
    if (!this.writing) this.drain();
    return true;
  }

  /** Calls back once everything buffered has been written (or dropped). */
  flush(callback?: (error?: Error) => void): void {
    if (!this.writing && this.buffer.length === 0) {
      callback?.();
      return;
    }
    this.waiters.push(() => callback?.());
  }

  /** Writes what is buffered now, synchronously (at exit). */
  flushSync(): void {
    const lines = this.buffer;
    this.buffer = [];
    this.buffered = 0;
    if (lines.length > 0 && !this.writing) this.writeNow(lines);
    else this.dropped += lines.length;
  }

  end(): void {
    this.flushSync();
    live.delete(this);
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private open(): number {
    if (this.fd === undefined) {
      mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 });
      this.fd = openSync(this.file, 'a', 0o600);
    }
    return this.fd;
  }

  /** Synchronous path: sync loggers, and the exit flush. */
  private writeNow(lines: string[]): void {
    try {
      const fd = this.open();
      const data = Buffer.from(this.prefix() + lines.join(''));
      let offset = 0;
      try {
        while (offset < data.length) offset += writeSync(fd, data, offset);
      } catch (error) {
        this.partial = offset > 0;
        throw error;
      }
      this.recovered();
    } catch (error) {
      this.failed(error, lines.length);
    }
  }

  private drain(): void {
    this.writing = true;
    let fd: number;
    try {
      fd = this.open();
    } catch (error) {
      this.failed(error, this.buffer.length);
      this.buffer = [];
      this.buffered = 0;
      this.idle();
      return;
    }
    const lines = this.buffer;
    this.buffer = [];
    this.buffered = 0;
    const data = Buffer.from(this.prefix() + lines.join(''));
    const step = (offset: number) => {
      write(fd, data, offset, data.length - offset, null, (error, written) => {
        if (error) {
          this.partial = offset > 0;
          this.failed(error, lines.length);
          this.dropped += this.buffer.length;
          this.buffer = [];
          this.buffered = 0;
          this.idle();
          return;
        }
        if (offset + written < data.length) return step(offset + written);
        this.recovered();
        if (this.buffer.length > 0) this.drain();
        else this.idle();
      });
    };
    step(0);
  }

  private idle(): void {
    this.writing = false;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private prefix(): string {
    let text = this.partial ? '\n' : '';
    this.partial = false;
    if (this.failure && this.dropped > 0) {
      text += `${JSON.stringify({
        level: 40,
        time: Date.now(),
        msg: `${this.dropped} log lines were dropped while ${this.file} could not be written (${this.failure.code})`,
      })}\n`;
    }
    return text;
  }

  private failed(error: unknown, lines: number): void {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    if (!this.failure) {
      (this.options.stderr ?? ((l) => process.stderr.write(l)))(
        `virtbot: the log file ${this.file} cannot be written (${code}): log lines are dropped and counted until it can be\n`,
      );
    }
    this.failure = { code, at: Date.now() };
    this.dropped += lines;
    if (this.fd !== undefined) {
      try {
        closeSync(this.fd);
      } catch {
        // Already gone.
      }
      this.fd = undefined;
    }
  }

  private recovered(): void {
    if (!this.failure) return;
    this.failure = undefined;
    this.dropped = 0;
    if (this.fd !== undefined) {
      try {
        fsyncSync(this.fd);
      } catch {
        // Best effort.
      }
    }
  }
}

/** Buffered lines are written at exit, as pino's own destination does. */
const live = new Set<ResilientFileDestination>();
process.once('exit', () => {
  for (const destination of live) destination.flushSync();
});

/**
 * Structured logs for operators. Interactive modes (console, transcripts) log to a file so that
 * the person sees only replies. `sync` writes each line before the call returns (tests, short runs).
 * A log file that cannot be written never stops virtbot (see ResilientFileDestination).
 */
export function createLogger(
  options: { file?: string; level?: string; sync?: boolean; retryMs?: number } = {},
): Logger {
  const level = options.level ?? process.env['VIRTBOT_LOG_LEVEL'] ?? 'info';
  const formatters = {
    log: (object: Record<string, unknown>) => redactSecrets(object) as Record<string, unknown>,
  };
  if (options.file) {
    const destination = new ResilientFileDestination(options.file, {
      sync: options.sync ?? false,
      ...(options.retryMs !== undefined ? { retryMs: options.retryMs } : {}),
    });
    return pino({ level, formatters }, destination);
  }
  return pino({ level, formatters }, pino.destination(2));
}
