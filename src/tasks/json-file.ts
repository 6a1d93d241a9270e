/**
 * A small JSON state file in dataDir (tasks, event subscriptions), written atomically: the new
 * content goes to a temporary file beside it, is fsync'd, and is renamed over the old one, then
 * the directory is fsync'd. A reader sees the old file or the new one, never half of one. Writes
 * are serialized; the last one wins.
 */
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';

export class JsonFile<T> {
  private tail: Promise<unknown> = Promise.resolve();
  private sequence = 0;

  constructor(readonly file: string) {}

  /** The stored value, or `fallback` when there is no file yet. A file that cannot be read throws. */
  async read(fallback: T): Promise<T> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return fallback;
      throw error;
    }
    return JSON.parse(text) as T;
  }

  write(value: T): Promise<void> {
    const text = `${JSON.stringify(value, null, 2)}\n`;
    const job = this.tail.then(() => this.replace(text));
    this.tail = job.catch(() => undefined);
    return job;
  }

  private async replace(text: string): Promise<void> {
    const temp = `${this.file}.${process.pid}.${this.sequence++}.tmp`;
    await mkdir(dirname(this.file), { recursive: true });
    try {
      const handle = await open(temp, 'w', 0o600);
      try {
        await handle.writeFile(text);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, this.file);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    const dir = await open(dirname(this.file), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }
}
