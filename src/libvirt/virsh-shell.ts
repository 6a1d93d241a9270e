/**
 * One long-lived interactive `virsh -c URI` per host, fed one command at a time.
 *
 * Framing. virsh has no batch mode with per-command status, so each command is sent followed by
 * one marker line:
 *
 *     <command>
 *     echo --err 'VBEND' '<nonce>'
 *
 * virsh reads a line only when the one before has finished, and readline echoes each line it
 * reads, after the prompt, on stdout. So the command's stdout is what lies between the echo of
 * its own line (`virsh # <command>`, which must open the stream exactly: anything else means the
 * framing cannot be trusted) and the echo of the marker line (`virsh # echo --err 'VBEND'
 * '<nonce>'`); its stderr is what precedes "error: VBEND <nonce>" on stderr (the marker is printed
 * with a blank between two quoted words, so no echo of the line can be mistaken for it). Both
 * ends are needed: stdout and stderr are separate streams with no order between them. The nonce
 * is 128 random bits per command, chosen after the command's arguments are fixed, so no output
 * can forge either end. A command failed when its stderr holds an `error:` line (virsh reports
 * every failure that way). stdout of a piped virsh is block-buffered, but readline flushes it
 * with every prompt, so the echo of the marker always arrives.
 *
 * Commands are serialized; each has a timeout. A process that dies is restarted for the next
 * command, and a command in flight when it died (or timed out) fails with
 * VirshConnectionError: its outcome is unknown, it is never reported as done. A process that
 * cannot be started, or whose virsh cannot connect to libvirt, fails with VirshStartError (a
 * VirshConnectionError whose command never ran).
 *
 * Batches. `runBatch` writes several commands, each with its own marker line, in one write:
 * virsh still reads and runs them one after the other, but over SSH they cost one round trip
 * instead of one each. Each command of a batch gets its own result (its output or its
 * VirshError); a lost connection or the timeout fails the whole batch.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { type VirshArg, virshCommandLine } from './virsh-quote.js';

/** A running virsh (local child process or an SSH exec channel). */
export interface ShellProcess {
  write(data: string): void;
  onStdout(listener: (chunk: string) => void): void;
  onStderr(listener: (chunk: string) => void): void;
  /** Called once when the process or channel is gone. */
  onClose(listener: (reason: string) => void): void;
  kill(): void;
}

export type ShellSpawner = () => Promise<ShellProcess>;

/** virsh ran the command and reported an error (the command did not take effect). */
export class VirshError extends Error {
  constructor(
    message: string,
    readonly command: string,
    readonly stderr: string,
  ) {
    super(message);
    this.name = 'VirshError';
  }
}

/** The process or connection failed, or the command timed out: its outcome is unknown. */
export class VirshConnectionError extends Error {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
    this.name = 'VirshConnectionError';
  }
}

/**
 * virsh could not be started, or could not connect to libvirt: nothing was run. The host's
 * health (see health.ts) counts these, not the failures of single commands.
 */
export class VirshStartError extends VirshConnectionError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message);
    this.name = 'VirshStartError';
    if (options?.cause !== undefined) (this as { cause?: unknown }).cause = options.cause;
  }
}

export interface VirshResult {
  stdout: string;
  /** Non-error stderr (warnings). */
  stderr: string;
}

/** One command's result in a batch: its output, or the error virsh reported for it. */
export type BatchResult = ({ ok: true } & VirshResult) | { ok: false; error: VirshError };

export interface VirshShellOptions {
  /** For messages: the host name. */
  host: string;
  spawn: ShellSpawner;
  /** Default per-command timeout. */
  timeoutMs?: number;
  /** Timeout for starting virsh and connecting to libvirt. */
  startTimeoutMs?: number;
}

const PROMPT = 'virsh # ';

interface Pending {
  nonce: string;
  line: string;
  /** The first exchange of a process: whatever precedes the first prompt (a login banner) is dropped. */
  first: boolean;
  resolve(result: { stdout: string; stderr: string }): void;
  reject(error: Error): void;
}

interface Live {
  proc: ShellProcess;
  out: string;
  err: string;
  closed: boolean;
  /** Commands written and not answered yet, in the order virsh runs them. */
  queue: Pending[];
}

export class VirshShell {
  private live: Live | null = null;
  private starting: Promise<Live> | null = null;
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;
  readonly host: string;
  private readonly timeoutMs: number;
  private readonly startTimeoutMs: number;
  /** Processes started so far (for tests and diagnostics). */
  starts = 0;

  constructor(private readonly options: VirshShellOptions) {
    this.host = options.host;
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.startTimeoutMs = options.startTimeoutMs ?? 30_000;
  }

  /** Run one virsh command; resolves with its output, rejects with VirshError or VirshConnectionError. */
  run(
    command: string,
    args: readonly VirshArg[] = [],
    options: { timeoutMs?: number } = {},
  ): Promise<VirshResult> {
    // Build (and so validate/quote) before queueing: a bad argument never reaches the process.
    const line = virshCommandLine(command, args);
    const job = this.tail.then(() => this.execute(line, options.timeoutMs ?? this.timeoutMs));
    this.tail = job.catch(() => undefined);
    return job;
  }

  /**
   * Run several commands in one write (one round trip); resolves with one result per command, in
   * order. Rejects (VirshConnectionError) when the process is lost or the batch times out.
   */
  runBatch(
    commands: readonly { command: string; args?: readonly VirshArg[] }[],
    options: { timeoutMs?: number } = {},
  ): Promise<BatchResult[]> {
    const lines = commands.map((c) => virshCommandLine(c.command, c.args ?? []));
    if (lines.length === 0) return Promise.resolve([]);
    const job = this.tail.then(() => this.executeBatch(lines, options.timeoutMs ?? this.timeoutMs));
    this.tail = job.catch(() => undefined);
    return job;
  }

  /** Stop the process; later commands fail. */
  async close(): Promise<void> {
    this.closed = true;
    const live = this.live;
    this.live = null;
    if (live && !live.closed) live.proc.kill();
    await this.tail;
  }

  /** Kill the current process (as if it crashed). For tests and for recovering from a timeout. */
  kill(): void {
    this.live?.proc.kill();
  }

  private async execute(line: string, timeoutMs: number): Promise<VirshResult> {
    const [result] = await this.executeBatch([line], timeoutMs);
    if (!result!.ok) throw result!.error;
    return { stdout: result!.stdout, stderr: result!.stderr };
  }

  private async executeBatch(lines: string[], timeoutMs: number): Promise<BatchResult[]> {
    if (this.closed) throw new VirshConnectionError(`virsh on ${this.host} is closed`, lines[0]);
    const live = await this.ensureLive();
    const outputs = await this.exchange(live, lines, timeoutMs);
    return outputs.map(({ stdout, stderr }, i): BatchResult => {
      const errors = errorLines(stderr);
      if (errors.length > 0)
        return { ok: false, error: new VirshError(errors.join(': '), lines[i]!, stderr) };
      return { ok: true, stdout, stderr };
    });
  }

  private async ensureLive(): Promise<Live> {
    if (this.live && !this.live.closed) return this.live;
    if (!this.starting) {
      this.starting = this.start().finally(() => {
        this.starting = null;
      });
    }
    return this.starting;
  }

  private async start(): Promise<Live> {
    let proc: ShellProcess;
    try {
      proc = await this.options.spawn();
    } catch (error) {
      throw new VirshStartError(`cannot start virsh on ${this.host}: ${messageOf(error)}`, { cause: error });
    }
    this.starts++;
    const live: Live = { proc, out: '', err: '', closed: false, queue: [] };
    proc.onStdout((chunk) => {
      live.out += chunk;
      this.check(live);
    });
    proc.onStderr((chunk) => {
      live.err += chunk;
      this.check(live);
    });
    proc.onClose((reason) => {
      live.closed = true;
      if (this.live === live) this.live = null;
      const lost = live.queue.splice(0);
      for (const pending of lost) {
        pending.reject(
          new VirshConnectionError(
            `virsh on ${this.host} ${reason} while running \`${shortLine(pending.line)}\`: outcome unknown`,
            pending.line,
          ),
        );
      }
    });
    // A no-op exchange proves the process reads commands and libvirt is connected.
    const [hello] = await this.exchange(live, ['uri'], this.startTimeoutMs, true).catch((error: unknown) => {
      proc.kill();
      // virsh that cannot connect prints why and exits before its first prompt.
      const said = errorLines(live.err);
      if (said.length > 0)
        throw new VirshStartError(`virsh on ${this.host} cannot connect: ${said.join(': ')}`, {
          cause: error,
        });
      throw error instanceof VirshConnectionError
        ? new VirshStartError(`cannot start virsh on ${this.host}: ${error.message}`, { cause: error })
        : error;
    });
    const startupErrors = errorLines(hello!.stderr);
    if (startupErrors.length > 0) {
      proc.kill();
      throw new VirshStartError(`virsh on ${this.host} cannot connect: ${startupErrors.join(': ')}`);
    }
    if (this.closed) {
      proc.kill();
      throw new VirshConnectionError(`virsh on ${this.host} is closed`);
    }
    this.live = live;
    return live;
  }

  /** Write `lines` (each followed by its marker) in one write; resolves with each one's output. */
  private exchange(
    live: Live,
    lines: readonly string[],
    timeoutMs: number,
    first = false,
  ): Promise<{ stdout: string; stderr: string }[]> {
    if (live.closed) {
      return Promise.reject(new VirshConnectionError(`virsh on ${this.host} is not running`, lines[0]));
    }
    const batch: Pending[] = [];
    const results = lines.map(
      (line, i) =>
        new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
          batch.push({
            nonce: randomBytes(16).toString('hex'),
            line,
            first: first && i === 0,
            resolve,
            reject,
          });
        }),
    );
    const all = Promise.all(results);
    // Every member is rejected together when one is; keep the others' rejections handled.
    for (const r of results) r.catch(() => undefined);
    const timer = setTimeout(() => {
      const waiting = batch.filter((p) => live.queue.includes(p));
      if (waiting.length === 0) return;
      // The process state is unknown now: replace it.
      live.closed = true;
      if (this.live === live) this.live = null;
      const dropped = live.queue.splice(0);
      live.proc.kill();
      const line = waiting[0]!.line;
      for (const p of dropped) {
        p.reject(
          new VirshConnectionError(
            `virsh on ${this.host} did not answer \`${shortLine(line)}\` within ${Math.round(timeoutMs / 1000)} s: outcome unknown`,
            p.line,
          ),
        );
      }
    }, timeoutMs);
    all.then(
      () => clearTimeout(timer),
      () => clearTimeout(timer),
    );
    live.queue.push(...batch);
    try {
      live.proc.write(batch.map((p) => `${p.line}\n${markerLine(p.nonce)}\n`).join(''));
    } catch (error) {
      for (const p of batch) {
        const at = live.queue.indexOf(p);
        if (at >= 0) live.queue.splice(at, 1);
        p.reject(
          new VirshConnectionError(`cannot write to virsh on ${this.host}: ${messageOf(error)}`, p.line),
        );
      }
      return all;
    }
    this.check(live);
    return all;
  }

  private check(live: Live): void {
    for (;;) {
      const pending = live.queue[0];
      if (!pending) return;
      const errEnd = `error: VBEND ${pending.nonce}\n`;
      const errAt = live.err.indexOf(errEnd);
      if (errAt < 0) return;
      const outEnd = `${PROMPT}${markerLine(pending.nonce)}\n`;
      const outAt = live.out.indexOf(outEnd);
      if (outAt < 0) return;
      let stdout = live.out.slice(0, outAt);
      const stderr = live.err.slice(0, errAt);
      live.out = live.out.slice(outAt + outEnd.length);
      live.err = live.err.slice(errAt + errEnd.length);
      live.queue.shift();
      if (pending.first) {
        const prompt = stdout.indexOf(PROMPT);
        if (prompt > 0) stdout = stdout.slice(prompt);
      }
      // The stream must open with readline's echo of our own line. Anything else (a garbled echo,
      // bytes no command of ours printed) means the framing cannot be trusted: fail rather than
      // return someone else's bytes as output.
      const echoed = `${PROMPT}${pending.line}\n`;
      if (!stdout.startsWith(echoed)) {
        live.closed = true;
        if (this.live === live) this.live = null;
        const rest = live.queue.splice(0);
        live.proc.kill();
        for (const p of [pending, ...rest]) {
          p.reject(
            new VirshConnectionError(
              `virsh on ${this.host} garbled the echo of \`${shortLine(pending.line)}\`: outcome unknown`,
              p.line,
            ),
          );
        }
        return;
      }
      pending.resolve({ stdout: stdout.slice(echoed.length), stderr });
    }
  }
}

/** The messages of a command's `error:` lines (virsh reports every failure that way). */
function errorLines(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('error: '))
    .map((l) => l.slice('error: '.length).trim())
    .filter((l) => l !== '');
}

/** The line that ends a command: its echo ends stdout, its output ("error: VBEND <nonce>") stderr. */
function markerLine(nonce: string): string {
  return `echo --err 'VBEND' '${nonce}'`;
}

function shortLine(line: string): string {
  return line.length > 80 ? `${line.slice(0, 77)}...` : line;
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Environment for virsh: a UTF-8 locale without translations, no user inputrc key bindings. */
export const VIRSH_ENV = {
  LC_ALL: 'C.UTF-8',
  LANG: 'C.UTF-8',
  INPUTRC: '/dev/null',
  // readline echoes each line it reads; on a narrow "terminal" it scrolls long lines
  // horizontally (with carriage returns), so give it a line wider than any command.
  TERM: 'dumb',
  COLUMNS: '1000000',
} as const;

/** The once-only close notification every ShellProcess gives: `closed` may be called many times. */
export function closeOnce(): {
  closed(reason: string): void;
  onClose(listener: (reason: string) => void): void;
} {
  let listener: ((reason: string) => void) | null = null;
  let reason: string | null = null;
  return {
    closed(why) {
      if (reason !== null) return;
      reason = why;
      listener?.(why);
    },
    onClose(l) {
      listener = l;
      if (reason !== null) l(reason);
    },
  };
}

/** Spawns `virsh -q -c URI` as a local child process. */
export function localVirshSpawner(uri: string, virshPath = 'virsh'): ShellSpawner {
  return async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, ...VIRSH_ENV };
    delete env['LIBVIRT_DEFAULT_URI'];
    delete env['VIRSH_DEFAULT_CONNECT_URI'];
    const child = spawn(virshPath, ['-q', '-c', uri], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', (error) => reject(error));
    });
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    const { closed, onClose } = closeOnce();
    // 'close', not 'exit': it comes once stderr is drained, so a virsh that exits at start-up has
    // said why (cannot connect) before the shell hears it is gone.
    child.on('close', (code, signal) =>
      closed(signal ? `was killed (${signal})` : `exited (status ${code})`),
    );
    child.on('error', (error) => closed(`failed (${error.message})`));
    // A write to a virsh that is exiting fails first (EPIPE): its 'close' says more, and comes
    // soon; only a process that stopped reading and lives on is reported as such.
    child.stdin.on('error', () => setTimeout(() => closed('closed its input'), 1000).unref());
    return {
      write: (data) => {
        child.stdin.write(data);
      },
      onStdout: (listener) => child.stdout.on('data', listener),
      onStderr: (listener) => child.stderr.on('data', listener),
      onClose,
      kill: () => {
        child.kill('SIGKILL');
      },
    };
  };
}
