/**
 * Real small filesystems for the disk-full tests: a tmpfs of a given size, mounted by the test.
 * Mounting needs root; suites that use it skip with ROOT_REASON otherwise.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export const IS_ROOT = process.getuid?.() === 0;
export const ROOT_REASON = IS_ROOT ? '' : ' (skipped: mounting a tmpfs and changing owners needs root)';

export interface Mounted {
  dir: string;
  unmount(): Promise<void>;
}

export async function mountTmpfs(kib: number): Promise<Mounted> {
  const dir = await mkdtemp(join(tmpdir(), 'virtbot-tmpfs-'));
  await exec('mount', ['-t', 'tmpfs', '-o', `size=${kib}k,mode=0755`, 'tmpfs', dir]);
  return {
    dir,
    async unmount() {
      await exec('umount', [dir]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Fills the filesystem of `path`'s directory: writes `path` until ENOSPC. Returns the bytes written. */
export async function fill(path: string): Promise<number> {
  const handle = await open(path, 'a');
  const chunk = Buffer.alloc(4096, 0x61);
  let written = 0;
  try {
    for (;;) {
      try {
        const { bytesWritten } = await handle.write(chunk);
        written += bytesWritten;
        if (bytesWritten < chunk.length) break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOSPC') break;
        throw error;
      }
    }
  } finally {
    await handle.close();
  }
  return written;
}
