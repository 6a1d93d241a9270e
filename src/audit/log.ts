/**
 * The append-only audit log: one JSON record per line. `append` resolves only after the record
 * is written and fdatasync'd, so a command that was acknowledged is never missing after a crash.
 * Concurrent appends are group-committed: the records that arrive while one flush is on disk
 * are written and synced together by the next.
 */
import { createReadStream } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, rename, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { AuditFilter, AuditRecord } from '../core/types.js';

interface Pending {
  line: string;
  done: (error?: Error) => void;
}

export interface AuditLogOptions {
  file: string;
  /** Rotate when the file would grow past this many bytes. */
  rotateBytes?: number;
  /** Rotate when the UTC day changes. */
  rotateDaily?: boolean;
  now?: () => Date;
}

export class AuditLog {
  private handle: FileHandle | undefined;
  private size = 0;
  /** The file does not end with a newline (a crash tore the last write). */
  private tornTail = false;
  private day = '';
  private queue: Pending[] = [];
  private flushing: Promise<void> | undefined;
  private readonly now: () => Date;

  constructor(private readonly options: AuditLogOptions) {
    this.now = options.now ?? (() => new Date());
  }

  get file(): string {
    return this.options.file;
  }

  append(record: AuditRecord): Promise<void> {
    const line = `${JSON.stringify(record)}\n`;
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ line, done: (error) => (error ? reject(error) : resolve()) });
      if (!this.flushing) this.flushing = this.flushLoop();
    });
  }

  private async flushLoop(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        try {
          await this.writeBatch(batch.map((p) => p.line).join(''));
          for (const p of batch) p.done();
        } catch (error) {
          for (const p of batch) p.done(error as Error);
        }
      }
    } finally {
      this.flushing = undefined;
    }
  }

  private async writeBatch(text: string): Promise<void> {
    await this.rotateIfDue(Buffer.byteLength(text));
    const handle = await this.openHandle();
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
      await handle.close().catch(() => {});
      this.handle = undefined;
      throw error;
    }
    this.tornTail = false;
    this.size += data.length;
  }

  private async openHandle(): Promise<FileHandle> {
    if (this.handle) return this.handle;
    await mkdir(dirname(this.options.file), { recursive: true, mode: 0o700 });
    const handle = await open(this.options.file, 'a+', 0o600);
    try {
      const info = await handle.stat();
      this.size = info.size;
      this.day = (info.size > 0 ? info.mtime : this.now()).toISOString().slice(0, 10);
      this.tornTail = false;
      if (info.size > 0) {
        const last = Buffer.alloc(1);
        await handle.read(last, 0, 1, info.size - 1);
        this.tornTail = last[0] !== 0x0a;
      }
    } catch (error) {
      await handle.close().catch(() => {});
      throw error;
    }
    this.handle = handle;
    return handle;
  }

  /** Rotation renames the full file aside before the batch is written: no record is ever dropped. */
  private async rotateIfDue(incoming: number): Promise<void> {
    await this.openHandle();
    const today = this.now().toISOString().slice(0, 10);
    const tooBig =
      this.options.rotateBytes !== undefined &&
      this.size > 0 &&
      this.size + incoming > this.options.rotateBytes;
    const newDay = this.options.rotateDaily === true && this.size > 0 && today !== this.day;
    if (!tooBig && !newDay) return;
    await this.handle!.close();
    this.handle = undefined;
    const stamp = this.now().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
    // Same-second rotations get a zero-padded counter, so that names sort in rotation order.
    let target = `${this.options.file}.${stamp}`;
    for (let n = 1; await exists(target); n++)
      target = `${this.options.file}.${stamp}-${String(n).padStart(6, '0')}`;
    await rename(this.options.file, target);
    await this.openHandle();
    this.day = today;
  }

  async close(): Promise<void> {
    while (this.flushing) await this.flushing;
    await this.handle?.close();
    this.handle = undefined;
  }

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
    const rotated = names.filter((n) => n.startsWith(`${base}.`)).sort();
    return [...rotated.map((n) => join(dir, n)), ...(names.includes(base) ? [this.options.file] : [])];
  }

  /**
   * Newest records first, filtered. Reads the files newest first and stops once `limit` records
   * matched; rotated files older than `since` are skipped. All files are opened before any is
   * read, so a rotation during the query cannot hide records from it.
   */
  async query(filter: AuditFilter): Promise<AuditRecord[]> {
    while (this.flushing) await this.flushing;
    const limit = filter.limit ?? 20;
    const snapshot = await this.openSnapshot();
    const matches: AuditRecord[] = [];
    try {
      for (const { name, handle } of snapshot.reverse()) {
        if (matches.length >= limit) break;
        const rotatedAt = rotationTime(name);
        // Everything in a file rotated (an hour, for clock skew) before `since` is older than it.
        if (
          filter.since !== undefined &&
          rotatedAt !== undefined &&
          rotatedAt.getTime() + 3_600_000 < filter.since.getTime()
        )
          continue;
        const found: AuditRecord[] = [];
        for await (const record of readRecords(handle)) if (matchesFilter(record, filter)) found.push(record);
        for (const record of found.reverse()) {
          if (matches.length >= limit) break;
          if (!filter.accept || (await filter.accept(record))) matches.push(record);
        }
      }
    } finally {
      await Promise.allSettled(snapshot.map(({ handle }) => handle.close()));
    }
    return matches.slice(0, limit);
  }

  /** Opens every file, oldest first; retries when a rotation changed the listing meanwhile. */
  private async openSnapshot(): Promise<{ name: string; handle: FileHandle }[]> {
    for (let attempt = 0; ; attempt++) {
      const names = await this.files();
      const opened: { name: string; handle: FileHandle }[] = [];
      try {
        for (const name of names) opened.push({ name, handle: await open(name, 'r') });
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

/** Reads records, skipping (not failing on) a torn last line left by a crash mid-write. */
export async function* readRecords(file: string | FileHandle): AsyncGenerator<AuditRecord> {
  const input =
    typeof file === 'string'
      ? createReadStream(file, 'utf8')
      : file.createReadStream({ encoding: 'utf8', start: 0, autoClose: false });
  const lines = createInterface({
    input,
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  for await (const line of lines) {
    if (line.trim() === '') continue;
    try {
      yield JSON.parse(line) as AuditRecord;
    } catch {
      // A torn line can only be the unacknowledged tail of a crashed write.
    }
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
