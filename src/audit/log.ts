/**
 * The audit store on files (see store.ts): one JSON record per line, hash-chained (chain.ts),
 * each write fdatasync'd before its promise resolves, concurrent writes group-committed.
 *
 * Before each write the file is checked: still the one that was opened (device + inode), and on
 * a filesystem with more than `minFreeBytes` free. A file deleted or replaced under virtbot is
 * detected; a new file is started with the old one's contents copied from the descriptor virtbot
 * still holds (nothing is lost, the chain continues) and the event is recorded. Below the free
 * space threshold intents are refused (their commands must not run) while outcomes and one-shot
 * records still go in. A write that fails (ENOSPC) fails its batch at once; the next write tries
 * again, and a timer re-checks while the log is unavailable so that recovery is reported.
 *
 * Rotation renames the current file aside when the next record would take it past `rotateBytes`
 * (a batch is split at that boundary) or when the UTC day changed; the first record of the new
 * file links to the last of the old one.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { constants } from 'node:fs';
import {
  access,
  type FileHandle,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  stat,
  statfs,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { AuditFilter, AuditRecord } from '../core/types.js';
import { GENESIS, linkOf, parseLine, seal, sha256, verifyFiles } from './chain.js';
import { forwardLines, reverseLines } from './lines.js';
import { intentRecord, outcomeRecord } from './records.js';
import {
  type AuditHealth,
  type AuditStore,
  AuditUnavailable,
  type AuditWarning,
  type Intent,
  type IntentChecker,
  type OutcomeInput,
  type RecoveryReport,
  type SingleRecord,
  type VerifyReport,
} from './store.js';

export { AuditUnavailable } from './store.js';

/** What the store logs to (a pino Logger fits). */
export interface AuditLogger {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
}

export interface AuditLogOptions {
  file: string;
  /** Rotate when the file would grow past this many bytes. */
  rotateBytes?: number;
  /** Rotate when the UTC day changes. */
  rotateDaily?: boolean;
  /** Intents are refused while the filesystem has less free space than this. Default 16 MiB. */
  minFreeBytes?: number;
  /** While the log is unavailable, re-check it this often (ms; 0: only on the next write). Default 5000. */
  probeMs?: number;
  logger?: AuditLogger;
  now?: () => Date;
}

export const DEFAULT_MIN_FREE_BYTES = 16 * 1024 * 1024;
/** Longest command and detail text kept in a record; the rest is cut, with its length and hash. */
const MAX_TEXT = 2000;
const MAX_ARGS_JSON = 4000;
const HEAD_WRITE_MS = 1000;

interface Pending {
  record: AuditRecord;
  /** Intents are refused when space is low; outcomes and one-shot records are not. */
  intent: boolean;
  done: (error?: Error) => void;
}

interface Head {
  seq: number;
  hash: string;
}

type Loss = 'deleted' | 'replaced';

export class AuditLog implements AuditStore {
  private handle: FileHandle | undefined;
  private identity: { dev: number; ino: number } | undefined;
  private size = 0;
  /** The file does not end with a newline (a crash tore the last write). */
  private tornTail = false;
  private day = '';
  private head: Head | undefined;
  private headWrittenAt = 0;
  private queue: Pending[] = [];
  private flushing: Promise<void> | undefined;
  /** Run the checks of a write even with nothing queued (the probe). */
  private recheck = false;
  private opening: Promise<void> | undefined;
  /** Intents of this process that have no final outcome yet. */
  private readonly open_ = new Map<string, AuditRecord>();
  /** Intents without a final outcome found in the current file at start-up. */
  private readonly unresolvedAtStart = new Map<string, AuditRecord>();
  private unavailable: { reason: string; code: string } | undefined;
  private probe: NodeJS.Timeout | undefined;
  private readonly events = new EventEmitter();
  private readonly now: () => Date;
  private closed = false;
  private counter = 0;

  constructor(private readonly options: AuditLogOptions) {
    this.now = options.now ?? (() => new Date());
  }

  get file(): string {
    return this.options.file;
  }

  private get headFile(): string {
    return join(dirname(this.options.file), `.${basename(this.options.file)}.head`);
  }

  // ------------------------------------------------------------------ writing

  async open(): Promise<void> {
    if (this.handle) return;
    this.opening ??= this.openFile().finally(() => {
      this.opening = undefined;
    });
    await this.opening;
  }

  begin(intent: Intent): Promise<string> {
    const time = intent.time ?? this.now();
    const record = intentRecord(intent, this.newId(time, 'i'), time);
    return this.enqueue(record, true).then(() => {
      this.open_.set(record.id, record);
      return record.id;
    });
  }

  async finish(intentId: string, outcome: OutcomeInput): Promise<void> {
    const intent =
      this.open_.get(intentId) ?? this.unresolvedAtStart.get(intentId) ?? (await this.findIntent(intentId));
    if (!intent) throw new Error(`the audit log has no intent ${intentId}`);
    const time = outcome.time ?? this.now();
    await this.enqueue(outcomeRecord(intent, outcome, this.newId(time, 'o'), time), false);
    if (outcome.outcome !== 'in-progress') {
      this.open_.delete(intentId);
      this.unresolvedAtStart.delete(intentId);
    }
  }

  async record(single: SingleRecord): Promise<string> {
    const time = new Date(single.time);
    const record: AuditRecord = {
      ...single,
      id: single.id ?? this.newId(Number.isNaN(time.getTime()) ? this.now() : time, 's'),
      kind: 'single',
    };
    await this.enqueue(record, false);
    return record.id;
  }

  /** A one-shot record (the API before intents): kept for the existing callers. */
  async append(record: AuditRecord): Promise<void> {
    await this.enqueue({ ...record, kind: record.kind ?? 'single' }, false);
  }

  onWarning(listener: (warning: AuditWarning) => void): () => void {
    this.events.on('warning', listener);
    return () => this.events.off('warning', listener);
  }

  async health(): Promise<AuditHealth> {
    if (!this.closed && !this.flushing) {
      await this.checkNow().catch(() => {});
    }
    const health: AuditHealth = { available: this.unavailable === undefined, file: this.options.file };
    if (this.unavailable) health.reason = this.unavailable.reason;
    const free = await freeBytes(dirname(this.options.file)).catch(() => undefined);
    if (free !== undefined) health.freeBytes = free;
    return health;
  }

  private newId(time: Date, kind: string): string {
    return `${time.getTime().toString(36)}-${kind}${(this.counter++).toString(36)}-${randomBytes(3).toString('hex')}`;
  }

  private enqueue(record: AuditRecord, intent: boolean): Promise<void> {
    const bounded = boundRecord(record);
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ record: bounded, intent, done: (error) => (error ? reject(error) : resolve()) });
      if (!this.flushing) this.flushing = this.flushLoop();
    });
  }

  private async flushLoop(): Promise<void> {
    try {
      while (this.queue.length > 0 || this.recheck) {
        this.recheck = false;
        let batch = this.queue;
        this.queue = [];
        let events: AuditRecord[];
        try {
          events = await this.prepare();
        } catch (error) {
          const failure = asUnavailable(error, this.options.file);
          this.markUnavailable(failure);
          for (const p of batch) p.done(failure);
          continue;
        }
        const low = await this.lowSpace();
        if (low) {
          for (const p of batch) if (p.intent) p.done(low);
          batch = batch.filter((p) => !p.intent);
        }
        const items = [
          ...events.map((record) => ({ record, intent: false, done: () => {} }) as Pending),
          ...batch,
        ];
        if (items.length > 0) await this.writeItems(items);
        else if (!low) this.clearUnavailableIfOnlyWriteFailed();
      }
    } finally {
      this.flushing = undefined;
    }
  }

  /**
   * Writes the items in order, splitting at rotation boundaries; resolves each item once its line
   * is durable and fails the rest at the first error (their lines are taken back out).
   */
  private async writeItems(items: Pending[]): Promise<void> {
    let head = this.head!;
    let chunk: { line: string; item: Pending }[] = [];
    let chunkBytes = 0;
    let pendingHead = head;
    let durable = 0;
    const flush = async () => {
      if (chunk.length === 0) return;
      const text = chunk.map((c) => `${c.line}\n`).join('');
      await this.writeText(text);
      head = pendingHead;
      this.head = head;
      for (const c of chunk) c.item.done();
      durable += chunk.length;
      chunk = [];
      chunkBytes = 0;
    };
    try {
      await this.rotateIfNewDay();
      for (const item of items) {
        const sealed = seal(
          item.record,
          head.seq + chunk.length + 1,
          chunk.length > 0 ? pendingHead.hash : head.hash,
        );
        const bytes = Buffer.byteLength(sealed.line) + 1;
        const limit = this.options.rotateBytes;
        if (limit !== undefined && this.size + chunkBytes > 0 && this.size + chunkBytes + bytes > limit) {
          await flush();
          if (this.size > 0) await this.rotate();
        }
        chunk.push({ line: sealed.line, item });
        chunkBytes += bytes;
        pendingHead = { seq: head.seq + chunk.length, hash: sealed.hash };
      }
      await flush();
      this.clearUnavailableIfOnlyWriteFailed();
      this.maybeWriteHead();
    } catch (error) {
      const failure = asUnavailable(error, this.options.file);
      this.markUnavailable(failure);
      for (const item of items.slice(durable)) item.done(failure);
    }
  }

  private async writeText(text: string): Promise<void> {
    const handle = this.handle!;
    // A torn last line (a crash mid-write) must not swallow the first record of this batch.
    const data = Buffer.from(this.tornTail ? `\n${text}` : text);
    try {
      for (let offset = 0; offset < data.length; ) {
        const { bytesWritten } = await handle.write(data, offset, data.length - offset);
        offset += bytesWritten;
      }
      await handle.datasync();
    } catch (error) {
      // Not acknowledged: take the partial batch back out so the next one starts on a clean line.
      await handle.truncate(this.size).catch(() => {});
      throw error;
    }
    this.tornTail = false;
    this.size += data.length;
  }

  /** Opens the file when needed, and checks that it is still the one that was opened. */
  private async prepare(): Promise<AuditRecord[]> {
    if (!this.handle) {
      await this.open();
      return [];
    }
    const loss = await this.lost();
    if (!loss) return [];
    return [await this.reopenAfterLoss(loss)];
  }

  private async lost(): Promise<Loss | undefined> {
    const [mine, current] = await Promise.all([
      this.handle!.stat(),
      stat(this.options.file).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return undefined;
        throw error;
      }),
    ]);
    if (!current) return 'deleted';
    if (current.dev !== this.identity!.dev || current.ino !== this.identity!.ino) return 'replaced';
    if (mine.nlink === 0) return 'deleted';
    return undefined;
  }

  /** Returns the AuditUnavailable for intents when free space is below the threshold. */
  private async lowSpace(): Promise<AuditUnavailable | undefined> {
    const threshold = this.options.minFreeBytes ?? DEFAULT_MIN_FREE_BYTES;
    if (threshold <= 0) return undefined;
    const free = await freeBytes(dirname(this.options.file)).catch(() => undefined);
    if (free === undefined || free >= threshold) {
      if (this.unavailable?.code === 'low-space') this.markAvailable();
      return undefined;
    }
    const failure = new AuditUnavailable(
      `the audit log's filesystem is nearly full (${formatBytes(free)} free, below ${formatBytes(threshold)}): nothing new is started`,
      'low-space',
    );
    this.markUnavailable(failure);
    return failure;
  }

  private async openFile(): Promise<void> {
    const file = this.options.file;
    const dir = dirname(file);
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
    } catch (error) {
      throw new AuditUnavailable(
        `the audit directory ${dir} cannot be created: ${errorCode(error)}`,
        errorCode(error),
        { cause: error },
      );
    }
    let handle: FileHandle;
    try {
      handle = await open(file, 'a+', 0o600);
    } catch (error) {
      throw new AuditUnavailable(
        `the audit log ${file} cannot be opened for writing: ${errorCode(error)}`,
        errorCode(error),
        { cause: error },
      );
    }
    try {
      const info = await handle.stat();
      this.identity = { dev: info.dev, ino: info.ino };
      this.size = info.size;
      this.day = (info.size > 0 ? info.mtime : this.now()).toISOString().slice(0, 10);
      this.tornTail = false;
      if (info.size > 0) {
        const last = Buffer.alloc(1);
        await handle.read(last, 0, 1, info.size - 1);
        this.tornTail = last[0] !== 0x0a;
      }
      if (!this.head) await this.scanAtStart(handle);
    } catch (error) {
      await handle.close().catch(() => {});
      throw asUnavailable(error, file);
    }
    this.handle = handle;
    await access(dir, constants.W_OK).catch((error: unknown) =>
      this.warn({
        code: 'not-writable',
        file: dir,
        message: `the audit directory ${dir} is not writable (${errorCode(error)}): rotation and recovery from a deleted file will fail`,
      }),
    );
    this.markAvailable();
  }

  /**
   * Reads the current file once at start-up: the chain's head, corrupt or torn lines (reported),
   * intents without a final outcome (for recover). An empty current file takes its head from the
   * newest rotated one. A head file that is ahead of the log means records were removed from its
   * end: the chain continues from the head file, so that `verify` shows the gap for good.
   */
  private async scanAtStart(handle: FileHandle): Promise<void> {
    let head: Head | undefined;
    for await (const line of forwardLines(handle)) {
      const parsed = parseLine(line.text);
      if (parsed.kind === 'blank') continue;
      if (parsed.kind === 'corrupt') {
        this.warn({
          code: 'corrupt-line',
          file: this.options.file,
          line: line.number,
          message: `${this.options.file}:${line.number}: ${line.complete ? `corrupt line (${parsed.reason})` : 'torn last line (a write cut short by a crash)'}: kept as is, not read as a record`,
        });
        continue;
      }
      const link = linkOf(parsed)!;
      head = { seq: link.seq ?? head?.seq ?? 0, hash: link.hash };
      this.track(this.unresolvedAtStart, parsed.record);
    }
    if (!head) head = await this.headOfRotated();
    head ??= { seq: 0, hash: GENESIS };
    const written = await this.readHeadFile();
    if (written && written.seq > head.seq) {
      this.warn({
        code: 'truncated',
        file: this.options.file,
        message: `the audit log ends at record ${head.seq} but record ${written.seq} was written: records were removed from its end; the chain goes on from ${written.seq}, so that verify keeps showing the gap`,
      });
      head = written;
    }
    this.head = head;
  }

  /** Keeps `map` as the set of intents whose latest outcome is missing or in-progress. */
  private track(map: Map<string, AuditRecord>, record: AuditRecord): void {
    if (record.kind === 'intent') map.set(record.id, record);
    else if (record.kind === 'outcome' && record.intent !== undefined && record.outcome !== 'in-progress')
      map.delete(record.intent);
  }

  private async headOfRotated(): Promise<Head | undefined> {
    const rotated = (await this.files()).filter((f) => f !== this.options.file);
    for (const file of rotated.reverse()) {
      try {
        for await (const line of reverseLines(file)) {
          const link = linkOf(parseLine(line.text));
          if (link) return { seq: link.seq ?? 0, hash: link.hash };
        }
      } catch (error) {
        this.warn({
          code: 'corrupt-line',
          file,
          message: `${file} cannot be read (${errorCode(error)}): the chain goes on from the file before it`,
        });
      }
    }
    return undefined;
  }

  private async readHeadFile(): Promise<Head | undefined> {
    try {
      const value = JSON.parse(await readFile(this.headFile, 'utf8')) as Partial<Head>;
      if (typeof value.seq === 'number' && typeof value.hash === 'string')
        return { seq: value.seq, hash: value.hash };
    } catch {
      // No head file yet (or a torn one): nothing to compare with.
    }
    return undefined;
  }

  /** Remembers the chain's head beside the log (never ahead of what is durable in it). */
  private async writeHead(): Promise<void> {
    if (!this.head || this.head.seq === 0) return;
    const tmp = `${this.headFile}.${process.pid}-${this.counter++}.tmp`;
    await writeFile(tmp, `${JSON.stringify(this.head)}\n`, { mode: 0o600 });
    await rename(tmp, this.headFile);
  }

  private maybeWriteHead(): void {
    const at = Date.now();
    if (at - this.headWrittenAt < HEAD_WRITE_MS) return;
    this.headWrittenAt = at;
    this.writeHead().catch(() => {});
  }

  /**
   * The file was deleted or replaced while virtbot held it open: starts a new file with the old
   * one's contents, read from the descriptor virtbot still has (a replacement is moved aside, not
   * appended to), and returns the event record that goes in first.
   */
  private async reopenAfterLoss(loss: Loss): Promise<AuditRecord> {
    const file = this.options.file;
    const old = this.handle!;
    const oldIdentity = this.identity!;
    const oldSize = this.size;
    let aside: string | undefined;
    if (loss === 'replaced') {
      aside = join(dirname(file), `${basename(file)}-replaced-${stamp(this.now())}`);
      await rename(file, aside);
    }
    // Read-write and appending, like the first open: a later loss copies from this one.
    const fresh = await open(
      file,
      constants.O_CREAT | constants.O_EXCL | constants.O_RDWR | constants.O_APPEND,
      0o600,
    );
    try {
      const buffer = Buffer.allocUnsafe(256 * 1024);
      for (let position = 0; position < oldSize; ) {
        const { bytesRead } = await old.read(
          buffer,
          0,
          Math.min(buffer.length, oldSize - position),
          position,
        );
        if (bytesRead === 0) break;
        for (let offset = 0; offset < bytesRead; ) {
          const { bytesWritten } = await fresh.write(buffer, offset, bytesRead - offset);
          offset += bytesWritten;
        }
        position += bytesRead;
      }
      await fresh.datasync();
      await syncDir(dirname(file));
    } catch (error) {
      await fresh.close().catch(() => {});
      await unlink(file).catch(() => {});
      if (aside) await rename(aside, file).catch(() => {});
      throw error;
    }
    const info = await fresh.stat();
    await old.close().catch(() => {});
    this.handle = fresh;
    this.identity = { dev: info.dev, ino: info.ino };
    this.size = info.size;
    const what =
      loss === 'deleted'
        ? `${file} was deleted while virtbot had it open (inode ${oldIdentity.ino})`
        : `${file} was replaced by another file while virtbot had it open (inode ${oldIdentity.ino}); the other file was moved to ${aside}`;
    const message = `${what}: a new file holds the ${formatBytes(oldSize)} of records copied from the open descriptor, and the chain goes on`;
    this.warn({ code: loss, file, message });
    const time = this.now();
    return {
      id: this.newId(time, 'e'),
      time: time.toISOString(),
      transport: 'virtbot',
      network: '',
      channel: '',
      user: null,
      nick: 'virtbot',
      proof: 'virtbot',
      command: `audit ${loss}`,
      path: 'audit.reopen',
      outcome: 'ok',
      detail: message,
      kind: 'event',
    };
  }

  private async rotateIfNewDay(): Promise<void> {
    if (this.options.rotateDaily !== true || this.size === 0) return;
    const today = this.now().toISOString().slice(0, 10);
    if (today !== this.day) await this.rotate();
  }

  /** Renames the full file aside and opens a new one: no record is ever dropped. */
  private async rotate(): Promise<void> {
    const file = this.options.file;
    await this.handle!.close();
    this.handle = undefined;
    // Same-second rotations get a zero-padded counter, so that names sort in rotation order.
    let target = `${file}.${stamp(this.now())}`;
    for (let n = 1; await exists(target); n++)
      target = `${file}.${stamp(this.now())}-${String(n).padStart(6, '0')}`;
    await rename(file, target);
    await this.open();
    this.day = this.now().toISOString().slice(0, 10);
    await syncDir(dirname(file));
    await this.writeHead().catch(() => {});
  }

  private markUnavailable(failure: AuditUnavailable): void {
    // One warning per kind of trouble, not one per refused write (the free bytes change each time).
    const changed = this.unavailable?.code !== failure.code;
    this.unavailable = { reason: failure.message, code: failure.code };
    if (changed) {
      this.warn({
        code: failure.code === 'low-space' ? 'low-space' : 'unavailable',
        file: this.options.file,
        message: `audit log unavailable: ${failure.message}; commands that change anything are refused`,
      });
    }
    this.startProbe();
  }

  private markAvailable(): void {
    if (!this.unavailable) return;
    const was = this.unavailable.reason;
    this.unavailable = undefined;
    this.stopProbe();
    this.warn({
      code: 'available',
      file: this.options.file,
      message: `audit log available again (was: ${was})`,
    });
  }

  /** A batch got written: a failed write (ENOSPC, a lost file) is over. Low space is judged by lowSpace(). */
  private clearUnavailableIfOnlyWriteFailed(): void {
    if (this.unavailable && this.unavailable.code !== 'low-space') this.markAvailable();
  }

  private startProbe(): void {
    const every = this.options.probeMs ?? 5000;
    if (this.probe || every <= 0 || this.closed) return;
    this.probe = setInterval(() => {
      if (!this.flushing) this.checkNow().catch(() => {});
    }, every);
    this.probe.unref();
  }

  private stopProbe(): void {
    if (this.probe) clearInterval(this.probe);
    this.probe = undefined;
  }

  /** Re-checks file and space as a write would, without writing a record (the probe, health). */
  private async checkNow(): Promise<void> {
    try {
      if (!this.handle) await this.open();
    } catch (error) {
      this.markUnavailable(asUnavailable(error, this.options.file));
      return;
    }
    this.recheck = true;
    if (!this.flushing) this.flushing = this.flushLoop();
    await this.flushing;
  }

  private warn(warning: AuditWarning): void {
    const level = warning.code === 'available' ? 'info' : warning.code === 'corrupt-line' ? 'warn' : 'error';
    this.options.logger?.[level]({ audit: warning }, warning.message);
    this.events.emit('warning', warning);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopProbe();
    while (this.flushing) await this.flushing;
    if (this.handle) await this.writeHead().catch(() => {});
    await this.handle?.close();
    this.handle = undefined;
  }

  // ------------------------------------------------------------------ start-up

  /**
   * Every intent without a final outcome (a crash between begin and finish) is reported and gets
   * an `unknown` outcome, with what `check` found on the host. Looks at the current file and the
   * newest rotated one; intents of this process that are still running are left alone.
   */
  async recover(check?: IntentChecker): Promise<RecoveryReport> {
    await this.open();
    const unresolved = new Map(this.unresolvedAtStart);
    const rotated = (await this.files()).filter((f) => f !== this.options.file).at(-1);
    if (rotated) {
      const older = new Map<string, AuditRecord>();
      for await (const line of forwardLines(rotated)) {
        const parsed = parseLine(line.text);
        if (parsed.kind === 'legacy' || parsed.kind === 'chained') this.track(older, parsed.record);
      }
      // An outcome in the current file finishes an intent of the rotated one.
      for (const line of await this.outcomesIn(this.options.file)) older.delete(line);
      for (const [id, record] of older) if (!unresolved.has(id)) unresolved.set(id, record);
    }
    for (const id of this.open_.keys()) unresolved.delete(id);
    const report: RecoveryReport = { unresolved: [...unresolved.values()], recorded: 0 };
    for (const intent of report.unresolved) {
      const what = `${intent.user ?? `${intent.nick} (unidentified)`}: ${intent.command}`;
      this.options.logger?.warn(
        { intent: intent.id, command: intent.command, host: intent.host, vm: intent.vm },
        `intent without an outcome (virtbot stopped while it ran): ${what}`,
      );
      this.events.emit('warning', {
        code: 'unknown-outcome',
        file: this.options.file,
        message: `outcome unknown: ${what} (intent ${intent.id}, ${intent.time}) was started and virtbot stopped before it ended`,
      } satisfies AuditWarning);
      let found: string | undefined;
      if (check) {
        try {
          found = await check(intent);
        } catch (error) {
          found = `the check failed: ${errorMessage(error)}`;
        }
      }
      const detail = `virtbot stopped before the outcome was recorded; ${
        found !== undefined ? `the host shows: ${found}` : 'nobody checked the host'
      }`;
      try {
        this.unresolvedAtStart.set(intent.id, intent);
        await this.finish(intent.id, { outcome: 'unknown', detail });
        report.recorded++;
      } catch (error) {
        this.options.logger?.error({ err: error, intent: intent.id }, 'could not record the unknown outcome');
      }
    }
    return report;
  }

  private async outcomesIn(file: string): Promise<string[]> {
    const ids: string[] = [];
    try {
      for await (const line of forwardLines(file)) {
        const parsed = parseLine(line.text);
        if ((parsed.kind === 'chained' || parsed.kind === 'legacy') && parsed.record.kind === 'outcome')
          if (parsed.record.intent !== undefined && parsed.record.outcome !== 'in-progress')
            ids.push(parsed.record.intent);
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    return ids;
  }

  /** The intent record with this id, looked up from the newest file backwards. */
  private async findIntent(id: string): Promise<AuditRecord | undefined> {
    while (this.flushing) await this.flushing;
    for (const file of (await this.files()).reverse()) {
      for await (const line of reverseLines(file)) {
        const parsed = parseLine(line.text);
        if ((parsed.kind === 'chained' || parsed.kind === 'legacy') && parsed.record.id === id)
          return parsed.record.kind === 'intent' ? parsed.record : undefined;
      }
    }
    return undefined;
  }

  // ------------------------------------------------------------------ reading

  /** The current file and every rotated one, oldest first. */
  async files(): Promise<string[]> {
    const dir = dirname(this.options.file);
    const base = basename(this.options.file);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return [];
    }
    const rotated = names.filter((n) => n.startsWith(`${base}.`) && /\.\d{8}T\d{6}(-\d+)?$/.test(n)).sort();
    return [...rotated.map((n) => join(dir, n)), ...(names.includes(base) ? [this.options.file] : [])];
  }

  async verify(): Promise<VerifyReport> {
    while (this.flushing) await this.flushing;
    const head = this.head ?? (await this.readHeadFile());
    return verifyFiles(await this.files(), head);
  }

  /**
   * Newest first, one entry per operation: an intent's latest outcome stands for it, an intent
   * without one shows as in-progress. Reads the files backwards from their ends and stops once
   * `limit` records matched (or, with `since`, once the records are an hour older than it: the hour
   * is for clocks that disagree). All files are opened before any is read, so a rotation during the
   * query cannot hide records from it.
   */
  async query(filter: AuditFilter): Promise<AuditRecord[]> {
    while (this.flushing) await this.flushing;
    const limit = filter.limit ?? 20;
    const snapshot = await this.openSnapshot();
    const matches: AuditRecord[] = [];
    const finished = new Set<string>();
    const slack = filter.since ? filter.since.getTime() - 3_600_000 : undefined;
    try {
      scan: for (const { name, handle, size } of snapshot.reverse()) {
        const rotatedAt = rotationTime(name);
        if (slack !== undefined && rotatedAt !== undefined && rotatedAt.getTime() < slack) break;
        for await (const line of reverseLines(handle, size)) {
          const parsed = parseLine(line.text, false);
          if (parsed.kind !== 'legacy' && parsed.kind !== 'chained') continue;
          const record = parsed.record;
          if (record.kind === 'outcome' && record.intent !== undefined) {
            if (finished.has(record.intent)) continue;
            finished.add(record.intent);
          } else if (record.kind === 'intent') {
            if (finished.has(record.id)) continue;
            record.detail = 'no outcome recorded yet';
          }
          if (slack !== undefined && new Date(record.time).getTime() < slack) break scan;
          if (!matchesFilter(record, filter)) continue;
          if (filter.accept && !(await filter.accept(record))) continue;
          matches.push(stripChain(record));
          if (matches.length >= limit) break scan;
        }
      }
    } finally {
      await Promise.allSettled(snapshot.map(({ handle }) => handle.close()));
    }
    return matches;
  }

  /** Opens every file, oldest first; retries when a rotation changed the listing meanwhile. */
  private async openSnapshot(): Promise<{ name: string; handle: FileHandle; size: number }[]> {
    for (let attempt = 0; ; attempt++) {
      const names = await this.files();
      const opened: { name: string; handle: FileHandle; size: number }[] = [];
      try {
        for (const name of names) {
          const handle = await open(name, 'r');
          opened.push({ name, handle, size: (await handle.stat()).size });
        }
      } catch (error) {
        await Promise.allSettled(opened.map(({ handle }) => handle.close()));
        if ((error as NodeJS.ErrnoException).code === 'ENOENT' && attempt < 5) continue;
        throw error;
      }
      const again = await this.files();
      if (again.length === names.length && again.every((n, i) => n === names[i])) return opened;
      await Promise.allSettled(opened.map(({ handle }) => handle.close()));
      if (attempt >= 5) throw new Error('the audit log kept rotating while it was being read');
    }
  }
}

function stripChain(record: AuditRecord): AuditRecord {
  const { seq: _seq, prev: _prev, hash: _hash, ...rest } = record;
  return rest;
}

/** When a rotated file was rotated (its name's stamp), or undefined for the current file. */
function rotationTime(file: string): Date | undefined {
  const match = /\.(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(?:-\d+)?$/.exec(file);
  if (!match) return undefined;
  const [, y, mo, d, h, mi, se] = match;
  return new Date(`${y}-${mo}-${d}T${h}:${mi}:${se}Z`);
}

function matchesFilter(record: AuditRecord, filter: AuditFilter): boolean {
  if (filter.vm !== undefined && record.vm !== filter.vm) return false;
  if (filter.host !== undefined && record.host !== filter.host) return false;
  // A user is their resolved identity; a nick matches only records of unidentified senders.
  if (
    filter.user !== undefined &&
    !(record.user === filter.user || (record.user === null && record.nick === filter.user))
  )
    return false;
  if (filter.since !== undefined && new Date(record.time) < filter.since) return false;
  return true;
}

/**
 * Reads records oldest first. Blank lines are skipped; a corrupt or torn line is handed to
 * `onBadLine` (file line number and reason) and skipped — never silently when a callback is given.
 */
export async function* readRecords(
  file: string | FileHandle,
  onBadLine?: (line: number, reason: string) => void,
): AsyncGenerator<AuditRecord> {
  for await (const line of forwardLines(file)) {
    const parsed = parseLine(line.text);
    if (parsed.kind === 'legacy' || parsed.kind === 'chained') yield parsed.record;
    else if (parsed.kind === 'corrupt')
      onBadLine?.(line.number, line.complete ? parsed.reason : 'torn last line');
  }
}

/** Cuts command, detail and args so that no record is more than a few KiB. */
export function boundRecord(record: AuditRecord): AuditRecord {
  const out = { ...record, command: cut(record.command), detail: cut(record.detail) };
  if (record.args !== undefined) {
    const json = JSON.stringify(record.args);
    if (json.length > MAX_ARGS_JSON)
      out.args = { cut: `${json.length} characters of arguments, sha256 ${sha256(json).slice(0, 16)}` };
  }
  return out;
}

function cut(text: string): string {
  if (text.length <= MAX_TEXT) return text;
  return `${text.slice(0, MAX_TEXT)}… [cut: ${text.length} characters, sha256 ${sha256(text).slice(0, 16)}]`;
}

function asUnavailable(error: unknown, file: string): AuditUnavailable {
  if (error instanceof AuditUnavailable) return error;
  const code = errorCode(error);
  return new AuditUnavailable(`the audit log ${file} cannot be written: ${code}`, code, { cause: error });
}

function errorCode(error: unknown): string {
  return (error as NodeJS.ErrnoException)?.code ?? errorMessage(error);
}

function errorMessage(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
}

async function freeBytes(dir: string): Promise<number> {
  const info = await statfs(dir);
  return info.bavail * info.bsize;
}

function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} bytes`;
}

function stamp(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
}

/** Makes a rename or a new file in `dir` durable (best effort: not every filesystem allows it). */
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r').catch(() => undefined);
  if (!handle) return;
  await handle.sync().catch(() => {});
  await handle.close().catch(() => {});
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
