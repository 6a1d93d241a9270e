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
import type { AuditFilter, AuditQuery } from '../command/spec.js';
import type { AuditRecord } from '../core/types.js';

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

export class AuditLog implements AuditQuery {
  private handle: FileHandle | undefined;
  private size = 0;
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
    const bytes = Buffer.byteLength(text);
    await this.rotateIfDue(bytes);
    const handle = await this.openHandle();
    await handle.write(text);
    await handle.datasync();
    this.size += bytes;
  }

  private async openHandle(): Promise<FileHandle> {
    if (this.handle) return this.handle;
    await mkdir(dirname(this.options.file), { recursive: true, mode: 0o700 });
    this.handle = await open(this.options.file, 'a', 0o600);
    const info = await this.handle.stat();
    this.size = info.size;
    this.day = (info.size > 0 ? info.mtime : this.now()).toISOString().slice(0, 10);
    return this.handle;
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
    let target = `${this.options.file}.${stamp}`;
    for (let n = 1; await exists(target); n++) target = `${this.options.file}.${stamp}-${n}`;
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

  /** Newest records first, filtered. Reads every file; the log is the source of truth. */
  async query(filter: AuditFilter): Promise<AuditRecord[]> {
    while (this.flushing) await this.flushing;
    const limit = filter.limit ?? 20;
    const matches: AuditRecord[] = [];
    for (const file of await this.files()) {
      for await (const record of readRecords(file)) {
        if (matchesFilter(record, filter)) matches.push(record);
      }
    }
    return matches.reverse().slice(0, limit);
  }
}

function matchesFilter(record: AuditRecord, filter: AuditFilter): boolean {
  if (filter.vm !== undefined && record.vm !== filter.vm) return false;
  if (filter.host !== undefined && record.host !== filter.host) return false;
  if (filter.user !== undefined && record.user !== filter.user && record.nick !== filter.user) return false;
  if (filter.since !== undefined && new Date(record.time) < filter.since) return false;
  return true;
}

/** Reads records, skipping (not failing on) a torn last line left by a crash mid-write. */
export async function* readRecords(file: string): AsyncGenerator<AuditRecord> {
  const lines = createInterface({
    input: createReadStream(file, 'utf8'),
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
